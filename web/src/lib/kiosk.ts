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

/** Everyone in view worth a card, left to right: each recognized person
 * (their event, or a liveness warning), then at most one card for the faces
 * that are not recognized (the most telling one). */
export function confirmationsFor(faces: RecognizedFace[], t: Translate, tz: string): Confirmation[] {
  const known = faces.filter((f) => f.identity).sort((a, b) => a.box.x - b.box.x);
  const out = known.map((f) => confirmationFor(f, t, tz));
  const rest = primaryFace(faces.filter((f) => !f.identity));
  if (rest) out.push(confirmationFor(rest, t, tz));
  // Two faces of one person (a photo on the wall behind them) make one card.
  const seen = new Set<string>();
  return out.filter((c) => !seen.has(c.key) && !!seen.add(c.key));
}

/** The card for a code + PIN check-in (same words as a face's event). */
export function confirmationForCheckin(
  r: {
    person: { id: number; name: string };
    event: { id: number; type: string; status: string; time: string; new?: boolean; minutes_late?: number };
  },
  t: Translate,
  tz: string,
): Confirmation {
  const time = formatTime(r.event.time, tz);
  const parts = [r.event.type === 'entry' ? t('kiosk.entry', { time }) : t('kiosk.exit', { time })];
  if (r.event.status === 'late')
    parts.push(
      r.event.minutes_late !== undefined
        ? t('kiosk.late', { minutes: Math.max(0, Math.round(r.event.minutes_late)) })
        : t('attendance.statuses.late'),
    );
  if (r.event.new === false) parts.push(t('kiosk.already'));
  return {
    tone: r.event.status === 'late' || r.event.status === 'early_leave' ? 'late' : 'ok',
    title: r.person.name,
    line: parts.join(' — '),
    personId: null,
    key: `e${r.event.id}`,
  };
}

/** Retry delay after `failures` consecutive network failures (ms): 1, 2, 4,
 * 8 s, then 10 s. */
export function backoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(10000, 1000 * 2 ** (failures - 1));
}

/** The cameras a kiosk may record its entries under: kiosk (browser)
 * cameras, and the one chosen already (an ESP32 or an IP camera records its
 * own frames; a tablet's entries put under it would say that camera saw them). */
export function kioskCameras<C extends { id: number; kind: string }>(all: C[], chosen?: number): C[] {
  return all.filter((c) => c.kind === 'browser' || c.id === chosen);
}

/** The idle card's words when nothing can be recorded now (null when the
 * kiosk is working): the person in front of it is told what to do, not to
 * look at a camera that records nothing. */
export function kioskStuck(online: boolean, cameraWorks: boolean, t: (k: string) => string): string | null {
  if (!online) return t('kiosk.stuckOffline');
  if (!cameraWorks) return t('kiosk.stuckCamera');
  return null;
}

/** How often the kiosk asks for its camera again while it has none. */
export const CAMERA_RETRY_MS = 5000;

/** What the kiosk says when it has no camera: why (from getUserMedia's
 * error, or `lost` when the camera in use went away, e.g. unplugged), in the
 * reader's language, and whether asking again later may help (a camera
 * unplugged or busy comes back; a permission refused does not by itself). */
export function cameraProblem(e: unknown, t: Translate, lost = false): { text: string; retry: boolean } {
  const seconds = CAMERA_RETRY_MS / 1000;
  if (lost) return { text: t('kiosk.cameraLost', { seconds }), retry: true };
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return { text: t('kiosk.cameraDenied'), retry: false };
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return { text: t('kiosk.cameraNotFound', { seconds }), retry: true };
  if (name === 'NotReadableError' || name === 'AbortError') return { text: t('kiosk.cameraBusy', { seconds }), retry: true };
  return { text: t('kiosk.cameraError', { message: e instanceof Error ? e.message : String(e) }), retry: true };
}
