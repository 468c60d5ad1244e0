// Pure helpers of the weekly timetable editor: slot validation, ordering, and
// the create/update/delete calls that turn the saved timetable into the
// edited one.
import type { Schedule, ScheduleInput } from '../api/types';

export interface Slot {
  /** Server id; undefined for a slot not saved yet. */
  id?: number;
  /** Stable key for React while editing. */
  key: string;
  day_of_week: number;
  start: string;
  end: string;
  grace_min: number;
  label: string;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

/** The server writes a slot that ends at midnight as "24:00"; a time input
 * holds "00:00" (the same instant: the end of the day). */
export function endForInput(end: string): string {
  return end === '24:00' ? '00:00' : end;
}

/** A slot whose end is not after its start ends the next day (a night
 * class 22:00-01:00, or one that ends at midnight, 18:00-00:00). */
export function endsNextDay(s: Pick<Slot, 'start' | 'end'>): boolean {
  return HHMM.test(s.start) && HHMM.test(s.end) && minutesOf(s.end) < minutesOf(s.start);
}

/** Error key (i18n) when the slot is not valid, else null. */
export function slotError(s: Pick<Slot, 'start' | 'end' | 'grace_min' | 'day_of_week'>): string | null {
  if (!HHMM.test(s.start) || !HHMM.test(s.end)) return 'groups.badSlot';
  if (minutesOf(s.end) === minutesOf(s.start)) return 'groups.badSlot';
  if (!Number.isInteger(s.day_of_week) || s.day_of_week < 1 || s.day_of_week > 7) return 'groups.badSlot';
  if (!Number.isFinite(s.grace_min) || s.grace_min < 0) return 'groups.badSlot';
  return null;
}

export function sortSlots<T extends Pick<Slot, 'day_of_week' | 'start'>>(slots: T[]): T[] {
  return [...slots].sort((a, b) => a.day_of_week - b.day_of_week || minutesOf(a.start) - minutesOf(b.start));
}

export function slotsFromSchedules(list: Schedule[]): Slot[] {
  return sortSlots(
    list.map((s) => ({
      id: s.id,
      key: `s${s.id}`,
      day_of_week: s.day_of_week,
      start: s.start,
      end: endForInput(s.end),
      grace_min: s.grace_min,
      label: s.label ?? '',
    })),
  );
}

export interface ScheduleChanges {
  create: ScheduleInput[];
  update: { id: number; patch: Partial<ScheduleInput> }[];
  remove: number[];
}

/** The API calls that turn `saved` into `edited` for one owner. */
export function diffSchedules(
  saved: Schedule[],
  edited: Slot[],
  owner: { group_id: number | null; person_id: number | null },
): ScheduleChanges {
  const out: ScheduleChanges = { create: [], update: [], remove: [] };
  const byId = new Map(saved.map((s) => [s.id, s]));
  const kept = new Set<number>();
  for (const e of edited) {
    const fields = { day_of_week: e.day_of_week, start: e.start, end: e.end, grace_min: e.grace_min, label: e.label };
    const old = e.id !== undefined ? byId.get(e.id) : undefined;
    if (!old) {
      out.create.push({ ...owner, ...fields });
      continue;
    }
    kept.add(old.id);
    const patch: Partial<ScheduleInput> = {};
    const was = { ...old, end: endForInput(old.end) };
    for (const k of Object.keys(fields) as (keyof typeof fields)[]) {
      if (was[k] !== fields[k]) (patch as Record<string, unknown>)[k] = fields[k];
    }
    if (Object.keys(patch).length) out.update.push({ id: old.id, patch });
  }
  for (const s of saved) if (!kept.has(s.id)) out.remove.push(s.id);
  return out;
}
