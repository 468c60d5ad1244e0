// addresses.test.mjs — the per-address limits count an IPv6 client by its
// /64, over real HTTP to a server listening on [::]. One home line holds a
// whole /64 (often a /56 or /48), so a limit keyed on the whole address
// would give such a caller as many tries as it likes: here two addresses of
// one /64 share one count (kiosk PINs, kiosk unlocks, logins to an account,
// self-registrations, open connections), and the next /64 has its own.
//
// Unique local addresses (fd00::/8), link-local ones and the server's own
// /64 are the site's network, where each address is a device and keeps its
// own count. The client addresses are added to `lo` for the run (a /48 of
// each kind of its own, from the process id, taken away after), which needs root; without it
// the suite is skipped, and the keying itself is still checked by the http
// unit tests (client_addresses_key_ipv6_by_its_64).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { startWithRoles } from './lib.mjs';

// Global addresses (the documentation prefix, never routed) for callers
// off site; unique local ones (fd00::/8) for devices on the site's network.
const TAG = (process.pid & 0xffff).toString(16);
const NET = `2001:db8:${TAG}`;
const A = `${NET}:1::a`; // A and B: one caller's /64
const B = `${NET}:1::b`;
const OTHER = `${NET}:2::a`; // the next /64: somebody else
const SITE_A = `fd00:5ec:${TAG}:1::a`; // two phones on the school's Wi-Fi
const SITE_B = `fd00:5ec:${TAG}:1::b`;
const ADDRS = [A, B, OTHER, SITE_A, SITE_B];

const ip = (...args) => spawnSync('ip', ['-6', 'addr', ...args], { encoding: 'utf8' });
let added = [];
let skip = false;
let env, port, deviceKey;

before(async () => {
  for (const a of ADDRS) {
    const r = ip('add', `${a}/128`, 'dev', 'lo', 'nodad');
    if (r.status !== 0) {
      skip = `cannot add IPv6 addresses to lo (${(r.stderr || r.error?.message || '').trim()}): needs root`;
      break;
    }
    added.push(a);
  }
  if (skip) return;
  env = await startWithRoles({ args: ['--listen', '[::]:0', '--max-conns-per-ip', '3'] });
  port = Number(new URL(env.srv.url).port);
  deviceKey = env.device.key;
});
after(async () => {
  if (env) assert.equal(await env.stop(), 0);
  for (const a of added) ip('del', `${a}/128`, 'dev', 'lo');
});

// One request from the local address `from` on a connection of its own:
// {status, body}, or {error} when the server closed it without an answer.
function reqFrom(from, method, path, { json, key } = {}) {
  const body = json === undefined ? '' : JSON.stringify(json);
  const headers = { 'Content-Length': Buffer.byteLength(body), Connection: 'close' };
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers.Authorization = `Bearer ${key}`;
  return new Promise((resolve) => {
    const req = http.request({ host: '::1', port, path, method, localAddress: from, family: 6, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : {} }));
      res.on('error', (e) => resolve({ error: e.code || e.message }));
    });
    req.on('error', (e) => resolve({ error: e.code || e.message }));
    req.end(body);
  });
}

const checkin = (from, code) => reqFrom(from, 'POST', '/api/v1/kiosk/checkin', { json: { code, pin: '5038', kind: 'entry' }, key: deviceKey });

test('kiosk PINs: ten wrong from two addresses of one /64 close the kiosk for that /64 only', async (t) => {
  if (skip) return t.skip(skip);
  const statuses = [];
  // A different unknown code each time: only the address's limit counts.
  for (let i = 0; i < 5; i++) statuses.push((await checkin(A, `NOPE-A${i}`)).status);
  for (let i = 0; i < 4; i++) statuses.push((await checkin(B, `NOPE-B${i}`)).status);
  assert.deepEqual(statuses, Array(9).fill(403));
  const tenth = await checkin(B, 'NOPE-B4');
  assert.equal(tenth.status, 429, 'the tenth wrong PIN from the /64 closes it: ' + JSON.stringify(tenth.body));
  assert.equal(tenth.body.error.params.scope, 'address');
  const again = await checkin(A, 'NOPE-A9');
  assert.equal(again.status, 429, 'for every address of the /64');
  assert.equal((await checkin(OTHER, 'NOPE-C0')).status, 403, 'the next /64 keeps its own count');
});

test('on the site\'s own network (unique local addresses) each address keeps its own count', async (t) => {
  if (skip) return t.skip(skip);
  const statuses = [];
  for (let i = 0; i < 10; i++) statuses.push((await checkin(SITE_A, `SITE-A${i}`)).status);
  assert.deepEqual(statuses, [...Array(9).fill(403), 429]);
  assert.equal((await checkin(SITE_B, 'SITE-B0')).status, 403, 'another phone on the same Wi-Fi is not closed out');
});

test('kiosk unlock: wrong PINs from two addresses of one /64 add up', async (t) => {
  if (skip) return t.skip(skip);
  const unlock = (from, pin) => reqFrom(from, 'POST', '/api/v1/kiosk/unlock', { json: { pin }, key: deviceKey });
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await unlock(A, String(4100 + i))).status);
  for (let i = 0; i < 5; i++) statuses.push((await unlock(B, String(4200 + i))).status);
  assert.deepEqual(statuses, [...Array(9).fill(403), 429]);
  assert.equal((await unlock(OTHER, '4300')).status, 403);
});

test('logins: five failures to an account from one address lock it from the whole /64', async (t) => {
  if (skip) return t.skip(skip);
  const login = (from, password) => reqFrom(from, 'POST', '/api/v1/auth/login', { json: { email: 'member@example.org', password } });
  for (let i = 0; i < 5; i++) assert.equal((await login(A, `wrong-${i}`)).status, 401, `guess ${i}`);
  const r = await login(B, 'wrong-from-b');
  assert.equal(r.status, 429, 'the account waits for the other address of the /64 too: ' + JSON.stringify(r.body));
  assert.equal(r.body.error.params.scope, 'account');
  assert.equal((await login(OTHER, 'member-pass-1')).status, 200, 'the next /64 is not locked out');
});

test('self-registrations: ten an hour from a /64, however many addresses it uses', async (t) => {
  if (skip) return t.skip(skip);
  // Every attempt counts before anything else is looked at (here
  // self-registration is off: 409 until the limit).
  const register = (from) => reqFrom(from, 'POST', '/api/v1/self/register');
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await register(A)).status);
  for (let i = 0; i < 5; i++) statuses.push((await register(B)).status);
  assert.deepEqual(statuses, [...Array(10).fill(409), 429]);
  assert.equal((await register(OTHER)).status, 409);
});

test('open connections: --max-conns-per-ip counts the /64', async (t) => {
  if (skip) return t.skip(skip);
  const held = [];
  try {
    for (let i = 0; i < 3; i++) {
      held.push(await new Promise((resolve, reject) => {
        const s = net.connect({ host: '::1', port, localAddress: A, family: 6 });
        s.on('connect', () => resolve(s));
        s.on('error', reject);
      }));
    }
    // Three open from A: the server has them once it answers another /64.
    assert.equal((await reqFrom(OTHER, 'GET', '/healthz')).status, 200, 'another /64 is not capped');
    const r = await reqFrom(B, 'GET', '/healthz');
    assert.ok(r.error, `a fourth connection from the /64 is closed unanswered: ${JSON.stringify(r)}`);
  } finally {
    for (const s of held) s.destroy();
  }
  // Once they are closed, the /64 connects again.
  let r;
  for (let i = 0; i < 50; i++) {
    r = await reqFrom(B, 'GET', '/healthz');
    if (r.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(r.status, 200, JSON.stringify(r));
});
