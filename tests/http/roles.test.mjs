// roles.test.mjs — the role matrix: every route in the server's route table
// (`rollcall serve --list-routes`), called as anonymous, member, device,
// metrics key, manager and admin. A role the route admits must get past the
// access check (ids that do not exist and empty bodies make the answer a
// 404/400 without changing anything); any other role gets 401 (anonymous) or
// 403. Then what each role can REACH, on a two-group fixture with real
// faces: a manager limited to group A never reaches group B's people, their
// faces and photos, events, reports or exports, and stays limited (to
// nobody) when their last group is deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWithRoles, multipart, Client } from './lib.mjs';

const routes = spawnSync(process.env.ROLLCALL_BIN, ['serve', '--list-routes'], { encoding: 'utf8' })
  .stdout.trim().split('\n').map((l) => JSON.parse(l));
let env;

before(async () => {
  env = await startWithRoles();
  const k = await env.admin.post('/api/v1/api-keys', { name: 'prometheus', role: 'metrics' });
  env.metricsKey = k; // checked by the metrics row of the matrix
  if (k.status === 201) env.metrics = new Client(env.srv.url, { key: k.body.key });
  // The read-only auditor (HR, inspection; migration 15).
  env.auditorUser = await env.admin.post('/api/v1/users', { email: 'auditor@example.org', name: 'HR', role: 'auditor', password: 'auditor-pass-1', must_change_password: false });
  env.auditor = new Client(env.srv.url);
  if (env.auditorUser.status === 201) await env.auditor.login('auditor@example.org', 'auditor-pass-1');
  // An auditor's API key: a payroll or HR script pulling reports and exports.
  env.auditorKeyMade = await env.admin.post('/api/v1/api-keys', { name: 'nóminas', role: 'auditor' });
  if (env.auditorKeyMade.status === 201) env.auditorKey = new Client(env.srv.url, { key: env.auditorKeyMade.body.key });
});
after(async () => { assert.equal(await env.stop(), 0); });

async function call(client, route) {
  const path = route.path.replace(/\{[a-z_]+\}/g, '999999');
  const opts = {};
  if (['POST', 'PUT', 'PATCH'].includes(route.method)) opts.json = {};
  if (route.path === '/api/v1/events' || route.path.endsWith('/events')) {
    // A stream: the status is all we need.
    const ac = new AbortController();
    const res = await fetch(new URL(path.slice(1), client.base), { headers: client.headers(), signal: ac.signal });
    ac.abort();
    return res.status;
  }
  const r = await client.req(route.method, path, opts);
  return r.status;
}

test('the route table is not empty and every route names its roles', () => {
  assert.ok(routes.length >= 40, `${routes.length} routes`);
  for (const r of routes) assert.ok(r.roles.length > 0, `${r.method} ${r.path}`);
});

// The matrix below takes each route's roles from the table itself, so it
// cannot notice a route opened to one role too many. What the least trusted
// roles reach is pinned here instead: a device key must never enroll (issue
// 13: a kiosk key added a stranger's photos through /process-images), a
// member sees only themselves, a metrics key reads /metrics.
test('devices, members and metrics keys reach exactly their routes (beyond those open to anyone)', () => {
  const of = (role) => routes.filter((r) => r.roles.includes(role) && !r.roles.includes('anonymous'))
    .map((r) => `${r.method} ${r.path}`).sort();
  const own = ['GET /api/v1/auth/me', 'GET /api/v1/events', 'POST /api/v1/auth/logout', 'POST /api/v1/auth/password'];
  assert.deepEqual(of('device'), [...own, 'POST /api/v1/detect', 'POST /api/v1/kiosk/checkin', 'POST /api/v1/kiosk/unlock',
    'POST /api/v1/recognize', 'POST /api/v1/verify', 'POST /process_frame'].sort());
  assert.deepEqual(of('member'), [...own, 'GET /api/v1/attendance', 'GET /api/v1/reports/summary',
    'GET /api/v1/self/checkin', 'POST /api/v1/self/checkin', 'GET /api/v1/self/data',
    'GET /api/v1/self/correction-requests', 'POST /api/v1/self/correction-requests',
    'POST /api/v1/self/correction-requests/{id}/withdraw',
    'GET /api/v1/self/faces/{face_id}/image', 'POST /api/v1/self/consent/withdraw', 'GET /api/v1/self/leaves'].sort());
  assert.deepEqual(of('metrics'), ['GET /metrics']);
});

// The auditor (HR, a school inspector) reads what a manager reads about
// people, groups, timetables, holidays, attendance and reports, exports
// them, and sees the cameras' list; it writes nothing but its own password
// and session, reads no face image, face list or unknown face (biometric
// data), and never the users, keys, settings, audit log or kiosk.
const AUDITOR_READS = ['GET /api/v1/persons', 'GET /api/v1/persons/{id}', 'GET /api/v1/groups', 'GET /api/v1/groups/{id}',
  'GET /api/v1/groups/{id}/members', 'GET /api/v1/schedules', 'GET /api/v1/holidays', 'GET /api/v1/cameras',
  'GET /api/v1/attendance', 'GET /api/v1/attendance/export', 'GET /api/v1/reports/summary', 'GET /api/v1/reports/daily',
  'GET /api/v1/reports/groups', 'GET /api/v1/dashboard', 'GET /api/v1/attendance/absentees',
  'GET /api/v1/persons/{id}/leaves', 'GET /api/v1/leaves'];
test('an auditor reaches exactly the reads a manager has about attendance, and writes nothing but its own session', () => {
  const of = (role) => routes.filter((r) => r.roles.includes(role) && !r.roles.includes('anonymous'))
    .map((r) => `${r.method} ${r.path}`).sort();
  const own = ['GET /api/v1/auth/me', 'GET /api/v1/events', 'POST /api/v1/auth/logout', 'POST /api/v1/auth/password'];
  assert.deepEqual(of('auditor'), [...own, ...AUDITOR_READS].sort());
  for (const r of AUDITOR_READS) assert.ok(of('manager').includes(r), `${r} is a manager's read too`);
  const writes = of('auditor').filter((r) => !r.startsWith('GET ') && !own.includes(r));
  assert.deepEqual(writes, []);
  assert.deepEqual(of('auditor').filter((r) => /image|photo|faces|sightings|users|api-keys|settings|audit|kiosk|webhooks/.test(r)), []);
});

for (const who of ['anonymous', 'member', 'device', 'metrics', 'manager', 'auditor', 'auditorKey', 'admin']) {
  test(`role matrix: ${who}`, async () => {
    const failures = [];
    if (who === 'metrics') assert.equal(env.metricsKey.status, 201, JSON.stringify(env.metricsKey.body));
    if (who === 'auditor') assert.equal(env.auditorUser.status, 201, JSON.stringify(env.auditorUser.body));
    if (who === 'auditorKey') assert.equal(env.auditorKeyMade.status, 201, JSON.stringify(env.auditorKeyMade.body));
    for (const route of routes) {
      const client = env[who];
      const status = await call(client, route);
      // Loopback is no pass by default (--metrics-public-loopback opens it).
      const allowed = route.roles.includes(who === 'auditorKey' ? 'auditor' : who);
      if (allowed) {
        if (status === 401 || status === 403) failures.push(`${route.method} ${route.path}: allowed but got ${status}`);
      } else {
        const want = who === 'anonymous' ? 401 : 403;
        if (status !== want) failures.push(`${route.method} ${route.path}: denied must be ${want}, got ${status}`);
      }
      if (route.path === '/api/v1/auth/logout' && ['member', 'manager', 'auditor', 'admin'].includes(who)) {
        // That call ended the session: sign in again for the next routes.
        await client.login(`${who}@example.org`, who === 'admin' ? 'admin-pass-1' : `${who}-pass-1`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('a state-changing request with the cookie but without the CSRF token is refused', async () => {
  const h = { Cookie: env.admin.cookie, 'Content-Type': 'application/json' };
  let res = await fetch(new URL('api/v1/groups', env.srv.url), { method: 'POST', headers: h, body: '{"name":"x"}' });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, 'csrf_failed');
  res = await fetch(new URL('api/v1/groups', env.srv.url), { method: 'POST', headers: { ...h, 'X-CSRF-Token': 'f'.repeat(64) }, body: '{"name":"x"}' });
  assert.equal(res.status, 403, 'a wrong token is refused too');
  const list = await env.admin.get('/api/v1/groups');
  assert.equal(list.body.total, 0, 'nothing was created');
});

test('a wrong or revoked API key is anonymous; a key never falls back to the cookie', async () => {
  let res = await fetch(new URL('api/v1/auth/me', env.srv.url), { headers: { Authorization: 'Bearer rc_nope_nope' } });
  assert.equal(res.status, 401);
  const k = await env.admin.post('/api/v1/api-keys', { name: 'tmp', role: 'manager' });
  const tampered = k.body.key.slice(0, -1) + (k.body.key.endsWith('0') ? '1' : '0');
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${tampered}` } });
  assert.equal(res.status, 401, 'one changed character is not a key');
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${k.body.key}` } });
  assert.equal(res.status, 200);
  assert.equal((await env.admin.del(`/api/v1/api-keys/${k.body.id}`)).status, 204);
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${k.body.key}`, Cookie: env.admin.cookie } });
  assert.equal(res.status, 401, 'revoked, and the admin cookie beside it does not help');
});

// ---- reach: a two-group fixture -------------------------------------------

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const photo = (rel) => readFileSync(join(FACES, rel));

test('what each role reaches: a manager limited to group A never reaches group B, and stays limited when A is deleted', async () => {
  const r2 = await startWithRoles({ models: true });
  try {
    const { admin, manager, member, device } = r2;
    const today = new Date().toISOString().slice(0, 10);
    const mkGroup = async (name) => (await admin.post('/api/v1/groups', { name })).body.id;
    const GA = await mkGroup('Reach A'), GB = await mkGroup('Reach B');
    const mkPerson = async (ext, g) => {
      const r = await admin.post('/api/v1/persons', { external_id: ext, first_name: ext, last_name: 'R', kind: 'student' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal((await admin.post(`/api/v1/groups/${g}/members/${r.body.id}`)).status, 204);
      return r.body.id;
    };
    const PA = await mkPerson('REACH-A', GA), PB = await mkPerson('REACH-B', GB);
    // Real faces for both, enrolled by the admin.
    const enroll = async (pid, dir) => {
      const mp = multipart([1, 2].map((n) => ({ name: 'file', filename: `${n}.jpg`, type: 'image/jpeg', data: photo(`id/${dir}/${n}.jpg`) })));
      const r = await admin.post(`/api/v1/persons/${pid}/faces`, undefined, { body: mp.body, type: mp.type });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const ok = r.body.results.filter((x) => x.accepted);
      assert.ok(ok.length >= 1, JSON.stringify(r.body));
      return ok[0].face_id;
    };
    const FA = await enroll(PA, 'deepface_angelina'), FB = await enroll(PB, 'deepface_person01');
    for (const p of [PA, PB])
      assert.equal((await admin.post('/api/v1/attendance', { person_id: p, type: 'entry', time: `${today}T00:30:00Z`, reason: 'reach' })).status, 201);
    const EB = (await admin.get(`/api/v1/attendance?person_id=${PB}`)).body.items[0].id;
    const SB = (await admin.post('/api/v1/schedules', { group_id: GB, day_of_week: 1, start: '08:00', end: '09:00' })).body.id;
    const HOL = (await admin.post('/api/v1/holidays', { date: '2031-01-01', name: 'Reach day' })).body.id;
    const LB = (await admin.post(`/api/v1/persons/${PB}/leaves`, { kind: 'sick', from: '2031-01-02' })).body.id;
    // An unknown face (a stranger seen while marking) to assign.
    assert.equal((await admin.patch('/api/v1/settings', { liveness_threshold: 0, keep_unrecognized: true })).status, 200);
    assert.equal((await device.req('POST', '/api/v1/recognize?mark=true', { body: photo('id/deepface_person02/1.jpg'), type: 'image/jpeg' })).status, 200);
    const SG = (await admin.get('/api/v1/sightings')).body.items[0]?.id;
    assert.ok(SG, 'a sighting to assign');
    // The limited manager (A only) and the member (who is PA).
    let r = await admin.post('/api/v1/users', { email: 'lim@example.org', name: 'Lim', role: 'manager', password: 'limited-pass-1', group_ids: [GA], must_change_password: false });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const limCreated = r.body;
    assert.equal((await admin.patch(`/api/v1/users/${member.userId}`, { person_id: PA })).status, 200);
    const lim = new Client(r2.srv.url);
    await lim.login('lim@example.org', 'limited-pass-1');

    // What reaches group B's person PB: [method, path, body] and who may,
    // from B's ids (o.PB, o.GB, o.FB, o.EB, o.SB): called once with B's and
    // once with ids that do not exist, which a limited manager must not be
    // able to tell apart.
    const realIds = { PB, GB, FB, EB, SB, LB };
    const noIds = { PB: 987654301, GB: 987654302, FB: 987654303, EB: 987654304, SB: 987654305, LB: 987654306 };
    const Bf = (o) => [
      ['GET', `/api/v1/persons/${o.PB}`], ['PATCH', `/api/v1/persons/${o.PB}`, { last_name: 'Changed' }],
      ['GET', `/api/v1/persons/${o.PB}/faces`], ['GET', `/api/v1/persons/${o.PB}/photo`],
      ['GET', `/api/v1/faces/${o.FB}/image`],
      ['GET', `/api/v1/groups/${o.GB}`], ['GET', `/api/v1/groups/${o.GB}/members`],
      ['GET', `/api/v1/attendance?person_id=${o.PB}`], ['GET', `/api/v1/attendance?group_id=${o.GB}`],
      ['GET', `/api/v1/reports/summary?group_id=${o.GB}`], ['GET', `/api/v1/reports/daily?group_id=${o.GB}`],
      ['GET', `/api/v1/attendance/export?person_id=${o.PB}`], ['GET', `/api/v1/schedules?group_id=${o.GB}`],
      ['PATCH', `/api/v1/attendance/${o.EB}`, { reason: 'reach', type: 'exit' }],
      ['PATCH', `/api/v1/schedules/${o.SB}`, { grace_min: 5 }],
      ['GET', `/api/v1/attendance/absentees?group_id=${o.GB}`], ['GET', `/api/v1/reports/groups?group_id=${o.GB}`],
      ['GET', `/api/v1/persons/${o.PB}/leaves`], ['GET', `/api/v1/leaves?group_id=${o.GB}`],
    ];
    const B = Bf(realIds);
    const call = (c, [method, path, json]) => c.req(method, path, json ? { json } : {});
    const reach = async (c, x) => (await call(c, x)).status;
    const text = (res) => (Buffer.isBuffer(res.body) ? res.body.toString('latin1') : JSON.stringify(res.body));
    for (const c of [admin, manager]) // every group
      for (const x of B) assert.ok((await reach(c, x)) < 400, `${x[0]} ${x[1]} must reach group B`);
    // Refused by role, or (a member's own attendance, filtered to them) nothing of B.
    for (const [who, c] of [['member', member], ['device', device]])
      for (const x of B) {
        const res = await call(c, x);
        const nothingOfB = res.status === 200 && who === 'member' && !text(res).includes('REACH-B') && !text(res).includes(`"person_id":${PB},`);
        assert.ok(res.status === 403 || nothingOfB, `${who}: ${x[0]} ${x[1]} gave ${res.status} ${text(res).slice(0, 200)}`);
      }
    // Writes that would pull B's person into A's reach, or act for B.
    const writesF = (o) => [
      ['POST', `/api/v1/groups/${GA}/members/${o.PB}`], ['PUT', `/api/v1/groups/${GA}/members`, { person_ids: [PA, o.PB] }],
      ['DELETE', `/api/v1/groups/${o.GB}/members/${o.PB}`], ['POST', `/api/v1/attendance`, { person_id: o.PB, type: 'exit', time: `${today}T01:00:00Z`, reason: 'x' }],
      ['POST', `/api/v1/persons/${o.PB}/faces`], ['DELETE', `/api/v1/persons/${o.PB}/faces/${o.FB}`],
      ['POST', '/api/v1/schedules', { person_id: o.PB, day_of_week: 2, start: '08:00', end: '09:00' }],
      ['POST', '/api/v1/schedules', { group_id: o.GB, day_of_week: 2, start: '08:00', end: '09:00' }],
      ['PUT', '/api/v1/schedules', { group_id: o.GB, slots: [] }], ['PUT', '/api/v1/schedules', { person_id: o.PB, slots: [] }],
      ['PUT', '/api/v1/schedules', { group_id: GA, slots: [{ id: o.SB, day_of_week: 3, start: '08:00', end: '09:00' }] }],
      ['POST', '/api/v1/persons', { external_id: 'REACH-X', first_name: 'X', last_name: 'R', kind: 'student', group_ids: [o.GB] }],
      ['PATCH', `/api/v1/groups/${o.GB}`, { name: 'Renamed' }], ['DELETE', `/api/v1/groups/${o.GB}`], ['DELETE', `/api/v1/persons/${o.PB}`],
      // Their own person into another group; B's person's other records.
      ['POST', `/api/v1/groups/${o.GB}/members/${PA}`], ['PUT', `/api/v1/groups/${o.GB}/members`, { person_ids: [PA, o.PB] }],
      ['PUT', `/api/v1/persons/${o.PB}/pin`, { pin: '4321' }], ['POST', `/api/v1/persons/${o.PB}/archive`],
      ['POST', `/api/v1/persons/${o.PB}/restore`], ['DELETE', `/api/v1/persons/${o.PB}/biometrics`],
      ['DELETE', `/api/v1/schedules/${o.SB}`], ['POST', `/api/v1/attendance/${o.EB}/void`, { reason: 'x' }],
      ['POST', `/api/v1/attendance/${o.EB}/not-this-person`, { reason: 'x', delete_face: true, keep_probe: true }],
      ['DELETE', `/api/v1/attendance/${o.EB}`, { reason: 'x' }],
      ['POST', `/api/v1/registrations/${o.PB}/approve`], ['DELETE', `/api/v1/registrations/${o.PB}`],
      ['POST', `/api/v1/sightings/${SG}/assign`, { person_id: o.PB }],
      ['POST', `/api/v1/persons/${o.PB}/leaves`, { kind: 'vacation', from: '2031-02-02' }],
      ['PATCH', `/api/v1/persons/${o.PB}/leaves/${o.LB}`, { note: 'x' }],
      ['DELETE', `/api/v1/persons/${o.PB}/leaves/${o.LB}`],
    ];
    const writes = writesF(realIds);
    // A limited manager is answered about B's ids exactly as about ids that
    // do not exist (status, code, message: byte for byte once the id is
    // put back), so that no answer tells that B's records exist. Before,
    // B's were 403 where unknown ones were 404 or 400.
    const unknownAnswers = [...Bf(noIds), ...writesF(noIds)];
    const named = [...B, ...writes], told = [];
    for (let i = 0; i < named.length; i++) {
      const x = named[i];
      const res = await call(lim, x);
      const unknown = await call(lim, unknownAnswers[i]);
      let expected = text(unknown);
      for (const k of Object.keys(noIds)) expected = expected.replaceAll(String(noIds[k]), String(realIds[k]));
      assert.ok(res.status >= 400, `limited manager: ${x[0]} ${x[1]} gave ${res.status} ${text(res).slice(0, 200)}`);
      if (res.status !== unknown.status || text(res) !== expected)
        told.push(`${x[0]} ${x[1]}: ${res.status} ${text(res)} where an unknown id gets ${unknown.status} ${expected}`);
    }
    assert.deepEqual(told, [], 'a limited manager is answered about B\'s ids as about unknown ones');
    // Refused whatever the ids: what concerns every group.
    const everyGroup = [
      ['POST', '/api/v1/groups', { name: 'Lim own' }], ['POST', '/api/v1/holidays', { date: `${today}`, name: 'x' }],
      ['DELETE', `/api/v1/holidays/${HOL}`], ['DELETE', `/api/v1/groups/${GA}`],
      ['POST', '/process-images'], ['POST', '/api/v1/import'],
    ];
    for (const x of everyGroup) assert.equal(await reach(lim, x), 403, `limited manager: ${x[0]} ${x[1]}`);
    // The auditor reads everything of B a manager reads but face data, and
    // changes nothing; limited to A, it is answered about B's ids as about
    // unknown ones, exactly as a limited manager is.
    const mkAuditor = async (email, extra) => {
      const u = await admin.post('/api/v1/users', { email, name: 'HR', role: 'auditor', password: 'auditor-pass-1', must_change_password: false, ...extra });
      assert.equal(u.status, 201, JSON.stringify(u.body));
      const c = new Client(r2.srv.url);
      await c.login(email, 'auditor-pass-1');
      return [u.body, c];
    };
    const [, hr] = await mkAuditor('hr@example.org', {});
    // An auditor's API key (a payroll script) reaches what the auditor does.
    const madeKey = await admin.post('/api/v1/api-keys', { name: 'nóminas', role: 'auditor' });
    assert.equal(madeKey.status, 201, JSON.stringify(madeKey.body));
    const hrKey = new Client(r2.srv.url, { key: madeKey.body.key });
    const [hrLimUser, hrLim] = await mkAuditor('hr-a@example.org', { group_ids: [GA] });
    assert.deepEqual([hrLimUser.role, hrLimUser.all_groups, hrLimUser.group_ids], ['auditor', false, [GA]]);
    const faceData = (o) => [['GET', `/api/v1/persons/${o.PB}/faces`], ['GET', `/api/v1/persons/${o.PB}/photo`],
      ['GET', `/api/v1/faces/${o.FB}/image`], ['GET', '/api/v1/sightings'], ['GET', `/api/v1/sightings/${SG}/image`],
      ['GET', '/api/v1/registrations']];
    const isFace = (x) => faceData(realIds).some((f) => f[1] === x[1]);
    for (const c of [hr, hrKey]) {
      for (const x of B.filter((y) => y[0] === 'GET' && !isFace(y))) {
        const res = await call(c, x);
        assert.equal(res.status, 200, `auditor: ${x[0]} ${x[1]} gave ${res.status} ${text(res).slice(0, 200)}`);
      }
      assert.match(text(await call(c, ['GET', `/api/v1/persons/${PB}`])), /REACH-B/);
    }
    for (const c of [hr, hrLim, hrKey])
      for (const x of [...faceData(realIds), ...B.filter((y) => y[0] !== 'GET'), ...writes, ...everyGroup, ['GET', '/api/v1/users'], ['GET', '/api/v1/settings'],
        ['GET', '/api/v1/audit'], ['GET', `/api/v1/cameras/${987654306}`], ['POST', '/api/v1/kiosk/unlock', { pin: '1234' }],
        ['POST', '/api/v1/recognize'], ['POST', '/api/v1/detect'], ['POST', '/api/v1/attendance', { person_id: PA, type: 'entry', time: `${today}T02:00:00Z`, reason: 'x' }]]) {
        const res = await call(c, x);
        assert.equal(res.status, 403, `auditor: ${x[0]} ${x[1]} gave ${res.status} ${text(res).slice(0, 200)}`);
        assert.equal(res.body.error.code, 'forbidden', `${x[0]} ${x[1]}`);
      }
    // Exports work, CSV and XLSX, with every group's people.
    for (const c of [hr, hrKey]) {
      r = await c.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`);
      assert.equal(r.status, 200);
      assert.match(r.body, /REACH-A/);
      assert.match(r.body, /REACH-B/);
      r = await c.get(`/api/v1/attendance/export?format=xlsx&from=${today}&to=${today}`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /spreadsheetml/);
      assert.equal(r.body.subarray(0, 2).toString('latin1'), 'PK');
    }
    // The limited auditor: A's people only; B's ids answer as unknown ones, byte for byte.
    const unknownReads = Bf(noIds);
    const toldHr = [];
    for (let i = 0; i < B.length; i++) {
      if (B[i][0] !== 'GET') continue;
      const res = await call(hrLim, B[i]);
      const unknown = await call(hrLim, unknownReads[i]);
      let expected = text(unknown);
      for (const k of Object.keys(noIds)) expected = expected.replaceAll(String(noIds[k]), String(realIds[k]));
      assert.ok(res.status >= 400, `limited auditor: ${B[i][0]} ${B[i][1]} gave ${res.status} ${text(res).slice(0, 200)}`);
      if (res.status !== unknown.status || text(res) !== expected)
        toldHr.push(`${B[i][0]} ${B[i][1]}: ${res.status} ${text(res)} where an unknown id gets ${unknown.status} ${expected}`);
    }
    assert.deepEqual(toldHr, [], 'a limited auditor is answered about B\'s ids as about unknown ones');
    assert.equal((await hrLim.get(`/api/v1/persons/${PA}`)).status, 200);
    assert.deepEqual((await hrLim.get('/api/v1/persons')).body.items.map((p) => p.id), [PA]);
    assert.deepEqual((await hrLim.get('/api/v1/attendance')).body.items.map((e) => e.person_id), [PA]);
    r = await hrLim.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`);
    assert.match(r.body, /REACH-A/);
    assert.doesNotMatch(r.body, /REACH-B/);
    assert.equal((await hrLim.get(`/api/v1/faces/${FA}/image`)).status, 403, 'no face image, even of their own groups');

    // Every route a manager may call is in one of the lists above, checked
    // by the list assertions below, or reaches no group's people (why given;
    // routes open to anyone, such as login and self-registration, reach none):
    // a new route must take a side here.
    const elsewhere = {
      'POST /api/v1/auth/logout': 'own account', 'GET /api/v1/auth/me': 'own account', 'POST /api/v1/auth/password': 'own account',
      'GET /api/v1/events': 'per subscriber: trust.test.mjs', 'GET /api/v1/registrations': 'scoped in SQL: selfcheck.test.mjs',
      'GET /api/v1/holidays': 'every group\'s', 'GET /api/v1/cameras': 'no group\'s', 'POST /api/v1/detect': 'the photo sent',
      'POST /api/v1/verify': 'the photos sent', 'GET /api/v1/sightings': 'unknown faces: nobody\'s (candidate hidden: review.test.mjs)',
      'GET /api/v1/sightings/{}/image': 'unknown faces', 'DELETE /api/v1/sightings/{}': 'unknown faces', 'POST /api/v1/sightings/dismiss': 'unknown faces',
      'GET /api/v1/correction-requests': 'scoped in SQL: requests.test.mjs',
      'POST /api/v1/correction-requests/{}/approve': 'B\'s ids as unknown ones: requests.test.mjs',
      'POST /api/v1/correction-requests/{}/reject': 'B\'s ids as unknown ones: requests.test.mjs',
    };
    const listed = ['GET /api/v1/persons', 'GET /api/v1/groups', 'GET /api/v1/schedules', 'GET /api/v1/attendance',
      'GET /api/v1/reports/summary', 'GET /api/v1/attendance/export', 'GET /api/v1/dashboard', 'POST /api/v1/persons'];
    const key = (m, p) => `${m} ${p.split('?')[0].replace(/\/(\d+|\{[a-z_]+\})(?=\/|$)/g, '/{}')}`;
    const covered = new Set([...B, ...writes, ...everyGroup].map(([m, p]) => key(m, p)).concat(listed, Object.keys(elsewhere)));
    const unchecked = routes.filter((rt) => rt.roles.includes('manager') && !rt.roles.includes('anonymous') && !covered.has(key(rt.method, rt.path)));
    assert.deepEqual(unchecked.map((rt) => `${rt.method} ${rt.path}`), [], 'manager routes not checked against a limited manager');
    assert.deepEqual((await admin.get(`/api/v1/groups/${GB}/members`)).body.items.map((p) => p.id), [PB], 'B unchanged');
    assert.deepEqual((await admin.get(`/api/v1/groups/${GA}/members`)).body.items.map((p) => p.id), [PA], 'A unchanged');
    assert.equal((await admin.get(`/api/v1/persons/${PB}/faces`)).body.length >= 1, true, 'B keeps its faces');
    const pb = (await admin.get(`/api/v1/persons/${PB}`)).body;
    assert.equal(pb.active, true, 'B not archived');
    assert.equal((await admin.get(`/api/v1/attendance?person_id=${PB}`)).body.items[0]?.id, EB, 'B\'s event neither voided nor deleted');
    assert.equal((await admin.get(`/api/v1/sightings/${SG}/image`)).status, 200, 'the unknown face is still to assign');
    assert.equal((await admin.get('/api/v1/holidays')).body.items.some((h) => h.id === HOL), true, 'the holiday stays');
    const mp = multipart([{ name: 'person', value: 'REACH-B' }, { name: 'file', filename: '3.jpg', type: 'image/jpeg', data: photo('id/deepface_person01/3.jpg') }]);
    assert.equal((await lim.post('/api/v1/import', undefined, { body: mp.body, type: mp.type })).status, 403, 'import reaches every group');

    // What the limited manager does reach: group A, its person, their face.
    assert.equal((await lim.get(`/api/v1/persons/${PA}`)).status, 200);
    assert.equal((await lim.get(`/api/v1/faces/${FA}/image`)).status, 200);
    assert.equal((await lim.get(`/api/v1/persons/${PA}/photo`)).status, 200);
    r = await lim.get('/api/v1/persons');
    assert.deepEqual(r.body.items.map((p) => p.id), [PA]);
    assert.equal(r.body.total, 1);
    // A person in A and B: the limited manager is not told about B.
    assert.equal((await admin.post(`/api/v1/groups/${GB}/members/${PA}`)).status, 204);
    assert.deepEqual((await lim.get(`/api/v1/persons/${PA}`)).body.groups.map((g) => g.id), [GA]);
    assert.deepEqual((await admin.get(`/api/v1/persons/${PA}`)).body.groups.map((g) => g.id).sort(), [GA, GB].sort());
    // ...nor may they erase or archive them: that takes them (events, faces)
    // from group B too. Before, all three answered 2xx and B lost them.
    for (const [m, p, json] of [['DELETE', `/api/v1/persons/${PA}`], ['DELETE', `/api/v1/persons/${PA}/biometrics`],
      ['POST', `/api/v1/persons/${PA}/archive`], ['PATCH', `/api/v1/persons/${PA}`, { active: false }]]) {
      const res = await lim.req(m, p, json ? { json } : {});
      assert.equal(res.status, 403, `${m} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /also in groups/);
    }
    assert.equal((await admin.get(`/api/v1/persons/${PA}/faces`)).body.length >= 1, true, 'A keeps its faces');
    assert.equal((await admin.get(`/api/v1/persons/${PA}`)).body.active, true, 'A not archived');
    assert.equal((await lim.patch(`/api/v1/persons/${PA}`, { last_name: 'R', active: true })).status, 200, 'other edits stay theirs');
    assert.equal((await admin.del(`/api/v1/groups/${GB}/members/${PA}`)).status, 204);
    assert.deepEqual((await lim.get('/api/v1/groups')).body.items.map((g) => g.id), [GA]);
    assert.deepEqual((await lim.get('/api/v1/schedules')).body.items, [], 'B\'s schedule is not listed');
    r = await lim.get('/api/v1/attendance');
    assert.deepEqual(r.body.items.map((e) => e.person_id), [PA]);
    assert.deepEqual((await lim.get(`/api/v1/reports/summary?from=${today}&to=${today}`)).body.items.map((x) => x.person_id), [PA]);
    r = await lim.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`);
    assert.match(r.body, /REACH-A/);
    assert.doesNotMatch(r.body, /REACH-B/);
    assert.ok((await lim.get('/api/v1/dashboard')).body.recent.every((e) => e.person_id === PA));
    assert.equal((await lim.post('/api/v1/persons', { external_id: 'REACH-N', first_name: 'N', last_name: 'R', kind: 'student' })).status, 400, 'a new person must join one of their groups');
    r = await lim.post('/api/v1/persons', { external_id: 'REACH-N', first_name: 'N', last_name: 'R', kind: 'student', group_ids: [GA] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.groups.map((g) => g.id), [GA]);
    const PN = r.body.id;
    assert.equal(limCreated.all_groups, false, 'the user says it is limited');
    // Enrolling B's face into their own person: refused as a duplicate, but
    // a limited manager is not told whose face it is (else any photo would
    // search every group's faces). An unlimited manager is told.
    const dup = multipart([{ name: 'file', filename: 'b3.jpg', type: 'image/jpeg', data: photo('id/deepface_person01/3.jpg') }]);
    for (const [who, c] of [['limited manager', lim], ['manager', manager]]) {
      r = await c.post(`/api/v1/persons/${PA}/faces`, undefined, { body: dup.body, type: dup.type });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [res] = r.body.results;
      assert.equal(res.code, 'duplicate_identity', `${who}: ${JSON.stringify(res)}`);
      if (who === 'manager') {
        assert.equal(res.params.person.id, PB);
        continue;
      }
      assert.equal(res.params.person, undefined, JSON.stringify(res));
      assert.doesNotMatch(JSON.stringify(r.body), /REACH-B|similarity/, 'nothing of B');
    }
    // The member reaches only themselves.
    r = await member.get('/api/v1/attendance');
    assert.deepEqual(r.body.items.map((e) => e.person_id), [PA]);

    // Deleting their group is not theirs to do: an admin's webhook about it
    // and other managers' reach go with it, and its people leave it.
    // Before, a limited manager's DELETE answered 204 and took all of that.
    const hook = await admin.post('/api/v1/webhooks', { name: 'A only', url: 'http://127.0.0.1:9/hook', events: ['entry'], group_id: GA });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    r = await lim.del(`/api/v1/groups/${GA}`);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(r.body.error.message, /deleting a group/);
    assert.equal((await admin.get(`/api/v1/webhooks/${hook.body.id}`)).status, 200, 'the webhook stays');
    assert.deepEqual((await lim.get('/api/v1/groups')).body.items.map((g) => g.id), [GA], 'the group stays');
    // The admin deletes it: the audit names the webhook that went with it,
    // and the limited manager reaches nobody now, never everybody.
    assert.equal((await admin.del(`/api/v1/groups/${GA}`)).status, 204);
    const del = (await admin.get('/api/v1/audit?action=group.delete')).body.items[0];
    assert.deepEqual(JSON.parse(del.detail).webhooks, [{ id: hook.body.id, name: 'A only' }]);
    assert.equal((await admin.get(`/api/v1/webhooks/${hook.body.id}`)).status, 404);
    r = await admin.get('/api/v1/users?limit=500');
    const limUser = r.body.items.find((u) => u.email === 'lim@example.org');
    assert.deepEqual(limUser.group_ids, []);
    assert.equal(limUser.all_groups, false);
    r = await lim.get('/api/v1/persons');
    assert.equal(r.body.total, 0, 'no group left: nobody');
    assert.equal((await lim.get('/api/v1/attendance')).body.total, 0);
    assert.deepEqual((await lim.get(`/api/v1/reports/summary?from=${today}&to=${today}`)).body.items, []);
    assert.deepEqual((await lim.get('/api/v1/groups')).body.items, []);
    for (const p of [PA, PB, PN]) assert.equal((await lim.get(`/api/v1/persons/${p}`)).status, 404);
    assert.equal((await lim.get(`/api/v1/faces/${FB}/image`)).status, 404);
    // An admin gives every group back explicitly.
    assert.equal((await admin.patch(`/api/v1/users/${limUser.id}`, { group_ids: [GB] })).body.all_groups, false);
    assert.equal((await lim.get(`/api/v1/persons/${PB}`)).status, 200, 'limited to B now');
    assert.equal((await lim.get(`/api/v1/persons/${PA}`)).status, 404);
    r = await admin.patch(`/api/v1/users/${limUser.id}`, { all_groups: true });
    assert.equal(r.body.all_groups, true);
    assert.deepEqual(r.body.group_ids, [], 'the old list goes with the limit');
    assert.equal((await lim.get(`/api/v1/persons/${PB}`)).status, 200);
    assert.equal((await admin.patch(`/api/v1/users/${limUser.id}`, { all_groups: true, group_ids: [GB] })).status, 400, 'contradiction');
  } finally {
    assert.equal(await r2.stop(), 0);
  }
});
