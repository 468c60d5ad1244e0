// What the kiosk says about one recognized face: the big confirmation line
// ("Entrada 08:01 — a tiempo", "Salida 16:05", "Tarde (12 min)",
// "No reconocido", a liveness warning), worked out from the /recognize answer.
import type { RecognizedFace } from '../api/types';
import { formatTime } from './format';

export type Translate = (key: string, vars?: Record<string, unknown>) => string;

export type Tone = 'ok' | 'late' | 'unknown' | 'warn' | 'info';

export interface Confirmation {
  tone: Tone;
  /** Person's name, or the "not recognized" text. */
  title: string;
  /** The event line, or a hint. */
  line: string;
  personId: number | null;
  /** The person's photo as a data: URL, sent to device keys (which may not
   * read /persons/{id}/photo) in the /recognize answer. */
  photo?: string;
  /** Identifies what is shown so the same answer does not restart the timer. */
  key: string;
}

/** The confirmation to show for one face, or null when there is nothing to
 * say (a face too small or blurred to judge is reported as a hint). */
export function confirmationFor(face: RecognizedFace, t: Translate, tz: string): Confirmation {
  if (!face.live) {
    // Never who the face resembles (the server sends no identity for it
    // either): a photo or screen must not learn whose face it matches.
    return {
      tone: 'warn',
      title: t('kiosk.notLive'),
      line: t('kiosk.notLiveHint'),
      personId: null,
      key: 'notlive',
    };
  }
  if (!face.identity) {
    if (!face.quality_ok) {
      return { tone: 'info', title: t('kiosk.badQuality'), line: '', personId: null, key: 'quality' };
    }
    return { tone: 'unknown', title: t('kiosk.unknown'), line: '', personId: null, key: 'unknown' };
  }
  const id = face.identity;
  const ev = face.event;
  if (!ev) {
    return {
      tone: 'info',
      title: id.name,
      line: t('kiosk.recognized'),
      personId: id.person_id,
      photo: id.photo,
      key: `p${id.person_id}`,
    };
  }
  const time = formatTime(ev.time, tz);
  const parts: string[] = [ev.type === 'entry' ? t('kiosk.entry', { time }) : t('kiosk.exit', { time })];
  let tone: Tone = 'ok';
  if (ev.status === 'late') {
    parts.push(t('kiosk.late', { minutes: Math.max(0, Math.round(ev.minutes_late)) }));
    tone = 'late';
  } else if (ev.status === 'on_time' && ev.type === 'entry') {
    parts.push(t('kiosk.onTime'));
  } else if (ev.status === 'early_leave') {
    parts.push(t('kiosk.earlyLeave'));
    tone = 'late';
  } else if (ev.status === 'outside_schedule') {
    parts.push(t('kiosk.outsideSchedule'));
  }
  if (!ev.new) parts.push(t('kiosk.already'));
  return { tone, title: id.name, line: parts.join(' — '), personId: id.person_id, photo: id.photo, key: `e${ev.id}` };
}

/** The most important face of a frame to confirm: an attendance event first,
 * then a recognized person, then a liveness warning, then an unknown face; the
 * larger face wins a tie (it is the one closest to the kiosk). */
export function primaryFace(faces: RecognizedFace[]): RecognizedFace | null {
  const rank = (f: RecognizedFace) => (f.event ? 8 : 0) + (f.identity ? 4 : 0) + (!f.live ? 2 : 0) + (f.quality_ok ? 1 : 0);
  let best: RecognizedFace | null = null;
  for (const f of faces) {
    if (!best) best = f;
    else {
      const d = rank(f) - rank(best);
      if (d > 0 || (d === 0 && f.box.w * f.box.h > best.box.w * best.box.h)) best = f;
    }
  }
  return best;
}

/** Retry delay after `failures` consecutive network failures (ms): 1, 2, 4,
 * 8 s, then 10 s. */
export function backoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(10000, 1000 * 2 ** (failures - 1));
}
