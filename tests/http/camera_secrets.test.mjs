// camera_secrets.test.mjs — camera credentials never leave the server:
// user:password@ and secret query parameters (token, key, password, auth...)
// of camera URLs are hidden in every answer (POST/GET/PATCH /cameras, their
// status), in /metrics labels, in the audit log, in the server's log and in
// `rollcall probe`, also when the camera fails and libcurl or FFmpeg explain
// why. An admin editing a camera keeps the stored secret by leaving the URL
// out or sending back the URL as shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startWithRoles } from './lib.mjs';

let env, admin;
const SECRETS = ['Pw-S3cret-1', 'Tok-S3cret-2', 'Pw-S3cret-3', 'Key-S3cret-4', 'Pw-S3cret-5', 'Auth-S3cret-6'];
// Port 9 (discard) is closed on loopback: every camera fails to connect and
// says why in its status.
const CAMS = [
  { name: 'gate', kind: 'mjpeg', url: 'http://door:Pw-S3cret-1@127.0.0.1:9/video?token=Tok-S3cret-2&fps=5' },
  { name: 'yard', kind: 'rtsp', url: 'rtsp://cam:Pw-S3cret-3@127.0.0.1:9/live?key=Key-S3cret-4' },
  { name: 'desk', kind: 'snapshot', url: 'http://127.0.0.1:9/snap.jpg?user=x&password=Pw-S3cret-5&auth=Auth-S3cret-6' },
];

before(async () => { env = await startWithRoles({ models: true }); admin = env.admin; });
after(async () => { assert.equal(await env.stop(), 0); });

function assertHidden(text, where) {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} shows ${s}:\n${text.slice(0, 2000)}`);
}

const dbUrl = (id) => {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', join(env.dir, 'data', 'rollcall.db'),
    `SELECT url FROM cameras WHERE id = ${Number(id)}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};

test('answers, status, metrics, audit and logs never show camera secrets', async () => {
  const ids = [];
  for (const c of CAMS) {
    const r = await admin.post('/api/v1/cameras', c);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assertHidden(JSON.stringify(r.body), 'POST /cameras');
    assert.match(r.body.url, /\*\*\*/);
    ids.push(r.body.id);
  }
  // Wait until every camera has failed at least once (its error is set).
  let list;
  for (let i = 0; i < 100; i++) {
    list = await admin.get('/api/v1/cameras');
    if (list.body.items.every((c) => c.status.last_error)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.ok(list.body.items.every((c) => c.status.last_error), JSON.stringify(list.body));
  assertHidden(JSON.stringify(list.body), 'GET /cameras');
  const byName = Object.fromEntries(list.body.items.map((c) => [c.name, c]));
  assert.equal(byName.gate.url, 'http://door:***@127.0.0.1:9/video?token=***&fps=5');
  assert.equal(byName.yard.url, 'rtsp://cam:***@127.0.0.1:9/live?key=***');
  assert.equal(byName.desk.url, 'http://127.0.0.1:9/snap.jpg?user=x&password=***&auth=***');
  for (const id of ids) assertHidden(JSON.stringify((await admin.get(`/api/v1/cameras/${id}`)).body), 'GET /cameras/{id}');
  const metrics = await admin.get('/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /rollcall_camera_state\{camera="\d+",state="[a-z_]+",last_error="[^"]+/);
  assertHidden(metrics.body, '/metrics');
  assertHidden(JSON.stringify((await admin.get('/api/v1/audit')).body), 'the audit log');
  assertHidden(env.srv.stderr, 'the server log');
  // The stored URLs still hold the secrets the cameras need.
  assert.equal(dbUrl(ids[0]), CAMS[0].url);
});

test('editing a camera keeps its stored secret unless a new URL is given', async () => {
  const c = (await admin.get('/api/v1/cameras')).body.items.find((x) => x.name === 'gate');
  let r = await admin.patch(`/api/v1/cameras/${c.id}`, { name: 'gate 2' });
  assert.equal(r.status, 200);
  assertHidden(JSON.stringify(r.body), 'PATCH /cameras');
  assert.equal(dbUrl(c.id), CAMS[0].url, 'a PATCH without url keeps it');
  r = await admin.patch(`/api/v1/cameras/${c.id}`, { url: c.url, fps: 2 });
  assert.equal(r.status, 200);
  assert.equal(dbUrl(c.id), CAMS[0].url, 'the URL as shown, sent back, keeps the stored one');
  r = await admin.patch(`/api/v1/cameras/${c.id}`, { url: 'http://door:New-Pw-7@127.0.0.1:9/video' });
  assert.equal(r.status, 200);
  assert.equal(dbUrl(c.id), 'http://door:New-Pw-7@127.0.0.1:9/video');
  assert.equal(r.body.url, 'http://door:***@127.0.0.1:9/video');
});

test('rollcall probe and rollcall client show the source and its failure without secrets', async () => {
  for (const c of CAMS) {
    for (const json of [[], ['--json']]) {
      const r = spawnSync(process.env.ROLLCALL_BIN, ['probe', c.url, '--frames', '1', '--timeout', '2', '-v', ...json],
        { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 1, r.stderr);
      assertHidden(r.stdout + r.stderr, `rollcall probe ${c.kind}`);
      assert.match(r.stdout + r.stderr, /\*\*\*/);
    }
    const r = spawnSync(process.env.ROLLCALL_BIN, ['client', '--source', c.url, '--server', 'http://127.0.0.1:9',
      '--api-key', 'rc_x_y', '--once', '--timeout', '2', '-v'], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 1, r.stderr);
    assertHidden(r.stdout + r.stderr, `rollcall client ${c.kind}`);
    assert.match(r.stderr, /\*\*\*/);
  }
});
