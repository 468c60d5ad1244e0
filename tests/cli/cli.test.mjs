// cli.test.mjs — the real `rollcall` binary: help texts, usage errors, and
// `serve` starting on loopback, answering /healthz, and stopping on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';

const BIN = process.env.ROLLCALL_BIN;

test('rollcall --help lists the commands and exits 0', () => {
  const r = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: rollcall/);
  assert.match(r.stdout, /serve/);
});

test('rollcall serve --help describes every option', () => {
  const r = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const opt of ['--listen', '--data', '--models', '--threads', '--help'])
    assert.ok(r.stdout.includes(opt), `serve --help mentions ${opt}`);
});

test('an unknown command is a usage error with a message', () => {
  const r = spawnSync(BIN, ['frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('a bad --listen is refused before anything starts', () => {
  const r = spawnSync(BIN, ['serve', '--listen', 'nonsense'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no :PORT/);
});

test('serve creates the data dir, answers /healthz and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-cli-'));
  const data = join(dir, 'nested', 'data');
  const srv = await startServer({ args: ['--data', data] });
  try {
    assert.ok(existsSync(data), 'data directory was created');
    const res = await fetch(`${srv.url}healthz`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+$/);
    assert.equal(typeof body.uptime_s, 'number');
    assert.ok(Array.isArray(body.models.available));
    const nf = await fetch(`${srv.url}no/such/route`);
    assert.equal(nf.status, 404);
    assert.equal((await nf.json()).error.code, 'not_found');
  } finally {
    const code = await srv.stop();
    assert.equal(code, 0, 'clean exit on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
