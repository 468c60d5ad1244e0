// damaged_db.test.mjs — `rollcall serve` on a damaged SQLite database: it
// checks the file at start (PRAGMA quick_check), refuses to start with what
// is wrong and how to recover, and writes nothing; with --skip-db-check it
// starts, and requests that reach the damaged pages are answered 500 (the
// server's fault, not the caller's) and logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, statSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client } from '../http/lib.mjs';

const BIN = process.env.ROLLCALL_BIN;
let dir, data, db;
const ADMIN = ['--admin-email', 'admin@example.org', '--admin-password', 'admin-pass-1'];
const sql = (q) => {
  const r = spawnSync('sqlite3', [db, q], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-damaged-'));
  data = join(dir, 'data');
  db = join(data, 'rollcall.db');
  // A healthy database with enough people to fill several pages.
  const srv = await startServer({ args: ['--data', data, '--models', join(dir, 'none'), ...ADMIN] });
  try {
    const admin = new Client(srv.url);
    await admin.login('admin@example.org', 'admin-pass-1');
    for (let i = 0; i < 150; i++) {
      const r = await admin.post('/api/v1/persons',
        { external_id: `D${i}`, first_name: `Person ${i} ${'x'.repeat(40)}`, last_name: 'y'.repeat(50), kind: 'student' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  if (existsSync(`${db}-wal`) && statSync(`${db}-wal`).size > 0) sql('PRAGMA wal_checkpoint(TRUNCATE)');
  assert.equal(sql('PRAGMA quick_check'), 'ok');
  // Damage the persons table: its root page gets an impossible page type.
  const root = Number(sql("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'persons'"));
  const pageSize = Number(sql('PRAGMA page_size'));
  assert.ok(root > 1);
  const fd = openSync(db, 'r+');
  writeSync(fd, Buffer.from([0x00, 0xff, 0xff]), 0, 3, (root - 1) * pageSize);
  closeSync(fd);
});

after(() => { rmSync(dir, { recursive: true, force: true }); });

test('serve refuses a damaged database at start, says what is wrong and changes nothing', () => {
  const before = readFileSync(db);
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--models', join(dir, 'none')],
    { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.match(r.stderr, /the database .*rollcall\.db is damaged; PRAGMA quick_check says:[\s\S]*Page \d+: btreeInitPage/);
  assert.match(r.stderr, /did not start/);
  assert.match(r.stderr, /\.recover/);
  assert.match(r.stderr, /--skip-db-check/);
  assert.ok(readFileSync(db).equals(before), 'the file was not written');
  const help = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--skip-db-check/);
});

test('with --skip-db-check it starts; requests that reach the damage are 500 and logged', async () => {
  const srv = await startServer({ args: ['--data', data, '--models', join(dir, 'none'), '--skip-db-check'] });
  try {
    const admin = new Client(srv.url);
    await admin.login('admin@example.org', 'admin-pass-1');
    const r = await admin.get('/api/v1/persons');
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'database');
    assert.match(r.body.error.message, /damaged/);
    assert.equal((await admin.get('/api/v1/auth/me')).status, 200, 'what is intact still answers');
    await new Promise((res) => setTimeout(res, 200));
    assert.match(srv.stderr, /damaged database/);
    assert.match(srv.stderr, /GET \/api\/v1\/persons: the database file is damaged/);
  } finally {
    await srv.stop();
  }
});
