// busy.test.mjs — a slow image never stalls the server: decoding and
// recognition run on recog's work queue, off libmicrohttpd's connection
// threads, so /healthz and login answer while a large photo is being
// recognized (one thread of each kind here, so a handler on the connection
// thread would block them); with every worker busy and the queue full, a
// request is answered 503 with Retry-After at once. No timings are asserted:
// only the order in which answers arrive. An upload that trickles in holds no
// thread either: /healthz and login answer while it is half sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWithRoles, bigGroupPhoto } from './lib.mjs';

let env, dir, big;

before(async () => {
  // A 6000-px-wide photo of the group photo tiled 3 x 3 (about 40 faces
  // found): a 36-megapixel decode and every face's pipeline, far longer
  // than the waits below for one request.
  dir = mkdtempSync(join(tmpdir(), 'rollcall-busy-'));
  big = bigGroupPhoto(dir);
  env = await startWithRoles({ models: true, args: ['--threads', '1', '--queue', '1'] });
});
after(async () => {
  assert.equal(await env.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

test('/healthz and login answer while a large photo is being recognized', async () => {
  let firstDone = false;
  const first = env.device.req('POST', '/api/v1/recognize', { body: big, type: 'image/jpeg' }).then((r) => {
    firstDone = true;
    return r;
  });
  // Once the upload is in (the request is then running on the worker).
  await new Promise((r) => setTimeout(r, 300));
  const h = await fetch(new URL('healthz', env.srv.url));
  assert.equal(h.status, 200);
  assert.equal(firstDone, false, '/healthz answered while the recognition was still running');
  const login = await fetch(new URL('api/v1/auth/login', env.srv.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.org', password: 'wrong-password' }),
  });
  assert.equal(login.status, 401);
  assert.equal(firstDone, false, 'login answered while the recognition was still running');
  const r = await first;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.faces.length >= 3);
});

test('with the worker busy and the queue full, a request is refused at once with 503 and Retry-After', async () => {
  const send = () => fetch(new URL('api/v1/recognize', env.srv.url), {
    method: 'POST', headers: { ...env.device.headers(), 'Content-Type': 'image/jpeg' }, body: big,
  });
  // Four at once: whichever arrives first runs, the next waits in the queue
  // (--queue 1), the other two are refused while the first still runs. No
  // waits between them, so how fast one recognition is does not matter.
  const answers = await Promise.all([send(), send(), send(), send()]);
  const refused = answers.filter((a) => a.status === 503);
  const served = answers.filter((a) => a.status === 200);
  assert.equal(refused.length, 2, `answers: ${answers.map((a) => a.status)}`);
  assert.equal(served.length, 2, 'the running and the queued request both ran');
  for (const a of refused) {
    assert.equal(a.headers.get('retry-after'), '1');
    assert.equal((await a.json()).error.code, 'busy');
  }
  for (const a of served) assert.ok((await a.json()).faces.length >= 3);
  const m = (await env.admin.get('/metrics')).body;
  assert.match(m, /rollcall_recog_busy_total [1-9]/);
});

test('an upload that trickles in holds no thread: /healthz and login answer while it is half sent', async () => {
  // One connection thread (--threads 1): a body read by blocking that
  // thread would stall everyone until the upload ended.
  const port = Number(new URL(env.srv.url).port);
  const s = net.connect({ port, host: '127.0.0.1' });
  let answered = false;
  s.on('data', () => { answered = true; });
  s.on('error', () => {});
  await new Promise((resolve) => s.on('connect', resolve));
  s.write(`POST /api/v1/recognize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${env.device.key}\r\n` +
    `Content-Type: image/jpeg\r\nContent-Length: ${big.length}\r\n\r\n`);
  s.write(big.subarray(0, 4096));
  const drip = setInterval(() => s.write(Buffer.alloc(16)), 200);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const h = await fetch(new URL('healthz', env.srv.url));
    assert.equal(h.status, 200);
    const login = await fetch(new URL('api/v1/auth/login', env.srv.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.org', password: 'wrong-password' }),
    });
    assert.equal(login.status, 401);
    assert.equal(answered, false, 'the slow upload is still being read');
    assert.equal(s.destroyed, false);
  } finally {
    clearInterval(drip);
    s.destroy();
  }
});
