// cli_export.test.mjs — the real binary's `rollcall db` and `rollcall export`:
// a database is created with `db migrate`, filled with a small week through
// the sqlite3 shell (the HTTP API that would normally do it is not needed
// here), then exported as CSV and XLSX and read back (the XLSX by unzipping
// its sheet XML). Also backup, status, check and the usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.ROLLCALL_BIN;
const run = (args, opts = {}) => spawnSync(BIN, args, { encoding: 'utf8', ...opts });

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-export-'));
  const db = join(dir, 'data', 'rollcall.db');
  return { dir, db, done: () => rmSync(dir, { recursive: true, force: true }) };
}

function sql(db, text) {
  const r = spawnSync('sqlite3', [db], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// Ann and Bob in group 7B with Maths on Mondays 08:00-10:00 (Berlin), grace 5.
// On Monday 2 March 2026 Ann comes 07:55-10:05; Bob never comes.
function fill(db) {
  const ms = (h, m) => Date.UTC(2026, 2, 2, h, m); // UTC; Berlin is UTC+1 in March
  sql(db, `
    INSERT INTO settings (key, value) VALUES ('timezone', 'Europe/Berlin');
    INSERT INTO persons (id, external_id, name, created_ms, updated_ms) VALUES
      (1, 'S1', 'Ann', 0, 0), (2, 'S2', 'Bob, Jr.', 0, 0);
    INSERT INTO person_groups (id, name, created_ms) VALUES (1, '7B', 0);
    INSERT INTO group_members (group_id, person_id) VALUES (1, 1), (1, 2);
    INSERT INTO schedules (id, group_id, dow, start_min, end_min, grace_min, label)
      VALUES (1, 1, 1, 480, 600, 5, 'Maths');
    INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, status, schedule_id, slot_day,
                        created_ms, updated_ms) VALUES
      (1, ${ms(6, 55)}, ${ms(6, 55)}, 'entry', 'on_time', 1, '2026-03-02', 0, 0),
      (1, ${ms(9, 5)}, ${ms(9, 5)}, 'exit', 'on_time', 1, '2026-03-02', 0, 0);
  `);
}

test('db and export explain themselves with --help', () => {
  for (const [cmd, opts] of [['db', ['migrate', 'status', 'backup', 'check', '--db', '--data']],
                             ['export', ['--from', '--to', '--group', '--person', '--format',
                                         '--output', '--db']]]) {
    const r = run([cmd, '--help']);
    assert.equal(r.status, 0);
    for (const o of opts) assert.ok(r.stdout.includes(o), `${cmd} --help mentions ${o}`);
  }
  const top = run(['--help']);
  assert.match(top.stdout, /\bdb\b/);
  assert.match(top.stdout, /\bexport\b/);
});

test('db migrate creates the schema; status reports it; backup and check work', () => {
  const f = fixture();
  try {
    let r = run(['db', 'status', '--db', f.db]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no database at .* yet/);
    r = run(['db', 'migrate', '--data', join(f.dir, 'data')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /applied \d+ migrations/); // every migration this build knows
    r = run(['db', 'migrate', '--db', f.db]);
    assert.match(r.stdout, /up to date/);
    r = run(['db', 'status'], { env: { ...process.env, ROLLCALL_DB: f.db } });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /version (\d+) of \1, up to date/);
    assert.match(r.stdout, /outgoing webhooks and their delivery queue\s+\d{4}-\d\d-\d\d/);
    assert.match(r.stdout, /initial schema\s+\d{4}-\d\d-\d\d/);
    fill(f.db);
    const backup = join(f.dir, 'copy.db');
    r = run(['db', 'backup', backup, '--db', f.db]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(backup));
    assert.equal(sql(backup, 'SELECT name FROM persons ORDER BY id;'), 'Ann\nBob, Jr.\n');
    r = run(['db', 'backup', backup, '--db', f.db]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already exists/);
    r = run(['db', 'check', '--db', backup]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), 'ok');
    r = run(['db', 'backup', 'x.dump', '--db', 'postgresql://u@localhost/rollcall']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /pg_dump --format=custom --file=x\.dump/);
  } finally {
    f.done();
  }
});

test('db refuses bad usage and files that are not databases', () => {
  const f = fixture();
  try {
    assert.equal(run(['db']).status, 2);
    assert.equal(run(['db', 'frobnicate', '--db', f.db]).status, 2);
    assert.equal(run(['db', 'backup', '--db', f.db]).status, 2);
    const junk = join(f.dir, 'junk.db');
    writeFileSync(junk, Buffer.alloc(8192, 0x5a));
    const r = run(['db', 'status', '--db', junk]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /junk\.db/);
  } finally {
    f.done();
  }
});

test('export writes CSV rows judged in the institution time zone', () => {
  const f = fixture();
  try {
    assert.equal(run(['db', 'migrate', '--db', f.db]).status, 0);
    fill(f.db);
    const r = run(['export', '--db', f.db, '--from', '2026-03-02', '--to', '2026-03-08',
                   '--group', '7B']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /exported 2 rows for 2 people \(Europe\/Berlin\)/);
    const lines = r.stdout.trim().split('\r\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'day,external_id,name,slot,start,end,status,late,early_leave,' +
                           'first_entry,last_exit,minutes_on_site,corrected,' +
                           'minutes_outside_slots,missing_exit,minutes_late,minutes_early_leave,' +
                           'overtime_minutes');
    // In 07:55-10:05: the 08:00-10:00 slot's 120 minutes (presence by day).
    // and 10 minutes outside it (07:55-08:00, 10:00-10:05), no exit missing;
    // on time, and 5 minutes' overtime (after 10:00; 07:55 is within the margin).
    assert.equal(lines[1], '2026-03-02,S1,Ann,Maths,08:00,10:00,present,0,0,07:55,10:05,120,,10,0,0,0,5');
    assert.equal(lines[2], '2026-03-02,S2,"Bob, Jr.",Maths,08:00,10:00,absent,0,0,,,0,,0,0,0,0,0');
    const one = run(['export', '--db', f.db, '--from', '2026-03-02', '--to', '2026-03-02',
                     '--person', 'S2', '-o', join(f.dir, 'bob.csv')]);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(readFileSync(join(f.dir, 'bob.csv'), 'utf8').trim().split('\r\n').length, 2);
  } finally {
    f.done();
  }
});

test('export writes an XLSX workbook with summary and detail sheets', () => {
  const f = fixture();
  try {
    assert.equal(run(['db', 'migrate', '--db', f.db]).status, 0);
    fill(f.db);
    const out = join(f.dir, 'week.xlsx');
    const r = run(['export', '--db', f.db, '--from', '2026-03-02', '--to', '2026-03-08',
                   '--format', 'xlsx', '--output', out]);
    assert.equal(r.status, 0, r.stderr);
    const sheet = (n) => spawnSync('unzip', ['-p', out, `xl/worksheets/sheet${n}.xml`],
                                   { encoding: 'utf8' }).stdout;
    const detail = sheet(2);
    assert.equal((detail.match(/<row /g) || []).length, 3);
    for (const s of ['Ann', 'Bob, Jr.', 'absent', 'present'])
      assert.ok(detail.includes(`<t>${s}</t>`), `detail sheet has ${s}`);
    // Times are Excel times (fractions of a day), not text.
    for (const [hhmm, v] of [['07:55', '0.32986111111'], ['10:05', '0.42013888888']]) {
      assert.ok(!detail.includes(`<t>${hhmm}</t>`), `${hhmm} is not text`);
      assert.ok(detail.includes(`<v>${v}`), `detail sheet has ${hhmm} as ${v}`);
    }
    const summary = sheet(1);
    assert.ok(summary.includes('<t>present_rate</t>'));
    for (const h of ['minutes_late', 'minutes_early_leave', 'overtime_minutes']) {
      assert.ok(summary.includes(`<t>${h}</t>`), `summary has ${h}`);
      assert.ok(detail.includes(`<t>${h}</t>`), `detail has ${h}`);
    }
    assert.ok(summary.includes('<t>7B</t>'));
    assert.ok(summary.includes('<v>0.5</v>'), '7B: one of two slots present');
  } finally {
    f.done();
  }
});

test('export refuses bad dates, formats and unknown names', () => {
  const f = fixture();
  try {
    assert.equal(run(['db', 'migrate', '--db', f.db]).status, 0);
    let r = run(['export', '--db', f.db, '--from', '2026-03-02']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--from and --to are required/);
    r = run(['export', '--db', f.db, '--from', '2026-02-30', '--to', '2026-03-01']);
    assert.equal(r.status, 2);
    r = run(['export', '--db', f.db, '--from', '2026-03-01', '--to', '2026-03-02', '-F', 'pdf']);
    assert.equal(r.status, 2);
    r = run(['export', '--db', f.db, '--from', '2026-03-01', '--to', '2026-03-02', '-g', 'nope']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no group named 'nope'/);
    r = run(['export', '--db', f.db, '--from', '2020-01-01', '--to', '2026-03-02']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /at most 366 days/);
  } finally {
    f.done();
  }
});
