// badinput.test.mjs — hostile and broken requests: empty bodies, malformed
// and mistyped JSON, wrong content types, a 100 MB body (declared and
// chunked), SQL metacharacters in every text field, oversized strings. Each
// gets the right 4xx, and afterwards the server is healthy and the data
// written before is intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithRoles, rawRequest } from './lib.mjs';

let env, admin, port;

before(async () => {
  env = await startWithRoles({ args: ['--max-body', '20'] });
  admin = env.admin;
  port = new URL(env.srv.url).port;
  const r = await admin.post('/api/v1/persons', { external_id: 'KEEP-1', first_name: 'Keep', last_name: 'Me', kind: 'employee' });
  assert.equal(r.status, 201);
});
after(async () => { assert.equal(await env.stop(), 0); });

async function intact() {
  const h = await fetch(new URL('healthz', env.srv.url));
  assert.equal(h.status, 200);
  const r = await admin.get('/api/v1/persons?q=KEEP-1');
  assert.equal(r.body.total, 1, 'earlier data is intact');
  assert.equal(r.body.items[0].name, 'Keep Me');
}

test('empty, malformed and mistyped JSON get 400 with a message that says what is wrong', async () => {
  const send = (body, type = 'application/json') => admin.req('POST', '/api/v1/persons', { body, type });
  let r = await send('');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'empty_body');
  r = await send('{"external_id": "X", "first_name": ');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'malformed_json');
  assert.match(r.body.error.message, /line 1, column \d+/);
  r = await send('[1,2,3]');
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /JSON object/);
  r = await send('{"a":1,"a":2}');
  assert.equal(r.status, 400, 'duplicate keys are refused');
  r = await send(JSON.stringify({ external_id: 42, first_name: 'A', last_name: 'B', kind: 'student' }));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_field');
  assert.match(r.body.error.message, /'external_id' must be a string/);
  r = await send(JSON.stringify({ external_id: 'E', first_name: 'A', last_name: 'B', kind: 'student', active: 'yes' }));
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /'active' must be true or false/);
  r = await send(JSON.stringify({ external_id: 'E', first_name: 'A', last_name: 'B', kind: 'student' }), 'text/plain');
  assert.equal(r.status, 415);
  assert.equal(r.body.error.code, 'unsupported_media_type');
  r = await send('\u0000\u0001\u0002garbage\xff', 'application/json');
  assert.equal(r.status, 400);
  r = await send(JSON.stringify({ external_id: 'E\u0000F', first_name: 'A', last_name: 'B', kind: 'student' }));
  assert.equal(r.status, 400, 'NUL inside a string is refused');
  r = await send(JSON.stringify({ external_id: 'E'.repeat(64), first_name: 'A', last_name: 'B', kind: 'student' }));
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /limit/);
  r = await admin.req('PATCH', '/api/v1/settings', { body: '{"timezone": "UTC"', type: 'application/json' });
  assert.equal(r.status, 400);
  await intact();
});

test('a 100 MB body is refused with 413 before it is read', async () => {
  // A client that waits for "100 Continue" gets the refusal instead and never
  // sends the body.
  const head = `POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${env.device.key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`;
  // As the device key: denied (403) comes before the size. As admin: 413.
  let r = await rawRequest(port, head);
  assert.equal(r.status, 403);
  const k = await admin.post('/api/v1/api-keys', { name: 'big', role: 'admin' });
  const adminHead = head.replace(env.device.key, k.body.key);
  r = await rawRequest(port, adminHead);
  assert.equal(r.status, 413);
  assert.match(r.body, /body_too_large/);
  assert.match(r.body, /104857600 bytes is over the limit of 20971520/);
  // Through fetch with the whole 100 MB.
  let status;
  try {
    const res = await fetch(new URL('api/v1/persons', env.srv.url), {
      method: 'POST', headers: { Authorization: `Bearer ${k.body.key}`, 'Content-Type': 'application/json' },
      body: Buffer.alloc(100 * 1024 * 1024, 0x20),
    });
    status = res.status;
    await res.arrayBuffer().catch(() => {});
  } catch (e) {
    status = 'connection closed';
  }
  assert.ok(status === 413 || status === 'connection closed', `got ${status}`);
  await intact();
});

test('a chunked body over the limit is refused with 413 too', async () => {
  const k = await admin.post('/api/v1/api-keys', { name: 'chunky', role: 'admin' });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const parts = [`POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${k.body.key}\r\n` +
    'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'];
  for (let i = 0; i < 22; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
  parts.push('0\r\n\r\n');
  const r = await rawRequest(port, parts);
  assert.equal(r.status, 413);
  assert.match(r.body, /body_too_large/);
  await intact();
});

test('a body that trickles in slower than --request-timeout is cut off', async () => {
  const srv2 = await (await import('../lib/server.mjs')).startServer({
    args: ['--data', `${env.dir}/data2`, '--request-timeout', '1', '--admin-password', 'admin-pass-1'],
  });
  try {
    const p2 = new URL(srv2.url).port;
    const net = await import('node:net');
    const started = Date.now();
    const res = await new Promise((resolve) => {
      const sock = net.connect(p2, '127.0.0.1');
      let got = '';
      sock.on('data', (d) => { got += d; });
      sock.on('error', () => {});
      sock.on('close', () => { clearInterval(timer); resolve(got); });
      sock.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      const timer = setInterval(() => sock.write(' '), 200);
    });
    const took = Date.now() - started;
    assert.ok(took < 10000, `closed after ${took} ms`);
    assert.ok(res === '' || /^HTTP\/1\.1 408/.test(res), res);
    const h = await fetch(new URL('healthz', srv2.url));
    assert.equal(h.status, 200);
  } finally {
    assert.equal(await srv2.stop(), 0);
  }
});

const EVIL = [
  "Robert'); DROP TABLE persons;--",
  "' OR '1'='1",
  '"; DELETE FROM users; --',
  '\\\'; UPDATE users SET role=\'admin\' --',
  '%_% \\ ` $1 ? :name @x',
  '<script>alert(1)</script>',
];

test('a refused upload within the size limit is read and then answered', async () => {
  // 2 MB as the member, who may not create persons: the 403 arrives intact.
  const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
  const r = await rawRequest(port, [`POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nCookie: ${env.member.cookie}\r\n` +
    `X-CSRF-Token: ${env.member.csrf}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body]);
  assert.equal(r.status, 403);
  assert.match(r.body, /"forbidden"/);
  await intact();
});

test('SQL metacharacters in every text field are stored verbatim and harm nothing', async () => {
  const before = await admin.get('/api/v1/users');
  for (const [i, evil] of EVIL.entries()) {
    const first = evil.replace(/\s/g, '_').slice(0, 60);
    let r = await admin.post('/api/v1/persons', { external_id: `E${i}-${evil}`.slice(0, 63), first_name: first, last_name: evil, email: `x${i}@ex.org`, kind: 'other' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const p = (await admin.get(`/api/v1/persons/${r.body.id}`)).body;
    assert.equal(p.external_id, `E${i}-${evil}`.slice(0, 63));
    assert.equal(p.first_name, first);
    assert.equal(p.last_name, evil);
    r = await admin.get(`/api/v1/persons?q=${encodeURIComponent(evil)}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.items.some((x) => x.id === p.id), `search finds ${evil}`);
    r = await admin.post('/api/v1/groups', { name: `G${i} ${evil}`, description: evil });
    assert.equal(r.status, 201);
    assert.equal(r.body.description, evil);
    const g = r.body.id;
    r = await admin.post('/api/v1/schedules', { group_id: g, day_of_week: 2, start: '09:00', end: '10:00', label: evil });
    assert.equal(r.body.label, evil);
    r = await admin.post('/api/v1/holidays', { date: `2030-01-${String(i + 1).padStart(2, '0')}`, name: evil });
    assert.equal(r.body.name, evil);
    r = await admin.post('/api/v1/cameras', { name: evil, kind: 'mjpeg', url: `http://x/${evil}` });
    assert.equal(r.body.name, evil);
    r = await admin.post('/api/v1/api-keys', { name: evil, role: 'device' });
    assert.equal(r.body.name, evil);
    r = await admin.post('/api/v1/users', { email: `u${i}@ex.org`, name: evil, role: 'member', password: evil.padEnd(8, '!') });
    assert.equal(r.status, 201);
    assert.equal(r.body.name, evil);
    r = await admin.get(`/api/v1/audit?action=${encodeURIComponent(evil)}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total, 0);
    r = await fetch(new URL('api/v1/auth/login', env.srv.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: evil, password: evil }),
    });
    assert.equal(r.status, 401, 'no SQL injection into login');
  }
  const after = await admin.get('/api/v1/users');
  assert.equal(after.body.total, before.body.total + EVIL.length, 'exactly the users we made');
  assert.ok(after.body.items.every((u) => u.role !== 'admin' || u.email === 'admin@example.org'));
  await intact();
});

test('bad ids, query values and methods', async () => {
  for (const p of ['/api/v1/persons/0', '/api/v1/persons/-1', '/api/v1/persons/1e3', "/api/v1/persons/1'--", '/api/v1/persons/99999999999999999999'])
    assert.equal((await admin.get(p)).status, 404, p);
  assert.equal((await admin.get('/api/v1/persons?limit=abc')).status, 400);
  assert.equal((await admin.get('/api/v1/persons?group_id=x')).status, 400);
  assert.equal((await admin.req('PUT', '/api/v1/persons')).status, 405);
  // Bytes that are not UTF-8, in the path or a query, are a 400 that says
  // so (they were a 500 "out of memory": JSON cannot quote them back).
  for (const p of ['/api/v1/persons/%ff', '/api/v1/persons?q=N%fa%f1ez', '/api/v1/reports/groups?label=%c3', '/api/v1/x%80y']) {
    const r = await admin.get(p);
    assert.equal(r.status, 400, `${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'invalid_encoding');
  }
  assert.equal((await admin.get('/api/v1/persons?q=N%C3%BA%C3%B1ez')).status, 200, 'UTF-8 is fine');
  await intact();
});
