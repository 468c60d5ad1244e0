// camera.test.mjs — a camera the server pulls from: a snapshot camera served
// by this test (a real face photo at /capture) is recognized frame by frame,
// the person's entry is marked under the camera's id and published on the
// event stream, the camera's status comes from the running source, and the
// snapshot shows the last frame with the face drawn on it. Changing and
// deleting the camera through the API stops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWithRoles } from './lib.mjs';

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const ANG = (n) => readFileSync(join(FACES, `id/deepface_angelina/${n}.jpg`));
let env, cam, camUrl, served = 0;

before(async () => {
  env = await startWithRoles({ models: true });
  cam = http.createServer((req, res) => {
    served++;
    res.writeHead(200, { 'Content-Type': 'image/jpeg' });
    res.end(ANG(3));
  });
  await new Promise((r) => cam.listen(0, '127.0.0.1', r));
  camUrl = `http://127.0.0.1:${cam.address().port}/capture`;
});
after(async () => {
  cam.close();
  assert.equal(await env.stop(), 0);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a pulled camera marks attendance for the face it sees and shows it on the snapshot', async () => {
  const p = await env.manager.post('/api/v1/persons', { external_id: 'CAM-ANG', first_name: 'Angelina', last_name: 'Cam', kind: 'employee' });
  const up = await env.manager.req('POST', `/api/v1/persons/${p.body.id}/faces`, { body: ANG(1), type: 'image/jpeg' });
  assert.equal(up.body.results[0].accepted, true);
  const ac = new AbortController();
  const stream = await fetch(new URL('api/v1/events', env.srv.url), { headers: env.admin.headers(), signal: ac.signal });
  let r = await env.admin.post('/api/v1/cameras', { name: 'Front door', kind: 'snapshot', url: camUrl, direction: 'entry', fps: 2 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  // Wait (bounded) for the first event from this camera.
  let events = [];
  for (let i = 0; i < 60 && events.length === 0; i++) {
    await sleep(250);
    events = (await env.manager.get(`/api/v1/attendance?camera_id=${id}`)).body.items;
  }
  assert.equal(events.length, 1, 'the camera marked one event');
  assert.equal(events[0].person_id, p.body.id);
  assert.equal(events[0].type, 'entry', 'an entry camera makes entries');
  assert.equal(events[0].camera_name, 'Front door');
  assert.equal(events[0].manual, false);
  assert.ok(served >= 1);
  r = await env.admin.get(`/api/v1/cameras/${id}`);
  assert.equal(r.body.status.state, 'streaming');
  assert.ok(r.body.status.frames >= 1);
  const snap = await env.admin.get(`/api/v1/cameras/${id}/snapshot`);
  assert.equal(snap.status, 200);
  assert.equal(snap.headers.get('content-type'), 'image/jpeg');
  assert.equal(snap.body[0], 0xff);
  // The stream carried the recognition with the camera's id.
  const reader = stream.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  while (!/event: recognition\ndata: .*"camera_id":\d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  ac.abort();
  const rec = JSON.parse(text.match(/event: recognition\ndata: (.*"camera_id":\d+.*)\n/)[1]);
  assert.equal(rec.camera_id, id);
  assert.equal(rec.faces[0].identity.external_id, 'CAM-ANG');
  // Disabled: the source stops.
  r = await env.admin.patch(`/api/v1/cameras/${id}`, { enabled: false });
  assert.equal(r.body.status.state, 'disabled');
  await sleep(300);
  const before = served;
  await sleep(1500);
  assert.ok(served <= before + 1, 'no more polling once disabled');
  assert.equal((await env.admin.del(`/api/v1/cameras/${id}`)).status, 204);
  assert.equal((await env.admin.get(`/api/v1/cameras/${id}/snapshot`)).status, 404);
});

test('a camera that has sent nothing has no snapshot; an unreachable one says why', async () => {
  const r = await env.admin.post('/api/v1/cameras', { name: 'Nowhere', kind: 'mjpeg', url: 'http://127.0.0.1:1/stream', fps: 1 });
  assert.equal(r.status, 201);
  const snap = await env.admin.get(`/api/v1/cameras/${r.body.id}/snapshot`);
  assert.equal(snap.status, 404);
  assert.equal(snap.body.error.code, 'no_frame');
  let st;
  for (let i = 0; i < 40; i++) {
    st = (await env.admin.get(`/api/v1/cameras/${r.body.id}`)).body.status;
    if (st.last_error) break;
    await sleep(100);
  }
  assert.ok(st.last_error, JSON.stringify(st));
  assert.notEqual(st.state, 'streaming');
  const b = await env.admin.post('/api/v1/cameras', { name: 'Kiosk', kind: 'browser' });
  assert.equal(b.status, 201);
  assert.equal(b.body.status.state, 'external');
});
