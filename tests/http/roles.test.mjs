// roles.test.mjs — the role matrix: every route in the server's route table
// (`rollcall serve --list-routes`), called as anonymous, member, device,
// manager and admin. A role the route admits must get past the access check
// (ids that do not exist and empty bodies make the answer a 404/400 without
// changing anything); any other role gets 401 (anonymous) or 403.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startWithRoles } from './lib.mjs';

const routes = spawnSync(process.env.ROLLCALL_BIN, ['serve', '--list-routes'], { encoding: 'utf8' })
  .stdout.trim().split('\n').map((l) => JSON.parse(l));
let env;

before(async () => { env = await startWithRoles(); });
after(async () => { assert.equal(await env.stop(), 0); });

async function call(client, route) {
  const path = route.path.replace(/\{[a-z_]+\}/g, '999999');
  const opts = {};
  if (['POST', 'PUT', 'PATCH'].includes(route.method)) opts.json = {};
  if (route.path === '/api/v1/events' || route.path.endsWith('/events')) {
    // A stream: the status is all we need.
    const ac = new AbortController();
    const res = await fetch(new URL(path.slice(1), client.base), { headers: client.headers(), signal: ac.signal });
    ac.abort();
    return res.status;
  }
  const r = await client.req(route.method, path, opts);
  return r.status;
}

test('the route table is not empty and every route names its roles', () => {
  assert.ok(routes.length >= 40, `${routes.length} routes`);
  for (const r of routes) assert.ok(r.roles.length > 0, `${r.method} ${r.path}`);
});

for (const who of ['anonymous', 'member', 'device', 'manager', 'admin']) {
  test(`role matrix: ${who}`, async () => {
    const failures = [];
    for (const route of routes) {
      const client = env[who];
      const status = await call(client, route);
      const allowed = route.roles.includes(who) || route.loopback_ok;
      if (allowed) {
        if (status === 401 || status === 403) failures.push(`${route.method} ${route.path}: allowed but got ${status}`);
      } else {
        const want = who === 'anonymous' ? 401 : 403;
        if (status !== want) failures.push(`${route.method} ${route.path}: denied must be ${want}, got ${status}`);
      }
      if (route.path === '/api/v1/auth/logout' && who !== 'anonymous' && who !== 'device') {
        // That call ended the session: sign in again for the next routes.
        await client.login(`${who}@example.org`, who === 'admin' ? 'admin-pass-1' : `${who}-pass-1`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('a state-changing request with the cookie but without the CSRF token is refused', async () => {
  const h = { Cookie: env.admin.cookie, 'Content-Type': 'application/json' };
  let res = await fetch(new URL('api/v1/groups', env.srv.url), { method: 'POST', headers: h, body: '{"name":"x"}' });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, 'csrf_failed');
  res = await fetch(new URL('api/v1/groups', env.srv.url), { method: 'POST', headers: { ...h, 'X-CSRF-Token': 'f'.repeat(64) }, body: '{"name":"x"}' });
  assert.equal(res.status, 403, 'a wrong token is refused too');
  const list = await env.admin.get('/api/v1/groups');
  assert.equal(list.body.total, 0, 'nothing was created');
});

test('a wrong or revoked API key is anonymous; a key never falls back to the cookie', async () => {
  let res = await fetch(new URL('api/v1/auth/me', env.srv.url), { headers: { Authorization: 'Bearer rc_nope_nope' } });
  assert.equal(res.status, 401);
  const k = await env.admin.post('/api/v1/api-keys', { name: 'tmp', role: 'manager' });
  const tampered = k.body.key.slice(0, -1) + (k.body.key.endsWith('0') ? '1' : '0');
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${tampered}` } });
  assert.equal(res.status, 401, 'one changed character is not a key');
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${k.body.key}` } });
  assert.equal(res.status, 200);
  assert.equal((await env.admin.del(`/api/v1/api-keys/${k.body.id}`)).status, 204);
  res = await fetch(new URL('api/v1/persons', env.srv.url), { headers: { Authorization: `Bearer ${k.body.key}`, Cookie: env.admin.cookie } });
  assert.equal(res.status, 401, 'revoked, and the admin cookie beside it does not help');
});
