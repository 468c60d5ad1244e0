import { describe, expect, it } from 'vitest';
import type { Schedule } from '../api/types';
import { diffSchedules, endsNextDay, slotError, slotsFromSchedules } from './schedule';

const saved: Schedule[] = [
  { id: 1, group_id: 3, person_id: null, day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5, label: 'Mañana' },
  { id: 2, group_id: 3, person_id: null, day_of_week: 2, start: '08:00', end: '14:00', grace_min: 5, label: '' },
  { id: 3, group_id: 3, person_id: null, day_of_week: 1, start: '07:00', end: '07:45', grace_min: 0, label: 'Guardia' },
];

describe('slotError', () => {
  it('accepts a normal slot and rejects empty, malformed or out-of-range ones', () => {
    expect(slotError({ day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5 })).toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '08:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '8:00', end: '14:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '24:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 8, start: '08:00', end: '14:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '14:00', grace_min: -1 })).not.toBeNull();
  });
});

describe('night slots', () => {
  // The server accepts them (a night school, a shift) and writes a slot
  // ending at midnight as 24:00; the editor refused both and, once one was
  // saved, every other slot of the group could no longer be saved.
  it('a slot whose end is before its start ends the next day', () => {
    expect(slotError({ day_of_week: 1, start: '22:00', end: '01:00', grace_min: 5 })).toBeNull();
    expect(endsNextDay({ start: '22:00', end: '01:00' })).toBe(true);
    expect(endsNextDay({ start: '18:00', end: '00:00' })).toBe(true);
    expect(endsNextDay({ start: '08:00', end: '14:00' })).toBe(false);
  });
  it('a slot saved as ending at 24:00 is edited as 00:00 and not rewritten unchanged', () => {
    const night: Schedule[] = [
      { id: 7, group_id: 3, person_id: null, day_of_week: 1, start: '18:00', end: '24:00', grace_min: 5, label: '' },
      { id: 8, group_id: 3, person_id: null, day_of_week: 2, start: '22:00', end: '01:00', grace_min: 5, label: '' },
    ];
    const slots = slotsFromSchedules(night);
    expect(slots.map((s) => s.end)).toEqual(['00:00', '01:00']);
    expect(slots.every((s) => slotError(s) === null)).toBe(true);
    expect(diffSchedules(night, slots, { group_id: 3, person_id: null })).toEqual({ create: [], update: [], remove: [] });
  });
});

describe('slotsFromSchedules', () => {
  it('orders by weekday then start time', () => {
    expect(slotsFromSchedules(saved).map((s) => s.id)).toEqual([3, 1, 2]);
  });
});

describe('diffSchedules', () => {
  it('nothing changed, nothing to do', () => {
    expect(diffSchedules(saved, slotsFromSchedules(saved), { group_id: 3, person_id: null })).toEqual({
      create: [],
      update: [],
      remove: [],
    });
  });

  it('finds created, changed and removed slots', () => {
    const edited = slotsFromSchedules(saved)
      .filter((s) => s.id !== 2)
      .map((s) => (s.id === 1 ? { ...s, end: '15:00' } : s));
    edited.push({ key: 'n1', day_of_week: 5, start: '09:00', end: '13:00', grace_min: 10, label: 'Viernes' });
    const ch = diffSchedules(saved, edited, { group_id: 3, person_id: null });
    expect(ch.remove).toEqual([2]);
    expect(ch.update).toEqual([{ id: 1, patch: { end: '15:00' } }]);
    expect(ch.create).toEqual([
      { group_id: 3, person_id: null, day_of_week: 5, start: '09:00', end: '13:00', grace_min: 10, label: 'Viernes' },
    ]);
  });
});
