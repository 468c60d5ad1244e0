// attack.test.mjs — outside input that once made the server grow without
// bound or stop answering, each found by attacking it over real HTTP from
// 127.0.0.1 and kept here: while an attack runs, /healthz and a signed-in
// API call must still be answered (a generous 5 s bound: a liveness check,
// not a speed test) and the server's resident memory (VmRSS from /proc) must
// stay within a bound that is a small multiple of what the attacker sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startWithRoles, multipart } from './lib.mjs';

let env;

before(async () => {
  env = await startWithRoles({ models: true });
});
after(async () => { assert.equal(await env.stop(), 0); });

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
async function answeringDuring(attack) {
  let done = false;
  const running = attack.finally(() => { done = true; });
  let rounds = 0;
  do {
    const h = await fetch(new URL('healthz', env.srv.url), { signal: AbortSignal.timeout(5000) });
    assert.equal(h.status, 200, '/healthz answers during the attack');
    await h.arrayBuffer();
    const p = await fetch(new URL('api/v1/persons?limit=1', env.srv.url),
      { headers: env.admin.headers(), signal: AbortSignal.timeout(5000) });
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
