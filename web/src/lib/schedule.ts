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

// ---- overlaps and "Copiar a…" ----------------------------------------------

const WEEK = 7 * 1440;

/** The minutes of the week a slot takes, from Monday 00:00: [start, end),
 * its end on the next day for a night slot (Sunday's spills into Monday). */
function weekSpan(s: Pick<Slot, 'day_of_week' | 'start' | 'end'>): [number, number] {
  const start = (s.day_of_week - 1) * 1440 + minutesOf(s.start);
  let len = minutesOf(s.end) - minutesOf(s.start);
  if (len <= 0) len += 1440;
  return [start, start + len];
}

/** Whether two valid slots share a minute of the week (a slot ending at
 * 10:00 and one starting at 10:00 do not). */
export function slotsOverlap(a: Pick<Slot, 'day_of_week' | 'start' | 'end'>, b: Pick<Slot, 'day_of_week' | 'start' | 'end'>): boolean {
  const [a0, a1] = weekSpan(a);
  const [b0, b1] = weekSpan(b);
  // The week wraps: compare b also one week earlier and later.
  return [-WEEK, 0, WEEK].some((k) => a0 < b1 + k && b0 + k < a1);
}

/** For each slot (by key) that overlaps another valid slot of the list, the
 * first one it overlaps. Invalid slots are left to slotError. */
export function overlaps<T extends Slot>(slots: T[]): Map<string, T> {
  const out = new Map<string, T>();
  const ok = slots.filter((s) => slotError(s) === null);
  for (const a of ok) {
    const b = ok.find((x) => x.key !== a.key && slotsOverlap(a, x));
    if (b) out.set(a.key, b);
  }
  return out;
}

export interface CopyPlan {
  /** The new slots, day by day (targets in the order asked), to create. */
  add: Slot[];
  /** Days that get nothing: a copied slot would overlap `clash` there. */
  refused: { day: number; slot: Slot; clash: Slot }[];
}

/** Copy day `from`'s slots (times, grace, label) to each day of `to`,
 * added beside what those days have (nothing is replaced). A target day
 * where any copied slot would overlap a slot already there (or one spilling
 * over from the day before, or a copy made for an earlier target) gets none
 * of them and is named in `refused`. A night slot keeps its start and end,
 * so it ends on the day after the target day, as on the source day. */
export function planCopy(slots: Slot[], from: number, to: number[], newKey: () => string): CopyPlan {
  const source = sortSlots(slots.filter((s) => s.day_of_week === from && slotError(s) === null));
  const plan: CopyPlan = { add: [], refused: [] };
  const taken: Slot[] = slots.filter((s) => slotError(s) === null);
  for (const day of [...new Set(to)].filter((d) => d !== from && d >= 1 && d <= 7)) {
    const copies = source.map((s) => ({
      key: newKey(),
      day_of_week: day,
      start: s.start,
      end: s.end,
      grace_min: s.grace_min,
      label: s.label,
    }));
    let refused: { day: number; slot: Slot; clash: Slot } | null = null;
    for (const c of copies) {
      const clash = [...taken, ...copies.filter((o) => o !== c)].find((x) => slotsOverlap(c, x));
      if (clash) {
        refused = { day, slot: c, clash };
        break;
      }
    }
    if (refused) plan.refused.push(refused);
    else {
      plan.add.push(...copies);
      taken.push(...copies);
    }
  }
  return plan;
}
