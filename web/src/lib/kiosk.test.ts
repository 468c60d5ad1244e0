// The kiosk's confirmation text, worked out with the real Spanish and English
// dictionaries through i18next.
import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import es from '../i18n/es';
import en from '../i18n/en';
import type { RecognizedFace } from '../api/types';
import {
  backoffMs,
  cameraProblem,
  confirmationFor,
  confirmationForCheckin,
  confirmationsFor,
  kioskCameras,
  kioskStuck,
  primaryFace,
} from './kiosk';

const i18n = i18next.createInstance();
await i18n.init({ resources: { es: { translation: es }, en: { translation: en } }, lng: 'es', interpolation: { escapeValue: false } });
const tEs = i18n.getFixedT('es');
const tEn = i18n.getFixedT('en');
const tz = 'Europe/Madrid';

function face(over: Partial<RecognizedFace> = {}): RecognizedFace {
  return {
    box: { x: 10, y: 10, w: 100, h: 120 },
    score: 0.99,
    landmarks: [],
    identity: { person_id: 7, external_id: 'A007', name: 'Ana García' },
    confidence: 0.8,
    liveness: 0.95,
    live: true,
    quality_ok: true,
    reasons: [],
    event: { id: 41, type: 'entry', status: 'on_time', time: '2026-11-21T07:01:00Z', minutes_late: 0, new: true },
    ...over,
  };
}

describe('confirmationFor', () => {
  it('an on-time entry', () => {
    const c = confirmationFor(face(), tEs, tz);
    expect(c.title).toBe('Ana García');
    expect(c.line).toBe('Entrada 08:01 — a tiempo');
    expect(c.tone).toBe('ok');
    expect(c.personId).toBe(7);
    expect(confirmationFor(face(), tEn, tz).line).toBe('Entry 08:01 — on time');
  });

  it('a late entry says how late', () => {
    const c = confirmationFor(
      face({ event: { id: 42, type: 'entry', status: 'late', time: '2026-11-21T07:12:00Z', minutes_late: 12, new: true } }),
      tEs,
      tz,
    );
    expect(c.line).toBe('Entrada 08:12 — Tarde (12 min)');
    expect(c.tone).toBe('late');
  });

  it('an exit', () => {
    const c = confirmationFor(
      face({ event: { id: 43, type: 'exit', status: 'on_time', time: '2026-11-21T15:05:00Z', minutes_late: 0, new: true } }),
      tEs,
      tz,
    );
    expect(c.line).toBe('Salida 16:05');
  });

  it('a repeated event says it was already recorded', () => {
    const c = confirmationFor(
      face({ event: { id: 41, type: 'entry', status: 'on_time', time: '2026-11-21T07:01:00Z', minutes_late: 0, new: false } }),
      tEs,
      tz,
    );
    expect(c.line).toBe('Entrada 08:01 — a tiempo — ya registrada');
  });

  it('an unknown face', () => {
    const c = confirmationFor(face({ identity: null, event: null }), tEs, tz);
    expect(c.title).toBe('No reconocido');
    expect(c.tone).toBe('unknown');
    expect(c.personId).toBeNull();
  });

  it('a face that is not live gets a neutral liveness warning, never the name or photo', () => {
    const c = confirmationFor(face({ live: false, event: null }), tEs, tz);
    expect(c.tone).toBe('warn');
    expect(c.title).toMatch(/en vivo/);
    expect(c.line).toMatch(/de nuevo/);
    expect(c.personId).toBeNull();
    expect(c.photo).toBeUndefined();
    expect(`${c.title} ${c.line}`).not.toContain(face().identity!.name);
  });

  it('a poor unknown face asks to come closer instead of saying unknown', () => {
    const c = confirmationFor(face({ identity: null, event: null, quality_ok: false }), tEs, tz);
    expect(c.title).toBe('Acérquese y mire de frente');
  });
});

describe('primaryFace', () => {
  it('prefers an event, then a known face, then the larger face', () => {
    const unknownBig = face({ identity: null, event: null, box: { x: 0, y: 0, w: 300, h: 300 } });
    const known = face({ event: null });
    const withEvent = face();
    expect(primaryFace([])).toBeNull();
    expect(primaryFace([unknownBig, known])).toBe(known);
    expect(primaryFace([unknownBig, known, withEvent])).toBe(withEvent);
    const small = face({ identity: null, event: null, box: { x: 0, y: 0, w: 50, h: 50 } });
    expect(primaryFace([small, unknownBig])).toBe(unknownBig);
  });
});

describe('backoffMs', () => {
  it('doubles up to ten seconds', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([0, 1000, 2000, 4000, 8000, 10000, 10000]);
  });
});

describe('confirmationFor photo', () => {
  it('carries the photo a device key receives in the identity', () => {
    const photo = 'data:image/jpeg;base64,/9j/';
    const c = confirmationFor(face({ identity: { person_id: 7, external_id: 'A007', name: 'Ana García', photo } }), tEs, tz);
    expect(c.photo).toBe(photo);
    expect(confirmationFor(face(), tEs, tz).photo).toBeUndefined();
  });
});

describe('confirmationsFor', () => {
  it('a card for every recognized person, left to right, and one for the unknown faces', () => {
    const ana = face({ box: { x: 300, y: 10, w: 100, h: 120 } });
    const luis = face({
      box: { x: 20, y: 10, w: 90, h: 110 },
      identity: { person_id: 8, external_id: 'A008', name: 'Luis Pérez' },
      event: { id: 50, type: 'entry', status: 'late', time: '2026-11-21T07:12:00Z', minutes_late: 12, new: true },
    });
    const stranger1 = face({ identity: null, event: null });
    const stranger2 = face({ identity: null, event: null, box: { x: 500, y: 0, w: 50, h: 60 } });
    const cards = confirmationsFor([ana, stranger1, luis, stranger2], tEs, tz);
    expect(cards.map((c) => c.title)).toEqual(['Luis Pérez', 'Ana García', 'No reconocido']);
    expect(cards[0].line).toBe('Entrada 08:12 — Tarde (12 min)');
  });

  it('one card when the same event shows twice, none for an empty frame', () => {
    expect(confirmationsFor([face(), face({ box: { x: 400, y: 0, w: 40, h: 40 } })], tEs, tz)).toHaveLength(1);
    expect(confirmationsFor([], tEs, tz)).toEqual([]);
  });
});

describe('confirmationForCheckin', () => {
  it('names the person and the event like a face would', () => {
    const c = confirmationForCheckin(
      {
        person: { id: 3, name: 'Paula Núñez' },
        event: { id: 9, type: 'exit', status: 'on_time', time: '2026-11-21T15:05:00Z', new: true },
      },
      tEs,
      tz,
    );
    expect(c.title).toBe('Paula Núñez');
    expect(c.line).toBe('Salida 16:05');
  });

  it('says how late, as a face check-in does', () => {
    const late = { id: 10, type: 'entry', status: 'late', time: '2026-11-21T08:17:00Z', new: true, minutes_late: 17 };
    const c = confirmationForCheckin({ person: { id: 3, name: 'Paula Núñez' }, event: late }, tEs, tz);
    expect(c.line).toBe('Entrada 09:17 — Tarde (17 min)');
    expect(c.tone).toBe('late');
  });
});

describe('cameraProblem', () => {
  it("says why there is no camera in the reader's language, and whether to ask again", () => {
    const lost = cameraProblem(null, tEs, true);
    expect(lost).toEqual({ text: 'Se ha desconectado la cámara. Se vuelve a intentar cada 5 s.', retry: true });
    expect(cameraProblem(null, tEn, true).text).toBe('The camera was disconnected. Trying again every 5 s.');
    const missing = cameraProblem(new DOMException('Requested device not found', 'NotFoundError'), tEs);
    expect(missing.retry).toBe(true);
    expect(missing.text).toMatch(/^No se encuentra ninguna cámara/);
    expect(missing.text).not.toMatch(/Requested/);
    expect(cameraProblem(new DOMException('Could not start video source', 'NotReadableError'), tEs).text).toMatch(/^Otra aplicación/);
    const denied = cameraProblem(new DOMException('Permission denied', 'NotAllowedError'), tEs);
    expect(denied.retry).toBe(false);
    expect(denied.text).toMatch(/no permite usar la cámara/);
    expect(cameraProblem(new Error('odd'), tEs)).toEqual({ text: 'No se puede usar la cámara: odd', retry: true });
  });
});

describe('kioskCameras', () => {
  const cams = [
    { id: 1, kind: 'browser' },
    { id: 2, kind: 'mjpeg' },
    { id: 3, kind: 'rtsp' },
    { id: 4, kind: 'browser' },
  ];
  it('offers kiosk cameras, and keeps the one chosen already', () => {
    expect(kioskCameras(cams).map((c) => c.id)).toEqual([1, 4]);
    expect(kioskCameras(cams, 3).map((c) => c.id)).toEqual([1, 3, 4]);
  });
});

describe('kioskStuck', () => {
  const t = (k: string) => k;
  it('tells the person what to do when nothing can be recorded', () => {
    expect(kioskStuck(true, true, t)).toBeNull();
    expect(kioskStuck(false, true, t)).toBe('kiosk.stuckOffline');
    expect(kioskStuck(false, false, t)).toBe('kiosk.stuckOffline');
    expect(kioskStuck(true, false, t)).toBe('kiosk.stuckCamera');
  });
});
