// absentees.test.mjs — the absentee notification through the real server and
// a receiver on 127.0.0.1: a group that asked for it gets, once its slot's
// start + grace has passed, one signed "absentees" delivery naming who is
// missing and the group's managers; after a server restart the same slot is
// not sent again (a second group's delivery, sent by the restarted server,
// shows that its checks ran).
//
// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs, so a slot 09:00-23:00 today is always running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startWithRoles, Client, noonZone } from '../http/lib.mjs';
import { startServer } from '../lib/server.mjs';

const { zone, today, dow, at } = noonZone(); // dow: ISO, Monday 1 .. Sunday 7
let env, rx, restarted;

// Records every request; wait(pred) resolves on the first that matches.
function receiver() {
  const got = [];
  const waiters = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    got,
    url: `http://127.0.0.1:${srv.address().port}/absent`,
    close: () => new Promise((r) => srv.close(r)),
    async wait(pred, ms = 30000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = got.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no matching delivery; got ${got.map((g) => g.body).join('\n')}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 250); });
      }
    },
  })));
}

const groupOf = (g) => JSON.parse(g.body).data.group.name;

before(async () => {
  env = await startWithRoles();
  rx = await receiver();
});
after(async () => {
  await rx.close();
  if (restarted) assert.equal(await restarted.stop(), 0);
  else assert.equal(await env.stop(), 0);
});

// A group with a running slot, members (the first present) and a manager.
async function group(admin, name, codes) {
  const g = (await admin.post('/api/v1/groups', { name })).body.id;
  const ids = [];
  for (const code of codes) {
    const r = await admin.post('/api/v1/persons', { external_id: code, first_name: code, last_name: 'Absent', kind: 'student', group_ids: [g] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  const s = await admin.post('/api/v1/schedules', { group_id: g, day_of_week: dow, start: '09:00', end: '23:00', grace_min: 5, label: 'Matemáticas' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const e = await admin.post('/api/v1/attendance', { person_id: ids[0], type: 'entry', time: at('09:01'), reason: 'test' });
  assert.equal(e.status, 201, JSON.stringify(e.body));
  return { g, ids };
}

test('a group slot past start + grace sends its absentee list once, naming the managers; a restart does not send it again', async () => {
  const { admin } = env;
  assert.equal((await admin.patch('/api/v1/settings', { timezone: zone })).status, 200);
  const hook = await admin.post('/api/v1/webhooks', { name: 'absent', url: rx.url, events: ['absentees'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  const A = await group(admin, 'Absent A', ['AB-1', 'AB-2', 'AB-3']);
  const lim = await admin.post('/api/v1/users', { email: 'lim@example.org', name: 'Lim A', role: 'manager', password: 'limited-pass-1', group_ids: [A.g], must_change_password: false });
  assert.equal(lim.status, 201);
  // Asked for last: from here the server's 2 s check sends it.
  assert.equal((await admin.patch(`/api/v1/groups/${A.g}`, { notify_absentees: true })).status, 200);

  const got = await rx.wait((g) => groupOf(g) === 'Absent A');
  assert.equal(got.headers['x-rollcall-event'], 'absentees');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got.headers['x-rollcall-signature']);
  assert.equal(m[2], createHmac('sha256', hook.body.secret).update(`${m[1]}.${got.body}`).digest('hex'));
  const data = JSON.parse(got.body).data;
  assert.equal(data.slot.day, today);
  assert.equal(data.slot.label, 'Matemáticas');
  assert.equal(data.slot.start, '09:00');
  assert.deepEqual(data.absent.map((p) => p.external_id).sort(), ['AB-2', 'AB-3']);
  assert.equal(data.absent_count, 2);
  // Managers whose scope includes A: the limited one and the one for every group.
  assert.deepEqual(data.managers.map((u) => u.email).sort(), ['lim@example.org', 'manager@example.org']);

  // Restart on the same data: the check runs again, A's slot is not resent.
  assert.equal(await env.srv.stop(), 0);
  restarted = await startServer({ args: ['--data', join(env.dir, 'data'), '--models', join(env.dir, 'no-models')] });
  const c = new Client(restarted.url);
  await c.login('admin@example.org', 'admin-pass-1');
  const B = await group(c, 'Absent B', ['AB-4', 'AB-5']);
  assert.equal((await c.patch(`/api/v1/groups/${B.g}`, { notify_absentees: true })).status, 200);
  // The restarted server's check reached B (groups are checked by name: A first).
  const gotB = await rx.wait((g) => groupOf(g) === 'Absent B');
  assert.deepEqual(JSON.parse(gotB.body).data.absent.map((p) => p.external_id), ['AB-5']);
  assert.equal(rx.got.filter((g) => groupOf(g) === 'Absent A').length, 1, 'A once');
  const ds = (await c.get(`/api/v1/webhooks/${hook.body.id}/deliveries`)).body.items;
  assert.equal(ds.filter((d) => d.kind === 'absentees').length, 2);
});
