// product.test.mjs — what a school needs around attendance, through real
// HTTP: errors with stable codes and parameters the UI translates; one-time
// passwords (the first admin's and those an admin sets) that must be changed
// before anything else, and a password change that ends the account's other
// sessions; voiding and deleting an event with a reason (audited, left out of
// reports); the kiosk's institution name, the PIN that leaves kiosk mode
// (hashed, throttled, audited) and the code + PIN check-in recorded with
// source "pin"; exports in Spanish (CSV with a BOM and ';', XLSX sheet names)
// read back byte by byte, from the API and from `rollcall export`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, startWithRoles } from './lib.mjs';

let env, admin;
const today = new Date().toISOString().slice(0, 10);
const dow = ((new Date().getUTCDay() + 6) % 7) + 1; // ISO weekday (the zone is UTC here)

before(async () => {
  env = await startWithRoles();
  admin = env.admin;
});
after(async () => {
  assert.equal(await env.stop(), 0);
});

test('errors carry a stable code and the parameters a translation needs', async () => {
  let r = await admin.post('/api/v1/persons', { first_name: 'x', last_name: 'y', kind: 'student' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'missing_field');
  assert.deepEqual(r.body.error.params, { field: 'external_id' });
  assert.match(r.body.error.message, /external_id/, 'the English message stays');
  r = await admin.patch('/api/v1/settings', { dedup_window_s: -1 });
  assert.equal(r.body.error.code, 'invalid_field');
  assert.deepEqual(r.body.error.params, { field: 'dedup_window_s', min: 0, max: 86400 });
  r = await admin.post('/api/v1/users', { email: 'e@x.org', name: 'E', role: 'boss', password: 'long-enough-1' });
  assert.equal(r.body.error.params.field, 'role');
  assert.deepEqual(r.body.error.params.choices, ['admin', 'manager', 'member', 'device', 'auditor']);
  r = await admin.post('/api/v1/users', { email: 'e@x.org', name: 'E', role: 'member', password: 'short' });
  assert.equal(r.body.error.code, 'weak_password');
  assert.deepEqual(r.body.error.params, { min: 8 });
  r = await new Client(env.srv.url).post('/api/v1/auth/login', { email: 'nobody@x.org', password: 'whatever-1' });
  assert.equal(r.body.error.code, 'invalid_credentials');
  assert.deepEqual(r.body.error.params, {});
  r = await admin.get('/api/v1/persons/999999');
  assert.equal(r.body.error.code, 'not_found');
  assert.deepEqual(r.body.error.params, {});
});

test('the account lockout says how long, for the translation', async () => {
  await admin.post('/api/v1/users', { email: 'locked@x.org', name: 'L', role: 'member', password: 'locked-pass-1', must_change_password: false });
  const c = new Client(env.srv.url);
  for (let i = 0; i < 5; i++) await c.post('/api/v1/auth/login', { email: 'locked@x.org', password: 'wrong-pass-1' });
  const r = await c.post('/api/v1/auth/login', { email: 'locked@x.org', password: 'locked-pass-1' });
  assert.equal(r.status, 429);
  assert.equal(r.body.error.code, 'too_many_attempts');
  assert.equal(r.body.error.params.scope, 'account');
  assert.ok(Number.isInteger(r.body.error.params.minutes) && r.body.error.params.minutes >= 1, 'minutes to wait');
});

test('a password an admin sets is one-time: nothing but changing it works until it is changed', async () => {
  let r = await admin.post('/api/v1/users', { email: 'teacher@x.org', name: 'T', role: 'manager', password: 'given-by-admin-1' });
  assert.equal(r.status, 201);
  assert.equal(r.body.must_change_password, true);
  const t = new Client(env.srv.url);
  const s = await t.login('teacher@x.org', 'given-by-admin-1');
  assert.equal(s.user.must_change_password, true);
  r = await t.get('/api/v1/persons');
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'password_change_required');
  assert.equal((await t.get('/api/v1/auth/me')).status, 200, '/me still answers');

  // A second browser of the same account, to see it signed out later.
  const other = new Client(env.srv.url);
  await other.login('teacher@x.org', 'given-by-admin-1');

  r = await t.post('/api/v1/auth/password', { current_password: 'not-it-at-all', new_password: 'my-own-pass-1' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'wrong_current_password');
  r = await t.post('/api/v1/auth/password', { current_password: 'given-by-admin-1', new_password: 'short' });
  assert.equal(r.body.error.code, 'weak_password');
  r = await t.post('/api/v1/auth/password', { current_password: 'given-by-admin-1', new_password: 'given-by-admin-1' });
  assert.equal(r.body.error.code, 'same_password');
  r = await t.post('/api/v1/auth/password', { current_password: 'given-by-admin-1', new_password: 'my-own-pass-1' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.user.must_change_password, false);
  // This browser gets a new session; the old cookie and the other browser's are gone.
  const oldCookie = t.cookie;
  t.cookie = r.headers.get('set-cookie').split(';')[0];
  t.csrf = r.body.csrf_token;
  assert.notEqual(t.cookie, oldCookie);
  assert.equal((await t.get('/api/v1/persons')).status, 200);
  assert.equal((await other.get('/api/v1/auth/me')).status, 401, 'the other session ended');
  const stale = new Client(env.srv.url);
  stale.cookie = oldCookie;
  assert.equal((await stale.get('/api/v1/auth/me')).status, 401, 'the old session ended');
  assert.equal((await new Client(env.srv.url).post('/api/v1/auth/login', { email: 'teacher@x.org', password: 'given-by-admin-1' })).status, 401);
  await new Client(env.srv.url).login('teacher@x.org', 'my-own-pass-1');

  // An admin resetting someone's password makes it one-time again; an API key has none.
  const u = (await admin.get('/api/v1/users?limit=500')).body.items.find((x) => x.email === 'teacher@x.org');
  r = await admin.patch(`/api/v1/users/${u.id}`, { password: 'reset-by-admin-1' });
  assert.equal(r.body.must_change_password, true);
  r = await env.device.post('/api/v1/auth/password', { current_password: 'x', new_password: 'long-enough-1' });
  assert.equal(r.body.error.code, 'no_password');
  const audit = (await admin.get('/api/v1/audit?action=auth.password_change')).body;
  assert.equal(audit.total, 1);
});

test('the first admin printed at start must change that one-time password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-first-'));
  const child = spawn(process.env.ROLLCALL_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--models', join(dir, 'none'), '--no-access-log'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const { url, password } = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 30000);
      child.stdout.on('data', (d) => {
        out += d;
        const pw = out.match(/one-time password (\S+)/);
        const m = out.match(/listening on (https?:\/\/\S+\/)/);
        if (pw && m) { clearTimeout(timer); resolve({ url: m[1], password: pw[1] }); }
      });
    });
    const c = new Client(url);
    const s = await c.login('admin@localhost', password);
    assert.equal(s.user.must_change_password, true);
    assert.equal((await c.get('/api/v1/users')).body.error.code, 'password_change_required');
    const r = await c.post('/api/v1/auth/password', { current_password: password, new_password: 'school-admin-pass-1' });
    assert.equal(r.status, 200);
    c.cookie = r.headers.get('set-cookie').split(';')[0];
    c.csrf = r.body.csrf_token;
    assert.equal((await c.get('/api/v1/users')).status, 200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((res) => child.on('exit', res));
    rmSync(dir, { recursive: true, force: true });
  }
});

async function personWithSlotToday(code, first) {
  const p = await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: 'Núñez', kind: 'student' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const s = await admin.post('/api/v1/schedules', { person_id: p.body.id, day_of_week: dow, start: '00:00', end: '24:00', grace_min: 720, label: 'Matemáticas' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return p.body;
}

test('a wrong event is voided (kept, shown, not counted) or deleted, with a reason, audited', async () => {
  const p = await personWithSlotToday('V-1', 'Vera');
  let r = await admin.post('/api/v1/attendance', { person_id: p.id, type: 'entry', time: `${today}T00:05:00Z`, reason: 'badge' });
  assert.equal(r.status, 201);
  const ev = r.body;
  const summary = async () => (await admin.get(`/api/v1/reports/summary?from=${today}&to=${today}&person_id=${p.id}`)).body.items[0];
  assert.equal((await summary()).present, 1);

  r = await admin.post(`/api/v1/attendance/${ev.id}/void`, { reason: '' });
  assert.equal(r.body.error.code, 'reason_required');
  r = await admin.post(`/api/v1/attendance/${ev.id}/void`, { reason: 'wrong person recognized' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.voided_at);
  assert.equal(r.body.reason, 'wrong person recognized');
  assert.equal((await admin.post(`/api/v1/attendance/${ev.id}/void`, { reason: 'again' })).status, 409);
  assert.equal((await summary()).present, 0, 'a void event is not counted');
  // The slot started at 00:00 with 12 h of grace: absent once that passed
  // (held only when 12:00 UTC did not come between the two readings).
  const pm = () => new Date().getUTCHours() >= 12;
  const pmBefore = pm(), absent = (await summary()).absent;
  if (pm() === pmBefore) assert.equal(absent, pmBefore ? 1 : 0, 'absent after start + grace');
  let list = (await admin.get(`/api/v1/attendance?person_id=${p.id}`)).body;
  assert.equal(list.total, 0, 'void events are left out of the list by default');
  list = (await admin.get(`/api/v1/attendance?person_id=${p.id}&include_void=true`)).body;
  assert.equal(list.items[0].id, ev.id, 'but kept');

  r = await admin.post('/api/v1/attendance', { person_id: p.id, type: 'entry', time: `${today}T00:06:00Z`, reason: 'badge' });
  assert.equal(r.body.status, 'on_time', 'the voided entry does not make this one a repeat');
  r = await admin.req('DELETE', `/api/v1/attendance/${r.body.id}`, { json: {} });
  assert.equal(r.body.error.code, 'missing_field');
  const id2 = (await admin.get(`/api/v1/attendance?person_id=${p.id}`)).body.items[0].id;
  r = await admin.req('DELETE', `/api/v1/attendance/${id2}`, { json: { reason: 'duplicate typed by hand' } });
  assert.equal(r.status, 204);
  assert.equal((await admin.get(`/api/v1/attendance?person_id=${p.id}&include_void=true`)).body.total, 1);
  const voids = (await admin.get('/api/v1/audit?action=event.void')).body.items;
  assert.match(voids[0].detail, /wrong person recognized/);
  const removes = (await admin.get('/api/v1/audit?action=event.remove')).body.items;
  assert.match(removes[0].detail, /duplicate typed by hand/);
  // A manager limited to another group cannot void this person's events.
  const g = await admin.post('/api/v1/groups', { name: 'Other' });
  await admin.post('/api/v1/users', { email: 'scoped@x.org', name: 'S', role: 'manager', password: 'scoped-pass-1', group_ids: [g.body.id], must_change_password: false });
  const scoped = new Client(env.srv.url);
  await scoped.login('scoped@x.org', 'scoped-pass-1');
  r = await scoped.post(`/api/v1/attendance/${ev.id}/void`, { reason: 'x' });
  assert.equal(r.status, 404, 'as an unknown event: ' + JSON.stringify(r.body));
  assert.equal(r.body.error.message, `no event with id ${ev.id}`);
});

test('kiosk: institution name for every role, a hashed PIN to leave, throttled and audited', async () => {
  let r = await admin.patch('/api/v1/settings', { institution_name: 'IES Río Tajo', kiosk_pin: '12ab' });
  assert.equal(r.body.error.code, 'invalid_pin_format');
  assert.deepEqual(r.body.error.params, { field: 'kiosk_pin', min: 4, max: 12 });
  // The PINs anyone tries first are refused, without repeating them.
  for (const weak of ['0000', '1234', '98765', '777777', '012345678']) {
    r = await admin.patch('/api/v1/settings', { kiosk_pin: weak });
    assert.equal(r.status, 400, weak);
    assert.equal(r.body.error.code, 'weak_pin', weak);
    assert.deepEqual(r.body.error.params, { field: 'kiosk_pin' });
    assert.ok(!r.body.error.message.includes(weak), r.body.error.message);
  }
  assert.equal((await admin.get('/api/v1/settings')).body.kiosk_pin_set, false, 'no weak PIN was kept');
  r = await admin.patch('/api/v1/settings', { institution_name: 'IES Río Tajo', kiosk_pin: '2468' });
  assert.equal(r.status, 200);
  assert.equal(r.body.kiosk_pin_set, true);
  assert.equal(r.body.kiosk_pin, undefined, 'the PIN is never shown');
  assert.equal(r.body.institution_name, 'IES Río Tajo');
  assert.doesNotMatch(JSON.stringify((await admin.get('/api/v1/audit?action=settings.update')).body), /2468/);
  assert.equal((await env.device.get('/api/v1/auth/me')).body.institution.name, 'IES Río Tajo');

  assert.equal((await env.device.post('/api/v1/kiosk/unlock', { pin: '1111' })).body.error.code, 'kiosk_unlock_refused');
  assert.equal((await env.device.post('/api/v1/kiosk/unlock', { pin: '2468' })).status, 204);
  assert.equal((await env.device.post('/api/v1/kiosk/unlock', { email: 'admin@example.org', password: 'admin-pass-1' })).status, 204);
  assert.equal((await env.device.post('/api/v1/kiosk/unlock', { email: 'manager@example.org', password: 'manager-pass-1' })).status, 403, 'only an admin password');
  assert.equal((await admin.post('/api/v1/kiosk/unlock', { password: 'admin-pass-1' })).status, 204, "the signed-in admin's password");
  assert.equal((await env.member.post('/api/v1/kiosk/unlock', { pin: '2468' })).status, 403);
  // A kiosk leaving for good gives up its own device key (end_key): the key
  // stops working, leaves the list and the audit says why; the other keys
  // stay, and from an admin's session end_key has no key to revoke.
  const kk = (await admin.post('/api/v1/api-keys', { name: 'Quiosco de paso', role: 'device' })).body;
  const passing = new Client(env.srv.url, { key: kk.key });
  let u = await passing.post('/api/v1/kiosk/unlock', { pin: '2468', end_key: 'yes' });
  assert.equal(u.status, 400);
  assert.equal(u.body.error.params.field, 'end_key');
  assert.equal((await passing.get('/api/v1/auth/me')).status, 200, 'a refused request revokes nothing');
  assert.equal((await passing.post('/api/v1/kiosk/unlock', { pin: '2468' })).status, 204);
  assert.equal((await passing.get('/api/v1/auth/me')).status, 200, 'without end_key the key stays');
  assert.equal((await passing.post('/api/v1/kiosk/unlock', { pin: '2468', end_key: true })).status, 204);
  assert.equal((await passing.get('/api/v1/auth/me')).status, 401);
  assert.ok(!(await admin.get('/api/v1/api-keys')).body.items.some((k) => k.id === kk.id));
  const revoked = (await admin.get('/api/v1/audit?action=api_key.revoke')).body.items;
  assert.ok(revoked.some((a) => a.target === `api_key:${kk.id}` && /kiosk\.unlock/.test(a.detail)), JSON.stringify(revoked));
  assert.equal((await admin.post('/api/v1/kiosk/unlock', { password: 'admin-pass-1', end_key: true })).status, 204);
  assert.equal((await env.device.get('/api/v1/auth/me')).status, 200, "the other kiosks' keys stay");
  const failed = (await admin.get('/api/v1/audit?action=kiosk.unlock_failed')).body;
  assert.equal(failed.total, 2);
  // Ten wrong PINs close the door to guessing for a while.
  // The tenth wrong one says so itself (it used to answer 403 like the
  // others, and only the next try 429).
  const statuses = [];
  let last;
  for (let i = 0; i < 12; i++) {
    last = await env.device.post('/api/v1/kiosk/unlock', { pin: String(1000 + i) });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [...Array(9).fill(403), 429, 429, 429]);
  assert.equal(last.body.error.code, 'too_many_attempts');
  assert.equal(last.body.error.params.scope, 'address');
  assert.equal((await env.device.post('/api/v1/kiosk/unlock', { pin: '2468' })).status, 429, 'even the right PIN waits');
});

test('kiosk: a person checks in with their code and PIN; the event says source pin', async () => {
  const p = await personWithSlotToday('P-77', 'Paula');
  let r = await admin.put(`/api/v1/persons/${p.id}/pin`, { pin: '12' });
  assert.equal(r.body.error.code, 'invalid_pin_format');
  for (const weak of ['1111', '3456', '4321']) {
    r = await admin.put(`/api/v1/persons/${p.id}/pin`, { pin: weak });
    assert.equal(r.body.error.code, 'weak_pin', weak);
  }
  assert.equal((await admin.get(`/api/v1/persons/${p.id}`)).body.pin_set, false);
  r = await admin.put(`/api/v1/persons/${p.id}/pin`, { pin: '7531' });
  assert.deepEqual(r.body, { pin_set: true });
  // A fresh key: the previous test used up this address's unlock attempts
  // (check-ins are counted apart, but keep the tests independent).
  const k = await admin.post('/api/v1/api-keys', { name: 'Conserjería', role: 'device' });
  const door = new Client(env.srv.url, { key: k.body.key });
  r = await door.post('/api/v1/kiosk/checkin', { code: 'P-77', pin: '0000' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'checkin_refused');
  r = await door.post('/api/v1/kiosk/checkin', { code: 'NOBODY', pin: '7531' });
  assert.equal(r.body.error.code, 'checkin_refused', 'an unknown code gets the same answer');
  r = await door.post('/api/v1/kiosk/checkin', { code: 'P-77', pin: '7531', kind: 'entry' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.person.name, 'Paula Núñez');
  assert.equal(r.body.event.type, 'entry');
  assert.equal(r.body.event.source, 'pin');
  assert.equal(r.body.event.new, true);
  // How late, as a face's answer says it (the slot runs from 00:00 UTC with
  // 12 hours' grace: late from noon on).
  const since = Math.floor((Date.parse(r.body.event.time) - Date.parse(`${today}T00:00:00Z`)) / 60000);
  assert.equal(r.body.event.minutes_late, r.body.event.status === 'late' ? since : 0, JSON.stringify(r.body.event));
  r = await door.post('/api/v1/kiosk/checkin', { code: 'p-77', pin: '7531', kind: 'exit' });
  assert.equal(r.status, 200, 'the code typed in lower case: ' + JSON.stringify(r.body));
  assert.equal(r.body.event.type, 'exit', 'the chosen kind is not merged into the entry');
  const evs = (await admin.get(`/api/v1/attendance?person_id=${p.id}`)).body.items;
  assert.deepEqual(evs.map((e) => [e.type, e.source]), [['entry', 'pin'], ['exit', 'pin']]);
  assert.equal((await admin.get('/api/v1/audit?action=kiosk.checkin')).body.total, 2);
  assert.equal((await admin.get('/api/v1/audit?action=kiosk.checkin_failed')).body.total, 2);
  assert.equal((await env.manager.post('/api/v1/kiosk/checkin', { code: 'P-77', pin: '7531' })).status, 403, 'not for managers');
  r = await admin.put(`/api/v1/persons/${p.id}/pin`, { pin: null });
  assert.deepEqual(r.body, { pin_set: false });
  assert.equal((await door.post('/api/v1/kiosk/checkin', { code: 'P-77', pin: '7531' })).status, 403, 'a removed PIN no longer works');
});

// A server of its own for each PIN-limit test below: every client here comes
// from 127.0.0.1, one address whose count of wrong PINs the tests must know.
async function kioskServer() {
  const own = await startWithRoles();
  const pin = async (code, value) => {
    const p = await own.admin.post('/api/v1/persons', { external_id: code, first_name: code, last_name: 'Pin', kind: 'student' });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    assert.equal((await own.admin.put(`/api/v1/persons/${p.body.id}/pin`, { pin: value })).status, 200);
    return p.body.id;
  };
  const checkin = (kiosk, code, value) => kiosk.post('/api/v1/kiosk/checkin', { code, pin: value, kind: 'entry' });
  return { own, pin, checkin };
}

test('kiosk PINs: five wrong PINs for one code lock that code at every kiosk, the others go on', async () => {
  const { own, pin, checkin } = await kioskServer();
  try {
    const target = await pin('T-1', '2580');
    await pin('S-1', '8642');
    const k2 = (await own.admin.post('/api/v1/api-keys', { name: 'Patio', role: 'device' })).body;
    const patio = new Client(own.srv.url, { key: k2.key });
    for (let i = 0; i < 4; i++) assert.equal((await checkin(own.device, 'T-1', String(5090 + 7 * i))).status, 403);
    // The fifth, at another kiosk, is checked, and its answer says the code is now locked.
    let r = await checkin(patio, 'T-1', '5190');
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.error.params.scope, 'code');
    r = await checkin(patio, 'T-1', '2580');
    assert.equal(r.status, 429, 'even the right PIN waits: ' + JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'too_many_attempts');
    assert.equal(r.body.error.params.scope, 'code');
    assert.ok(r.body.error.params.minutes >= 14, JSON.stringify(r.body.error.params));
    assert.equal((await checkin(own.device, 'T-1', '2580')).status, 429, 'at the first kiosk too');
    r = await checkin(own.device, 'S-1', '8642');
    assert.equal(r.status, 200, 'another code at the same kiosk: ' + JSON.stringify(r.body));
    const locked = (await own.admin.get('/api/v1/audit?action=kiosk.checkin_locked')).body.items;
    assert.equal(locked.length, 2);
    assert.ok(locked.every((a) => a.target === `person:${target}` && JSON.parse(a.detail).code === 'T-1'), JSON.stringify(locked));
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test("kiosk PINs: one's own PIN forgives one's own typos, not the wrong PINs typed for other codes", async () => {
  const { own, pin, checkin } = await kioskServer();
  try {
    await pin('S-1', '8642');
    // An unknown code locks as a known one does: the lock tells nothing.
    for (let i = 0; i < 4; i++) assert.equal((await checkin(own.device, 'NOBODY', String(3070 + 11 * i))).status, 403);
    assert.equal((await checkin(own.device, 'NOBODY', '3114')).status, 429, 'the fifth');
    let r = await checkin(own.device, 'NOBODY', '3999');
    assert.equal(r.status, 429);
    assert.equal(r.body.error.params.scope, 'code');
    // Five wrong at this address so far. Two typos of one's own PIN, then
    // the right one: those two are forgiven, the five are not.
    assert.equal((await checkin(own.device, 'S-1', '8641')).status, 403);
    assert.equal((await checkin(own.device, 'S-1', '8624')).status, 403);
    assert.equal((await checkin(own.device, 'S-1', '8642')).status, 200);
    for (const code of ['X-1', 'X-2', 'X-3', 'X-4'])
      assert.equal((await checkin(own.device, code, '9035')).status, 403, `${code}: nine wrong, the kiosk still open`);
    r = await checkin(own.device, 'X-5', '9035');
    assert.equal(r.status, 429, 'the tenth wrong PIN closes this kiosk: ' + JSON.stringify(r.body));
    assert.equal(r.body.error.params.scope, 'address');
    r = await checkin(own.device, 'S-1', '8642');
    assert.equal(r.status, 429, 'the tenth wrong PIN closed this kiosk, own PIN or not: ' + JSON.stringify(r.body));
    assert.equal(r.body.error.params.scope, 'address');
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test('tries sent at the same time cannot pass a limit together: PINs for one code, logins to one account', async () => {
  // Eight HTTP threads: eight tries can be inside the slow check at once.
  const own = await startWithRoles({ args: ['--threads', '8'] });
  try {
    const p = await own.admin.post('/api/v1/persons', { external_id: 'R-1', first_name: 'R', last_name: 'Uno', kind: 'student' });
    assert.equal((await own.admin.put(`/api/v1/persons/${p.body.id}/pin`, { pin: '4817' })).status, 200);
    const pins = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      own.device.post('/api/v1/kiosk/checkin', { code: 'R-1', pin: String(5000 + 13 * i) })));
    const checked = (await own.admin.get('/api/v1/audit?action=kiosk.checkin_failed')).body.total;
    assert.equal(checked, 5, `PINs checked for one code: ${pins.map((r) => r.status)}`);
    assert.ok(pins.every((r) => r.status === 403 || r.status === 429));
    const c = new Client(own.srv.url);
    const logins = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      c.post('/api/v1/auth/login', { email: 'member@example.org', password: `wrong-pass-${i}` })));
    assert.equal(logins.filter((r) => r.status === 401).length, 5, `passwords checked: ${logins.map((r) => r.status)}`);
    assert.ok(logins.every((r) => r.status === 401 || r.status === 429));
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test('a session cannot guess its own password: wrong current passwords count as failed logins', async () => {
  const own = await startWithRoles();
  try {
    for (let i = 0; i < 5; i++) {
      const r = await own.member.post('/api/v1/auth/password', { current_password: `guess-${i}-x`, new_password: 'taken-over-1' });
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'wrong_current_password');
    }
    let r = await own.member.post('/api/v1/auth/password', { current_password: 'member-pass-1', new_password: 'taken-over-1' });
    assert.equal(r.status, 429, 'the right one waits too: ' + JSON.stringify(r.body));
    assert.equal(r.body.error.params.scope, 'account');
    r = await new Client(own.srv.url).post('/api/v1/auth/login', { email: 'member@example.org', password: 'member-pass-1' });
    assert.equal(r.status, 429, 'and so does a login to the account from this address');
    // An admin unlocks the account; the right password then changes it.
    assert.equal(spawnSync(process.env.ROLLCALL_BIN, ['user', 'unlock', 'member@example.org', '--data', join(own.dir, 'data')]).status, 0);
    r = await own.member.post('/api/v1/auth/password', { current_password: 'member-pass-1', new_password: 'renewed-pass-1' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Another account is not held by the member's failures.
    assert.equal((await own.manager.post('/api/v1/auth/password', { current_password: 'manager-pass-1', new_password: 'renewed-pass-2' })).status, 200);
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test("a kiosk's unlock takes as long for a teacher's e-mail as for an unknown one", async () => {
  const own = await startWithRoles();
  try {
    const time = async (email) => {
      const t0 = process.hrtime.bigint();
      const r = await own.device.post('/api/v1/kiosk/unlock', { email, password: 'not-the-password-1' });
      assert.equal(r.status, 403, JSON.stringify(r.body));
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const median = (v) => v.sort((a, b) => a - b)[1];
    const known = [], unknown = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time('manager@example.org'));
      unknown.push(await time('nobody@example.org'));
    }
    // The password check (argon2id) takes tens to hundreds of milliseconds;
    // skipping it for a manager's account answered in a few.
    assert.ok(median(known) > 0.4 * median(unknown), `manager ${known} ms, unknown ${unknown} ms`);
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

/** CSV text → rows, for the separator given (quotes as RFC 4180). */
function parseCsv(text, sep) {
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === sep) { row.push(cell); cell = ''; }
    else if (c === '\r') { /* part of \r\n */ }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else cell += c;
  }
  return rows;
}

test('exports in Spanish: CSV with a UTF-8 BOM and ";", Spanish headers and values; XLSX sheets', async () => {
  const p = await personWithSlotToday('E-1', 'Eñaut');
  await admin.post('/api/v1/attendance', { person_id: p.id, type: 'entry', time: `${today}T00:10:00Z`, reason: 'x' });
  // The bytes as sent (fetch's text() would drop the byte-order mark).
  const res = await fetch(new URL(`api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${p.id}&lang=es`, env.srv.url), { headers: admin.headers() });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="asistencia-${today}-${today}.csv"`, 'named in Spanish too');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'starts with the UTF-8 byte-order mark');
  const rows = parseCsv(bytes.subarray(3).toString('utf8'), ';');
  assert.deepEqual(rows[0], ['Día', 'Código', 'Nombre', 'Franja', 'Inicio', 'Fin', 'Estado', 'Tarde', 'Salida anticipada', 'Primera entrada', 'Última salida', 'Minutos en la franja', 'Corregido', 'Minutos fuera de horario', 'Falta la salida', 'Minutos de retraso', 'Minutos de salida anticipada', 'Minutos de horas extra']);
  assert.equal(rows[1][1], 'E-1');
  assert.equal(rows[1][2], 'Eñaut Núñez');
  assert.equal(rows[1][3], 'Matemáticas');
  assert.equal(rows[1][6], 'presente');

  // The English export stays what scripts read; a separator can be chosen.
  let r = await admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${p.id}`);
  assert.ok(r.body.startsWith('day,external_id,name,'));
  r = await admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${p.id}&lang=es&sep=comma&bom=false`);
  assert.ok(r.body.startsWith('Día,Código,'));
  r = await admin.get(`/api/v1/attendance/export?format=csv&lang=fr`);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_query');

  r = await admin.get(`/api/v1/attendance/export?format=xlsx&from=${today}&to=${today}&lang=es`);
  assert.equal(r.status, 200);
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-xlsx-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'r.xlsx'), r.body);
    const wb = spawnSync('unzip', ['-p', join(dir, 'r.xlsx'), 'xl/workbook.xml'], { encoding: 'utf8' });
    assert.match(wb.stdout, /name="Resumen"/);
    assert.match(wb.stdout, /name="Detalle"/);
    const det = spawnSync('unzip', ['-p', join(dir, 'r.xlsx'), 'xl/worksheets/sheet2.xml'], { encoding: 'utf8' });
    assert.match(det.stdout, /Primera entrada/);
    assert.match(det.stdout, /presente/);
    // The day is a date cell shown as Spanish readers write it.
    assert.doesNotMatch(det.stdout, new RegExp(`<t>${today}</t>`));
    const styles = spawnSync('unzip', ['-p', join(dir, 'r.xlsx'), 'xl/styles.xml'], { encoding: 'utf8' });
    assert.match(styles.stdout, /formatCode="dd\/mm\/yyyy"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rollcall export --lang es writes the same Spanish CSV', async () => {
  const out = spawnSync(process.env.ROLLCALL_BIN, ['export', '--from', today, '--to', today, '--person', 'E-1', '--lang', 'es', '--data', join(env.dir, 'data')], { encoding: 'buffer' });
  assert.equal(out.status, 0, out.stderr.toString());
  assert.deepEqual([...out.stdout.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const rows = parseCsv(out.stdout.subarray(3).toString('utf8'), ';');
  assert.equal(rows[0][0], 'Día');
  assert.equal(rows[1][6], 'presente');
  const bad = spawnSync(process.env.ROLLCALL_BIN, ['export', '--from', today, '--to', today, '--lang', 'fr', '--data', join(env.dir, 'data')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /language 'fr' is not en or es/);
});
