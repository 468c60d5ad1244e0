// api.test.mjs — every REST endpoint through real HTTP against a temporary
// database: auth (login, lockout, logout, me), users and roles, API keys,
// audit, settings, persons, groups and members, schedules, holidays and
// cameras — the answers' shapes from the API contract, and that what was
// written reads back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client, startWithRoles } from './lib.mjs';

let env, admin;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

before(async () => { env = await startWithRoles(); admin = env.admin; });
after(async () => { assert.equal(await env.stop(), 0); });

test('login sets an HttpOnly SameSite=Strict cookie and returns the user and a CSRF token', async () => {
  const res = await fetch(new URL('api/v1/auth/login', env.srv.url), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.org', password: 'admin-pass-1' }),
  });
  assert.equal(res.status, 200);
  const cookie = res.headers.get('set-cookie');
  assert.match(cookie, /^rc_session=[0-9a-f]{64}; /);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/, 'no Secure flag over plain HTTP');
  const body = await res.json();
  assert.match(body.csrf_token, /^[0-9a-f]{64}$/);
  assert.equal(body.user.email, 'admin@example.org');
  assert.equal(body.user.role, 'admin');
  assert.equal(body.user.person_id, null);
  assert.match(body.user.created_at, ISO);
  assert.match(body.user.last_login_at, ISO);
  assert.equal(body.user.pass_hash, undefined, 'the hash never leaves the server');
});

test('me answers the session user and the device key', async () => {
  const me = await env.manager.get('/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.user.role, 'manager');
  assert.equal(me.body.csrf_token, env.manager.csrf);
  const dev = await env.device.get('/api/v1/auth/me');
  assert.equal(dev.status, 200);
  assert.equal(dev.body.user.role, 'device');
});

test('wrong passwords are refused the same way as unknown users, then the account locks', async () => {
  await admin.post('/api/v1/users', { email: 'lock@example.org', name: 'L', role: 'member', password: 'lock-pass-1', must_change_password: false });
  const c = new Client(env.srv.url);
  const tryLogin = (email, password) => fetch(new URL('api/v1/auth/login', env.srv.url), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  const unknown = await tryLogin('nobody@example.org', 'whatever-1');
  assert.equal(unknown.status, 401);
  const wrong = await tryLogin('lock@example.org', 'wrong-pass');
  assert.equal(wrong.status, 401);
  assert.deepEqual(await unknown.json(), await wrong.json(), 'no hint whether the e-mail exists');
  for (let i = 0; i < 4; i++) assert.equal((await tryLogin('lock@example.org', 'wrong-pass')).status, 401);
  const locked = await tryLogin('lock@example.org', 'lock-pass-1');
  assert.equal(locked.status, 429, 'five failures lock the account, even for the right password');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  assert.equal((await locked.json()).error.code, 'too_many_attempts');
  // Other accounts are not affected.
  await c.login('member@example.org', 'member-pass-1');
  const audit = await admin.get('/api/v1/audit?action=auth.login_failed');
  assert.ok(audit.body.total >= 6);
});

test('logout ends the session', async () => {
  const c = new Client(env.srv.url);
  await c.login('member@example.org', 'member-pass-1');
  assert.equal((await c.get('/api/v1/auth/me')).status, 200);
  const out = await c.post('/api/v1/auth/logout');
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  assert.equal((await c.get('/api/v1/auth/me')).status, 401, 'the old cookie is dead');
});

test('users: create, list, get, patch, delete; the last admin stays', async () => {
  const p = await admin.post('/api/v1/persons', { external_id: 'U-P1', first_name: 'Uma', last_name: 'Park', kind: 'employee' });
  assert.equal(p.status, 201);
  let r = await admin.post('/api/v1/users', { email: 'u1@example.org', name: 'U One', role: 'member', password: 'u1-pass-12', person_id: p.body.id, must_change_password: false });
  assert.equal(r.status, 201);
  const id = r.body.id;
  assert.equal(r.body.person_id, p.body.id);
  assert.equal(r.body.role, 'member');
  assert.equal(r.body.last_login_at, null);
  r = await admin.post('/api/v1/users', { email: 'u1@example.org', name: 'Dup', role: 'member', password: 'u1-pass-12' });
  assert.equal(r.status, 409);
  r = await admin.post('/api/v1/users', { email: 'u2@example.org', name: 'x', role: 'boss', password: 'u1-pass-12' });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /role/);
  r = await admin.post('/api/v1/users', { email: 'u2@example.org', name: 'x', role: 'member', password: 'short' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'weak_password');
  r = await admin.post('/api/v1/users', { email: 'not-an-email', name: 'x', role: 'member', password: 'long-enough' });
  assert.equal(r.status, 400);
  // A user can be created disabled; "active" must be a boolean.
  r = await admin.post('/api/v1/users', { email: 'off@example.org', name: 'Off', role: 'member', password: 'off-pass-12', active: 'no' });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /active/);
  r = await admin.post('/api/v1/users', { email: 'off@example.org', name: 'Off', role: 'member', password: 'off-pass-12', active: false });
  assert.equal(r.status, 201);
  assert.equal(r.body.active, false);
  await assert.rejects(new Client(env.srv.url).login('off@example.org', 'off-pass-12'), /: 401 /, 'a disabled user cannot sign in');
  r = await admin.get('/api/v1/users?limit=2');
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 2);
  assert.ok(r.body.total >= 4);
  r = await admin.get(`/api/v1/users/${id}`);
  assert.equal(r.body.email, 'u1@example.org');
  r = await admin.patch(`/api/v1/users/${id}`, { name: 'U Uno', role: 'manager', password: 'new-pass-123' });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'U Uno');
  assert.equal(r.body.role, 'manager');
  const u = new Client(env.srv.url);
  await u.login('u1@example.org', 'new-pass-123');
  assert.equal((await u.get('/api/v1/auth/me')).body.user.role, 'manager');
  assert.equal((await admin.del(`/api/v1/users/${id}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/users/${id}`)).status, 404);
  assert.equal((await u.get('/api/v1/auth/me')).status, 401, 'a deleted user is signed out');
  const me = (await admin.get('/api/v1/auth/me')).body.user;
  r = await admin.patch(`/api/v1/users/${me.id}`, { role: 'member' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'last_admin');
  r = await admin.del(`/api/v1/users/${me.id}`);
  assert.equal(r.status, 409);
  assert.equal((await admin.get('/api/v1/users/abc')).status, 404);
});

test('roles lists the six roles', async () => {
  const r = await admin.get('/api/v1/roles');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.map((x) => x.name), ['admin', 'manager', 'member', 'device', 'metrics', 'auditor']);
  for (const x of r.body) assert.ok(x.description.length > 5);
});

test('API keys: the key is shown once, listed without it, and revoked keys stop working', async () => {
  const cam = await admin.post('/api/v1/cameras', { name: 'Gate', kind: 'mjpeg', url: 'http://10.0.0.5/stream' });
  let r = await admin.post('/api/v1/api-keys', { name: 'gate kiosk', role: 'device', camera_id: cam.body.id });
  assert.equal(r.status, 201);
  assert.match(r.body.key, /^rc_[0-9a-f]{12}_[0-9a-f]{64}$/);
  assert.ok(r.body.key.includes(r.body.prefix));
  assert.equal(r.body.camera_id, cam.body.id);
  const key = r.body.key, id = r.body.id;
  r = await admin.get('/api/v1/api-keys');
  const listed = r.body.items.find((k) => k.id === id);
  assert.ok(listed);
  assert.equal(listed.key, undefined, 'never shown again');
  assert.equal(listed.name, 'gate kiosk');
  const dev = new Client(env.srv.url, { key });
  assert.equal((await dev.get('/api/v1/auth/me')).status, 200);
  r = await admin.get('/api/v1/api-keys');
  assert.match(r.body.items.find((k) => k.id === id).last_used_at, ISO);
  assert.equal((await admin.post('/api/v1/api-keys', { name: 'x', role: 'member' })).status, 400);
  assert.equal((await admin.post('/api/v1/api-keys', { name: 'x', role: 'device', camera_id: 999 })).status, 400);
  assert.equal((await admin.del(`/api/v1/api-keys/${id}`)).status, 204);
  assert.equal((await dev.get('/api/v1/auth/me')).status, 401);
  assert.equal((await admin.del('/api/v1/api-keys/987654')).status, 404);
});

test('audit lists actions newest first and filters by action', async () => {
  const r = await admin.get('/api/v1/audit?limit=5');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.length <= 5 && r.body.total >= 5);
  const e = r.body.items[0];
  for (const k of ['id', 'time', 'actor', 'action', 'target', 'detail']) assert.ok(k in e, k);
  assert.ok(r.body.items[0].id > r.body.items[1].id);
  const f = await admin.get('/api/v1/audit?action=user.create');
  assert.ok(f.body.total >= 2);
  for (const x of f.body.items) assert.equal(x.action, 'user.create');
  assert.equal((await admin.get('/api/v1/audit?limit=0')).status, 400);
  assert.equal((await admin.get('/api/v1/audit?limit=501')).status, 400);
  assert.equal((await admin.get('/api/v1/audit?offset=-1')).status, 400);
});

test('settings read with defaults, patch with validation', async () => {
  let r = await admin.get('/api/v1/settings');
  assert.equal(r.status, 200);
  assert.equal(typeof r.body.timezone, 'string');
  // The default is the gallery's calibrated threshold (per face against a gallery).
  assert.equal(r.body.recognition_threshold, 0.47);
  assert.equal(typeof r.body.dedup_window_s, 'number');
  assert.equal(typeof r.body.keep_unrecognized, 'boolean');
  r = await admin.patch('/api/v1/settings', { timezone: 'Europe/Madrid', recognition_threshold: 0.55, keep_unrecognized: true, min_stay_s: 60 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.timezone, 'Europe/Madrid');
  assert.equal(r.body.recognition_threshold, 0.55);
  assert.equal(r.body.keep_unrecognized, true);
  for (const bad of [{ timezone: 'Mars/Olympus' }, { timezone: '../../etc/passwd' }, { recognition_threshold: 2 },
    { dedup_window_s: 'ten' }, { nope: 1 }, { keep_unrecognized: 1 }]) {
    const b = await admin.patch('/api/v1/settings', bad);
    assert.equal(b.status, 400, JSON.stringify(bad));
  }
  r = await admin.get('/api/v1/settings');
  assert.equal(r.body.timezone, 'Europe/Madrid', 'refused patches changed nothing');
  assert.equal(r.body.min_stay_s, 60);
  r = await admin.patch('/api/v1/settings', { timezone: 'UTC', keep_unrecognized: false });
  assert.equal(r.status, 200);
});

test('every role reads the institution time zone from login and me, not the settings', async () => {
  const before = (await admin.get('/api/v1/settings')).body.timezone;
  const r = await admin.patch('/api/v1/settings', { timezone: 'Pacific/Auckland' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const who of ['admin', 'manager', 'member', 'device']) {
    const me = await env[who].get('/api/v1/auth/me');
    assert.equal(me.status, 200, who);
    assert.equal(me.body.timezone, 'Pacific/Auckland', `${who} sees the zone`);
    assert.equal(me.body.recognition_threshold, undefined, `${who} sees no other setting`);
    if (who !== 'admin') assert.equal((await env[who].get('/api/v1/settings')).status, 403, `${who} cannot read settings`);
  }
  const login = await new Client(env.srv.url).login('member@example.org', 'member-pass-1');
  assert.equal(login.timezone, 'Pacific/Auckland', 'login answers the zone too');
  assert.equal((await env.anonymous.get('/api/v1/auth/me')).status, 401);
  assert.equal((await admin.patch('/api/v1/settings', { timezone: before })).status, 200);
});

test('persons: create, search, page, get, patch, delete', async () => {
  const names = [['P-001', 'Alice', 'Adams'], ['P-002', 'Bob', 'Brown'], ['P-003', 'Carla', 'de la Cruz']];
  const ids = [];
  for (const [ext, f, l] of names) {
    const r = await env.manager.post('/api/v1/persons', { external_id: ext, first_name: f, last_name: l, kind: 'student', email: `${f.toLowerCase()}@school.example`, consent_at: '2026-09-01T08:00:00Z' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.name, `${f} ${l}`);
    assert.equal(r.body.first_name, f);
    assert.equal(r.body.last_name, l);
    assert.equal(r.body.active, true);
    assert.equal(r.body.face_count, 0);
    assert.deepEqual(r.body.groups, []);
    assert.equal(r.body.consent_at, '2026-09-01T08:00:00Z');
    ids.push(r.body.id);
  }
  let r = await env.manager.post('/api/v1/persons', { external_id: 'P-001', first_name: 'X', last_name: 'Y', kind: 'student' });
  assert.equal(r.status, 409);
  r = await env.manager.post('/api/v1/persons', { external_id: 'P-009', first_name: 'X', last_name: 'Y', kind: 'alien' });
  assert.equal(r.status, 400);
  r = await env.manager.post('/api/v1/persons', { first_name: 'X', last_name: 'Y', kind: 'student' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'missing_field');
  r = await env.manager.get('/api/v1/persons?q=cruz');
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].external_id, 'P-003');
  r = await env.manager.get('/api/v1/persons?q=P-00&limit=2&offset=1');
  assert.equal(r.body.total, 3);
  assert.equal(r.body.items.length, 2);
  r = await env.manager.patch(`/api/v1/persons/${ids[1]}`, { last_name: 'Black', active: false, email: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'Bob Black');
  assert.equal(r.body.active, false);
  assert.equal(r.body.email, null);
  r = await env.manager.get('/api/v1/persons?active=false');
  assert.ok(r.body.items.every((p) => !p.active));
  assert.ok(r.body.items.some((p) => p.id === ids[1]));
  r = await env.manager.get('/api/v1/persons?active=true&q=P-00');
  assert.equal(r.body.total, 2);
  assert.equal((await env.manager.get('/api/v1/persons?active=maybe')).status, 400);
  r = await env.manager.get(`/api/v1/persons/${ids[0]}`);
  assert.equal(r.body.external_id, 'P-001');
  assert.equal((await env.manager.del(`/api/v1/persons/${ids[2]}`)).status, 204);
  assert.equal((await env.manager.get(`/api/v1/persons/${ids[2]}`)).status, 404);
  assert.equal((await env.manager.del(`/api/v1/persons/${ids[2]}`)).status, 404);
});

test('groups and membership', async () => {
  const a = await env.manager.post('/api/v1/persons', { external_id: 'G-A', first_name: 'Gia', last_name: 'A', kind: 'student' });
  const b = await env.manager.post('/api/v1/persons', { external_id: 'G-B', first_name: 'Gil', last_name: 'B', kind: 'student' });
  let r = await env.manager.post('/api/v1/groups', { name: '7B', description: 'Year 7, class B' });
  assert.equal(r.status, 201);
  assert.equal(r.body.member_count, 0);
  const g = r.body.id;
  assert.equal((await env.manager.post('/api/v1/groups', { name: '7B' })).status, 409);
  assert.equal((await env.manager.post('/api/v1/groups', { name: '' })).status, 400);
  assert.equal((await env.manager.post(`/api/v1/groups/${g}/members/${a.body.id}`)).status, 204);
  assert.equal((await env.manager.post(`/api/v1/groups/${g}/members/${a.body.id}`)).status, 204, 'adding twice is fine');
  r = await env.manager.get(`/api/v1/groups/${g}`);
  assert.equal(r.body.member_count, 1);
  r = await env.manager.put(`/api/v1/groups/${g}/members`, { person_ids: [b.body.id] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((p) => p.id), [b.body.id]);
  assert.equal((await env.manager.put(`/api/v1/groups/${g}/members`, { person_ids: [123456] })).status, 400);
  assert.equal((await env.manager.put(`/api/v1/groups/${g}/members`, { person_ids: 'all' })).status, 400);
  r = await env.manager.get(`/api/v1/groups/${g}/members`);
  assert.equal(r.body.total, 1);
  r = await env.manager.get(`/api/v1/persons/${b.body.id}`);
  assert.deepEqual(r.body.groups.map(({ id, name }) => ({ id, name })), [{ id: g, name: '7B' }]);
  assert.match(r.body.groups[0].joined_on, /^\d{4}-\d{2}-\d{2}$/);
  r = await env.manager.get(`/api/v1/persons?group_id=${g}`);
  assert.deepEqual(r.body.items.map((p) => p.id), [b.body.id]);
  r = await env.manager.patch(`/api/v1/groups/${g}`, { description: 'moved' });
  assert.equal(r.body.description, 'moved');
  assert.equal(r.body.name, '7B');
  assert.equal((await env.manager.del(`/api/v1/groups/${g}/members/${b.body.id}`)).status, 204);
  assert.equal((await env.manager.get(`/api/v1/groups/${g}`)).body.member_count, 0);
  // Removed people are listed nowhere as members (their membership ended,
  // kept for the reports), and may join again, more than once.
  assert.equal((await env.manager.get(`/api/v1/groups/${g}/members`)).body.total, 0);
  assert.deepEqual((await env.manager.get(`/api/v1/persons?group_id=${g}`)).body.items, []);
  assert.deepEqual((await env.manager.get(`/api/v1/persons/${b.body.id}`)).body.groups, []);
  for (let i = 0; i < 2; i++) {
    assert.equal((await env.manager.post(`/api/v1/groups/${g}/members/${b.body.id}`)).status, 204);
    assert.equal((await env.manager.get(`/api/v1/groups/${g}/members`)).body.total, 1);
    assert.equal((await env.manager.del(`/api/v1/groups/${g}/members/${b.body.id}`)).status, 204);
  }
  assert.equal((await env.manager.get(`/api/v1/groups/${g}`)).body.member_count, 0);
  r = await env.manager.get('/api/v1/groups');
  assert.ok(r.body.items.some((x) => x.id === g));
  assert.equal((await env.manager.del(`/api/v1/groups/${g}`)).status, 204);
  assert.equal((await env.manager.get(`/api/v1/groups/${g}`)).status, 404);
});

test('schedules use ISO weekdays and HH:MM clock times', async () => {
  const g = await env.manager.post('/api/v1/groups', { name: 'Shift A' });
  let r = await env.manager.post('/api/v1/schedules', { group_id: g.body.id, day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5, label: 'Maths' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.valid_from, /^\d{4}-\d\d-\d\d$/, 'in force from today');
  assert.deepEqual({ ...r.body, id: 0 }, { id: 0, group_id: g.body.id, person_id: null, day_of_week: 1, start: '08:00', end: '14:00', grace_min: 5, label: 'Maths', valid_from: r.body.valid_from, valid_to: null });
  const id = r.body.id;
  r = await env.manager.post('/api/v1/schedules', { group_id: g.body.id, day_of_week: 7, start: '22:00', end: '06:00' });
  assert.equal(r.status, 201);
  assert.equal(r.body.day_of_week, 7, 'Sunday is 7');
  for (const bad of [{ group_id: g.body.id, day_of_week: 0, start: '08:00', end: '09:00' },
    { group_id: g.body.id, day_of_week: 1, start: '8am', end: '09:00' },
    { group_id: g.body.id, day_of_week: 1, start: '25:00', end: '09:00' },
    { day_of_week: 1, start: '08:00', end: '09:00' },
    { group_id: g.body.id, person_id: 1, day_of_week: 1, start: '08:00', end: '09:00' },
    { group_id: 99999, day_of_week: 1, start: '08:00', end: '09:00' }]) {
    const b = await env.manager.post('/api/v1/schedules', bad);
    assert.equal(b.status, 400, JSON.stringify(bad));
  }
  r = await env.manager.patch(`/api/v1/schedules/${id}`, { end: '15:30', label: 'Maths+' });
  assert.equal(r.status, 200);
  assert.equal(r.body.end, '15:30');
  assert.equal(r.body.start, '08:00');
  r = await env.manager.get(`/api/v1/schedules?group_id=${g.body.id}`);
  assert.equal(r.body.total, 2);
  assert.equal((await env.manager.del(`/api/v1/schedules/${id}`)).status, 204);
  assert.equal((await env.manager.get(`/api/v1/schedules?group_id=${g.body.id}`)).body.total, 1);
  assert.equal((await env.manager.patch(`/api/v1/schedules/${id}`, { label: 'x' })).status, 404);
});

test('a timetable never has two slots at once: create and change refuse an overlap, PUT replaces it whole or not at all', async () => {
  const g = (await env.manager.post('/api/v1/groups', { name: 'Warehouse' })).body.id;
  const slot = (day_of_week, start, end, more = {}) => ({ group_id: g, day_of_week, start, end, ...more });
  const list = async () => (await env.manager.get(`/api/v1/schedules?group_id=${g}`)).body.items
    .map((s) => `${s.day_of_week} ${s.start}-${s.end} ${s.label}`);
  const night = (await env.manager.post('/api/v1/schedules', slot(5, '22:00', '06:00', { label: 'Noche' }))).body.id;
  const morning = (await env.manager.post('/api/v1/schedules', slot(1, '06:00', '14:00', { label: 'Mañana' }))).body.id;
  // Friday's night runs into Saturday's morning; Sunday's into Monday's.
  let r = await env.manager.post('/api/v1/schedules', slot(6, '05:00', '07:00'));
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'overlap');
  assert.match(r.body.error.message, /Saturday 05:00-07:00 overlaps Friday 22:00-06:00 \(schedule \d+\)/);
  r = await env.manager.post('/api/v1/schedules', slot(7, '23:00', '06:30'));
  assert.equal(r.status, 409, 'Sunday night into Monday 06:00');
  assert.equal((await env.manager.post('/api/v1/schedules', slot(1, '14:00', '22:00', { label: 'Tarde' }))).status, 201, 'back to back is no overlap');
  r = await env.manager.patch(`/api/v1/schedules/${morning}`, { end: '14:30' });
  assert.equal(r.status, 409);
  assert.match(r.body.error.message, /Monday 06:00-14:30 overlaps Monday 14:00-22:00/);
  assert.deepEqual(await list(), ['1 06:00-14:00 Mañana', '1 14:00-22:00 Tarde', '5 22:00-06:00 Noche']);
  // The whole timetable at once: shifting every slot by an hour would clash
  // half way one slot at a time; in one PUT it is fine.
  const put = (slots) => env.manager.put('/api/v1/schedules', { group_id: g, slots });
  const cur = (await env.manager.get(`/api/v1/schedules?group_id=${g}`)).body.items;
  const tarde = cur.find((s) => s.label === 'Tarde').id;
  r = await put([{ id: morning, day_of_week: 1, start: '07:00', end: '15:00', label: 'Mañana' },
    { id: tarde, day_of_week: 1, start: '15:00', end: '23:00', label: 'Tarde' },
    { day_of_week: 2, start: '07:00', end: '15:00', grace_min: 10, label: 'Martes' }]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.total, 3);
  assert.deepEqual(await list(), ['1 07:00-15:00 Mañana', '1 15:00-23:00 Tarde', '2 07:00-15:00 Martes']);
  assert.equal(r.body.items.find((s) => s.label === 'Mañana').id, morning, 'a slot kept keeps its id (its events still name it)');
  assert.equal((await env.manager.get(`/api/v1/schedules?group_id=${g}`)).body.items.some((s) => s.id === night), false, 'the night slot not listed is gone');
  // Refused whole: nothing changes.
  const before = await list();
  for (const [slots, status, code] of [
    [[{ day_of_week: 3, start: '08:00', end: '12:00' }, { day_of_week: 3, start: '11:00', end: '13:00' }], 409, 'overlap'],
    [[{ day_of_week: 3, start: '08:00', end: '12:00' }, { day_of_week: 3, start: '8am', end: '13:00' }], 400, 'invalid_field'],
    [[{ id: 987654, day_of_week: 3, start: '08:00', end: '12:00' }], 404, 'not_found'],
    [[{ id: morning, day_of_week: 3, start: '08:00', end: '09:00' }, { id: morning, day_of_week: 4, start: '08:00', end: '09:00' }], 400, 'invalid_field'],
    [[{ group_id: g, day_of_week: 3, start: '08:00', end: '12:00' }], 400, 'invalid_field'],
    [Array.from({ length: 501 }, (_, i) => ({ day_of_week: 1 + (i % 7), start: '08:00', end: '08:01' })), 400, 'invalid_field'],
    ['nope', 400, 'invalid_field']]) {
    r = await put(slots);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code);
  }
  assert.deepEqual(await list(), before);
  // Another timetable's slot id is not this one's to keep.
  const other = (await env.manager.post('/api/v1/groups', { name: 'Office' })).body.id;
  const os = (await env.manager.post('/api/v1/schedules', { group_id: other, day_of_week: 1, start: '09:00', end: '17:00' })).body.id;
  r = await put([{ id: os, day_of_week: 1, start: '09:00', end: '10:00' }]);
  assert.equal(r.status, 404);
  assert.equal((await env.manager.get(`/api/v1/schedules?group_id=${other}`)).body.total, 1);
  // A person's own timetable, and an emptied one.
  r = await env.manager.put('/api/v1/schedules', { group_id: g, person_id: 1, slots: [] });
  assert.equal(r.status, 400);
  r = await put([]);
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 0);
  const audit = (await admin.get('/api/v1/audit?action=schedule.replace')).body.items;
  assert.ok(audit.some((a) => a.target === `group:${g}` && JSON.parse(a.detail).slots === 3), JSON.stringify(audit.slice(0, 2)));
});

test('a timetable changes from an effective day: the days before keep their slots, GET ?on= shows a day\'s and the changes to come', async () => {
  const g = (await env.manager.post('/api/v1/groups', { name: 'Dated 1A' })).body.id;
  const day = (from, n) => new Date(Date.parse(`${from}T00:00:00Z`) + n * 86400e3).toISOString().slice(0, 10);
  let r = await env.manager.post('/api/v1/schedules', { group_id: g, day_of_week: 1, start: '08:00', end: '09:00', label: 'Mates' });
  assert.equal(r.status, 201);
  const a = r.body.id, today = r.body.valid_from;
  const week = day(today, 7);
  // From next week Mates moves to 10:00: a new slot carries it on, the
  // current one ends the day before.
  r = await env.manager.put('/api/v1/schedules', { group_id: g, effective: week, slots: [{ id: a, day_of_week: 1, start: '10:00', end: '11:00', label: 'Mates' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.total, 1);
  const b = r.body.items[0];
  assert.notEqual(b.id, a);
  assert.deepEqual([b.start, b.valid_from, b.valid_to, b.upcoming], ['10:00', week, null, false]);
  r = await env.manager.get(`/api/v1/schedules?group_id=${g}`);
  assert.deepEqual(r.body.items.map((s) => [s.id, s.start, s.valid_from, s.valid_to, s.upcoming]),
    [[a, '08:00', today, day(week, -1), false], [b.id, '10:00', week, null, true]]);
  r = await env.manager.get(`/api/v1/schedules?group_id=${g}&on=${week}`);
  assert.deepEqual(r.body.items.map((s) => s.id), [b.id]);
  const audit = (await admin.get('/api/v1/audit?action=schedule.replace')).body.items;
  assert.ok(audit.some((x) => x.target === `group:${g}` && JSON.parse(x.detail).effective === week));
  // Bad days, days too far, and a past day for a manager (admins only).
  for (const [who, body, status] of [
    [env.manager, { effective: '2026-02-30' }, 400], [env.manager, { effective: 'mañana' }, 400],
    [env.manager, { effective: 20260101 }, 400], [admin, { effective: day(today, -400) }, 400],
    [admin, { effective: day(today, 400) }, 400], [env.manager, { effective: day(today, -1) }, 403]]) {
    r = await who.put('/api/v1/schedules', { group_id: g, slots: [], ...body });
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  }
  assert.match(r.body.error.message, /administrator/);
  assert.equal((await env.manager.get(`/api/v1/schedules?group_id=${g}&on=2026-13-01`)).status, 400);
  assert.equal((await env.manager.patch(`/api/v1/schedules/${b.id}`, { label: 'x', effective: day(today, -1) })).status, 403);
  assert.equal((await env.manager.del(`/api/v1/schedules/${b.id}?effective=${day(today, -1)}`)).status, 403);
  assert.equal((await env.manager.get(`/api/v1/schedules?group_id=${g}&on=${week}`)).body.items[0].label, 'Mates', 'nothing changed');
  // An admin dates a slot back ten days; deleting it today ends it
  // yesterday: the days before keep it.
  r = await admin.post('/api/v1/schedules', { group_id: g, day_of_week: 2, start: '08:00', end: '09:00', label: 'Arte', effective: day(today, -10) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.valid_from, day(today, -10));
  const art = r.body.id;
  assert.equal((await env.manager.del(`/api/v1/schedules/${art}`)).status, 204);
  r = await env.manager.get(`/api/v1/schedules?group_id=${g}&on=${day(today, -5)}`);
  assert.deepEqual(r.body.items.filter((s) => s.id === art).map((s) => s.valid_to), [day(today, -1)]);
  r = await env.manager.get(`/api/v1/schedules?group_id=${g}`);
  assert.equal(r.body.items.some((s) => s.id === art), false);
  // The upcoming slot, deleted before it begins, is gone; a manager may
  // date a change ahead.
  assert.equal((await env.manager.del(`/api/v1/schedules/${b.id}?effective=${week}`)).status, 204);
  assert.equal((await env.manager.patch(`/api/v1/schedules/${b.id}`, { label: 'x' })).status, 404);
});

test('holidays: id is the date, YYYYMMDD', async () => {
  let r = await env.manager.post('/api/v1/holidays', { date: '2026-12-25', name: 'Christmas' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body, { id: 20261225, date: '2026-12-25', name: 'Christmas', to: '2026-12-25', days: 1 });
  for (const bad of [{ date: '2026-02-30', name: 'x' }, { date: '25/12/2026', name: 'x' }, { date: '2026-12-26' }])
    assert.equal((await env.manager.post('/api/v1/holidays', bad)).status, 400, JSON.stringify(bad));
  r = await env.manager.get('/api/v1/holidays');
  assert.ok(r.body.items.some((h) => h.date === '2026-12-25'));
  assert.equal((await env.manager.del('/api/v1/holidays/20261225')).status, 204);
  assert.equal((await env.manager.del('/api/v1/holidays/20261225')).status, 404);
  assert.equal((await env.manager.del('/api/v1/holidays/20261399')).status, 404);
  // A range is one holiday a day, the last day included, across a year's
  // end (before, Christmas and summer took one form per day).
  r = await env.manager.post('/api/v1/holidays', { date: '2026-12-23', to: '2027-01-07', name: 'Navidad' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id: 20261223, date: '2026-12-23', name: 'Navidad', to: '2027-01-07', days: 16 });
  const xmas = (await env.manager.get('/api/v1/holidays?limit=500')).body.items.filter((h) => h.name === 'Navidad');
  assert.equal(xmas.length, 16);
  assert.ok(xmas.some((h) => h.date === '2026-12-31') && xmas.some((h) => h.date === '2027-01-07'));
  for (const bad of [{ date: '2027-01-07', to: '2026-12-23', name: 'x' }, { date: '2026-06-20', to: '2027-09-01', name: 'x' },
    { date: '2026-06-20', to: '2026-13-01', name: 'x' }]) {
    const res = await env.manager.post('/api/v1/holidays', bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.body.error.params.field, 'to');
  }
  for (const h of xmas) assert.equal((await env.manager.del(`/api/v1/holidays/${h.id}`)).status, 204);
});

test('cameras: create, list (manager too), get, patch, delete', async () => {
  let r = await admin.post('/api/v1/cameras', { name: 'Main door', kind: 'rtsp', url: 'rtsp://10.0.0.9/live', direction: 'entry', fps: 4 });
  assert.equal(r.status, 201);
  const c = r.body;
  assert.equal(c.direction, 'entry');
  assert.equal(c.enabled, true);
  assert.equal(c.fps, 4);
  assert.equal(typeof c.status.state, 'string');
  assert.equal((await admin.post('/api/v1/cameras', { name: 'x', kind: 'rtsp' })).status, 400, 'url required');
  assert.equal((await admin.post('/api/v1/cameras', { name: 'x', kind: 'vhs', url: 'u' })).status, 400);
  assert.equal((await admin.post('/api/v1/cameras', { name: 'x', kind: 'file', url: 'u', fps: 0 })).status, 400);
  r = await env.manager.get('/api/v1/cameras');
  assert.ok(r.body.items.some((x) => x.id === c.id));
  r = await admin.patch(`/api/v1/cameras/${c.id}`, { enabled: false, direction: 'exit' });
  assert.equal(r.body.enabled, false);
  assert.equal(r.body.direction, 'exit');
  assert.equal(r.body.status.state, 'disabled');
  assert.equal((await admin.get(`/api/v1/cameras/${c.id}`)).body.name, 'Main door');
  assert.equal((await admin.del(`/api/v1/cameras/${c.id}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/cameras/${c.id}`)).status, 404);
});

test('rollcall user add|passwd|list manage the same accounts', async () => {
  const BIN = process.env.ROLLCALL_BIN;
  const data = join(env.dir, 'data');
  let r = spawnSync(BIN, ['user', 'add', 'cli@example.org', '--data', data, '--role', 'manager', '--password', 'cli-pass-12'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Created cli@example.org \(manager\)/);
  const c = new Client(env.srv.url);
  await c.login('cli@example.org', 'cli-pass-12');
  r = spawnSync(BIN, ['user', 'passwd', 'cli@example.org', '--data', data], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const pw = r.stdout.match(/Password \(shown once\): (\S+)/)[1];
  await c.login('cli@example.org', pw);
  r = spawnSync(BIN, ['user', 'passwd', 'cli@example.org', '--data', data, '--password-stdin'], { encoding: 'utf8', input: 'from-stdin-1\n' });
  assert.equal(r.status, 0, r.stderr);
  await c.login('cli@example.org', 'from-stdin-1');
  r = spawnSync(BIN, ['user', 'list', '--data', data], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /cli@example\.org\s+manager\s+yes/);
  assert.match(r.stdout, /admin@example\.org\s+admin/);
  r = spawnSync(BIN, ['user', 'add', 'cli@example.org', '--data', data, '-p', 'another-pw1'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already exists/);
  r = spawnSync(BIN, ['user', 'add', 'x@example.org', '--data', data, '--role', 'king'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  // The read-only role (HR, inspection) from the command line too: it reads, and writes nothing.
  r = spawnSync(BIN, ['user', 'add', 'hr-cli@example.org', '--data', data, '--role', 'auditor', '--password', 'cli-pass-13'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Created hr-cli@example.org \(auditor\)/);
  const hr = new Client(env.srv.url);
  await hr.login('hr-cli@example.org', 'cli-pass-13');
  assert.equal((await hr.get('/api/v1/persons')).status, 200);
  assert.equal((await hr.post('/api/v1/groups', { name: 'No' })).status, 403);
  r = spawnSync(BIN, ['user', 'frob'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  r = spawnSync(BIN, ['user', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const w of ['add', 'passwd', 'list', '--password-stdin', '--db']) assert.ok(r.stdout.includes(w), w);
});

test('attendance: manual events, corrections, filters, member scope, export, reports, dashboard', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const dow = ((new Date().getUTCDay() + 6) % 7) + 1; // ISO weekday, UTC (the zone is UTC here)
  const p = await env.manager.post('/api/v1/persons', { external_id: 'ATT-1', first_name: 'Ada', last_name: 'Lovelace', kind: 'employee' });
  const q = await env.manager.post('/api/v1/persons', { external_id: 'ATT-2', first_name: 'Alan', last_name: 'Turing', kind: 'employee' });
  const g = await env.manager.post('/api/v1/groups', { name: 'Lab' });
  await env.manager.put(`/api/v1/groups/${g.body.id}/members`, { person_ids: [p.body.id, q.body.id] });
  let r = await env.manager.post('/api/v1/schedules', { group_id: g.body.id, day_of_week: dow, start: '00:10', end: '23:50', grace_min: 5, label: 'Day' });
  assert.equal(r.status, 201);
  r = await env.manager.post('/api/v1/attendance', { person_id: p.body.id, type: 'entry', time: `${today}T00:30:00Z`, reason: 'badge reader down' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const ev = r.body;
  assert.equal(ev.person_name, 'Ada Lovelace');
  assert.equal(ev.external_id, 'ATT-1');
  assert.equal(ev.type, 'entry');
  assert.equal(ev.status, 'late', '20 minutes after start with 5 minutes grace');
  assert.equal(ev.manual, true);
  assert.equal(ev.reason, 'badge reader down');
  assert.equal(ev.time, `${today}T00:30:00Z`);
  for (const bad of [{ person_id: p.body.id, type: 'entry', time: 'now', reason: 'x' },
    { person_id: p.body.id, type: 'in', time: `${today}T01:00:00Z`, reason: 'x' },
    { person_id: 999999, type: 'entry', time: `${today}T01:00:00Z`, reason: 'x' },
    { person_id: p.body.id, type: 'entry', time: `${today}T01:00:00Z` }])
    assert.equal((await env.manager.post('/api/v1/attendance', bad)).status, 400, JSON.stringify(bad));
  r = await env.manager.patch(`/api/v1/attendance/${ev.id}`, { time: `${today}T00:12:00Z`, reason: 'clock was wrong' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'on_time', 'judged again after the correction');
  assert.equal(r.body.time, `${today}T00:12:00Z`);
  assert.equal((await env.manager.patch(`/api/v1/attendance/${ev.id}`, { type: 'exit' })).status, 400, 'reason required');
  r = await env.manager.patch(`/api/v1/attendance/${ev.id}`, { status: 'late', reason: 'policy' });
  assert.equal(r.body.status, 'late');
  assert.equal((await env.manager.patch('/api/v1/attendance/999999', { reason: 'x' })).status, 404);
  await env.manager.post('/api/v1/attendance', { person_id: q.body.id, type: 'entry', time: `${today}T00:11:00Z`, reason: 'manual' });
  r = await env.manager.get(`/api/v1/attendance?from=${today}&to=${today}`);
  assert.equal(r.body.total, 2);
  r = await env.manager.get(`/api/v1/attendance?person_id=${q.body.id}`);
  assert.deepEqual(r.body.items.map((e) => e.person_id), [q.body.id]);
  r = await env.manager.get('/api/v1/attendance?status=late');
  assert.ok(r.body.items.every((e) => e.status === 'late') && r.body.total >= 1);
  r = await env.manager.get(`/api/v1/attendance?group_id=${g.body.id}&type=entry&limit=1`);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.total, 2);
  assert.equal((await env.manager.get('/api/v1/attendance?from=yesterday')).status, 400);
  assert.equal((await env.manager.get('/api/v1/attendance?status=sleeping')).status, 400);
  // Members: only their own person, and only when linked.
  r = await env.member.get('/api/v1/attendance');
  assert.deepEqual(r.body, { items: [], total: 0 }, 'not linked to a person yet: nothing to see');
  await admin.patch(`/api/v1/users/${env.member.userId}`, { person_id: p.body.id });
  r = await env.member.get('/api/v1/attendance');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.length >= 1 && r.body.items.every((e) => e.person_id === p.body.id));
  assert.equal((await env.member.get(`/api/v1/attendance?person_id=${q.body.id}`)).status, 403);
  r = await env.member.get(`/api/v1/reports/summary?from=${today}&to=${today}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.person_id), [p.body.id]);
  // Export.
  r = await env.manager.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}&group_id=${g.body.id}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="attendance-.*\.csv"/);
  assert.match(r.body, /Ada Lovelace/);
  assert.match(r.body, /Alan Turing/);
  r = await env.manager.get(`/api/v1/attendance/export?format=xlsx&from=${today}&to=${today}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.subarray(0, 2).toString(), 'PK', 'an XLSX is a zip');
  assert.equal((await env.manager.get('/api/v1/attendance/export?format=pdf')).status, 400);
  assert.equal((await env.manager.get('/api/v1/attendance/export?from=2026-13-01')).status, 400);
  // Reports and dashboard.
  r = await env.manager.get(`/api/v1/reports/summary?from=${today}&to=${today}&group_id=${g.body.id}`);
  assert.equal(r.status, 200);
  const ada = r.body.items.find((x) => x.person_id === p.body.id);
  assert.equal(ada.name, 'Ada Lovelace');
  assert.equal(ada.late, 1);
  assert.match(ada.first_entry, ISO);
  r = await env.manager.get(`/api/v1/reports/daily?from=${today}&to=${today}&group_id=${g.body.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].date, today);
  assert.equal(r.body.items[0].expected, 2);
  assert.equal(r.body.items[0].present, 2);
  assert.equal(r.body.items[0].late, 1);
  r = await env.manager.get('/api/v1/dashboard');
  assert.equal(r.status, 200);
  assert.ok(r.body.today.present >= 2);
  assert.ok(r.body.today.late >= 1);
  assert.ok(r.body.late_by_group.some((x) => x.group_id === g.body.id && x.late === 1));
  assert.ok(r.body.recent.length >= 2);
  assert.ok(r.body.recent[0].time >= r.body.recent[1].time, 'newest first');
});

test('the event stream delivers attendance events as they happen', async () => {
  const ac = new AbortController();
  const res = await fetch(new URL('api/v1/events', env.srv.url), { headers: env.manager.headers(), signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const reader = res.body.getReader();
  const p = await env.manager.post('/api/v1/persons', { external_id: 'SSE-1', first_name: 'Sam', last_name: 'Stream', kind: 'other' });
  await env.manager.post('/api/v1/attendance', { person_id: p.body.id, type: 'entry', time: new Date().toISOString().slice(0, 19) + 'Z', reason: 'sse test' });
  let text = '';
  const dec = new TextDecoder();
  while (!text.includes('Sam Stream')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  ac.abort();
  const m = text.match(/event: attendance\ndata: (.*)\n\n/);
  assert.ok(m, text);
  const ev = JSON.parse(m[1]);
  assert.equal(ev.person_name, 'Sam Stream');
  assert.equal(ev.new, true);
});

test('a manager limited to groups sees attendance and reports of those groups only', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const mk = async (ext) => (await admin.post('/api/v1/persons', { external_id: ext, first_name: ext, last_name: 'S', kind: 'student' })).body.id;
  const [a, b] = [await mk('SCOPE-A'), await mk('SCOPE-B')];
  const ga = (await admin.post('/api/v1/groups', { name: 'Scope A' })).body.id;
  const gb = (await admin.post('/api/v1/groups', { name: 'Scope B' })).body.id;
  await admin.post(`/api/v1/groups/${ga}/members/${a}`);
  await admin.post(`/api/v1/groups/${gb}/members/${b}`);
  for (const p of [a, b])
    await admin.post('/api/v1/attendance', { person_id: p, type: 'entry', time: `${today}T00:20:00Z`, reason: 'scope test' });
  let r = await admin.post('/api/v1/users', { email: 'scoped@example.org', name: 'Scoped', role: 'manager', password: 'scoped-pass-1', group_ids: [ga], must_change_password: false });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.group_ids, [ga]);
  assert.equal((await admin.post('/api/v1/users', { email: 'x9@example.org', name: 'x', role: 'manager', password: 'scoped-pass-1', group_ids: [999999] })).status, 400);
  const m = new Client(env.srv.url);
  await m.login('scoped@example.org', 'scoped-pass-1');
  r = await m.get(`/api/v1/attendance?from=${today}&to=${today}`);
  assert.ok(r.body.items.length >= 1);
  assert.ok(r.body.items.every((e) => e.person_id === a), 'only group A');
  assert.equal((await m.get(`/api/v1/attendance?group_id=${gb}`)).status, 403);
  assert.equal((await m.get(`/api/v1/attendance?person_id=${b}`)).status, 403);
  assert.equal((await m.get(`/api/v1/reports/summary?group_id=${gb}`)).status, 403);
  r = await m.get(`/api/v1/reports/summary?from=${today}&to=${today}`);
  assert.deepEqual(r.body.items.map((x) => x.person_id), [a]);
  r = await m.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`);
  assert.match(r.body, /SCOPE-A/);
  assert.doesNotMatch(r.body, /SCOPE-B/);
  r = await m.get('/api/v1/dashboard');
  assert.ok(r.body.recent.every((e) => e.person_id === a));
  // A person outside their groups is as unknown to them (it was 403: it told that b exists).
  r = await m.post('/api/v1/attendance', { person_id: b, type: 'exit', time: `${today}T01:00:00Z`, reason: 'x' });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.message, `field 'person_id': there is no person ${b}`);
  // Unlimited again: sees everyone.
  const id = r.body && (await admin.get('/api/v1/users?limit=500')).body.items.find((u) => u.email === 'scoped@example.org').id;
  r = await admin.patch(`/api/v1/users/${id}`, { group_ids: [] });
  assert.deepEqual(r.body.group_ids, []);
  r = await m.get(`/api/v1/attendance?person_id=${b}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 1);
});

test('names: first and last name are kept apart; the display name follows them', async () => {
  let r = await admin.post('/api/v1/persons', { external_id: 'NAME-1', first_name: 'Mary Ann', last_name: 'Evans', kind: 'other' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.first_name, 'Mary Ann');
  assert.equal(r.body.last_name, 'Evans');
  assert.equal(r.body.name, 'Mary Ann Evans');
  r = await admin.patch(`/api/v1/persons/${r.body.id}`, { last_name: '' });
  assert.equal(r.body.first_name, 'Mary Ann');
  assert.equal(r.body.name, 'Mary Ann');
  r = await admin.get(`/api/v1/persons/${r.body.id}`);
  assert.equal(r.body.name, 'Mary Ann');
  assert.equal((await admin.patch(`/api/v1/persons/${r.body.id}`, { first_name: '' })).status, 400);
});

test("a user's person, groups and last login and a key's camera are kept when set and cleared when what they name is deleted", async () => {
  const person = (await admin.post('/api/v1/persons', { external_id: 'LINK-1', first_name: 'Linked', last_name: 'Member', kind: 'student' })).body.id;
  const g1 = (await admin.post('/api/v1/groups', { name: 'Link 1' })).body.id;
  const g2 = (await admin.post('/api/v1/groups', { name: 'Link 2' })).body.id;
  let r = await admin.post('/api/v1/users', { email: 'linked@example.org', name: 'Linked', role: 'member', password: 'linked-pass-1', person_id: person, must_change_password: false });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const uid = r.body.id;
  assert.equal(r.body.person_id, person);
  assert.equal(r.body.last_login_at, null);
  const u = new Client(env.srv.url);
  await u.login('linked@example.org', 'linked-pass-1');
  r = await admin.get(`/api/v1/users/${uid}`);
  assert.match(r.body.last_login_at, ISO);
  assert.equal((await admin.patch(`/api/v1/users/${uid}`, { person_id: 987654 })).status, 400);
  r = await admin.post('/api/v1/users', { email: 'links-boss@example.org', name: 'Boss', role: 'manager', password: 'linked-pass-1', group_ids: [g1, g2], must_change_password: false });
  const mid = r.body.id;
  assert.deepEqual(r.body.group_ids, [g1, g2]);
  const cam = (await admin.post('/api/v1/cameras', { name: 'Link gate', kind: 'mjpeg', url: 'http://10.0.0.9/s' })).body.id;
  r = await admin.post('/api/v1/api-keys', { name: 'link key', role: 'device', camera_id: cam });
  const kid = r.body.id;
  assert.equal(r.body.role, 'device');
  assert.equal(r.body.camera_id, cam);
  // Delete what they point at.
  assert.equal((await admin.del(`/api/v1/persons/${person}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/users/${uid}`)).body.person_id, null);
  assert.equal((await admin.del(`/api/v1/groups/${g2}`)).status, 204);
  assert.deepEqual((await admin.get(`/api/v1/users/${mid}`)).body.group_ids, [g1]);
  assert.equal((await admin.del(`/api/v1/cameras/${cam}`)).status, 204);
  r = await admin.get('/api/v1/api-keys?limit=500');
  assert.equal(r.body.items.find((k) => k.id === kid), undefined, 'a deleted camera\'s key is revoked, never left unbound');
  // Nothing of it is kept in settings any more.
  r = await admin.get('/api/v1/settings');
  assert.ok(!Object.keys(r.body).some((k) => /^(user_|api_key_)/.test(k)));
});
