// requests_crash.test.mjs — approving a member's correction request is all
// or nothing across a crash. The real server is stopped dead (_exit, no
// clean-up) between the steps of an approval with the test hook
// ROLLCALL_TEST_CRASH_AT (rc_crash_point): after the request was claimed
// and before the change (request.apply), after the change and before the
// decision names its event (request.decide), and before the approval's
// audit entry (request.audit). Restarted on the same database, each request
// is still pending, the attendance is exactly as before and the audit log
// has no trace of the approval; approved again, each change is made once.
// SQLite by default; PostgreSQL when ROLLCALL_TEST_DB is set (tests/lib/pg.sh
// runs this file as `http-requests-crash-postgres`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client, noonZone } from './lib.mjs';

const { zone, dow, at } = noonZone();
const text = (res) => JSON.stringify(res.body);
const POINTS = ['request.apply', 'request.decide', 'request.audit'];

async function start(dir, crashAt) {
  const db = process.env.ROLLCALL_TEST_DB;
  const srv = await startServer({
    args: ['--data', join(dir, 'data'), '--admin-email', 'admin@example.org', '--admin-password', 'admin-pass-1',
      '--models', join(dir, 'no-models'), ...(db ? ['--db', db] : [])],
    env: crashAt ? { ROLLCALL_TEST_CRASH_AT: crashAt } : {},
  });
  const admin = new Client(srv.url);
  await admin.login('admin@example.org', 'admin-pass-1');
  return { srv, admin };
}

test('an approval interrupted by a crash at any step leaves the request pending and the attendance as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-reqcrash-'));
  try {
    let { srv, admin } = await start(dir);
    assert.equal((await admin.patch('/api/v1/settings', { timezone: zone })).status, 200);
    const group = (await admin.post('/api/v1/groups', { name: 'Turno' })).body.id;
    let r = await admin.post('/api/v1/persons', { external_id: 'C-1', first_name: 'Ana', last_name: 'Caída', kind: 'employee', group_ids: [group] });
    assert.equal(r.status, 201, text(r));
    const ana = r.body.id;
    r = await admin.post('/api/v1/schedules', { group_id: group, day_of_week: dow, start: '09:00', end: '11:00', grace_min: 5, label: 'Turno' });
    assert.equal(r.status, 201, text(r));
    r = await admin.post('/api/v1/users', { email: 'ana@example.org', name: 'Ana', role: 'member', password: 'member-pass-9', person_id: ana, must_change_password: false });
    assert.equal(r.status, 201, text(r));
    const entry = (await admin.post('/api/v1/attendance', { person_id: ana, type: 'entry', time: at('09:10'), reason: 'cámara' })).body;
    const other = (await admin.post('/api/v1/attendance', { person_id: ana, type: 'entry', time: at('09:40'), reason: 'cámara' })).body;
    const member = new Client(srv.url);
    await member.login('ana@example.org', 'member-pass-9');
    // One request of each way an approval changes attendance: a manual
    // event (att_manual), a correction (att_correct), a void.
    const asks = [
      { kind: 'missing_exit', time: at('10:55'), reason: 'Olvidé la salida' },
      { kind: 'wrong_time', event_id: entry.id, time: at('09:00'), reason: 'Llegué a las 9' },
      { kind: 'void', event_id: other.id, reason: 'Doble' },
    ];
    const reqs = [];
    for (const a of asks) {
      r = await member.post('/api/v1/self/correction-requests', a);
      assert.equal(r.status, 201, text(r));
      reqs.push(r.body.id);
    }
    // What must not change: every event of Ana's as it is, and the audit
    // entries about attendance and requests (logins add others).
    const events = async (c) => (await c.get(`/api/v1/attendance?person_id=${ana}&include_void=true`)).body.items
      .map((e) => [e.id, e.time, e.type, e.status, e.voided_at, e.corrected, e.reason]);
    const trail = async (c) => (await c.get('/api/v1/audit?limit=500')).body.items
      .filter((a) => /^(event|request)\./.test(a.action)).map((a) => [a.id, a.action]);
    const eventsBefore = await events(admin);
    const trailBefore = await trail(admin);
    assert.equal(eventsBefore.length, 2);
    assert.equal(await srv.stop(), 0);

    for (const point of POINTS) {
      for (const id of reqs) {
        ({ srv, admin } = await start(dir, point));
        // The server dies while answering: no answer reaches the client.
        await assert.rejects(admin.post(`/api/v1/correction-requests/${id}/approve`, { note: 'ok' }), `${point}: no answer`);
        assert.equal(await srv.exited, 86, `${point}: stopped by the hook`);
        assert.match(srv.stderr, new RegExp(`ROLLCALL_TEST_CRASH_AT=${point.replace('.', '\\.')}`));

        ({ srv, admin } = await start(dir));
        r = await admin.get(`/api/v1/correction-requests?status=pending`);
        const q = r.body.items.find((x) => x.id === id);
        assert.ok(q, `${point}, request ${id}: still pending after the crash: ${text(r)}`);
        assert.equal(q.decided_at, null);
        assert.equal(q.decided_by, null);
        assert.equal(q.note, null);
        assert.equal(q.result_event_id, null);
        assert.deepEqual(await events(admin), eventsBefore, `${point}, request ${id}: the attendance is as it was`);
        assert.deepEqual(await trail(admin), trailBefore, `${point}, request ${id}: nothing in the audit log`);
        assert.equal(await srv.stop(), 0);
      }
    }

    // Approved for real, each change is made once.
    ({ srv, admin } = await start(dir));
    for (const id of reqs) {
      r = await admin.post(`/api/v1/correction-requests/${id}/approve`, { note: 'ok' });
      assert.equal(r.status, 200, text(r));
      assert.equal(r.body.status, 'approved');
      assert.ok(r.body.result_event_id > 0);
    }
    const after = (await admin.get(`/api/v1/attendance?person_id=${ana}&include_void=true`)).body.items;
    assert.equal(after.length, 3, 'one exit added');
    assert.equal(after.filter((e) => e.type === 'exit').length, 1);
    assert.equal(Date.parse(after.find((e) => e.id === entry.id).time), Date.parse(at('09:00')));
    assert.notEqual(after.find((e) => e.id === other.id).voided_at, null);
    const actions = (await trail(admin)).slice(0, (await trail(admin)).length - trailBefore.length).map((a) => a[1]);
    assert.deepEqual(actions.filter((a) => a === 'request.approve').length, 3, JSON.stringify(actions));
    assert.deepEqual(actions.filter((a) => a.startsWith('event.')).sort(), ['event.add', 'event.correct', 'event.void']);
    assert.equal(await srv.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
