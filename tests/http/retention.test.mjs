// retention.test.mjs — kept faces age out: a server erases, at start (and
// every hour), the unrecognized sightings and event probes seen more than
// unrecognized_retention_days ago, keeps the newer ones and the events,
// says so in the audit log, and keeps everything with the setting 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client } from './lib.mjs';

const DAY = 86400000;

function sql(db, text) {
  const out = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, text], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim();
}

async function start(dir) {
  const srv = await startServer({ args: ['--data', join(dir, 'data'), '--admin-email', 'admin@example.org',
    '--admin-password', 'admin-pass-1', '--models', join(dir, 'no-models')] });
  const admin = new Client(srv.url);
  await admin.login('admin@example.org', 'admin-pass-1');
  return { srv, admin };
}

test('kept faces older than the retention are erased at start; newer ones, events and the setting 0 keep theirs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-retention-'));
  const db = join(dir, 'data', 'rollcall.db');
  try {
    let { srv, admin } = await start(dir);
    let r = await admin.get('/api/v1/settings');
    assert.equal(r.body.unrecognized_retention_days, 30, 'the default');
    for (const bad of [-1, 3651, 'ten', 1.5]) {
      r = await admin.patch('/api/v1/settings', { unrecognized_retention_days: bad });
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.body)}`);
    }
    r = await admin.patch('/api/v1/settings', { unrecognized_retention_days: 0 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.unrecognized_retention_days, 0);
    assert.equal(await srv.stop(), 0);

    const now = Date.now();
    sql(db, `INSERT INTO sightings (ts_ms, reason, image) VALUES
      (${now - 45 * DAY}, 'unknown', X'FFD8FFE0'), (${now - 12 * DAY}, 'unknown', X'FFD8FFE1'),
      (${now - 2 * DAY}, 'liveness', X'FFD8FFE2');`);
    // With 0, a restart erases nothing.
    ({ srv, admin } = await start(dir));
    assert.equal(sql(db, 'SELECT count(*) FROM sightings'), '3');
    r = await admin.patch('/api/v1/settings', { unrecognized_retention_days: 10 });
    assert.equal(r.status, 200);
    assert.equal(await srv.stop(), 0);

    ({ srv, admin } = await start(dir));
    assert.equal(sql(db, 'SELECT count(*) FROM sightings'), '1', 'the two older than 10 days are gone');
    assert.equal(Number(sql(db, 'SELECT ts_ms FROM sightings')), now - 2 * DAY);
    r = await admin.get('/api/v1/audit?limit=100');
    const expired = r.body.items.filter((a) => a.action === 'sighting.expire');
    assert.equal(expired.length, 1, JSON.stringify(r.body.items.map((a) => a.action)));
    assert.deepEqual(JSON.parse(expired[0].detail), { removed: 2 });
    assert.equal(await srv.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
