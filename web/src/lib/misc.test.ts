// Dataset file naming, live-feed parsing, NDJSON splitting, role checks and
// enrollment refusal texts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPath, importReason, PHOTO_EXTENSIONS, sendsBytes } from './dataset';
import { eventSource, feedItem, pushFeed } from './events';
import { NdjsonSplitter } from './ndjson';
import { canChange, canOpen, homeFor, limitedToGroups, seesFaces } from './roles';

describe('dataset import names', () => {
  it('sends every file under its path relative to the chosen folder', () => {
    expect(importPath('dataset/alice/1.jpg')).toBe('alice/1.jpg');
    expect(importPath('dataset/notes.txt')).toBe('notes.txt');
    expect(importPath('dataset/María José Núñez/IMG_2.HEIC')).toBe('María José Núñez/IMG_2.HEIC');
    expect(importPath('alumnos.csv')).toBe('alumnos.csv');
  });
  it('uploads the bytes of photos and of a top-level roster only', () => {
    for (const p of ['a/1.jpg', 'a/2.JPEG', 'a/3.png', 'a/4.webp', 'a/5.heic', 'a/6.HEIF', 'roster.csv']) expect(sendsBytes(p)).toBe(true);
    for (const p of ['a/clip.mov', 'a/notes.txt', 'a/scan.pdf', 'a/list.csv', 'jpg']) expect(sendsBytes(p)).toBe(false);
  });
  it('knows the photo extensions the server decodes (src/image/codec.c)', () => {
    const c = readFileSync(join(__dirname, '../../../src/image/codec.c'), 'utf8');
    const table = c.slice(c.indexOf('img_format_of_name'));
    const exts = [...table.slice(0, table.indexOf('};')).matchAll(/\{"(\w+)", IMG_FORMAT_\w+\}/g)].map((m) => m[1]);
    expect(exts.length).toBeGreaterThan(3);
    expect([...exts].sort()).toEqual([...PHOTO_EXTENSIONS].sort());
  });
});

describe('importReason', () => {
  const t = ((k: string, o?: Record<string, unknown>) => `${k} ${JSON.stringify(o ?? {})}`) as Parameters<typeof importReason>[1];
  it('translates skips, roster problems and photo refusals from their codes', () => {
    expect(importReason({ type: 'skipped', code: 'stray_file', reason: 'x' }, t)).toBe('import.codes.stray_file {"person":""}');
    expect(
      importReason({ type: 'roster', code: 'roster_invalid', params: { line: 4, problem: 'bad_email', value: 'a' }, reason: 'x' }, t),
    ).toBe('import.roster.bad_email {"line":4,"value":"a"}');
    expect(importReason({ type: 'photo', code: 'no_face', reason: 'x' }, t)).toMatch(/^enroll\.codes\.no_face/);
    expect(importReason({ type: 'skipped', code: 'from_the_future' as 'stray_file', reason: 'English fallback' }, t)).toBe(
      'English fallback',
    );
  });
});

describe('NdjsonSplitter', () => {
  it('joins lines cut across chunks and skips blank lines', () => {
    const s = new NdjsonSplitter();
    expect(s.push('{"file":"a/1.jpg","acc')).toEqual([]);
    expect(s.push('epted":true}\n\n{"file":"a/2.jpg"')).toEqual([{ file: 'a/1.jpg', accepted: true }]);
    expect(s.push(',"accepted":false}\n{"done":true,')).toEqual([{ file: 'a/2.jpg', accepted: false }]);
    expect(s.push('"files":2}')).toEqual([]);
    expect(s.end()).toEqual([{ done: true, files: 2 }]);
    expect(s.end()).toEqual([]);
  });
  it('reports a corrupt line without stopping', () => {
    const s = new NdjsonSplitter();
    const out = s.push('{"a":1}\n{broken\n{"b":2}\n');
    expect(out).toHaveLength(3);
    expect(out[1]).toHaveProperty('error');
    expect(out[2]).toEqual({ b: 2 });
  });
});

describe('feedItem', () => {
  const ev = { id: 5, person_id: 1, person_name: 'Ana', external_id: 'A1', time: '2026-11-21T07:01:00Z', type: 'entry', status: 'on_time' };
  it('turns an attendance message into an item', () => {
    const it1 = feedItem('attendance', JSON.stringify(ev), 1);
    expect(it1?.kind).toBe('attendance');
  });
  it('reports recognitions only when a face was unknown', () => {
    expect(feedItem('recognition', JSON.stringify({ faces: [{ identity: { person_id: 1 } }] }), 2)).toBeNull();
    expect(feedItem('recognition', JSON.stringify({ faces: [{ identity: null }], camera_name: 'Puerta' }), 3)?.kind).toBe('unknown');
    expect(feedItem('recognition', JSON.stringify({ unknown: 2 }), 4)?.kind).toBe('unknown');
  });
  it('ignores garbage', () => {
    expect(feedItem('attendance', 'not json', 5)).toBeNull();
    expect(feedItem('attendance', '{"id":"x"}', 6)).toBeNull();
    expect(feedItem('ping', '{}', 7)).toBeNull();
  });
  it('pushFeed keeps the newest first, drops repeats and caps the length', () => {
    let feed = [] as ReturnType<typeof pushFeed>;
    for (let i = 0; i < 40; i++) feed = pushFeed(feed, feedItem('attendance', JSON.stringify({ ...ev, id: i }), i)!);
    expect(feed).toHaveLength(30);
    feed = pushFeed(feed, feedItem('attendance', JSON.stringify({ ...ev, id: 39 }), 99)!);
    expect(feed).toHaveLength(30);
    expect(feed.filter((f) => f.kind === 'attendance' && f.event.id === 39)).toHaveLength(1);
  });
});

describe('roles', () => {
  it('only admins open administration; members only attendance', () => {
    expect(canOpen('admin', 'admin')).toBe(true);
    expect(canOpen('manager', 'admin')).toBe(false);
    expect(canOpen('member', 'admin')).toBe(false);
    expect(canOpen('member', 'attendance')).toBe(true);
    expect(canOpen('member', 'people')).toBe(false);
    expect(canOpen('device', 'kiosk')).toBe(true);
    expect(canOpen('device', 'people')).toBe(false);
    expect(canOpen(null, 'attendance')).toBe(false);
    expect(homeFor('device')).toBe('/kiosk');
    expect(homeFor('member')).toBe('/attendance');
    expect(homeFor('admin')).toBe('/dashboard');
  });

  it('a manager is limited to groups only when all_groups is false', () => {
    expect(limitedToGroups({ role: 'manager', all_groups: false })).toBe(true);
    expect(limitedToGroups({ role: 'manager', all_groups: true })).toBe(false);
    expect(limitedToGroups({ role: 'manager' })).toBe(false);
    expect(limitedToGroups({ role: 'admin', all_groups: false })).toBe(false);
    expect(limitedToGroups(null)).toBe(false);
  });

  it('an auditor reads people, groups, attendance and reports, and changes nothing', () => {
    for (const area of ['dashboard', 'people', 'groups', 'attendance', 'reports', 'cameras'] as const)
      expect(canOpen('auditor', area)).toBe(true);
    for (const area of ['import', 'review', 'registrations', 'kiosk', 'admin', 'checkin', 'mydata'] as const)
      expect(canOpen('auditor', area)).toBe(false);
    expect(canOpen('manager', 'import')).toBe(true);
    expect(canChange('auditor')).toBe(false);
    expect(canChange('manager')).toBe(true);
    expect(seesFaces('auditor')).toBe(false);
    expect(homeFor('auditor')).toBe('/dashboard');
    expect(limitedToGroups({ role: 'auditor', all_groups: false })).toBe(true);
    expect(limitedToGroups({ role: 'auditor', all_groups: true })).toBe(false);
  });
});

describe('eventSource', () => {
  it('names manual entries first, then the camera, else none', () => {
    expect(eventSource({ manual: true, camera_name: 'Puerta' }, 'Manual', '—')).toBe('Manual');
    expect(eventSource({ manual: false, camera_name: 'Puerta' }, 'Manual', '—')).toBe('Puerta');
    expect(eventSource({ manual: false, camera_name: null }, 'Manual', '—')).toBe('—');
  });
});

describe('enrollReason', () => {
  it('translates a refusal code with its parameters, and falls back to the text', async () => {
    const { enrollReason } = await import('./enrollReason');
    const i18next = (await import('i18next')).default;
    const es = (await import('../i18n/es')).default;
    const i18n = i18next.createInstance();
    await i18n.init({ resources: { es: { translation: es } }, lng: 'es', interpolation: { escapeValue: false } });
    const t = i18n.getFixedT('es');
    const dup = {
      code: 'duplicate_identity',
      params: { person: { name: 'Ana García', external_id: 'A007' } },
      reason: 'this face belongs to Ana García (A007)',
    };
    expect(enrollReason(dup, t)).toBe('este rostro ya pertenece a Ana García (A007)');
    // Outside a limited manager's groups the server names nobody.
    expect(enrollReason({ code: 'duplicate_identity', params: {}, reason: 'x' }, t)).toBe(
      'este rostro ya pertenece a otra persona, fuera de sus grupos',
    );
    expect(enrollReason({ code: 'something_new', reason: 'raw text' }, t)).toBe('raw text');
    expect(enrollReason({ reason: null }, t)).toBe('?');
  });
});
