// Personal leave's pure logic: a part of a day's hours as text and back, and
// a year's days of each kind (Mis datos).
import type { Leave, LeaveKind } from '../api/types';

export const LEAVE_KINDS: LeaveKind[] = ['sick', 'vacation', 'personal', 'justified', 'other'];

/** "09:00–11:00" for part of a day's leave, "" for whole days. */
export function leaveHours(l: Pick<Leave, 'from_min' | 'to_min'>): string {
  return l.from_min != null && l.to_min != null ? `${clock(l.from_min)}–${clock(l.to_min)}` : '';
}

export function clock(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** "HH:MM" to minutes of the day; an end of "00:00" is midnight ending it (1440). */
export function minutes(hhmm: string, end: boolean): number {
  const [h, m] = hhmm.split(':').map(Number);
  const v = h * 60 + m;
  return end && v === 0 ? 1440 : v;
}

/** Days of each kind in `year` (YYYY; a leave across New Year counts its
 * days in that year only), and how many parts of a day with their minutes. */
export function leaveYear(items: Leave[], year: string) {
  const first = `${year}-01-01`,
    last = `${year}-12-31`;
  const by = Object.fromEntries(LEAVE_KINDS.map((k) => [k, { days: 0, parts: 0, minutes: 0 }])) as Record<
    LeaveKind,
    { days: number; parts: number; minutes: number }
  >;
  for (const l of items) {
    const from = l.from < first ? first : l.from,
      to = l.to > last ? last : l.to;
    if (from > to) continue;
    if (l.from_min != null && l.to_min != null) {
      by[l.kind].parts++;
      by[l.kind].minutes += l.to_min - l.from_min;
    } else {
      by[l.kind].days += Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 864e5) + 1;
    }
  }
  return by;
}
