// commands.test.mjs — the camera commands end to end.
// `rollcall client` captures from real sources (an image file and a video
// decoded by FFmpeg and re-encoded as JPEG, an MJPEG stream passed through),
// posts to a small recognize server made here that checks method, path,
// query, bearer key and that the body is a whole JPEG, prints who was
// recognized, fails clearly with --once, and backs off while no server
// listens, then carries on when one appears.
// `rollcall probe` reports what a source delivers, or why it delivers nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.ROLLCALL_BIN;
const SRC = process.env.ROLLCALL_SOURCE;
const KEY = 'rk_test_6f1d2c';
let dir;
let frames;
let mjpeg;

const ANSWER = {
  faces: [
    { identity: { id: 7, name: 'Angelina' }, confidence: 0.912, box: [10, 10, 80, 80],
      event: { type: 'entry', status: 'on_time' } },
    { identity: null, confidence: 0.18 },
  ],
};

// Width and height from a JPEG's SOF marker, after checking SOI and EOI.
function jpegSize(buf) {
  assert.ok(buf.length > 100, 'a JPEG body');
  assert.equal(buf.readUInt16BE(0), 0xffd8, 'starts with SOI');
  assert.equal(buf.readUInt16BE(buf.length - 2), 0xffd9, 'ends with EOI');
  let p = 2;
  while (p + 9 < buf.length) {
    assert.equal(buf[p], 0xff, 'a marker segment');
    const m = buf[p + 1];
    const len = buf.readUInt16BE(p + 2);
    if (m >= 0xc0 && m <= 0xc2) return { height: buf.readUInt16BE(p + 5), width: buf.readUInt16BE(p + 7) };
    p += 2 + len;
  }
  assert.fail('no SOF marker');
}

// A stand-in for POST /api/v1/recognize: checks every request, records it.
function recognizeServer({ port = 0, status = 200, answer = ANSWER } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://x');
      requests.push({ method: req.method, path: url.pathname, mark: url.searchParams.get('mark'),
        auth: req.headers.authorization, type: req.headers['content-type'], body });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? answer
        : { error: { code: 'unauthorized', message: 'unknown API key' } }));
    });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      requests,
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    }));
  });
}

function checkRequest(r) {
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/api/v1/recognize');
  assert.equal(r.mark, 'true');
  assert.equal(r.auth, `Bearer ${KEY}`);
  assert.equal(r.type, 'image/jpeg');
  return jpegSize(r.body);
}

function run(args, { env = {}, timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['client', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-client-'));
  const r = spawnSync('sh', [join(SRC, 'tests/camera/make_media.sh'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  frames = readdirSync(join(dir, 'frames')).sort().map((f) => readFileSync(join(dir, 'frames', f)));
  mjpeg = spawn('node', [join(SRC, 'tests/camera/mjpeg_server.mjs'), '--dir', join(dir, 'frames'),
    '--port', '0', '--stdin', 'watch'], { stdio: ['pipe', 'pipe', 'inherit'] });
  mjpeg.port = await new Promise((resolve, reject) => {
    let out = '';
    mjpeg.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    mjpeg.on('exit', () => reject(new Error('the MJPEG server did not start')));
  });
});

after(() => {
  mjpeg?.stdin.end();
  mjpeg?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('client --help describes every option', () => {
  const r = spawnSync(BIN, ['client', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const opt of ['--source', '--server', '--api-key', '--fps', '--once', '--timeout', '--help'])
    assert.ok(r.stdout.includes(opt), `client --help mentions ${opt}`);
  const main = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  assert.match(main.stdout, /client/);
});

test('usage errors say what is wrong and exit 2', () => {
  const env = { ...process.env, ROLLCALL_API_KEY: '' };
  const cases = [
    [['--server', 'http://x', '--api-key', 'k'], /--source is required/],
    [['--source', 'a.mkv', '--api-key', 'k'], /--server is required/],
    [['--source', 'a.mkv', '--server', 'http://x'], /--api-key .* is required/],
    [['--source', 'a.mkv', '--server', 'ftp://x', '--api-key', 'k'], /http:\/\/ or https:\/\//],
    [['--source', 'a.mkv', '--server', 'http://x', '--api-key', 'k', '--fps', '0'], /--fps/],
    [['--source', 'a.mkv', '--server', 'http://x', '--api-key', 'k', '--kind', 'vhs'], /--kind/],
    [['--source', 'a.mkv', '--server', 'http://x', '--api-key', 'k', 'extra'], /unexpected/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(BIN, ['client', ...args], { encoding: 'utf8', env });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
});

test('--once encodes an image file as JPEG, posts it and prints who was recognized', async () => {
  const srv = await recognizeServer();
  try {
    const r = await run(['--source', join(dir, 'frames', 'f01.jpg'), '--server', `${srv.url}/`,
      '--api-key', KEY, '--once']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.requests.length, 1);
    assert.deepEqual(checkRequest(srv.requests[0]), { width: 320, height: 240 });
    assert.match(r.stdout, /Angelina {2}0\.91 {2}entry \(on_time\)/);
    assert.match(r.stdout, /unknown face {2}0\.18/);
    assert.match(r.stderr, /posted 1 frame, 1 face recognized/);
  } finally {
    await srv.close();
  }
});

test('--once passes MJPEG frames through unchanged, key from ROLLCALL_API_KEY', async () => {
  const srv = await recognizeServer();
  try {
    const r = await run(['--source', `http://127.0.0.1:${mjpeg.port}/stream?mode=quirks`,
      '--server', srv.url, '--once'], { env: { ROLLCALL_API_KEY: KEY } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.requests.length, 1);
    checkRequest(srv.requests[0]);
    assert.ok(frames.some((f) => f.equals(srv.requests[0].body)), 'the body is a camera frame');
  } finally {
    await srv.close();
  }
});

test('a video file is posted frame after frame until it ends', async () => {
  const srv = await recognizeServer({ answer: { faces: [] } });
  try {
    const r = await run(['--source', join(dir, 'clip.mkv'), '--server', srv.url, '--api-key', KEY,
      '--fps', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ended/);
    // 3 s of video at a 5 fps cap: several frames, fewer than the 30 in the file.
    assert.ok(srv.requests.length >= 3 && srv.requests.length < 30, `${srv.requests.length} posts`);
    for (const q of srv.requests) assert.deepEqual(checkRequest(q), { width: 320, height: 240 });
    assert.equal(r.stdout, '', 'no faces, nothing printed');
  } finally {
    await srv.close();
  }
});

test('--once fails with a clear message when the key is refused or nothing listens', async () => {
  const srv = await recognizeServer({ status: 401 });
  try {
    const r = await run(['--source', join(dir, 'frames', 'f02.jpg'), '--server', srv.url,
      '--api-key', KEY, '--once']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the API key \(HTTP 401\): unknown API key/);
  } finally {
    await srv.close();
  }
  const port = await freePort();
  const r = await run(['--source', join(dir, 'frames', 'f02.jpg'), '--server',
    `http://127.0.0.1:${port}`, '--api-key', KEY, '--once']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach the server/);
});

test('--once gives up on a source that yields no frame', async () => {
  const r = await run(['--source', join(dir, 'missing.mkv'), '--server', 'http://127.0.0.1:9',
    '--api-key', KEY, '--once', '--timeout', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing\.mkv: cannot open: No such file or directory/);
  assert.match(r.stderr, /no frame from .*missing\.mkv within 2 s/);
});

test('with the server down the client backs off, then carries on when it is up', async () => {
  const port = await freePort();
  const child = spawn(BIN, ['client', '--source', `http://127.0.0.1:${mjpeg.port}/stream`,
    '--server', `http://127.0.0.1:${port}`, '--api-key', KEY, '--fps', '10', '--retry-ms', '100']);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (pred, what) => {
    for (let i = 0; i < 600 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pred(), `${what}; stderr:\n${stderr}`);
  };
  let srv;
  try {
    const delays = () => [...stderr.matchAll(/retrying in (\d+) ms/g)].map((m) => Number(m[1]));
    await until(() => delays().length >= 3, 'three retries');
    const d = delays();
    assert.ok(d[0] >= 50 && d[0] <= 100, `first delay ${d[0]} in [50, 100]`);
    assert.ok(d[2] >= 200 && d[2] <= 400, `third delay ${d[2]} in [200, 400]`);
    assert.match(stderr, /cannot reach the server/);
    srv = await recognizeServer({ port });
    await until(() => srv.requests.length >= 2, 'posts once the server is up');
    await until(() => /Angelina/.test(stdout), 'the recognized name printed');
    for (const q of srv.requests) checkRequest(q);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    await srv?.close();
    assert.equal(code, 0, 'clean exit on SIGTERM');
    assert.match(stderr, /posted \d+ frames/);
  }
});

test('probe reports what an MJPEG stream delivers and saves a frame', async () => {
  const out = join(dir, 'probe.jpg');
  const r = spawnSync(BIN, ['probe', `http://127.0.0.1:${mjpeg.port}/stream?mode=nolength`,
    '--frames', '5', '--save', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(mjpeg\)/);
  assert.match(r.stdout, /frames {4}5, JPEG 320x240, [\d.]+ fps/);
  const saved = readFileSync(out);
  assert.ok(frames.some((f) => f.equals(saved)), 'the saved frame is a camera frame');
});

test('probe --json describes a video file, decoded frames saved as JPEG', () => {
  const out = join(dir, 'probe2.jpg');
  const r = spawnSync(BIN, ['probe', join(dir, 'clip.mkv'), '-n', '3', '--json', '-o', out],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.kind, 'ffmpeg');
  assert.equal(j.format, 'rgb24');
  assert.equal(j.received, 3);
  assert.equal(j.width, 320);
  assert.equal(j.last_error, null);
  assert.deepEqual(jpegSize(readFileSync(out)), { width: 320, height: 240 });
});

test('probe explains a source that delivers nothing, and exits 1', async () => {
  const cases = [
    [`http://127.0.0.1:${mjpeg.port}/404`, /HTTP 404 Not Found/],
    [`http://127.0.0.1:${mjpeg.port}/html`, /sent text\/html/],
    [`http://127.0.0.1:${await freePort()}/stream`, /is the camera on/],
    ['/dev/video93', /no such video device/],
  ];
  for (const [src, re] of cases) {
    const r = spawnSync(BIN, ['probe', src, '--timeout', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 1, src);
    assert.match(r.stderr, /no frame from .* within 1 s/);
    assert.match(r.stderr, re);
  }
  const usage = spawnSync(BIN, ['probe'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /which source/);
  const help = spawnSync(BIN, ['probe', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const opt of ['--frames', '--timeout', '--kind', '--save', '--json']) assert.ok(help.stdout.includes(opt));
});
