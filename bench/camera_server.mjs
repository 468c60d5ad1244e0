// camera_server.mjs — N simulated cameras (MJPEG at F fps each, served on
// loopback by tests/camera/mjpeg_server.mjs from 640x480 frames of one
// enrolled person) pulled by ONE real `rollcall serve` with the real models.
// After a warm-up it measures, over a window: frames the cameras delivered
// and the server recognized per second (in all, and the slowest and fastest
// camera's rate: every camera must get its share), drops, latency from capture to
// recognition done (p50/p90/p99 from /metrics, the most recent frames) and
// the server process's CPU use (utime+stime from /proc/PID/stat).
// It runs once per tracking mode, each time with a new server: face
// tracking off (every frame through the whole pipeline), on (the default:
// the detector every 2nd frame, the whole pipeline for new faces and
// re-checks) and regions (between whole-frame detections every 4th frame,
// the detector only around the tracked faces), and prints them side by
// side with the server's CPU per camera and per frame, and how many frames
// took each step (rollcall_camera_steps_total) and how many faces had
// their liveness measured or skipped (rollcall_liveness_faces_total: a
// person already marked live at the camera within the de-duplication
// window is not measured again).
// The reference printed beside it is the one-thread pipeline time on a
// 640x480 one-face frame (`rollcall bench pipeline`), measured in the same
// run: CPU ms per recognized frame without tracking should be close to it.
//
// Scenes (SCENE=walk|photos|empty): walk (default) is one enrolled person walking
// back and forth across the frame (an 8 s loop made by ffmpeg from one
// photo); photos cycles four different photos of the person, letterboxed,
// so the face jumps every frame (the tracker's worst case: a new track
// almost every detection); empty is a moving test pattern and nobody (a
// door most of the day). FACE_W (default 220) is the walking photo's width
// in pixels (the face is about half of it); TRACKING=off,on,regions picks
// the runs.
//
//   node bench/camera_server.mjs [CAMERAS=8] [FPS=5] [SECONDS=20]
// (ROLLCALL_BIN, ROLLCALL_MODELS, ROLLCALL_TESTDATA, SCENE may be set)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../tests/lib/server.mjs';
import { Client } from '../tests/http/lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [CAMS = 8, FPS = 5, SECONDS = 20] = process.argv.slice(2).map(Number);
process.env.ROLLCALL_BIN ??= join(ROOT, 'build/src/cli/rollcall');
const MODELS = process.env.ROLLCALL_MODELS ?? join(ROOT, 'models');
const FACES = join(process.env.ROLLCALL_TESTDATA ?? join(ROOT, '../shared/testdata'), 'faces/id/deepface_person01');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(`${s}\n`);

const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-cam-'));
let srv, cams;
const SCENE = process.env.SCENE ?? 'walk';
const cleanup = () => {
  cams?.kill('SIGTERM');
  srv?.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

function ffmpeg(args) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
}

// Counters summed over the cameras, latency quantiles, the server's CPU.
async function sample(admin) {
  const text = (await admin.get('/metrics')).body;
  const sum = (name) => [...text.matchAll(new RegExp(`^${name}\\{camera="\\d+"\\} (\\S+)$`, 'gm'))]
    .reduce((a, m) => a + Number(m[1]), 0);
  const perCamera = Object.fromEntries([...text.matchAll(
    /^rollcall_camera_processed_frames_total\{camera="(\d+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
  const q = (k) => Number(text.match(new RegExp(`^rollcall_camera_latency_ms\\{quantile="${k}"\\} (\\S+)$`, 'm'))?.[1]);
  const stat = readFileSync(`/proc/${srv.child.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    t: performance.now(),
    frames: sum('rollcall_camera_source_frames_total'),
    processed: sum('rollcall_camera_processed_frames_total'),
    perCamera,
    drops: sum('rollcall_camera_dropped_frames_total'),
    failures: sum('rollcall_camera_failures_total'),
    cpuTicks: Number(f[11]) + Number(f[12]), // utime, stime
    p50: q('0.5'), p90: q('0.9'), p99: q('0.99'),
    steps: Object.fromEntries(['tracked', 'detect', 'identify', 'region'].map((k) =>
      [k, Number(text.match(new RegExp(`^rollcall_camera_steps_total\\{step="${k}"\\} (\\S+)$`, 'm'))?.[1] ?? 0)])),
    latencyCount: Number(text.match(/^rollcall_camera_latency_ms_count (\d+)/m)?.[1]),
    liveness: Object.fromEntries(['measured', 'skipped'].map((k) =>
      [k, Number(text.match(new RegExp(`^rollcall_liveness_faces_total\\{how="${k}"\\} (\\S+)$`, 'm'))?.[1] ?? 0)])),
  };
}

// Frames: 640x480 with one enrolled person (see SCENE above).
const frames = join(dir, 'frames');
mkdirSync(frames);
if (SCENE === 'photos') {
  for (const n of [3, 4, 5, 6])
    ffmpeg(['-i', join(FACES, `${n}.jpg`), '-vf',
      'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2',
      '-q:v', '5', join(frames, `f${n}.jpg`)]);
} else if (SCENE === 'empty') {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=640x480:r=${FPS}:d=4`, '-q:v', '5', join(frames, 'f%03d.jpg')]);
} else {
  ffmpeg(['-f', 'lavfi', '-i', `color=c=0x6e6e6e:s=640x480:r=${FPS}:d=7.85`, '-i', join(FACES, '3.jpg'),
    '-filter_complex', `[1]scale=${process.env.FACE_W ?? 220}:-2[f];[0][f]overlay=x='200+180*sin(t*0.8)':y=80`,
    '-q:v', '5', join(frames, 'f%03d.jpg')]);
}

log('reference: one-thread pipeline on a 640x480 one-face frame...');
const ref = spawnSync(process.env.ROLLCALL_BIN, ['bench', 'pipeline', '--models', MODELS, '--runs', '20'],
  { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
const refMs = Number(ref.stdout.match(/one face[^\n]*\n(?:.*\n)*?\s+total\s+(\S+)/)?.[1]);

cams = spawn('node', [join(ROOT, 'tests/camera/mjpeg_server.mjs'), '--dir', frames, '--fps', String(FPS)],
  { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((res) => {
  let out = '';
  cams.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening (\d+)/);
    if (m) res(m[1]);
  });
});
const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

async function measure(tracking) {
  srv = await startServer({
    args: ['--data', join(dir, `data-${tracking}`), '--models', MODELS, '--no-access-log',
      '--camera-tracking', tracking,
      '--admin-email', 'bench@example.org', '--admin-password', 'bench-pass-1'],
  });
  const admin = new Client(srv.url);
  await admin.login('bench@example.org', 'bench-pass-1');
  const p = await admin.post('/api/v1/persons', { external_id: 'BENCH-1', first_name: 'Person01', last_name: 'Bench', kind: 'employee' });
  if (p.status !== 201) throw new Error(`person: ${p.status} ${JSON.stringify(p.body)}`);
  for (const n of [1, 2]) {
    const up = await admin.req('POST', `/api/v1/persons/${p.body.id}/faces`, { body: readFileSync(join(FACES, `${n}.jpg`)), type: 'image/jpeg' });
    if (!up.body.results?.[0]?.accepted) throw new Error(`enrolment: ${JSON.stringify(up.body)}`);
  }
  for (let i = 0; i < CAMS; i++) {
    const r = await admin.post('/api/v1/cameras', { name: `Door ${i + 1}`, kind: 'mjpeg', url: `http://127.0.0.1:${port}/stream?cam=${i}`, direction: 'both', fps: FPS });
    if (r.status !== 201) throw new Error(`camera: ${r.status} ${JSON.stringify(r.body)}`);
  }
  log(`tracking ${tracking}: ${CAMS} cameras at ${FPS} fps, warming up...`);
  await sleep(5000);
  const a = await sample(admin);
  log(`measuring ${SECONDS} s...`);
  await sleep(SECONDS * 1000);
  const b = await sample(admin);
  const s = (b.t - a.t) / 1000;
  const cpu = (b.cpuTicks - a.cpuTicks) / hz;
  const events = (await admin.get(`/api/v1/attendance?person_id=${p.body.id}`)).body.items;
  await srv.stop();
  srv = null;
  const delivered = b.frames - a.frames, processed = b.processed - a.processed;
  const step = (k) => b.steps[k] - a.steps[k];
  // Every camera gets its share: the slowest and the fastest camera's rate.
  const rates = Object.keys(b.perCamera).map((c) => (b.perCamera[c] - (a.perCamera[c] ?? 0)) / s);
  return {
    tracking, s, delivered: delivered / s, processed: processed / s, drops: b.drops - a.drops,
    camMin: Math.min(...rates), camMax: Math.max(...rates),
    failures: b.failures - a.failures, p50: b.p50, p99: b.p99, cpuPct: 100 * cpu / s,
    cpuPerFrame: processed ? 1000 * cpu / processed : NaN, events: events.length,
    steps: `${step('tracked')}/${step('detect')}/${step('region')}/${step('identify')}`,
    liveness: `${b.liveness.measured - a.liveness.measured}/${b.liveness.skipped - a.liveness.skipped}`,
  };
}

const runs = [];
for (const mode of (process.env.TRACKING ?? 'off,on,regions').split(',')) runs.push(await measure(mode));
const row = (name, f) => console.log(`  ${name.padEnd(38)}${runs.map((r) => String(f(r)).padStart(18)).join('')}`);
console.log(`one rollcall serve, ${CAMS} MJPEG cameras at ${FPS} fps (640x480, one enrolled person, scene ${SCENE}` +
  `${SCENE === 'walk' ? `, photo ${process.env.FACE_W ?? 220} px wide` : ''}), ` +
  `${runs[0].s.toFixed(1)} s window per run`);
row('camera tracking', (r) => r.tracking);
row('offered frames/s', () => (CAMS * FPS).toFixed(1));
row('delivered frames/s', (r) => r.delivered.toFixed(1));
row('processed frames/s', (r) => r.processed.toFixed(1));
row('per camera, slowest-fastest frames/s', (r) => `${r.camMin.toFixed(2)}-${r.camMax.toFixed(2)}`);
row('dropped (queue full)', (r) => r.drops);
row('stream failures', (r) => r.failures);
row('latency capture->done p50 ms', (r) => r.p50);
row('latency capture->done p99 ms', (r) => r.p99);
row('server CPU, % of one core', (r) => r.cpuPct.toFixed(0));
row('CPU per camera, % of one core', (r) => (r.cpuPct / CAMS).toFixed(1));
row('CPU ms per processed frame', (r) => r.cpuPerFrame.toFixed(1));
row('frames tracked/detect/region/identify', (r) => r.steps);
row('faces liveness measured/skipped', (r) => r.liveness);
row('attendance events (one person)', (r) => r.events);
console.log('  (latency: frames that ran the detector or the pipeline; tracked frames reuse the last boxes)');
console.log(`-- reference, same run: one-thread pipeline, 640x480 one face: ${refMs} ms per frame` +
  ` (wall clock; machine load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]},` +
  ` ${availableParallelism()} cores)`);
process.exit(0);
