// server.test.mjs — the server framework through real HTTP on loopback:
// static web UI with SPA fallback and no way out of its directory, the
// OpenAPI document, JSON errors for unknown routes and methods, header limits,
// /metrics, TLS, and a clean stop on SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import https from 'node:https';
import { startServer } from '../lib/server.mjs';
import { rawRequest } from './lib.mjs';

let dir, srv;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-http-'));
  const web = join(dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>Rollcall</title>');
  writeFileSync(join(web, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
  srv = await startServer({ args: ['--data', join(dir, 'data'), '--web', web, '--metrics-public-loopback'] });
});

after(async () => {
  const code = await srv.stop();
  assert.equal(code, 0, 'clean exit on SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('the web UI is served with SPA fallback and cache headers', async () => {
  let res = await fetch(srv.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(await res.text(), /<title>Rollcall/);
  res = await fetch(`${srv.url}people/12/edit`);
  assert.equal(res.status, 200, 'an app route falls back to index.html');
  assert.match(await res.text(), /<title>Rollcall/);
  res = await fetch(`${srv.url}assets/app-1234.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.match(res.headers.get('cache-control'), /immutable/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  res = await fetch(`${srv.url}assets/missing.js`);
  assert.equal(res.status, 404, 'a missing file with an extension is a 404, not the app');
  assert.equal((await res.json()).error.code, 'not_found');
});

test('static paths cannot leave the web directory', async () => {
  const port = new URL(srv.url).port;
  const attempts = [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/assets\\..\\..\\secret.txt',
    '//etc/passwd',
    '/./index.html',
  ];
  for (const p of attempts) {
    const res = await rawRequest(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(!res.body.includes('TOP SECRET'), `${p} must not reveal the file`);
    assert.ok(!res.body.includes('root:'), `${p} must not reveal /etc/passwd`);
    assert.ok(res.status >= 400 && res.status < 500, `${p} → ${res.status}`);
  }
  // A NUL ends the path where libmicrohttpd decodes it: whatever is served
  // comes from inside the web directory.
  const nul = await rawRequest(port, 'GET /%00/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.ok(!nul.body.includes('TOP SECRET'));
  const ok = await fetch(`${srv.url}healthz`);
  assert.equal(ok.status, 200, 'still healthy');
});

test('the OpenAPI document is served and lists the API', async () => {
  const res = await fetch(`${srv.url}api/v1/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/api/v1/auth/login', '/api/v1/persons', '/api/v1/recognize', '/process_frame'])
    assert.ok(doc.paths[p], `${p} documented`);
});

test('unknown API routes and methods get JSON errors', async () => {
  let res = await fetch(`${srv.url}api/v1/nope`);
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type'), /application\/json/);
  let body = await res.json();
  assert.equal(body.error.code, 'not_found');
  assert.match(body.error.message, /no route for GET \/api\/v1\/nope/);
  res = await fetch(`${srv.url}healthz`, { method: 'DELETE' });
  assert.equal(res.status, 405);
  body = await res.json();
  assert.equal(body.error.code, 'method_not_allowed');
  res = await fetch(`${srv.url}some/page`, { method: 'POST', body: 'x' });
  assert.equal(res.status, 404, 'only GET reaches the static files');
});

test('oversized headers are refused with 431', async () => {
  const res = await fetch(`${srv.url}healthz`, { headers: { 'X-Big': 'a'.repeat(40000) } });
  assert.equal(res.status, 431);
  assert.equal((await res.json()).error.code, 'headers_too_large');
});

test('anonymous callers are asked to sign in on protected routes', async () => {
  const res = await fetch(`${srv.url}api/v1/events`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'unauthorized');
});

test('/metrics answers loopback callers in Prometheus text format (with --metrics-public-loopback)', async () => {
  await fetch(`${srv.url}healthz`);
  const res = await fetch(`${srv.url}metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/plain/);
  const text = await res.text();
  assert.match(text, /# TYPE rollcall_http_requests_total counter/);
  assert.match(text, /rollcall_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
  assert.match(text, /rollcall_http_request_duration_ms_bucket\{route="\/healthz",le="\+Inf"\} \d+/);
  assert.match(text, /rollcall_uptime_seconds /);
});

test('every request is one access-log line with method, path, status, ms, principal', async () => {
  await fetch(`${srv.url}healthz?probe=1`);
  await new Promise((r) => setTimeout(r, 100));
  assert.match(srv.stderr, /access method=GET path=\/healthz status=200 ms=[\d.]+ principal=- ip=127\.0\.0\.1/);
});

test('--tls-cert/--tls-key serve HTTPS', async (t) => {
  const tdir = mkdtempSync(join(tmpdir(), 'rollcall-tls-'));
  const key = join(tdir, 'key.pem'), cert = join(tdir, 'cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, `openssl made a certificate: ${gen.stderr}`);
  const tls = await startServer({ args: ['--data', join(tdir, 'data'), '--tls-cert', cert, '--tls-key', key, '--admin-password', 'tls-admin-1'] });
  try {
    assert.match(tls.url, /^https:/);
    const u = new URL('healthz', tls.url);
    const body = await new Promise((resolve, reject) => {
      https.get(u, { rejectUnauthorized: false }, (res) => {
        let d = '';
        res.on('data', (c) => { d += c; });
        res.on('end', () => resolve({ status: res.statusCode, d }));
      }).on('error', reject);
    });
    assert.equal(body.status, 200);
    assert.equal(JSON.parse(body.d).status, 'ok');
    // Under TLS the session cookie is Secure.
    const login = await new Promise((resolve, reject) => {
      const req = https.request(new URL('api/v1/auth/login', tls.url), { method: 'POST', rejectUnauthorized: false,
        headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ email: 'admin@localhost', password: 'tls-admin-1' }));
    });
    assert.equal(login.statusCode, 200);
    assert.match(login.headers['set-cookie'][0], /; Secure/);
  } finally {
    assert.equal(await tls.stop(), 0);
    rmSync(tdir, { recursive: true, force: true });
  }
  const bad = spawnSync(process.env.ROLLCALL_BIN, ['serve', '--listen', '127.0.0.1:0', '--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.pem'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--tls-cert: .*nonexistent/);
  const half = spawnSync(process.env.ROLLCALL_BIN, ['serve', '--tls-cert', 'x.pem'], { encoding: 'utf8' });
  assert.equal(half.status, 2);
  assert.match(half.stderr, /go together/);
});

// A stop signal can land on any thread that does not block it, such as the
// thread pool OpenBLAS starts before main runs. The server must still shut
// down in order (exit 0, "stopped"), not be ended by the default action.
test('SIGTERM delivered to a thread started before main still stops the server cleanly', async (t) => {
  const own = await startServer({ args: ['--data', join(dir, 'data-sig')] });
  const pid = own.child.pid;
  const SIGTERM_BIT = 1n << 14n; // signal 15 in /proc's SigBlk mask
  const open = readdirSync(`/proc/${pid}/task`).map(Number).filter((tid) => {
    if (tid === pid) return false;
    const m = /SigBlk:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
    return m && (BigInt(`0x${m[1]}`) & SIGTERM_BIT) === 0n;
  });
  if (!open.length) {
    // Every thread blocks it in this build (no library pool started): the
    // case cannot arise, say so rather than pass without trying.
    assert.equal(await own.stop(), 0);
    t.skip('no thread of this build leaves SIGTERM unblocked');
    return;
  }
  // tgkill(pid, tid, SIGTERM): a signal aimed at that one thread.
  const r = spawnSync('python3', ['-c',
    `import ctypes; import sys; sys.exit(ctypes.CDLL(None).syscall(234, ${pid}, ${open[0]}, 15))`]);
  assert.equal(r.status, 0, `tgkill: ${r.stderr}`);
  const code = await own.exited;
  assert.equal(code, 0, `exit status after SIGTERM:\n${own.stderr.slice(-2000)}`);
  assert.match(own.stderr, /stopped/);
});
