// trust.test.mjs — holes an outside attacker (or a caller with too little
// right) found in `rollcall serve` (issue 13), each tried again over real
// HTTP on loopback: slow connections from one address, unknown methods
// growing the metrics, the live event stream showing too much and outliving
// a revoked key, a camera-bound key marking for another camera, limited
// lists that stopped at the oldest 10 000 rows, TLS versions and ciphers,
// /metrics open to anything on loopback, dot files and tz names, a doubled
// Content-Length, spreadsheet formulas after a tab, and impossible times.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { startWithRoles, rawRequest, multipart, Client } from './lib.mjs';

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const photo = (rel) => readFileSync(join(FACES, rel));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let env, webdir;

before(async () => {
  webdir = mkdtempSync(join(tmpdir(), 'rollcall-trust-web-'));
  mkdirSync(join(webdir, 'assets'));
  mkdirSync(join(webdir, '.git'));
  writeFileSync(join(webdir, 'index.html'), '<!doctype html><title>Rollcall</title>');
  writeFileSync(join(webdir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(webdir, '.env'), 'SECRET=1');
  writeFileSync(join(webdir, '.git', 'config'), '[core]');
  writeFileSync(join(webdir, 'assets', '.hidden.js'), 'secret()');
  symlinkSync('/etc/hostname', join(webdir, 'assets', 'out.txt'));
  env = await startWithRoles({ args: ['--web', webdir] });
});
after(async () => {
  assert.equal(await env.stop(), 0);
  rmSync(webdir, { recursive: true, force: true });
});

// Read a server-sent event stream until `until(text)` or the time is up;
// {text, ended} where ended tells that the server closed the stream.
async function readStream(res, ms, until = () => false) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '', ended = false;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !until(text)) {
    const r = await Promise.race([reader.read(), sleep(deadline - Date.now()).then(() => null)]);
    if (!r) break;
    if (r.done) { ended = true; break; }
    text += dec.decode(r.value);
  }
  if (!ended) reader.cancel().catch(() => {});
  return { text, ended };
}
const events = (text, name) => [...text.matchAll(new RegExp(`event: ${name}\\ndata: (.*)\\n`, 'g'))].map((m) => JSON.parse(m[1]));
const openStream = (client) => fetch(new URL('api/v1/events', client.base), { headers: client.headers() });

// ---- item 6: slowloris ------------------------------------------------------

test('1 100 slow connections from one address leave /healthz answering; slow headers are cut at the deadline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-slow-'));
  // Default limits: 128 connections per address, headers within 15 s.
  const srv = await startServer({ args: ['--data', join(dir, 'data'), '--no-access-log'] });
  const port = Number(new URL(srv.url).port);
  const socks = [];
  try {
    // An attacker at 127.0.0.2 opens many connections and sends headers one
    // byte at a time, never finishing them.
    const open = () => new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => {});
      s.on('close', () => { s.closedAt = Date.now(); });
      s.on('connect', () => { s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '); resolve(s); });
      setTimeout(() => resolve(s), 2000);
    });
    for (let i = 0; i < 1100; i += 100) socks.push(...await Promise.all(Array.from({ length: 100 }, open)));
    const drip = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('a'); }, 500);
    try {
      await sleep(500);
      // Everyone else still gets an answer.
      const t0 = Date.now();
      const res = await fetch(`${srv.url}healthz`, { signal: AbortSignal.timeout(10000) });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).status, 'ok');
      assert.ok(Date.now() - t0 < 10000);
      const stillOpen = () => socks.filter((s) => s.closedAt === undefined).length;
      const waitFor = async (ok, ms) => { for (const end = Date.now() + ms; !ok() && Date.now() < end;) await sleep(100); };
      await waitFor(() => stillOpen() <= 128, 5000);
      assert.ok(stillOpen() <= 128, `at most 128 connections held from one address (held ${stillOpen()})`);
      // The ones held never finish their headers: cut 15 s after they
      // opened although they keep sending a byte every half second.
      const t1 = Date.now();
      await waitFor(() => stillOpen() === 0, 25000);
      assert.equal(stillOpen(), 0, `${stillOpen()} slow connections still open past the header deadline`);
      assert.ok(Date.now() - t1 > 8000, 'not cut before the deadline');
    } finally {
      clearInterval(drip);
    }
    // A normal client on the attacker's address works again.
    const again = await rawRequest(port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.equal(again.status, 200);
  } finally {
    for (const s of socks) s.destroy();
    assert.equal(await srv.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- item 13: bounded metric labels -------------------------------------------

test('unknown HTTP methods do not create new metric series', async () => {
  const port = new URL(env.srv.url).port;
  for (let i = 0; i < 30; i++) {
    await rawRequest(port, `JUNK${i} /healthz HTTP/1.0\r\n\r\n`);
    await rawRequest(port, `X${i}Y /api/v1/persons HTTP/1.0\r\n\r\n`);
  }
  const text = (await env.admin.get('/metrics')).body;
  assert.doesNotMatch(text, /method="(JUNK|X\d)/);
  const methods = new Set([...text.matchAll(/rollcall_http_requests_total\{method="([^"]*)"/g)].map((m) => m[1]));
  assert.ok(methods.has('other'), 'unknown methods are counted under "other"');
  assert.ok(methods.size <= 8, [...methods].join(','));
});

// ---- item 18: /metrics is not public on loopback ------------------------------

test('/metrics needs an admin or a metrics key, even from loopback, unless --metrics-public-loopback', async () => {
  let res = await fetch(`${env.srv.url}metrics`);
  assert.equal(res.status, 401, 'anonymous on loopback');
  assert.equal((await env.member.get('/metrics')).status, 403);
  assert.equal((await env.device.get('/metrics')).status, 403);
  assert.equal((await env.admin.get('/metrics')).status, 200);
  const k = await env.admin.post('/api/v1/api-keys', { name: 'prometheus', role: 'metrics' });
  assert.equal(k.status, 201);
  const mk = new Client(env.srv.url, { key: k.body.key });
  res = await mk.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.body, /rollcall_uptime_seconds/);
  assert.equal((await mk.get('/api/v1/persons')).status, 403, 'a metrics key reads metrics only');
  assert.equal((await mk.get('/api/v1/events')).status, 403);
});

// ---- item 20: static files and time zones -----------------------------------

test('the static server serves regular non-dot files only', async () => {
  for (const p of ['/.env', '/.git/config', '/.git/', '/assets/.hidden.js', '/assets/out.txt']) {
    const res = await fetch(new URL(p.slice(1), env.srv.url));
    const body = await res.text();
    assert.equal(res.status, 404, `${p}: ${res.status} ${body.slice(0, 80)}`);
    assert.doesNotMatch(body, /SECRET|core|secret\(\)/);
  }
  assert.equal((await fetch(new URL('assets/app.js', env.srv.url))).status, 200);
  const dir = await fetch(new URL('assets', env.srv.url));
  assert.doesNotMatch(await dir.text(), /console/, 'a directory is never listed or read');
});

test('the timezone setting accepts names from the tz database only', async () => {
  for (const tz of ['/usr/share/zoneinfo/UTC', '/etc/localtime', 'ABC-3', 'EST5EDT,M3.2.0,M11.1.0', 'zone.tab',
    'Europe/../Europe/Madrid', '.hidden', 'Europe/', 'Nowhere/City', '']) {
    const r = await env.admin.patch('/api/v1/settings', { timezone: tz });
    assert.equal(r.status, 400, `'${tz}' gave ${r.status}`);
  }
  for (const tz of ['Europe/Madrid', 'America/Argentina/Buenos_Aires', 'UTC', 'Etc/GMT+3']) {
    const r = await env.admin.patch('/api/v1/settings', { timezone: tz });
    assert.equal(r.status, 200, `${tz}: ${JSON.stringify(r.body)}`);
  }
  await env.admin.patch('/api/v1/settings', { timezone: 'UTC' });
});

// ---- item 23: framing, CSV formulas, impossible times ---------------------------

test('a request with two Content-Length headers is a 400', async () => {
  const port = new URL(env.srv.url).port;
  const body = '{"email":"a@b.c","password":"x"}';
  const r = await rawRequest(port, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${body}`);
  assert.equal(r.status, 400, r.head);
  assert.match(r.body, /Content-Length/);
  const same = await rawRequest(port, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  assert.equal(same.status, 400, 'even when both say the same');
});

test('CSV export quotes cells a spreadsheet would run as formulas, also after a tab or CR', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const names = ['\t=1+2', '\r@SUM(A1)', '=HYPERLINK("x")', '+1', '-1', '@x'];
  const ids = [];
  for (const [i, n] of names.entries()) {
    const r = await env.admin.post('/api/v1/persons', { external_id: `CSV-${i}`, first_name: n, last_name: 'Z', kind: 'other' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
    assert.equal((await env.admin.post('/api/v1/attendance', { person_id: r.body.id, type: 'entry', time: `${today}T00:10:00Z`, reason: 'csv' })).status, 201);
  }
  const csv = (await env.admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`)).body;
  for (const n of names) {
    const cell = `"'${n.replace(/"/g, '""')} Z"`;
    assert.ok(csv.includes(cell), `${JSON.stringify(n)} must be written as ${JSON.stringify(cell)}`);
  }
  for (const id of ids) await env.admin.del(`/api/v1/persons/${id}`);
});

test('manual events refuse years outside 2000-2100 and UTC offsets that do not exist', async () => {
  const p = (await env.admin.post('/api/v1/persons', { external_id: 'TIME-1', first_name: 'Time', last_name: 'T', kind: 'other' })).body.id;
  for (const time of ['9999-01-01T08:00:00Z', '0001-01-01T08:00:00Z', '1999-12-31T23:59:59Z', '2101-01-01T00:00:00Z',
    '2026-01-05T08:00:00+99:00', '2026-01-05T08:00:00+14:30', '2026-01-05T08:00:00-15:00', '2026-01-05T08:00:00+05:75']) {
    const r = await env.admin.post('/api/v1/attendance', { person_id: p, type: 'entry', time, reason: 'x' });
    assert.equal(r.status, 400, `${time}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  let r = await env.admin.post('/api/v1/attendance', { person_id: p, type: 'entry', time: '2026-01-05T08:00:00+14:00', reason: 'x' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await env.admin.patch(`/api/v1/attendance/${r.body.id}`, { time: '3000-01-01T00:00:00Z', reason: 'typo' });
  assert.equal(r.status, 400);
  await env.admin.del(`/api/v1/persons/${p}`);
});

// ---- item 16: limited lists page over the whole table ------------------------------

test("a limited manager's and a status-filtered attendance list page over the whole table, not the oldest 10 000 rows", async () => {
  const a = env.admin;
  const GA = (await a.post('/api/v1/groups', { name: 'Page A' })).body.id;
  const GB = (await a.post('/api/v1/groups', { name: 'Page B' })).body.id;
  const PA = (await a.post('/api/v1/persons', { external_id: 'PAGE-A', first_name: 'A', last_name: 'P', kind: 'other' })).body.id;
  const PB = (await a.post('/api/v1/persons', { external_id: 'PAGE-B', first_name: 'B', last_name: 'P', kind: 'other' })).body.id;
  assert.equal((await a.post(`/api/v1/groups/${GA}/members/${PA}`)).status, 204);
  assert.equal((await a.post(`/api/v1/groups/${GB}/members/${PB}`)).status, 204);
  // 10 050 older events of B's person, written straight into the database.
  const db = join(env.dir, 'data', 'rollcall.db');
  const sql = `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10050)
    INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, status, slot_day, created_ms, updated_ms)
    SELECT ${PB}, 946771200000 + i, 946771200000 + i, 'entry', 'on_time', '2000-01-02', 1, 1 FROM c;`;
  const out = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, sql], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  for (const h of ['08:00', '08:10', '08:20'])
    assert.equal((await a.post('/api/v1/attendance', { person_id: PA, type: 'entry', time: `2026-02-02T${h}:00Z`, reason: 'page' })).status, 201);
  await a.post('/api/v1/users', { email: 'page@example.org', name: 'Page', role: 'manager', password: 'page-pass-1', group_ids: [GA], must_change_password: false });
  const m = new Client(env.srv.url);
  await m.login('page@example.org', 'page-pass-1');
  let r = await m.get('/api/v1/attendance?limit=2&offset=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 3);
  assert.deepEqual(r.body.items.map((e) => [e.person_id, e.time]), [[PA, '2026-02-02T08:10:00Z'], [PA, '2026-02-02T08:20:00Z']]);
  // Status filtered by the database too: the one late event after them all.
  const ev = (await a.get(`/api/v1/attendance?person_id=${PA}`)).body.items[2].id;
  assert.equal((await a.patch(`/api/v1/attendance/${ev}`, { status: 'late', reason: 'page' })).status, 200);
  r = await a.get('/api/v1/attendance?status=late');
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].id, ev);
  r = await a.get('/api/v1/attendance?status=outside_schedule');
  assert.equal(r.body.total, 2, 'the other two, judged outside any schedule');
  assert.ok(r.body.items.every((e) => e.person_id === PA));
  assert.equal((await a.get('/api/v1/attendance?status=on_time')).body.total, 10050);
  await a.del(`/api/v1/persons/${PB}`);
});

// ---- item 17: TLS ---------------------------------------------------------------

test('TLS: 1.2 or newer, forward-secret ciphers only, HSTS on every answer', async () => {
  const tdir = mkdtempSync(join(tmpdir(), 'rollcall-tls-'));
  const key = join(tdir, 'key.pem'), cert = join(tdir, 'cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const srv = await startServer({ args: ['--data', join(tdir, 'data'), '--tls-cert', cert, '--tls-key', key] });
  const port = Number(new URL(srv.url).port);
  // Resolves to the negotiated {protocol, cipher} or the error's text.
  const hello = (opts) => new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const out = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.end();
      resolve(out);
    });
    s.on('error', (e) => resolve({ error: e.message }));
  });
  try {
    let r = await hello({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'ALL:@SECLEVEL=0' });
    assert.ok(r.error, `TLS 1.0/1.1 must be refused: ${JSON.stringify(r)}`);
    for (const c of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'DHE-RSA-AES128-GCM-SHA256']) {
      r = await hello({ maxVersion: 'TLSv1.2', ciphers: `${c}:@SECLEVEL=0` });
      assert.ok(r.error, `${c} (no forward secrecy) must be refused: ${JSON.stringify(r)}`);
    }
    r = await hello({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    assert.deepEqual(r, { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    r = await hello({ minVersion: 'TLSv1.3' });
    assert.equal(r.protocol, 'TLSv1.3', JSON.stringify(r));
    const head = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => s.write('GET /healthz HTTP/1.0\r\n\r\n'));
      let t = '';
      s.on('data', (d) => { t += d; });
      s.on('end', () => resolve(t));
      s.on('error', reject);
    });
    assert.match(head, /^HTTP\/1\.\d 200/);
    assert.match(head, /\r\nStrict-Transport-Security: max-age=\d{7,}/i);
  } finally {
    assert.equal(await srv.stop(), 0);
    rmSync(tdir, { recursive: true, force: true });
  }
  // Plain HTTP sends no HSTS.
  const plain = await fetch(`${env.srv.url}healthz`);
  assert.equal(plain.headers.get('strict-transport-security'), null);
});

// ---- items 10 and 14: the event stream per subscriber; camera-bound keys ---------

// A server with the models, two groups with one person each (A with real
// faces), two browser cameras and a device key bound to each, a manager
// limited to group A, and the member linked to A.
async function liveFixture() {
  const r2 = await startWithRoles({ models: true });
  const { admin, member } = r2;
  const GA = (await admin.post('/api/v1/groups', { name: 'Live A' })).body.id;
  const GB = (await admin.post('/api/v1/groups', { name: 'Live B' })).body.id;
  const PA = (await admin.post('/api/v1/persons', { external_id: 'LIVE-A', first_name: 'A', last_name: 'L', kind: 'student' })).body.id;
  const PB = (await admin.post('/api/v1/persons', { external_id: 'LIVE-B', first_name: 'B', last_name: 'L', kind: 'student' })).body.id;
  assert.equal((await admin.post(`/api/v1/groups/${GA}/members/${PA}`)).status, 204);
  assert.equal((await admin.post(`/api/v1/groups/${GB}/members/${PB}`)).status, 204);
  const mp = multipart([1, 2].map((n) => ({ name: 'file', filename: `${n}.jpg`, type: 'image/jpeg', data: photo(`id/deepface_angelina/${n}.jpg`) })));
  const r = await admin.post(`/api/v1/persons/${PA}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.ok(r.body.results.some((x) => x.accepted), JSON.stringify(r.body));
  const C1 = (await admin.post('/api/v1/cameras', { name: 'Live gate 1', kind: 'browser' })).body.id;
  const C2 = (await admin.post('/api/v1/cameras', { name: 'Live gate 2', kind: 'browser' })).body.id;
  const key = async (name, camera_id) => {
    const k = await admin.post('/api/v1/api-keys', { name, role: 'device', camera_id });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const c = new Client(r2.srv.url, { key: k.body.key });
    c.keyId = k.body.id;
    return c;
  };
  const k1 = await key('gate 1', C1), k2 = await key('gate 2', C2);
  assert.equal((await admin.post('/api/v1/users', { email: 'live@example.org', name: 'Live', role: 'manager', password: 'live-pass-1', group_ids: [GA], must_change_password: false })).status, 201);
  const lim = new Client(r2.srv.url);
  await lim.login('live@example.org', 'live-pass-1');
  const limId = (await admin.get('/api/v1/users?limit=500')).body.items.find((u) => u.email === 'live@example.org').id;
  assert.equal((await admin.patch(`/api/v1/users/${member.userId}`, { person_id: PA })).status, 200);
  return { r2, admin, member, lim, limId, k1, k2, GA, GB, PA, PB, C1, C2 };
}

test('a device key bound to a camera cannot mark attendance as another camera', async () => {
  const f = await liveFixture();
  try {
    const A3 = photo('id/deepface_angelina/3.jpg');
    let r = await f.k1.req('POST', `/api/v1/recognize?mark=true&camera_id=${f.C2}`, { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 403, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.error.code, 'camera_mismatch');
    assert.match(r.body.error.message, new RegExp(`camera ${f.C1}.*camera ${f.C2}`));
    r = await f.k1.req('POST', `/process_frame?mark=true&camera_id=${f.C2}`, { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 403);
    assert.equal((await f.admin.get(`/api/v1/attendance?camera_id=${f.C2}`)).body.total, 0, 'nothing marked as gate 2');
    // Its own camera, said or not, is fine.
    r = await f.k1.req('POST', `/api/v1/recognize?mark=true&camera_id=${f.C1}`, { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 200);
    assert.equal((await f.admin.get(`/api/v1/attendance?camera_id=${f.C1}`)).body.total, 1);
  } finally {
    assert.equal(await f.r2.stop(), 0);
  }
});

// A disabled camera marks nothing, by face or by PIN; deleting a camera
// revokes its keys. Before, the foreign key unbound them (camera_id became
// null): the gate's key then marked as any camera and its stream showed
// every camera's events.
test("a disabled camera's key marks nothing; a deleted camera's key stops working", async () => {
  const f = await liveFixture();
  const { admin, k1, k2, C1, C2 } = f;
  try {
    const A3 = photo('id/deepface_angelina/3.jpg');
    const marked = async (cam) => (await admin.get(`/api/v1/attendance?camera_id=${cam}`)).body.total;
    assert.equal((await admin.put(`/api/v1/persons/${f.PA}/pin`, { pin: '2580' })).status, 200);
    assert.equal((await admin.patch(`/api/v1/cameras/${C1}`, { enabled: false })).status, 200);
    let r = await k1.req('POST', '/api/v1/recognize?mark=true', { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 403, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.error.code, 'camera_disabled');
    r = await k1.post('/api/v1/kiosk/checkin', { code: 'LIVE-A', pin: '2580' });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'camera_disabled');
    // An unbound device key naming the disabled camera: the same.
    r = await f.r2.device.post('/api/v1/kiosk/checkin', { code: 'LIVE-A', pin: '2580', camera_id: C1 });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    r = await f.r2.device.req('POST', `/api/v1/recognize?mark=true&camera_id=${C1}`, { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 403, JSON.stringify(r.body).slice(0, 300));
    assert.equal(await marked(C1), 0, 'nothing marked at the disabled gate');
    // Recognition without marking still answers (a kiosk shows who it is).
    r = await k1.req('POST', '/api/v1/recognize', { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 200);
    assert.equal((await admin.patch(`/api/v1/cameras/${C1}`, { enabled: true })).status, 200);
    r = await k1.req('POST', '/api/v1/recognize?mark=true', { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 200);
    assert.equal(await marked(C1), 1, 'enabled again: marks');

    // Delete gate 1: its key must not become a key of every camera.
    const s = await openStream(k1);
    assert.equal(s.status, 200);
    await sleep(200);
    assert.equal((await admin.del(`/api/v1/cameras/${C1}`)).status, 204);
    assert.ok((await readStream(s, 5000)).ended, 'its event stream ends');
    r = await k1.req('POST', `/api/v1/recognize?mark=true&camera_id=${C2}`, { body: A3, type: 'image/jpeg' });
    assert.equal(r.status, 401, `the key is revoked: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.equal((await k1.get('/api/v1/auth/me')).status, 401);
    assert.equal(await marked(C2), 0, 'nothing marked as gate 2');
    const keys = (await admin.get('/api/v1/api-keys?limit=500')).body.items.map((k) => k.id);
    assert.ok(!keys.includes(k1.keyId), 'no longer listed');
    assert.ok(keys.includes(k2.keyId), 'the other gate keeps its key');
    assert.equal((await k2.get('/api/v1/auth/me')).status, 200);
    assert.ok((await admin.get('/api/v1/audit?action=camera.delete')).body.total >= 1);
  } finally {
    assert.equal(await f.r2.stop(), 0);
  }
});

test('each event stream sees only what its caller may, and ends when the key is revoked or the user deactivated or signed out', async () => {
  const f = await liveFixture();
  const { admin, member, lim, k1, k2, PA, PB, GA } = f;
  try {
    // Read-only auditors (HR): one for every group, one limited to A.
    const auditor = async (email, extra) => {
      const u = await admin.post('/api/v1/users', { email, name: 'HR', role: 'auditor', password: 'auditor-pass-1', must_change_password: false, ...extra });
      assert.equal(u.status, 201, JSON.stringify(u.body));
      const c = new Client(f.r2.srv.url);
      await c.login(email, 'auditor-pass-1');
      return c;
    };
    const hr = await auditor('hr-live@example.org', {}), hrLim = await auditor('hr-live-a@example.org', { group_ids: [GA] });
    const streams = {};
    for (const [name, c] of Object.entries({ admin, lim, member, k1, k2, hr, hrLim })) {
      streams[name] = await openStream(c);
      if (name !== 'member') assert.equal(streams[name].status, 200, name);
    }
    await sleep(300);
    // A at gate 1 (recognized by gate 1's key), B entered by hand.
    let r = await k1.req('POST', '/api/v1/recognize?mark=true', { body: photo('id/deepface_angelina/3.jpg'), type: 'image/jpeg' });
    assert.equal(r.status, 200);
    assert.equal(r.body.faces[0].identity.person_id, PA);
    assert.ok(r.body.faces[0].event, 'A was marked');
    assert.equal((await admin.post('/api/v1/attendance', { person_id: PB, type: 'entry', time: new Date().toISOString().slice(0, 19) + 'Z', reason: 'live' })).status, 201);
    const seen = {};
    for (const [name, s] of Object.entries(streams))
      if (s.status === 200) seen[name] = (await readStream(s, ['admin', 'hr'].includes(name) ? 5000 : 1500, (t) => events(t, 'attendance').length >= 2)).text;
    const people = (name) => events(seen[name], 'attendance').map((e) => e.person_id).sort();
    assert.deepEqual(people('admin'), [PA, PB].sort());
    assert.deepEqual(people('lim'), [PA], 'limited manager: group A only');
    assert.deepEqual(people('hr'), [PA, PB].sort(), 'auditor: every group');
    assert.deepEqual(people('hrLim'), [PA], 'limited auditor: group A only, as a limited manager');
    assert.doesNotMatch(seen.hrLim, /LIVE-B/);
    assert.deepEqual(events(seen.hrLim, 'recognition').flatMap((e) => e.faces.map((x) => x.identity.person_id)), [PA]);
    assert.deepEqual(people('k1'), [PA], 'gate 1 key: gate 1 only');
    assert.deepEqual(people('k2'), [], 'gate 2 key: nothing happened at gate 2');
    for (const name of ['lim', 'k1', 'k2']) assert.doesNotMatch(seen[name], /LIVE-B/, name);
    assert.equal(events(seen.k1, 'recognition').length, 1);
    assert.equal(events(seen.k2, 'recognition').length, 0);
    assert.deepEqual(events(seen.lim, 'recognition').flatMap((e) => e.faces.map((x) => x.identity.person_id)), [PA]);
    // Members may follow the stream now, and see themselves only.
    assert.equal(streams.member.status, 200, 'member');
    assert.deepEqual(people('member'), [PA], 'member: themselves only');
    assert.doesNotMatch(seen.member, /LIVE-B/);

    // Credentials that stop being valid end their streams.
    const cases = [
      ['revoked key', k1, () => admin.del(`/api/v1/api-keys/${k1.keyId}`)],
      ['deactivated user', lim, () => admin.patch(`/api/v1/users/${f.limId}`, { active: false })],
      ['signed out', member, () => member.post('/api/v1/auth/logout')],
    ];
    for (const [why, c, act] of cases) {
      const s = await openStream(c);
      assert.equal(s.status, 200, why);
      await sleep(200);
      const done = await act();
      assert.ok(done.status < 300, `${why}: ${done.status}`);
      const { ended } = await readStream(s, 5000);
      assert.ok(ended, `${why}: the stream must end`);
    }
    const k2s = await openStream(k2);
    assert.equal((await readStream(k2s, 500)).ended, false, 'a valid key keeps its stream');
  } finally {
    assert.equal(await f.r2.stop(), 0);
  }
});
