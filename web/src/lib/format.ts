// Date and time formatting in the institution's time zone (from
// /api/v1/settings), whatever the zone of the browser showing the page. The
// API speaks UTC ISO 8601; people read wall-clock times where they are.

function parts(d: Date, tz: string): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(d)) out[p.type] = p.value;
  return out;
}

/** True when tz is a time zone name this browser knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** "08:01" — the wall-clock time of an instant in tz. */
export function formatTime(iso: string, tz: string): string {
  const p = parts(new Date(iso), tz);
  return `${p.hour}:${p.minute}`;
}

/** A localized date ("21/11/2026", "11/21/2026") of an instant or a plain
 * YYYY-MM-DD date (plain dates are not shifted by any zone). */
export function formatDate(value: string, tz: string, locale: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-').map(Number);
    return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', dateStyle: 'medium' }).format(new Date(Date.UTC(y, m - 1, d)));
  }
  return new Intl.DateTimeFormat(locale, { timeZone: tz, dateStyle: 'medium' }).format(new Date(value));
}

/** The kiosk's date line: "viernes, 4 de diciembre" / "Friday, December 4". */
export function formatLongDate(ms: number, tz: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(ms));
}

/** Date and time of an instant in tz: the localized date and the 24-hour
 * time with two-digit hours ("21 nov 2026, 09:05"), as the kiosk shows it
 * (a locale's short time style would give "9:05" in Spanish). */
export function formatDateTime(iso: string | null | undefined, tz: string, locale: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${formatDate(iso, tz, locale)}, ${formatTime(iso, tz)}`;
}

/** The calendar date ("YYYY-MM-DD") in tz at instant `now`. */
export function dateIn(tz: string, now: Date = new Date()): string {
  const p = parts(now, tz);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The time of an instant in tz when it falls on `today` (YYYY-MM-DD in
 * tz), else its date and time: a feed that reaches into earlier days must
 * not show Friday's 22:02 as if it were today's. */
export function formatTimeOrDate(iso: string, tz: string, locale: string, today: string): string {
  return dateIn(tz, new Date(iso)) === today ? formatTime(iso, tz) : formatDateTime(iso, tz, locale);
}

/** YYYY-MM-DD plus n days. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

/** Offset of tz from UTC at instant t, in minutes (east positive). */
function offsetMinutes(t: Date, tz: string): number {
  const p = parts(t, tz);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - Math.floor(t.getTime() / 1000) * 1000) / 60000);
}

/** The UTC instant (ISO string) of wall-clock "YYYY-MM-DDTHH:MM" in tz — what
 * a <input type="datetime-local"> holds when people type institution time. */
export function zonedToUtc(local: string, tz: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
  if (!m) throw new RangeError(`not a local date-time: ${local}`);
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  // Two rounds settle the offset across a daylight-saving change.
  let t = guess - offsetMinutes(new Date(guess), tz) * 60000;
  t = guess - offsetMinutes(new Date(t), tz) * 60000;
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/** "YYYY-MM-DDTHH:MM" of an instant in tz, for a datetime-local input. */
export function utcToZonedInput(iso: string, tz: string): string {
  const p = parts(new Date(iso), tz);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** "2 h 05 min", "12 min", "45 s" from seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** A number with `digits` decimals in the reader's language: "0,85" in
 * Spanish, "0.85" in English. */
export function formatDecimal(value: number, locale: string, digits = 2): string {
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** "85 %" from a 0..1 ratio, localized. */
export function formatPercent(ratio: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(ratio);
}
