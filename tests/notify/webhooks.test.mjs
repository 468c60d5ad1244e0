// webhooks.test.mjs — the webhooks REST API through the real server, with a
// receiver on 127.0.0.1: create (the secret shown once), list, read, change
// and delete, validation, the admin-only rule, a test delivery, a face
// recognized at /recognize?mark=true (real photos, real models) producing a
// signed delivery, a stranger making one unknown_face delivery, and pending
// deliveries surviving a server restart, and a camera that never delivers a
// frame making one camera_down delivery with its secrets hidden. The
// signature is checked the way a receiver would: HMAC-SHA256 over
// "<t>.<body>" with the secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWithRoles, multipart, Client } from '../http/lib.mjs';
import { startServer } from '../lib/server.mjs';

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const ANG = (n) => readFileSync(join(FACES, `id/deepface_angelina/${n}.jpg`));
let env, admin, rx, restarted;

// A receiver that records every request and answers 200.
function receiver(port = 0) {
  const got = [];
  const waiters = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve({
    got,
    port: srv.address().port,
    url: `http://127.0.0.1:${srv.address().port}`,
    close: () => { srv.closeAllConnections(); return new Promise((r) => srv.close(r)); },
    async wait(pred, ms = 20000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = got.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no matching delivery; got ${JSON.stringify(got.map((g) => g.headers['x-rollcall-event']))}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
    },
  })));
}

function verify(req, secret) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers['x-rollcall-signature'] || '');
  assert.ok(m, `signature header: ${req.headers['x-rollcall-signature']}`);
  const want = createHmac('sha256', secret).update(`${m[1]}.${req.body}`).digest('hex');
  assert.equal(m[2], want, 'HMAC-SHA256 of "<t>.<body>" with the secret');
  assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 600, 'signed just now');
}

before(async () => {
  // --camera-down 1: a camera without frames for 1 s is reported (30 s by default).
  env = await startWithRoles({ models: true, args: ['--camera-down', '1'] });
  admin = env.admin;
  rx = await receiver();
});
after(async () => {
  await rx.close();
  if (restarted) assert.equal(await restarted.stop(), 0);
  assert.equal(await env.stop(), 0);
});

test('webhooks: create shows the secret once; list, read, change and delete', async () => {
  let r = await admin.post('/api/v1/webhooks', { name: 'ops', url: 'https://user:pw@hooks.example.org/in/abc?token=t', events: ['entry', 'late'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.secret, /^whsec_[0-9a-f]{64}$/);
  assert.equal(r.body.url, 'https://hooks.example.org/in/abc', 'no credentials or query shown');
  assert.deepEqual(r.body.events, ['entry', 'late']);
  assert.equal(r.body.preset, 'generic');
  assert.equal(r.body.enabled, true);
  assert.equal(r.body.group_id, null);
  const id = r.body.id;
  const secret = r.body.secret;
  r = await admin.get('/api/v1/webhooks');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].secret, undefined, 'never again');
  r = await admin.get(`/api/v1/webhooks/${id}`);
  assert.equal(r.body.secret, undefined);
  r = await admin.patch(`/api/v1/webhooks/${id}`, { enabled: false, events: ['exit'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.enabled, false);
  assert.deepEqual(r.body.events, ['exit']);
  assert.equal(r.body.url, 'https://hooks.example.org/in/abc', 'the URL kept when left out');
  r = await admin.patch(`/api/v1/webhooks/${id}`, { url: r.body.url.replace('abc', '…') });
  assert.equal(r.status, 400, 'the shortened URL is not taken back');
  r = await admin.post(`/api/v1/webhooks/${id}/test`);
  assert.equal(r.status, 409, 'a disabled webhook is not tested');
  const audit = await admin.get('/api/v1/audit?action=webhook.create');
  assert.equal(audit.body.items.length, 1);
  assert.ok(!JSON.stringify(audit.body).includes(secret), 'the audit log has no secret');
  assert.ok(!JSON.stringify(audit.body).includes('pw@'), 'nor the URL password');
  assert.equal((await admin.del(`/api/v1/webhooks/${id}`)).status, 204);
  assert.equal((await admin.get(`/api/v1/webhooks/${id}`)).status, 404);
  assert.equal((await admin.del(`/api/v1/webhooks/${id}`)).status, 404);
  assert.ok(!env.srv.stderr.includes(secret), 'the server log has no secret');
});

test('webhooks: bad input is refused with a reason; only admins may touch them', async () => {
  const bad = [
    [{ url: 'ftp://example.org/x', events: ['entry'] }, /http/],
    [{ url: 'file:///etc/passwd', events: ['entry'] }, /http/],
    [{ url: 'http://example.org/x', events: ['party'] }, /party/],
    [{ url: 'http://example.org/x', events: [] }, /events/],
    [{ url: 'http://example.org/x' }, /events/],
    [{ events: ['entry'] }, /url/],
    [{ url: 'http://example.org/x', events: ['entry'], preset: 'teams' }, /preset/],
    [{ url: 'https://api.telegram.org/botX/sendMessage', events: ['entry'], preset: 'telegram' }, /chat_id/],
    [{ url: 'http://example.org/x', events: ['entry'], secret: 'short' }, /secret/],
    [{ url: 'http://example.org/x', events: ['entry'], group_id: 999 }, /group/],
  ];
  for (const [body, why] of bad) {
    const r = await admin.post('/api/v1/webhooks', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.body.error.message, why, JSON.stringify(r.body));
  }
  assert.equal((await admin.get('/api/v1/webhooks')).body.total, 0, 'nothing was created');
  for (const who of ['manager', 'member', 'device']) {
    assert.equal((await env[who].get('/api/v1/webhooks')).status, 403, who);
    assert.equal((await env[who].post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/', events: ['entry'] })).status, 403, who);
  }
  assert.equal((await env.anonymous.get('/api/v1/webhooks')).status, 401);
});

test('webhooks: a test delivery reaches the receiver signed, and is listed as delivered', async () => {
  const r = await admin.post('/api/v1/webhooks', { name: 'rx test', url: `${rx.url}/test-hook`, events: ['camera_down'] });
  assert.equal(r.status, 201);
  const t = await admin.post(`/api/v1/webhooks/${r.body.id}/test`);
  assert.equal(t.status, 202, JSON.stringify(t.body));
  const got = await rx.wait((g) => g.url === '/test-hook');
  assert.equal(got.method, 'POST');
  assert.equal(got.headers['x-rollcall-event'], 'test');
  assert.equal(Number(got.headers['x-rollcall-delivery']), t.body.delivery_id);
  assert.equal(got.headers['content-type'], 'application/json');
  verify(got, r.body.secret);
  const body = JSON.parse(got.body);
  assert.equal(body.kind, 'test');
  assert.equal(body.webhook_id, r.body.id);
  let list;
  for (let i = 0; i < 50; i++) {
    list = await admin.get(`/api/v1/webhooks/${r.body.id}/deliveries`);
    if (list.body.items[0]?.status === 'delivered') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(list.body.total, 1);
  const d = list.body.items[0];
  assert.equal(d.status, 'delivered');
  assert.equal(d.attempts, 1);
  assert.equal(d.last_http, 200);
  assert.equal(d.kind, 'test');
  assert.equal((await admin.get('/api/v1/webhooks/999999/deliveries')).status, 404);
  // Sent again on request: the same delivery, attempts counted from zero.
  const again = await admin.post(`/api/v1/webhooks/${r.body.id}/deliveries/${d.id}/retry`);
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.equal(again.body.status, 'pending');
  assert.equal(again.body.attempts, 0);
  const twice = await rx.wait((g) => g.url === '/test-hook' && g !== got);
  assert.equal(Number(twice.headers['x-rollcall-delivery']), d.id);
  assert.equal((await admin.post(`/api/v1/webhooks/${r.body.id}/deliveries/999999/retry`)).status, 404);
  await admin.del(`/api/v1/webhooks/${r.body.id}`);
});

// SSRF: a webhook never connects to link-local addresses (the cloud metadata
// service at 169.254.169.254), the unspecified address (0.0.0.0 reaches this
// host's listeners) or multicast, whatever the URL spells; the delivery says
// why. Before, 0.0.0.0 reached the local receiver and was "delivered", and
// the metadata address was tried (the answer's start lands in last_error).
test('webhooks never connect to link-local, metadata, unspecified or multicast addresses', async () => {
  const urls = [
    [`http://0.0.0.0:${rx.port}/ssrf-zero`, /0\.0\.0\.0.*unspecified/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254.*link-local/],
    [`http://[::ffff:169.254.169.254]:${rx.port}/ssrf-mapped`, /169\.254\.169\.254.*link-local/],
    [`http://224.0.0.1:${rx.port}/ssrf-multicast`, /multicast/],
  ];
  for (const [url, why] of urls) {
    const r = await admin.post('/api/v1/webhooks', { name: 'ssrf', url, events: ['camera_down'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const t = await admin.post(`/api/v1/webhooks/${r.body.id}/test`);
    assert.equal(t.status, 202);
    let d;
    for (let i = 0; i < 100; i++) {
      d = (await admin.get(`/api/v1/webhooks/${r.body.id}/deliveries`)).body.items[0];
      if (d && (d.status === 'delivered' || d.last_error)) break; // attempts counts from the claim
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.notEqual(d.status, 'delivered', `${url}: ${JSON.stringify(d)}`);
    assert.equal(d.last_http, null, url);
    assert.match(d.last_error, why, `${url}: ${d.last_error}`);
    assert.match(d.last_error, /webhooks may not connect/);
    await admin.del(`/api/v1/webhooks/${r.body.id}`);
  }
  assert.equal(rx.got.filter((g) => g.url.startsWith('/ssrf')).length, 0, 'the local receiver was never reached');
});

test('a face recognized at /recognize?mark=true makes a signed entry delivery', async () => {
  const p = await env.manager.post('/api/v1/persons', { external_id: 'ANG', first_name: 'Angelina', last_name: 'Test', kind: 'employee' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const mp = multipart([1, 2, 5].map((n) => ({ name: 'file', filename: `${n}.jpg`, type: 'image/jpeg', data: ANG(n) })));
  const en = await env.manager.post(`/api/v1/persons/${p.body.id}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.equal(en.status, 200);
  assert.ok(en.body.results.every((x) => x.accepted), JSON.stringify(en.body));
  const hook = await admin.post('/api/v1/webhooks', { name: 'door', url: `${rx.url}/entries`, events: ['entry'] });
  const slack = await admin.post('/api/v1/webhooks', { name: 'slack', url: `${rx.url}/slack`, events: ['entry'], preset: 'slack' });
  const exitsOnly = await admin.post('/api/v1/webhooks', { name: 'exits', url: `${rx.url}/exits`, events: ['exit'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  assert.equal(slack.status, 201, JSON.stringify(slack.body));
  assert.equal(exitsOnly.status, 201);
  const r = await env.device.req('POST', '/api/v1/recognize?mark=true', { body: ANG(3), type: 'image/jpeg' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const f = r.body.faces[0];
  assert.equal(f.identity.external_id, 'ANG');
  assert.ok(f.event && f.event.new, 'a new entry event');
  const got = await rx.wait((g) => g.url === '/entries');
  assert.equal(got.headers['x-rollcall-event'], 'entry');
  verify(got, hook.body.secret);
  const body = JSON.parse(got.body);
  assert.equal(body.kind, 'entry');
  assert.equal(body.data.event_id, f.event.id);
  assert.equal(body.data.kind, 'entry');
  assert.equal(body.data.person.external_id, 'ANG');
  assert.equal(body.data.person.name, 'Angelina Test');
  assert.equal(typeof body.data.confidence, 'number');
  const s = await rx.wait((g) => g.url === '/slack');
  const sb = JSON.parse(s.body);
  assert.deepEqual(Object.keys(sb), ['text'], 'a Slack incoming-webhook message');
  assert.match(sb.text, /^Entry: Angelina Test \(ANG\), \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  verify(s, slack.body.secret);
  // The same face again merges into the event: no second notification.
  await env.device.req('POST', '/api/v1/recognize?mark=true', { body: ANG(6), type: 'image/jpeg' });
  await new Promise((res) => setTimeout(res, 2500));
  assert.equal(rx.got.filter((g) => g.url === '/entries').length, 1);
  assert.equal(rx.got.filter((g) => g.url === '/exits').length, 0, 'a webhook for exits heard nothing');
  for (const h of [hook, slack, exitsOnly]) await admin.del(`/api/v1/webhooks/${h.body.id}`);
});

test('a stranger at /recognize?mark=true makes one unknown_face delivery', async () => {
  const hook = await admin.post('/api/v1/webhooks', { name: 'strangers', url: `${rx.url}/unknown`, events: ['unknown_face'], preset: 'telegram', chat_id: '-100123' });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  const stranger = readFileSync(join(FACES, 'id/deepface_person01/1.jpg'));
  const look = await env.device.req('POST', '/api/v1/recognize', { body: stranger, type: 'image/jpeg' });
  assert.equal(look.status, 200, JSON.stringify(look.body));
  await new Promise((res) => setTimeout(res, 2500));
  assert.equal(rx.got.filter((g) => g.url === '/unknown').length, 0, 'a look without mark=true says nothing');
  for (let i = 0; i < 2; i++) {
    const r = await env.device.req('POST', '/api/v1/recognize?mark=true', { body: stranger, type: 'image/jpeg' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.faces.length, 1);
    assert.equal(r.body.faces[0].identity, null, 'nobody enrolled matches');
  }
  const got = await rx.wait((g) => g.url === '/unknown');
  assert.equal(got.headers['x-rollcall-event'], 'unknown_face');
  verify(got, hook.body.secret);
  const body = JSON.parse(got.body);
  assert.deepEqual(Object.keys(body).sort(), ['chat_id', 'text'], 'a Telegram sendMessage call');
  assert.equal(body.chat_id, '-100123');
  assert.match(body.text, /^Unknown face, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await new Promise((res) => setTimeout(res, 2000));
  assert.equal(rx.got.filter((g) => g.url === '/unknown').length, 1, 'the second sighting within a minute is not sent');
  await admin.del(`/api/v1/webhooks/${hook.body.id}`);
});

test('a camera that delivers no frames makes one camera_down delivery, its secrets hidden', async () => {
  const hook = await admin.post('/api/v1/webhooks', { name: 'cams', url: `${rx.url}/cams`, events: ['camera_down'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  const cam = await admin.post('/api/v1/cameras', {
    name: 'Back gate', kind: 'mjpeg', url: 'http://gate:hunter2@127.0.0.1:1/stream?token=s3cret', fps: 1,
  });
  assert.equal(cam.status, 201, JSON.stringify(cam.body));
  const got = await rx.wait((g) => g.url === '/cams');
  assert.equal(got.headers['x-rollcall-event'], 'camera_down');
  verify(got, hook.body.secret);
  const body = JSON.parse(got.body);
  assert.equal(body.kind, 'camera_down');
  assert.equal(body.data.camera_id, cam.body.id);
  assert.equal(body.data.camera, 'Back gate');
  assert.ok(body.data.reason.length > 0, 'says why');
  assert.ok(!got.body.includes('hunter2') && !got.body.includes('s3cret'), `no camera secret in ${got.body}`);
  await new Promise((res) => setTimeout(res, 5000));
  assert.equal(rx.got.filter((g) => g.url === '/cams').length, 1, 'one outage is said once');
  assert.equal((await admin.del(`/api/v1/cameras/${cam.body.id}`)).status, 204);
  await admin.del(`/api/v1/webhooks/${hook.body.id}`);
});

test('a delivery still pending when the server stops is delivered after a restart', async () => {
  // A port with nobody listening yet: the first attempt fails.
  const probe = await receiver();
  const port = probe.port;
  await probe.close();
  const dir = env.dir;
  const hook = await admin.post('/api/v1/webhooks', { name: 'later', url: `http://127.0.0.1:${port}/later`, events: ['camera_down'] });
  const t = await admin.post(`/api/v1/webhooks/${hook.body.id}/test`);
  assert.equal(t.status, 202);
  let d;
  for (let i = 0; i < 100; i++) {
    d = (await admin.get(`/api/v1/webhooks/${hook.body.id}/deliveries`)).body.items[0];
    if (d.attempts >= 1 && d.status === 'pending' && d.last_error) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(d.status, 'pending', JSON.stringify(d));
  assert.ok(d.last_error.length > 0, 'the failure is recorded');
  assert.ok(d.next_attempt_at, 'and the next attempt scheduled');
  assert.equal(await env.srv.stop(), 0);
  const late = await receiver(port);
  restarted = await startServer({
    args: ['--data', join(dir, 'data'), '--models', join(dir, 'no-models')],
  });
  try {
    const got = await late.wait((g) => g.url === '/later', 30000);
    assert.equal(Number(got.headers['x-rollcall-delivery']), t.body.delivery_id);
    verify(got, hook.body.secret);
    const c = new Client(restarted.url);
    await c.login('admin@example.org', 'admin-pass-1');
    for (let i = 0; i < 50; i++) {
      d = (await c.get(`/api/v1/webhooks/${hook.body.id}/deliveries`)).body.items[0];
      if (d.status === 'delivered') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(d.status, 'delivered');
    assert.equal(d.attempts, 2);
    assert.equal(late.got.length, 1, 'exactly once');
  } finally {
    await late.close();
  }
});
