// server_cameras.test.mjs — cameras pulled by the real `rollcall serve` with
// the real models, end to end. People are enrolled through the API from the
// shared test photos; the cameras are an MJPEG stand-in (mjpeg_server.mjs)
// streaming other photos of one person, a video file and an RTSP stream
// (rtsp_server.mjs) made here by Debian's ffmpeg from photos of two others,
// and broken sources. Each source must produce its own attendance entry
// (one person per source, checked by camera_id and person_id) and exactly
// one however many frames it sends; a stream cut in the middle of a frame
// is reconnected by the camera itself; bad sources show why in the camera
// status and /metrics without stalling the good camera; a camera is turned
// off and on through PATCH; `rollcall client` posts to the real server with
// a device API key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noonZone, startWithRoles } from '../http/lib.mjs';

const BIN = process.env.ROLLCALL_BIN;
const HERE = join(process.env.ROLLCALL_SOURCE, 'tests/camera');
const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces/id');
const photo = (who, n) => join(FACES, `deepface_${who}/${n}.jpg`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs: in UTC a person seen without a break across
// midnight made a second entry, the new day's first sighting.
const { zone } = noonZone();
let env, dir;
const helpers = [];
const people = {};

function ffmpeg(args) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

const FIT = 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2';

// 640x480 JPEG frames of `who` from photos `ns` in a new directory.
function frames(who, ns) {
  const out = join(dir, `frames-${who}`);
  mkdirSync(out);
  ns.forEach((n, i) => ffmpeg(['-i', photo(who, n), '-vf', FIT, '-q:v', '4', join(out, `f${i}.jpg`)]));
  return out;
}

// An MPEG-4 clip at 10 fps showing each photo for one second.
function clip(who, ns) {
  const fr = frames(who, ns);
  const out = join(dir, `${who}.mkv`);
  ffmpeg(['-framerate', '1', '-i', join(fr, 'f%d.jpg'), '-r', '10', '-c:v', 'mpeg4', '-q:v', '4', out]);
  return out;
}

// Start one of the stand-in servers here and wait for its port.
async function helper(script, args) {
  const child = spawn('node', [join(HERE, script), ...args, '--stdin', 'watch'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  helpers.push(child);
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return port;
}

async function enroll(who, ns) {
  const p = await env.manager.post('/api/v1/persons', { external_id: `CAM-${who}`, first_name: who, last_name: 'Camera', kind: 'employee' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  for (const n of ns) {
    const up = await env.manager.req('POST', `/api/v1/persons/${p.body.id}/faces`,
      { body: readFileSync(photo(who, n)), type: 'image/jpeg' });
    assert.equal(up.body.results?.[0]?.accepted, true, JSON.stringify(up.body));
  }
  people[who] = p.body.id;
  return p.body.id;
}

// Poll `fn` until it returns something truthy; fail after `tries` polls.
async function until(what, fn, { tries = 240, ms = 250 } = {}) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await fn();
    if (last) return last;
    await sleep(ms);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const status = async (id) => {
  const r = await env.admin.get(`/api/v1/cameras/${id}`);
  assert.equal(r.status, 200, `${JSON.stringify(r.body)}\n${env.srv.stderr.slice(-3000)}`);
  return r.body.status;
};
const eventsOf = async (camId) => (await env.manager.get(`/api/v1/attendance?camera_id=${camId}`)).body.items;
const eventsFor = async (personId) => (await env.manager.get(`/api/v1/attendance?person_id=${personId}`)).body.items;

async function addCamera(body) {
  const r = await env.admin.post('/api/v1/cameras', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

// The camera's source makes exactly one entry for `who`: wait for it, let
// `frames` more frames be recognized, and check nothing else was marked.
async function oneEntry(camId, who, { more = 25 } = {}) {
  const ev = await until(`an event from camera ${camId}`, async () => {
    const e = await eventsOf(camId);
    return e.length ? e : null;
  });
  assert.equal(ev.length, 1);
  assert.equal(ev[0].person_id, people[who], `camera ${camId} saw ${who}`);
  assert.equal(ev[0].camera_id, camId);
  assert.equal(ev[0].type, 'entry');
  assert.equal(ev[0].manual, false);
  const seen = (await status(camId)).processed;
  await until(`${more} more frames from camera ${camId}`, async () => (await status(camId)).processed >= seen + more);
  const after = await eventsFor(people[who]);
  assert.equal(after.length, 1, `one entry, not one per frame: ${JSON.stringify(after)}`);
  assert.equal(after[0].id, ev[0].id);
  assert.ok(after[0].count > 1, `repeated sightings are counted on the event (${after[0].count})`);
  return after[0];
}

let mjpegPort, mjpegCam;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-srvcam-'));
  env = await startWithRoles({ models: true });
  assert.equal((await env.admin.patch('/api/v1/settings', { timezone: zone })).status, 200);
  await enroll('person01', [1, 2]);
  mjpegPort = await helper('mjpeg_server.mjs', ['--dir', frames('person01', [3, 4, 5, 6]), '--fps', '5']);
});

after(async () => {
  for (const h of helpers) h.kill('SIGTERM');
  const stderr = env?.srv.stderr;
  const code = await env?.stop();
  if (code !== 0) console.log(stderr.slice(-5000));
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'the server exits cleanly');
});

test('an MJPEG camera makes exactly one entry and reconnects by itself after a cut', async () => {
  mjpegCam = await addCamera({ name: 'Door MJPEG', kind: 'mjpeg', url: `http://127.0.0.1:${mjpegPort}/stream`, direction: 'entry', fps: 5 });
  // 25 more recognized frames at 5 fps is at least 5 s of standing there.
  const ev = await oneEntry(mjpegCam, 'person01', { more: 25 });
  // Her re-checks after the entry skip the liveness model (she was measured
  // live at this camera within the de-duplication window), and the event
  // keeps the score of a measured sighting.
  const metrics = (await env.admin.get('/metrics')).body;
  const liveness = (how) => Number(metrics.match(
    new RegExp(`^rollcall_liveness_faces_total\\{how="${how}"\\} (\\S+)$`, 'm'))?.[1] ?? 0);
  assert.ok(liveness('measured') >= 1 && liveness('skipped') >= 1,
    `liveness measured ${liveness('measured')}, skipped ${liveness('skipped')}`);
  assert.ok(ev.liveness > 0, `the event's liveness is a measured score (${ev.liveness})`);
  let st = await status(mjpegCam);
  assert.equal(st.state, 'streaming');
  assert.equal(st.connects, 1);
  const framesBefore = st.frames;
  // Cut the stream in the middle of a frame; the server side comes back at once.
  const cut = await (await fetch(`http://127.0.0.1:${mjpegPort}/cut-all`)).json();
  assert.equal(cut.cut, 1, 'the camera had one stream open');
  st = await until('the reconnection', async () => {
    const s = await status(mjpegCam);
    return s.connects >= 2 && s.frames > framesBefore + 5 && s.state === 'streaming' ? s : null;
  });
  assert.ok(st.failures >= 1, `the cut is counted as a failure: ${JSON.stringify(st)}`);
  assert.ok(st.last_error, 'and says why');
  // Still the one entry.
  assert.equal((await eventsFor(people.person01)).length, 1);
});

test('bad sources say why in the status and /metrics; the good camera keeps going', async (t) => {
  assert.ok(mjpegCam, 'needs the MJPEG camera of the first test');
  const bad = {
    refused: await addCamera({ name: 'Refused', kind: 'mjpeg', url: 'http://127.0.0.1:1/stream', fps: 5 }),
    notfound: await addCamera({ name: 'Missing', kind: 'mjpeg', url: `http://127.0.0.1:${mjpegPort}/404`, fps: 5 }),
    html: await addCamera({ name: 'Settings page', kind: 'mjpeg', url: `http://127.0.0.1:${mjpegPort}/html`, fps: 5 }),
    garbage: await addCamera({ name: 'Noise', kind: 'mjpeg', url: `http://127.0.0.1:${mjpegPort}/garbage`, fps: 5 }),
    garbageBody: await addCamera({ name: 'Noise body', kind: 'mjpeg', url: `http://127.0.0.1:${mjpegPort}/garbage-body`, fps: 5 }),
    video: await addCamera({ name: 'Not a video', kind: 'file', url: `http://127.0.0.1:${mjpegPort}/html`, fps: 5 }),
  };
  const good0 = (await status(mjpegCam)).processed;
  const why = {};
  for (const [k, id] of Object.entries(bad)) {
    const st = await until(`an error on the ${k} camera`, async () => {
      const s = await status(id);
      return s.last_error && s.failures >= 2 ? s : null;
    });
    assert.notEqual(st.state, 'streaming', `${k}: ${JSON.stringify(st)}`);
    assert.equal(st.processed, 0, `${k} recognized nothing`);
    why[k] = st.last_error;
  }
  for (const [k, m] of Object.entries(why)) t.diagnostic(`${k}: ${m}`);
  assert.match(why.refused, /refused|connect/i);
  assert.match(why.notfound, /404/);
  assert.match(why.html, /text\/html|not .*(mjpeg|multipart)/i);
  for (const [k, m] of Object.entries(why)) assert.ok(m.length > 10, `${k}: a useful message: ${m}`);
  // The good camera kept recognizing all along.
  await until('the good camera to go on', async () => (await status(mjpegCam)).processed >= good0 + 10);
  assert.equal((await status(mjpegCam)).state, 'streaming');
  // The list shows every camera with its status; /metrics too.
  const list = (await env.admin.get('/api/v1/cameras')).body.items;
  for (const id of Object.values(bad))
    assert.ok(list.find((c) => c.id === id).status.last_error, `camera ${id} in the list`);
  const metrics = await env.admin.get('/metrics');
  assert.equal(metrics.status, 200);
  const text = metrics.body;
  assert.match(text, new RegExp(`rollcall_camera_state\\{camera="${mjpegCam}",state="streaming"`));
  assert.match(text, new RegExp(`rollcall_camera_state\\{camera="${bad.notfound}",state="(backoff|connecting)",last_error="[^"]*404`));
  assert.match(text, new RegExp(`rollcall_camera_failures_total\\{camera="${bad.refused}"\\} [1-9]`));
  assert.match(text, new RegExp(`rollcall_camera_processed_frames_total\\{camera="${mjpegCam}"\\} [1-9]`));
  assert.match(text, /rollcall_camera_latency_ms\{quantile="0.5"\} \d/);
  assert.equal((await env.anonymous.get('/healthz')).status, 200, 'the server stays healthy');
  for (const id of Object.values(bad)) assert.equal((await env.admin.del(`/api/v1/cameras/${id}`)).status, 204);
  assert.equal(env.srv.child.exitCode, null, 'the server is still running');
});

test('a camera is turned off and on at run time through PATCH', async () => {
  assert.ok(mjpegCam, 'needs the MJPEG camera of the first test');
  let r = await env.admin.patch(`/api/v1/cameras/${mjpegCam}`, { enabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.body.enabled, false);
  assert.equal(r.body.status.state, 'disabled');
  const hits0 = (await (await fetch(`http://127.0.0.1:${mjpegPort}/hits`)).json())['/stream'];
  // Nothing arrives while it is off (the frames counter of the status stays).
  await sleep(300);
  const off = await status(mjpegCam);
  await sleep(1500);
  const off2 = await status(mjpegCam);
  assert.equal(off2.state, 'disabled');
  assert.equal(off2.frames, off.frames, 'no frames while disabled');
  assert.equal((await (await fetch(`http://127.0.0.1:${mjpegPort}/hits`)).json())['/stream'], hits0, 'no reconnection');
  r = await env.admin.patch(`/api/v1/cameras/${mjpegCam}`, { enabled: true });
  assert.equal(r.body.enabled, true);
  await until('frames after re-enabling', async () => {
    const s = await status(mjpegCam);
    return s.state === 'streaming' && s.frames > off2.frames + 3;
  });
  assert.equal((await eventsFor(people.person01)).length, 1, 'still the one entry');
  // Off for the rest of the tests: the two cores are needed elsewhere.
  r = await env.admin.patch(`/api/v1/cameras/${mjpegCam}`, { enabled: false });
  assert.equal(r.body.status.state, 'disabled');
});

test('a video file made by ffmpeg is read through the FFmpeg source: one entry', async () => {
  await enroll('person02', [1, 2]);
  const file = clip('person02', [3, 4, 5, 6, 7]);
  const id = await addCamera({ name: 'Recording', kind: 'file', url: file, direction: 'entry', fps: 5 });
  const ev = await oneEntry(id, 'person02', { more: 20 });
  assert.equal(ev.camera_name, 'Recording');
  const st = await status(id);
  assert.equal(st.width, 640);
  assert.equal(st.height, 480);
  assert.equal((await env.admin.patch(`/api/v1/cameras/${id}`, { enabled: false })).body.status.state, 'disabled');
});

test('an RTSP stream is read through the FFmpeg source: one entry', async () => {
  await enroll('person03', [1, 2]);
  const port = await helper('rtsp_server.mjs', ['--input', clip('person03', [3, 4, 5])]);
  const id = await addCamera({ name: 'IP camera', kind: 'rtsp', url: `rtsp://127.0.0.1:${port}/door`, direction: 'entry', fps: 5 });
  await oneEntry(id, 'person03', { more: 20 });
  assert.equal((await env.admin.patch(`/api/v1/cameras/${id}`, { enabled: false })).body.status.state, 'disabled');
});

function client(args, timeoutMs = 60000) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['client', '--server', env.srv.url, '--api-key', env.device.key, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

test('rollcall client --once posts a photo to the real server with a device key', async () => {
  await enroll('person04', [1, 2]);
  const r = await client(['--once', '--source', photo('person04', 3)]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /person04/);
  const ev = await eventsFor(people.person04);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].type, 'entry');
  assert.equal(ev[0].manual, false);
});

test('rollcall client streams a video file to the real server: one entry', async () => {
  await enroll('person06', [1, 2]);
  const file = clip('person06', [3, 4, 5, 6, 7, 8]);
  // Six seconds of video at 2 posts per second; the client ends with the file.
  const r = await client(['--source', file, '--fps', '2']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter((l) => /person06/.test(l));
  assert.ok(lines.length >= 3, `several frames recognized:\n${r.out}\n${r.err}`);
  const ev = await eventsFor(people.person06);
  assert.equal(ev.length, 1, JSON.stringify(ev));
  assert.ok(ev[0].count >= 3, `the frames were counted on the one event (${ev[0].count})`);
});
