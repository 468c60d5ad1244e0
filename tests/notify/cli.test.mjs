// cli.test.mjs — `rollcall webhook`: add (the secret printed once, bad URLs
// refused), list (no secret, no credentials), test (queued in the database)
// and deliveries; a server started afterwards on the same data directory
// sends what the CLI queued, signed with that secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';

const run = (args) => spawnSync(process.env.ROLLCALL_BIN, args, { encoding: 'utf8' });

test('rollcall webhook: add, list, test; the server delivers what the CLI queued', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-webhook-'));
  const got = [];
  const rx = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.end('ok'); });
  });
  await new Promise((r) => rx.listen(0, '127.0.0.1', r));
  const url = `http://user:pw@127.0.0.1:${rx.address().port}/cli`;
  const data = ['--data', join(dir, 'data')];
  let srv;
  try {
    let r = run(['webhook', 'add', 'ftp://example.org/x', '--events', 'entry', ...data]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /http:\/\/ or https:\/\//);
    r = run(['webhook', 'add', url, '--events', 'entry,camera_down', '--name', 'ops', ...data]);
    assert.equal(r.status, 0, r.stderr);
    const secret = /\n(whsec_[0-9a-f]{64})\n/.exec(r.stdout)?.[1];
    assert.ok(secret, r.stdout);
    r = run(['webhook', 'list', ...data]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^1\s+enabled\s+generic\s+entry,camera_down\s+http:\/\/127\.0\.0\.1:\d+\/cli\s+ops$/m);
    assert.ok(!r.stdout.includes(secret) && !r.stdout.includes('pw@'), 'no secret, no password');
    r = run(['webhook', 'test', '1', ...data]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Queued test delivery 1/);
    r = run(['webhook', 'deliveries', '1', ...data]);
    assert.match(r.stdout, /^1\s+test\s+pending\s+attempts 0/m);
    assert.equal(run(['webhook', 'test', '9', ...data]).status, 1);
    assert.equal(run(['webhook', 'frobnicate', ...data]).status, 2);
    srv = await startServer({ args: [...data, '--models', join(dir, 'no-models')] });
    for (let i = 0; i < 600 && !got.length; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(got.length, 1, 'the server sent the queued test');
    assert.equal(got[0].headers['x-rollcall-event'], 'test');
    const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got[0].headers['x-rollcall-signature']);
    assert.equal(mac, createHmac('sha256', secret).update(`${t}.${got[0].body}`).digest('hex'));
    assert.equal(got[0].headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`,
      'credentials in the URL are sent as basic auth');
  } finally {
    const code = srv ? await srv.stop() : 0;
    rx.closeAllConnections(); // close() alone waits for the server's keep-alive connection
    await new Promise((r) => rx.close(r));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'the server stops cleanly');
  }
});
