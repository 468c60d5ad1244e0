// accounts.test.mjs — what failed logins and new passwords do to accounts,
// through real HTTP from several loopback source addresses (127.0.0.1,
// .2, .3 are all this machine): failures lock an account from the address
// they came from only, so a stranger cannot lock out the only admin; the
// CLI unlocks; a new password ends the user's other sessions and keeps the
// one it was set from; expired sessions are purged at login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client, startWithRoles } from './lib.mjs';

let env, admin, data;
const BIN = process.env.ROLLCALL_BIN;

before(async () => {
  env = await startWithRoles();
  admin = env.admin;
  data = join(env.dir, 'data');
});
after(async () => { assert.equal(await env.stop(), 0); });

// POST /auth/login from the loopback address `from`.
function loginFrom(from, email, password) {
  const url = new URL('api/v1/auth/login', env.srv.url);
  const body = JSON.stringify({ email, password });
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cli = (...args) => spawnSync(BIN, ['user', ...args, '--data', data], { encoding: 'utf8' });

test('failed logins from one address never lock the only admin out of another; unlock clears', async () => {
  const attacker = '127.0.0.2';
  for (let i = 0; i < 5; i++) {
    const r = await loginFrom(attacker, 'admin@example.org', `guess-${i}-wrong`);
    assert.equal(r.status, 401, `guess ${i}`);
  }
  const locked = await loginFrom(attacker, 'admin@example.org', 'another-guess');
  assert.equal(locked.status, 429, 'the attacker\'s address waits');
  assert.equal(locked.body.error.code, 'too_many_attempts');
  const wait = Number(locked.headers['retry-after']);
  assert.ok(wait > 0 && wait <= 60, `first wait is at most a minute (${wait} s)`);
  // The admin, from their own address, signs in as usual.
  const own = await loginFrom('127.0.0.1', 'admin@example.org', 'admin-pass-1');
  assert.equal(own.status, 200, JSON.stringify(own.body));
  // ...and a success elsewhere does not lift the attacker's wait.
  assert.equal((await loginFrom(attacker, 'admin@example.org', 'yet-another')).status, 429);
  // rollcall user unlock forgets the failures.
  const r = cli('unlock', 'admin@example.org');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Unlocked admin@example\.org \(5 failed login\(s\) forgotten\)/);
  assert.equal((await loginFrom(attacker, 'admin@example.org', 'wrong-again')).status, 401, 'unlocked: a plain refusal again');
  assert.equal(cli('unlock', 'nobody@example.org').status, 1);
  const help = spawnSync(BIN, ['user', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /unlock EMAIL/);
});

test('rollcall user passwd lifts the lock-out and ends the account\'s sessions', async () => {
  await admin.post('/api/v1/users', { email: 'pw@example.org', name: 'P', role: 'member', password: 'pw-pass-123', must_change_password: false });
  const c = new Client(env.srv.url);
  await c.login('pw@example.org', 'pw-pass-123');
  for (let i = 0; i < 5; i++) await loginFrom('127.0.0.3', 'pw@example.org', 'wrong-pass-x');
  assert.equal((await loginFrom('127.0.0.3', 'pw@example.org', 'pw-pass-123')).status, 429);
  const r = spawnSync(BIN, ['user', 'passwd', 'pw@example.org', '--data', data, '--password', 'fresh-pass-9'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await c.get('/api/v1/auth/me')).status, 401, 'the old session ended');
  assert.equal((await loginFrom('127.0.0.3', 'pw@example.org', 'fresh-pass-9')).status, 200);
});

test('a new password ends the user\'s other sessions and keeps the current one', async () => {
  await admin.post('/api/v1/users', { email: 'two@example.org', name: 'T', role: 'admin', password: 'two-pass-123', must_change_password: false });
  const here = new Client(env.srv.url), there = new Client(env.srv.url), third = new Client(env.srv.url);
  const me = await here.login('two@example.org', 'two-pass-123');
  await there.login('two@example.org', 'two-pass-123');
  await third.login('member@example.org', 'member-pass-1');
  // Their own password, from `here`: `there` is signed out, `here` stays.
  const r = await here.patch(`/api/v1/users/${me.user.id}`, { password: 'two-pass-456' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await here.get('/api/v1/auth/me')).status, 200, 'the session that changed it stays');
  assert.equal((await there.get('/api/v1/auth/me')).status, 401, 'every other session ended');
  // An admin setting someone else's password ends all of that user's sessions.
  const m = await third.get('/api/v1/auth/me');
  assert.equal((await here.patch(`/api/v1/users/${m.body.user.id}`, { password: 'member-pass-2' })).status, 200);
  assert.equal((await third.get('/api/v1/auth/me')).status, 401);
  // Other edits (no password) end nothing.
  await there.login('two@example.org', 'two-pass-456');
  assert.equal((await here.patch(`/api/v1/users/${me.user.id}`, { name: 'Two' })).status, 200);
  assert.equal((await there.get('/api/v1/auth/me')).status, 200);
});

test('expired sessions are purged at login', async () => {
  const db = join(data, 'rollcall.db');
  const sql = (q) => {
    const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, q], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  sql("INSERT INTO sessions (token_hash, user_id, csrf, created_ms, expires_ms) SELECT 'stale-1', id, 'c', 1, 2 FROM users WHERE email = 'admin@example.org'");
  assert.equal(sql("SELECT count(*) FROM sessions WHERE token_hash = 'stale-1'"), '1');
  await new Client(env.srv.url).login('member@example.org', 'member-pass-2');
  assert.equal(sql('SELECT count(*) FROM sessions WHERE expires_ms <= 2'), '0');
});

// A device key's kiosk unlock takes any admin's e-mail and password. Before,
// a wrong one only counted against the kiosk's PIN limit (10 every 5
// minutes from one address, then 5 minutes' wait), never against the
// account: the kiosk was a way to guess an admin's password around the
// lock-out of login. Now it counts exactly as a failed login does.
test("a kiosk's admin-password unlock counts against the account's lock-out", async () => {
  assert.equal((await admin.post('/api/v1/users', { email: 'kadmin@example.org', name: 'K', role: 'admin', password: 'kadmin-pass-1', must_change_password: false })).status, 201);
  const unlock = (password) => env.device.post('/api/v1/kiosk/unlock', { email: 'kadmin@example.org', password });
  for (let i = 0; i < 5; i++) {
    const r = await unlock(`guess-${i}-wrong`);
    assert.equal(r.status, 403, `guess ${i}: ${JSON.stringify(r.body)}`);
  }
  // The kiosk's address (127.0.0.1) now waits for this account, at login too.
  const login = await loginFrom('127.0.0.1', 'kadmin@example.org', 'kadmin-pass-1');
  assert.equal(login.status, 429, JSON.stringify(login.body));
  assert.equal(login.body.error.params.scope, 'account');
  const r = await unlock('kadmin-pass-1');
  assert.equal(r.status, 429, 'even the right password waits');
  assert.equal(r.body.error.params.scope, 'account');
  // Only that account, from that address.
  assert.equal((await loginFrom('127.0.0.4', 'kadmin@example.org', 'kadmin-pass-1')).status, 200);
  assert.equal((await loginFrom('127.0.0.1', 'admin@example.org', 'admin-pass-1')).status, 200);
  assert.equal(cli('unlock', 'kadmin@example.org').status, 0);
  assert.equal((await unlock('kadmin-pass-1')).status, 204);
});

// Deactivating an account ends its sessions for good. Before, the sessions
// were only refused while the account was inactive: activating it again
// brought every old session (a stolen cookie too) back to life.
test('deactivating a user ends their sessions; activating again brings none back', async () => {
  const r = await admin.post('/api/v1/users', { email: 'off@example.org', name: 'O', role: 'manager', password: 'off-pass-123', must_change_password: false });
  assert.equal(r.status, 201);
  const c = new Client(env.srv.url);
  await c.login('off@example.org', 'off-pass-123');
  assert.equal((await c.get('/api/v1/auth/me')).status, 200);
  assert.equal((await admin.patch(`/api/v1/users/${r.body.id}`, { active: false })).status, 200);
  assert.equal((await c.get('/api/v1/auth/me')).status, 401);
  assert.equal((await admin.patch(`/api/v1/users/${r.body.id}`, { active: true })).status, 200);
  assert.equal((await c.get('/api/v1/auth/me')).status, 401, 'the old session stays ended');
  await c.login('off@example.org', 'off-pass-123');
  assert.equal((await c.get('/api/v1/auth/me')).status, 200, 'a new login works');
});
