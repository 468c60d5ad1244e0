import { describe, expect, it } from 'vitest';
import type { Schedule } from '../api/types';
import { diffSchedules, slotError, slotsFromSchedules } from './schedule';

const saved: Schedule[] = [
  { id: 1, group_id: 3, person_id: null, day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5, label: 'Mañana' },
  { id: 2, group_id: 3, person_id: null, day_of_week: 2, start: '08:00', end: '14:00', grace_min: 5, label: '' },
  { id: 3, group_id: 3, person_id: null, day_of_week: 1, start: '07:00', end: '07:45', grace_min: 0, label: 'Guardia' },
];

describe('slotError', () => {
  it('accepts a normal slot and rejects reversed, malformed or out-of-range ones', () => {
    expect(slotError({ day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5 })).toBeNull();
    expect(slotError({ day_of_week: 1, start: '14:00', end: '08:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '08:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '8:00', end: '14:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '24:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 8, start: '08:00', end: '14:00', grace_min: 5 })).not.toBeNull();
    expect(slotError({ day_of_week: 1, start: '08:00', end: '14:00', grace_min: -1 })).not.toBeNull();
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
