import { describe, expect, it } from 'vitest';
import type { Schedule } from '../api/types';
import { diffSchedules, endsNextDay, overlaps, planCopy, slotError, slotsFromSchedules, slotsOverlap, type Slot } from './schedule';

const saved: Schedule[] = [
  {
    id: 1,
    group_id: 3,
    person_id: null,
    day_of_week: 1,
    start: '08:00',
    end: '14:00',
    grace_min: 5,
    label: 'Mañana',
    valid_from: null,
    valid_to: null,
  },
  {
    id: 2,
    group_id: 3,
    person_id: null,
    day_of_week: 2,
    start: '08:00',
    end: '14:00',
    grace_min: 5,
    label: '',
    valid_from: null,
    valid_to: null,
  },
  {
    id: 3,
    group_id: 3,
    person_id: null,
    day_of_week: 1,
    start: '07:00',
    end: '07:45',
    grace_min: 0,
    label: 'Guardia',
    valid_from: null,
    valid_to: null,
  },
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
      {
        id: 7,
        group_id: 3,
        person_id: null,
        day_of_week: 1,
        start: '18:00',
        end: '24:00',
        grace_min: 5,
        label: '',
        valid_from: null,
        valid_to: null,
      },
      {
        id: 8,
        group_id: 3,
        person_id: null,
        day_of_week: 2,
        start: '22:00',
        end: '01:00',
        grace_min: 5,
        label: '',
        valid_from: null,
        valid_to: null,
      },
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
      {
        group_id: 3,
        person_id: null,
        day_of_week: 5,
        start: '09:00',
        end: '13:00',
        grace_min: 10,
        label: 'Viernes',
      },
    ]);
  });
});

describe('overlaps', () => {
  const at = (day_of_week: number, start: string, end: string) => ({ day_of_week, start, end });
  it('slots sharing a minute overlap; touching ones do not', () => {
    expect(slotsOverlap(at(1, '08:00', '14:00'), at(1, '13:00', '15:00'))).toBe(true);
    expect(slotsOverlap(at(1, '08:00', '14:00'), at(1, '14:00', '15:00'))).toBe(false);
    expect(slotsOverlap(at(1, '08:00', '14:00'), at(2, '08:00', '14:00'))).toBe(false);
  });
  it('a night slot takes the first hours of the next day, Sunday into Monday', () => {
    expect(slotsOverlap(at(1, '22:00', '01:00'), at(2, '00:30', '02:00'))).toBe(true);
    expect(slotsOverlap(at(1, '22:00', '01:00'), at(2, '01:00', '02:00'))).toBe(false);
    expect(slotsOverlap(at(7, '22:00', '01:00'), at(1, '00:00', '00:30'))).toBe(true);
    expect(slotsOverlap(at(1, '18:00', '00:00'), at(2, '00:00', '08:00'))).toBe(false);
  });
  it('the editor names the slot each one overlaps', () => {
    const list: Slot[] = [
      { key: 'a', day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5, label: '' },
      { key: 'b', day_of_week: 1, start: '12:00', end: '13:00', grace_min: 5, label: '' },
      { key: 'c', day_of_week: 2, start: '08:00', end: '14:00', grace_min: 5, label: '' },
    ];
    const m = overlaps(list);
    expect([...m.keys()].sort()).toEqual(['a', 'b']);
    expect(m.get('a')?.key).toBe('b');
  });
});

describe('planCopy', () => {
  let n = 0;
  const key = () => `k${++n}`;
  const monday: Slot[] = [
    { id: 1, key: 's1', day_of_week: 1, start: '08:00', end: '11:00', grace_min: 5, label: 'Mañana' },
    { id: 2, key: 's2', day_of_week: 1, start: '11:30', end: '14:00', grace_min: 10, label: 'Tarde' },
  ];
  const fields = (s: Slot) => [s.day_of_week, s.start, s.end, s.grace_min, s.label];

  it('copies every slot of the day, with grace and label, to each day asked', () => {
    const plan = planCopy(monday, 1, [2, 3, 4, 5], key);
    expect(plan.refused).toEqual([]);
    expect(plan.add.map(fields)).toEqual(
      [2, 3, 4, 5].flatMap((d) => [
        [d, '08:00', '11:00', 5, 'Mañana'],
        [d, '11:30', '14:00', 10, 'Tarde'],
      ]),
    );
    expect(plan.add.every((s) => s.id === undefined)).toBe(true);
    expect(new Set(plan.add.map((s) => s.key)).size).toBe(8);
  });

  it('merges: a day keeps its slots; a day where a copy would overlap gets nothing and says with what', () => {
    const tue = { id: 3, key: 's3', day_of_week: 2, start: '15:00', end: '17:00', grace_min: 5, label: 'Extra' };
    const wed = { id: 4, key: 's4', day_of_week: 3, start: '09:00', end: '10:00', grace_min: 5, label: '' };
    const plan = planCopy([...monday, tue, wed], 1, [2, 3, 4], key);
    expect(plan.add.map((s) => s.day_of_week)).toEqual([2, 2, 4, 4]);
    expect(plan.refused).toHaveLength(1);
    expect(plan.refused[0].day).toBe(3);
    expect(fields(plan.refused[0].slot)).toEqual([3, '08:00', '11:00', 5, 'Mañana']);
    expect(plan.refused[0].clash.id).toBe(4);
  });

  it('copying twice is refused: the copies would overlap the first ones', () => {
    const once = planCopy(monday, 1, [2], key).add;
    const twice = planCopy([...monday, ...once], 1, [2], key);
    expect(twice.add).toEqual([]);
    expect(twice.refused.map((r) => r.day)).toEqual([2]);
  });

  it('a night slot keeps its times and ends the day after each target; what spills over counts', () => {
    const night: Slot[] = [{ id: 9, key: 's9', day_of_week: 1, start: '22:00', end: '01:00', grace_min: 5, label: 'Noche' }];
    const plan = planCopy(night, 1, [2, 3], key);
    expect(plan.refused).toEqual([]);
    expect(plan.add.map(fields)).toEqual([
      [2, '22:00', '01:00', 5, 'Noche'],
      [3, '22:00', '01:00', 5, 'Noche'],
    ]);
    expect(plan.add.every((s) => endsNextDay(s))).toBe(true);
    // An early Wednesday slot is overlapped by Tuesday's copy, not Wednesday's:
    // the copy to Tuesday is refused.
    const early: Slot = { id: 10, key: 's10', day_of_week: 3, start: '00:00', end: '00:30', grace_min: 0, label: '' };
    const blocked = planCopy([...night, early], 1, [2, 3], key);
    expect(blocked.add.map((s) => s.day_of_week)).toEqual([3]);
    expect(blocked.refused.map((r) => [r.day, r.clash.id])).toEqual([[2, 10]]);
    // A slot ending at midnight (the server's 24:00, edited as 00:00) copies as such.
    const late = planCopy(
      slotsFromSchedules([
        {
          id: 11,
          group_id: 3,
          person_id: null,
          day_of_week: 5,
          start: '18:00',
          end: '24:00',
          grace_min: 5,
          label: '',
          valid_from: null,
          valid_to: null,
        },
      ]),
      5,
      [6],
      key,
    );
    expect(late.add.map(fields)).toEqual([[6, '18:00', '00:00', 5, '']]);
  });

  it('the source day, repeated days and days out of range are left out', () => {
    expect(planCopy(monday, 1, [1, 2, 2, 8, 0], key).add.map((s) => s.day_of_week)).toEqual([2, 2]);
  });
});
