import { describe, expect, it } from 'vitest';
import {
  addDays,
  dateIn,
  formatDate,
  formatDateTime,
  formatDecimal,
  formatDuration,
  formatTime,
  formatTimeOrDate,
  isValidTimeZone,
  utcToZonedInput,
  zonedToUtc,
} from './format';

describe('formatTime', () => {
  it('shows the wall clock of the institution zone, not the browser zone', () => {
    expect(formatTime('2026-11-21T07:01:00Z', 'Europe/Madrid')).toBe('08:01');
    expect(formatTime('2026-07-01T07:01:00Z', 'Europe/Madrid')).toBe('09:01');
    expect(formatTime('2026-11-21T07:01:00Z', 'America/Mexico_City')).toBe('01:01');
    expect(formatTime('2026-11-21T23:59:00Z', 'UTC')).toBe('23:59');
  });
});

describe('formatTimeOrDate', () => {
  it('gives the time for today and the date too for another day, in the institution zone', () => {
    // 23:30 UTC on the 4th is 00:30 on the 5th in Madrid.
    expect(formatTimeOrDate('2026-12-04T23:30:00Z', 'Europe/Madrid', 'es', '2026-12-05')).toBe('00:30');
    expect(formatTimeOrDate('2026-12-04T21:02:00Z', 'Europe/Madrid', 'es', '2026-12-06')).toMatch(/^4 dic 2026, 22:02$/);
  });
});

describe('dates', () => {
  it('dateIn gives the calendar day in the zone', () => {
    const t = new Date('2026-11-21T23:30:00Z');
    expect(dateIn('UTC', t)).toBe('2026-11-21');
    expect(dateIn('Europe/Madrid', t)).toBe('2026-11-22');
    expect(dateIn('America/Bogota', t)).toBe('2026-11-21');
  });

  it('addDays crosses months and years', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-11-21', -6)).toBe('2026-11-15');
  });

  it('plain dates are not shifted by a zone', () => {
    expect(formatDate('2026-11-21', 'Pacific/Kiritimati', 'en-GB')).toContain('21');
    expect(formatDate('2026-11-21', 'Pacific/Pago_Pago', 'en-GB')).toContain('21');
  });

  it('formatDateTime handles missing and bad values', () => {
    expect(formatDateTime(null, 'UTC', 'es')).toBe('—');
    expect(formatDateTime('not a date', 'UTC', 'es')).toBe('—');
    expect(formatDateTime('2026-11-21T07:01:00Z', 'Europe/Madrid', 'es')).toContain('08:01');
  });

  it('formatDateTime gives two-digit 24-hour times, midnight included, in the zone', () => {
    // 11:22 UTC is 00:22 of the next day in Auckland (NZDT, UTC+13)
    const s = formatDateTime('2026-11-21T11:22:00Z', 'Pacific/Auckland', 'es');
    expect(s).toContain('00:22');
    expect(s).not.toMatch(/(^|[^0-9])0:22/);
    expect(formatDateTime('2026-11-21T11:22:00Z', 'Pacific/Auckland', 'en')).toMatch(/Nov 22, 2026, 00:22$/);
    expect(formatDateTime('2026-11-21T20:05:00Z', 'UTC', 'es')).toMatch(/, 20:05$/);
  });
});

describe('zonedToUtc / utcToZonedInput', () => {
  it('round-trips institution wall time', () => {
    expect(zonedToUtc('2026-11-21T08:01', 'Europe/Madrid')).toBe('2026-11-21T07:01:00Z');
    expect(zonedToUtc('2026-07-01T08:01', 'Europe/Madrid')).toBe('2026-07-01T06:01:00Z');
    expect(utcToZonedInput('2026-11-21T07:01:00Z', 'Europe/Madrid')).toBe('2026-11-21T08:01');
    expect(zonedToUtc('2026-11-21T08:01', 'UTC')).toBe('2026-11-21T08:01:00Z');
  });

  it('is right on both sides of a daylight-saving change', () => {
    // Madrid moves from +02:00 to +01:00 at 03:00 local on 2026-10-25.
    expect(zonedToUtc('2026-10-25T01:30', 'Europe/Madrid')).toBe('2026-10-24T23:30:00Z');
    expect(zonedToUtc('2026-10-25T12:00', 'Europe/Madrid')).toBe('2026-10-25T11:00:00Z');
    // and from +01:00 to +02:00 at 02:00 local on 2026-03-29.
    expect(zonedToUtc('2026-03-29T01:00', 'Europe/Madrid')).toBe('2026-03-29T00:00:00Z');
    expect(zonedToUtc('2026-03-29T12:00', 'Europe/Madrid')).toBe('2026-03-29T10:00:00Z');
  });

  it('rejects what is not a local date-time', () => {
    expect(() => zonedToUtc('21/11/2026 08:00', 'UTC')).toThrow(RangeError);
  });
});

describe('misc', () => {
  it('validates zone names', () => {
    expect(isValidTimeZone('Europe/Madrid')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });

  it('formats durations', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(12 * 60)).toBe('12 min');
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe('2 h 05 min');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('formatDecimal', () => {
  it("writes decimals the reader's way", () => {
    expect(formatDecimal(0.8512, 'es')).toBe('0,85');
    expect(formatDecimal(0.8512, 'en')).toBe('0.85');
    expect(formatDecimal(2.5, 'es', 1)).toBe('2,5');
    expect(formatDecimal(1, 'es')).toBe('1,00');
  });
});
