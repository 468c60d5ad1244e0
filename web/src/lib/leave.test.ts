import { describe, expect, it } from 'vitest';
import type { Leave } from '../api/types';
import { clock, leaveHours, leaveYear, minutes } from './leave';

const leave = (kind: Leave['kind'], from: string, to: string, from_min: number | null = null, to_min: number | null = null): Leave => ({
  id: 1,
  person_id: 1,
  kind,
  from,
  to,
  days: 1,
  note: '',
  created_by: 'admin',
  created_at: '2026-01-01T00:00:00Z',
  from_min,
  to_min,
});

describe('part of a day', () => {
  it('shows its hours, and whole days none', () => {
    expect(leaveHours(leave('justified', '2026-03-02', '2026-03-02', 540, 660))).toBe('09:00–11:00');
    expect(leaveHours(leave('justified', '2026-03-02', '2026-03-02', 0, 1440))).toBe('00:00–24:00');
    expect(leaveHours(leave('sick', '2026-03-02', '2026-03-04'))).toBe('');
  });
  it('reads a time input as minutes; an end at 00:00 is midnight ending the day', () => {
    expect(minutes('09:30', false)).toBe(570);
    expect(minutes('00:00', false)).toBe(0);
    expect(minutes('00:00', true)).toBe(1440);
    expect(clock(570)).toBe('09:30');
  });
});

describe('leaveYear', () => {
  it("counts each kind's days in the year only, parts of a day apart with their minutes", () => {
    const by = leaveYear(
      [
        leave('vacation', '2025-12-29', '2026-01-02'), // 2 of its 5 days in 2026
        leave('sick', '2026-03-02', '2026-03-04'),
        leave('sick', '2026-12-31', '2027-01-03'), // 1 in 2026
        leave('justified', '2026-05-05', '2026-05-05', 540, 630),
        leave('justified', '2026-05-06', '2026-05-06', 600, 660),
        leave('personal', '2027-02-01', '2027-02-01'), // another year
      ],
      '2026',
    );
    expect(by.vacation).toEqual({ days: 2, parts: 0, minutes: 0 });
    expect(by.sick).toEqual({ days: 4, parts: 0, minutes: 0 });
    expect(by.justified).toEqual({ days: 0, parts: 2, minutes: 150 });
    expect(by.personal).toEqual({ days: 0, parts: 0, minutes: 0 });
    expect(by.other).toEqual({ days: 0, parts: 0, minutes: 0 });
  });
});
