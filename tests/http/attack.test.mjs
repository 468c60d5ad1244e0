// attack.test.mjs — outside input that once made the server grow without
// bound or stop answering, each found by attacking it over real HTTP from
// 127.0.0.1 and kept here: while an attack runs, /healthz and a signed-in
// API call must still be answered (a generous 5 s bound: a liveness check,
// not a speed test) and the server's resident memory (VmRSS from /proc) must
// stay within a bound that is a small multiple of what the attacker sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWithRoles, multipart, bigGroupPhoto } from './lib.mjs';

let env, dir, big;

before(async () => {
  // A 36-megapixel photo with about 40 faces: seconds to decode and detect.
  dir = mkdtempSync(join(tmpdir(), 'rollcall-attack-'));
  big = bigGroupPhoto(dir);
  env = await startWithRoles({ models: true });
});
after(async () => {
  assert.equal(await env.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

const MB = 1024 * 1024;
const rssOf = (pid) => Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

// The largest VmRSS seen from now until stop() (sampled every 10 ms: memory
// freed when the request ends must not hide what it held meanwhile).
function watchPeak(pid) {
  let peak = rssOf(pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssOf(pid)); }, 10);
  return { stop() { clearInterval(timer); return Math.max(peak, rssOf(pid)); } };
}

// /healthz and a signed-in GET answer (within 5 s each) while `attack` runs;
// returns what `attack` resolved to.
async function answeringDuring(attack, on = env) {
  let done = false;
  const running = attack.finally(() => { done = true; });
  let rounds = 0;
  do {
    const h = await fetch(new URL('healthz', on.srv.url), { signal: AbortSignal.timeout(5000) });
    assert.equal(h.status, 200, '/healthz answers during the attack');
    await h.arrayBuffer();
    const p = await fetch(new URL('api/v1/persons?limit=1', on.srv.url),
      { headers: on.admin.headers(), signal: AbortSignal.timeout(5000) });
    assert.equal(p.status, 200, 'a signed-in GET answers during the attack');
    await p.arrayBuffer();
    rounds++;
  } while (!done);
  assert.ok(rounds >= 1);
  return running;
}

test('a multipart body of 50 000 one-byte form fields is refused with 413, its memory bounded by its size', async () => {
  // Each field is ~80 bytes on the wire. Every part used to get a 4 KB
  // buffer (50x its bytes) and each new part walked all parts so far (time
  // in their square, on the connection thread for an import's streamed
  // body): a 512 MB import of such fields asked for ~25 GB.
  const pid = env.srv.child.pid;
  const mp = multipart(Array.from({ length: 50000 }, () => ({ name: 'a', value: 'x' })));
  const before = rssOf(pid);
  const peak = watchPeak(pid);
  const r = await answeringDuring(env.admin.req('POST', '/api/v1/import', { body: mp.body, type: mp.type }));
  const grown = peak.stop() - before;
  assert.ok(grown < 8 * mp.body.length,
    `resident memory grew by ${(grown / MB).toFixed(1)} MB for a ${(mp.body.length / MB).toFixed(1)} MB body`);
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'too_many_fields');
  assert.match(r.body.error.message, /more than 10064 form fields/);
});

test('an anonymous JSON body of 9 million values is refused with 413 before it is parsed', async () => {
  // 18 MB of "0," (under the 20 MB body limit) sent to the login, which
  // anyone may call: parsing it held 440 MB and the connection thread for
  // 30 s. A long string is one value and still fine.
  const pid = env.srv.child.pid;
  const login = (body) => fetch(new URL('api/v1/auth/login', env.srv.url),
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const body = `[${'0,'.repeat(9 * 1024 * 1024)}0]`;
  const before = rssOf(pid);
  const peak = watchPeak(pid);
  const r = await answeringDuring(login(body));
  const grown = peak.stop() - before;
  assert.ok(grown < 3 * body.length,
    `resident memory grew by ${(grown / MB).toFixed(1)} MB for a ${(body.length / MB).toFixed(1)} MB body`);
  assert.equal(r.status, 413);
  const e = (await r.json()).error;
  assert.equal(e.code, 'json_too_large');
  assert.deepEqual(e.params, { max: 100000 });
  const long = await login(JSON.stringify({ email: `${'a'.repeat(4 * MB)}@example.org`, password: 'x' }));
  assert.equal(long.status, 400, 'one long string is one value: read, then judged as an e-mail');
  assert.equal((await long.json()).error.code, 'invalid_field');
  const ok = await login(JSON.stringify({ email: 'admin@example.org', password: 'admin-pass-1' }));
  assert.equal(ok.status, 200);
});

test('a form field or file name longer than 4096 bytes is refused with 400', async () => {
  for (const part of [{ name: 'n'.repeat(5000), value: 'x' },
    { name: 'file', filename: `${'d'.repeat(5000)}/a.jpg`, data: Buffer.from('x') }]) {
    const mp = multipart([part]);
    const r = await env.admin.req('POST', '/api/v1/import', { body: mp.body, type: mp.type });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'malformed_multipart');
    assert.match(r.body.error.message, /longer than 4096 bytes/);
  }
  assert.equal((await fetch(new URL('healthz', env.srv.url))).status, 200);
});

test('an import keeps at most 32 MB of roster and fields in memory: an 80 MB roster is refused with 413', async () => {
  // Photos go to a spool file as they arrive; a roster stayed in memory
  // whole (up to the 512 MB import limit), and was copied once more to be
  // read.
  const pid = env.srv.child.pid;
  const csv = Buffer.alloc(80 * MB, 'R1,Ana\n');
  const mp = multipart([{ name: 'file', filename: 'roster.csv', type: 'text/csv', data: csv }]);
  const before = rssOf(pid);
  const peak = watchPeak(pid);
  const r = await answeringDuring(env.admin.req('POST', '/api/v1/import', { body: mp.body, type: mp.type }));
  const grown = peak.stop() - before;
  assert.ok(grown < 64 * MB, `resident memory grew by ${(grown / MB).toFixed(1)} MB for an ${(csv.length / MB).toFixed(0)} MB roster`);
  assert.equal(r.status, 413, String(r.body).slice(0, 300));
  assert.equal(r.body.error.code, 'roster_too_large');
});

test('an import body that is not multipart is refused with 415 without being held (100 MB)', async () => {
  const pid = env.srv.child.pid;
  const body = Buffer.alloc(100 * MB, 0x41);
  const before = rssOf(pid);
  const peak = watchPeak(pid);
  const r = await answeringDuring(env.admin.req('POST', '/api/v1/import', { body, type: 'application/zip' }));
  const grown = peak.stop() - before;
  assert.ok(grown < 16 * MB, `resident memory grew by ${(grown / MB).toFixed(1)} MB for a 100 MB body`);
  assert.equal(r.status, 415);
  assert.equal(r.body.error.code, 'unsupported_media_type');
});

test('a roster of 100 001 rows is refused whole (too_many_rows), read off the connection threads', async () => {
  // Reading it compared each row's code with every row before it, on the
  // connection thread that received the import: a 440 KB roster of 50 000
  // rows held that thread (and everyone it served) for 5 s, 100 001 rows
  // for about 20.
  let csv = 'code,first name\n';
  for (let i = 0; i <= 100000; i++) csv += `R${i},x\n`;
  const mp = multipart([{ name: 'file', filename: 'roster.csv', type: 'text/csv', data: Buffer.from(csv) }]);
  const r = await answeringDuring(env.admin.req('POST', '/api/v1/import', { body: mp.body, type: mp.type }));
  assert.equal(r.status, 200);
  const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
  const roster = lines.find((l) => l.type === 'skipped' && l.file === 'roster.csv');
  assert.ok(roster, r.body.slice(0, 500));
  assert.equal(roster.params.problem, 'too_many_rows');
  assert.match(roster.reason, /more than 100000 rows/);
  assert.deepEqual(lines.at(-1), { done: true, files: 1, photos: 0, accepted: 0, persons_created: 0, persons_updated: 0, roster_rows: 0, skipped: 1 });
});

test("with the work queue full, an import's next step waits for it and never runs on the connection thread", async () => {
  // One connection thread and one recognition thread, one job may wait
  // (--threads 1 --queue 1). Two recognitions fill both; the import arrives
  // meanwhile, so its first step (8 large photos of one person, seconds of
  // decoding) finds the queue full. It used to run that step right there,
  // on the one connection thread, and /healthz waited for it.
  const own = await startWithRoles({ models: true, args: ['--threads', '1', '--queue', '1'] });
  try {
    const recognize = () => own.device.req('POST', '/api/v1/recognize', { body: big, type: 'image/jpeg' });
    const busy = [recognize(), recognize()];
    await new Promise((resolve) => setTimeout(resolve, 200));
    const mp = multipart(Array.from({ length: 8 }, (_, i) => ({ name: 'file', filename: `Big Group/${i}.jpg`, type: 'image/jpeg', data: big })));
    const r = await answeringDuring(own.admin.req('POST', '/api/v1/import', { body: mp.body, type: mp.type }), own);
    assert.equal(r.status, 200);
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { type: 'plan', files: 8, photos: 8, persons: 1, roster_rows: 0, skipped: 0 });
    assert.equal(lines.at(-1).done, true, r.body.slice(-300));
    assert.equal(lines.filter((l) => l.file?.startsWith('Big Group/')).length, 8, 'every photo has its line');
    for (const b of await Promise.all(busy)) assert.ok([200, 503].includes(b.status));
  } finally {
    assert.equal(await own.stop(), 0);
  }
});

test('bodies held in memory by all connections together are bounded: 40 anonymous 1 MB bodies left unfinished', async () => {
  // --max-body 1: each connection may send 1 MB, and anyone may post to
  // the login. Every unfinished body used to be held whole: 128 addresses'
  // worth of connections (1000 by default) times the limit. Now bodies
  // past 8 times the limit in all are dropped as they arrive and answered
  // 503 + Retry-After once sent.
  const own = await startWithRoles({ args: ['--max-body', '1'] });
  const port = Number(new URL(own.srv.url).port);
  const pid = own.srv.child.pid;
  const socks = [];
  try {
    const before = rssOf(pid);
    const peak = watchPeak(pid);
    const part = Buffer.alloc(MB - 1024, 0x20);
    const open = () => new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
      s.answer = '';
      s.on('data', (d) => { s.answer += d; });
      s.on('error', () => {});
      s.on('connect', () => {
        s.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`);
        s.write(part, () => resolve(s));
      });
    });
    for (let i = 0; i < 40; i++) socks.push(await open());
    // All sent but their last kilobyte: the server has read what it will.
    const held = await answeringDuring(new Promise((resolve) => setTimeout(resolve, 1000)), own).then(() => peak.stop() - before);
    assert.ok(held < 24 * MB, `40 unfinished 1 MB bodies hold ${(held / MB).toFixed(1)} MB`);
    // Finished: the ones held are read and judged, the others told to retry.
    await Promise.all(socks.map((s) => new Promise((resolve) => {
      s.on('close', resolve);
      s.end(Buffer.alloc(1024, 0x20));
    })));
    const status = socks.map((s) => Number(/^HTTP\/1\.1 (\d+)/.exec(s.answer)?.[1]));
    const refused = socks.filter((s, i) => status[i] === 503);
    assert.ok(refused.length >= 32, `statuses: ${status}`);
    for (const s of refused) assert.match(s.answer, /Retry-After: 1/i);
    assert.ok(status.every((c) => c === 503 || c === 400), `statuses: ${status}`);
    // Nothing is held any more: a login works.
    const c = await fetch(new URL('api/v1/auth/login', own.srv.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.org', password: 'admin-pass-1' }),
    });
    assert.equal(c.status, 200);
  } finally {
    for (const s of socks) s.destroy();
    assert.equal(await own.stop(), 0);
  }
});
