// history.test.mjs — biometric data apart from attendance history, over real
// HTTP with real faces: archiving a person (out of recognition and default
// lists, history kept, reversible), erasing their biometric data only
// (faces, embeddings, photo; the person and events stay; audited with
// counts), the full erase (everything, audited in counts without the
// person's code or name), what a group-limited manager may do of the three,
// and group join dates in the members API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, multipart, noonZone, startWithRoles } from './lib.mjs';

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const photo = (rel) => readFileSync(join(FACES, rel));
let env, admin;
// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs, so a join date of "today" is the day computed here
// (in UTC, a run from 23:59 on joined on the next day).
const { zone, off, today } = noonZone();

before(async () => {
  env = await startWithRoles({ models: true });
  admin = env.admin;
  // Still photos: liveness off, so identity is answered.
  assert.equal((await admin.patch('/api/v1/settings', { timezone: zone, liveness_threshold: 0 })).status, 200);
});
after(async () => { assert.equal(await env.stop(), 0); });

async function person(code, group) {
  const r = await admin.post('/api/v1/persons', { external_id: code, first_name: code, last_name: 'Hist', kind: 'student', group_ids: group ? [group] : [] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function enroll(pid, dir, photos = [1, 2]) {
  const mp = multipart(photos.map((n) => ({ name: 'file', filename: `${n}.jpg`, type: 'image/jpeg', data: photo(`id/${dir}/${n}.jpg`) })));
  const r = await admin.post(`/api/v1/persons/${pid}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.results.some((x) => x.accepted), JSON.stringify(r.body));
}

async function recognized(dir, n) {
  const r = await env.device.req('POST', '/api/v1/recognize', { body: photo(`id/${dir}/${n}.jpg`), type: 'image/jpeg' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.faces.map((f) => f.identity?.person_id ?? null).filter(Boolean);
}

// 00:30 of today in the institution's zone, as a UTC instant.
const halfPastMidnight = new Date(Date.parse(`${today}T00:30:00Z`) - off * 3600e3).toISOString().slice(0, 19) + 'Z';
const entry = async (pid, time = halfPastMidnight) => {
  const r = await admin.post('/api/v1/attendance', { person_id: pid, type: 'entry', time, reason: 'history test' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
};

test('archive: out of recognition and default lists, history kept, shown by a filter, reversible', async () => {
  const p = await person('HIST-ARC');
  await enroll(p, 'deepface_angelina');
  assert.deepEqual(await recognized('deepface_angelina', 3), [p]);
  const ev = await entry(p);

  let r = await admin.post(`/api/v1/persons/${p}/archive`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.active, false);
  assert.ok(r.body.archived_at, 'archived_at is set');
  assert.deepEqual(await recognized('deepface_angelina', 3), [], 'an archived person is not recognized');
  r = await admin.get('/api/v1/persons?q=HIST-ARC');
  assert.equal(r.body.total, 0, 'hidden from the default list');
  r = await admin.get('/api/v1/persons?q=HIST-ARC&active=false');
  assert.deepEqual(r.body.items.map((x) => x.id), [p], 'shown by the archived filter');
  r = await admin.get('/api/v1/persons?q=HIST-ARC&active=all');
  assert.equal(r.body.total, 1);
  assert.equal((await admin.get('/api/v1/persons?active=maybe')).status, 400);
  r = await admin.get(`/api/v1/attendance?person_id=${p}`);
  assert.deepEqual(r.body.items.map((e) => e.id), [ev], 'history kept');
  assert.equal((await admin.get(`/api/v1/persons/${p}/faces`)).body.length > 0, true, 'faces kept');

  r = await admin.post(`/api/v1/persons/${p}/restore`);
  assert.equal(r.status, 200);
  assert.equal(r.body.active, true);
  assert.equal(r.body.archived_at, null);
  assert.deepEqual(await recognized('deepface_angelina', 3), [p], 'recognized again');
  const audit = await admin.get('/api/v1/audit?limit=100');
  const actions = audit.body.items.filter((a) => a.target === `person:${p}`).map((a) => a.action);
  assert.ok(actions.includes('person.archive') && actions.includes('person.restore'), actions.join());
});

test('erase biometric data only: faces, embeddings and photo go; the person and their events stay; audited with counts', async () => {
  const p = await person('HIST-BIO');
  await enroll(p, 'deepface_person01');
  assert.deepEqual(await recognized('deepface_person01', 3), [p]);
  assert.equal((await admin.get(`/api/v1/persons/${p}/photo`)).status, 200);
  const ev = await entry(p);

  let r = await admin.del(`/api/v1/persons/${p}/biometrics`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.erased.faces >= 1, JSON.stringify(r.body));
  assert.equal(r.body.erased.events, 0);
  r = await admin.get(`/api/v1/persons/${p}`);
  assert.equal(r.status, 200, 'the person stays');
  assert.equal(r.body.face_count, 0);
  assert.equal(r.body.active, true);
  assert.equal((await admin.get(`/api/v1/persons/${p}/faces`)).body.length, 0);
  assert.equal((await admin.get(`/api/v1/persons/${p}/photo`)).status, 404, 'no photo');
  assert.deepEqual(await recognized('deepface_person01', 3), [], 'no longer recognized');
  r = await admin.get(`/api/v1/attendance?person_id=${p}`);
  assert.deepEqual(r.body.items.map((e) => e.id), [ev], 'history kept');
  const audit = await admin.get('/api/v1/audit?action=person.erase_biometrics');
  const entryOf = audit.body.items.find((a) => a.target === `person:${p}`);
  assert.ok(entryOf, JSON.stringify(audit.body));
  const detail = JSON.parse(entryOf.detail);
  assert.ok(detail.faces >= 1 && 'photo' in detail && 'sightings' in detail, entryOf.detail);
  assert.ok(!entryOf.detail.includes('HIST-BIO'));
});

test('full erase: person, faces, events go; the audit counts per kind without their code or name', async () => {
  const p = await person('HIST-FULL');
  await enroll(p, 'deepface_person01', [4, 5]);
  const ev = await entry(p);
  assert.equal((await admin.del(`/api/v1/persons/${p}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/persons/${p}`)).status, 404);
  const left = await admin.get(`/api/v1/attendance?from=${today}&to=${today}&limit=500`);
  assert.equal(left.status, 200, JSON.stringify(left.body));
  assert.ok(!left.body.items.some((e) => e.id === ev), 'their events are gone');
  const audit = await admin.get('/api/v1/audit?limit=200');
  const mine = audit.body.items.filter((a) => a.target === `person:${p}`);
  const erase = mine.find((a) => a.action === 'person.erase');
  assert.ok(erase, JSON.stringify(mine));
  const d = JSON.parse(erase.detail);
  assert.equal(d.events, 1);
  assert.ok(d.faces >= 1);
  for (const a of mine) assert.ok(!a.detail.includes('HIST-FULL'), `${a.action}: ${a.detail}`);
});

test('a group-limited manager archives, erases biometrics and erases only people of their groups', async () => {
  const GA = (await admin.post('/api/v1/groups', { name: 'Hist A' })).body.id;
  const GB = (await admin.post('/api/v1/groups', { name: 'Hist B' })).body.id;
  const PA = await person('HIST-LA', GA), PB = await person('HIST-LB', GB);
  const r = await admin.post('/api/v1/users', { email: 'hlim@example.org', name: 'Lim', role: 'manager', password: 'limited-pass-1', group_ids: [GA], must_change_password: false });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const lim = new Client(env.srv.url);
  await lim.login('hlim@example.org', 'limited-pass-1');
  for (const [m, path] of [['POST', `/api/v1/persons/${PB}/archive`], ['POST', `/api/v1/persons/${PB}/restore`],
    ['DELETE', `/api/v1/persons/${PB}/biometrics`], ['DELETE', `/api/v1/persons/${PB}`]])
    assert.equal((await lim.req(m, path)).status, 404, `${m} ${path}: as unknown to them`);
  assert.equal((await admin.get(`/api/v1/persons/${PB}`)).body.active, true, 'B untouched');
  assert.equal((await lim.post(`/api/v1/persons/${PA}/archive`)).status, 200);
  // Archived, they are still theirs: the filter shows them, restore works.
  const list = await lim.get('/api/v1/persons?active=false');
  assert.deepEqual(list.body.items.map((x) => x.id), [PA]);
  assert.equal((await lim.post(`/api/v1/persons/${PA}/restore`)).status, 200);
  assert.equal((await lim.del(`/api/v1/persons/${PA}/biometrics`)).status, 200);
  assert.equal((await lim.del(`/api/v1/persons/${PA}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/persons/${PB}`)).status, 200);
});

test('group join dates: today by default, set or moved with joined_on, shown with members and on the person', async () => {
  const G = (await admin.post('/api/v1/groups', { name: 'Hist J' })).body.id;
  const a = await person('HIST-J1'), b = await person('HIST-J2');
  assert.equal((await admin.post(`/api/v1/groups/${G}/members/${a}`)).status, 204);
  assert.equal((await admin.post(`/api/v1/groups/${G}/members/${b}?joined_on=2026-09-01`)).status, 204);
  let r = await admin.get(`/api/v1/groups/${G}/members`);
  const joined = Object.fromEntries(r.body.items.map((m) => [m.id, m.joined_on]));
  assert.equal(joined[a], today);
  assert.equal(joined[b], '2026-09-01');
  // Moving an existing member's date; a bad date is a 400 naming the field.
  assert.equal((await admin.post(`/api/v1/groups/${G}/members/${a}?joined_on=2026-10-05`)).status, 204);
  r = await admin.get(`/api/v1/persons/${a}`);
  assert.equal(r.body.groups.find((g) => g.id === G).joined_on, '2026-10-05');
  r = await admin.post(`/api/v1/groups/${G}/members/${a}?joined_on=5-10-2026`);
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /joined_on/);
  // PUT: new members join on joined_on, those already in keep their date.
  const c = await person('HIST-J3');
  r = await admin.put(`/api/v1/groups/${G}/members`, { person_ids: [a, b, c], joined_on: '2026-11-02' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const after = Object.fromEntries(r.body.items.map((m) => [m.id, m.joined_on]));
  assert.deepEqual(after, { [a]: '2026-10-05', [b]: '2026-09-01', [c]: '2026-11-02' });
});

test('settings: the institution start in effect, and the absentee notification switches', async () => {
  let r = await admin.get('/api/v1/settings');
  assert.equal(r.body.attendance_start_day, null);
  assert.match(r.body.attendance_start_day_in_effect, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(r.body.attendance_start_day_in_effect <= today);
  assert.equal(r.body.absentee_notify, false);
  r = await admin.patch('/api/v1/settings', { absentee_notify: true, attendance_start_day: '2026-01-07' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.absentee_notify, true);
  assert.equal(r.body.attendance_start_day_in_effect, '2026-01-07');
  assert.equal((await admin.patch('/api/v1/settings', { absentee_notify: 'yes' })).status, 400);
  r = await admin.patch('/api/v1/settings', { absentee_notify: false, attendance_start_day: null });
  assert.equal(r.body.absentee_notify, false);
  const G = (await admin.post('/api/v1/groups', { name: 'Hist N', notify_absentees: true })).body;
  assert.equal(G.notify_absentees, true);
  r = await admin.patch(`/api/v1/groups/${G.id}`, { notify_absentees: false });
  assert.equal(r.body.notify_absentees, false);
});
