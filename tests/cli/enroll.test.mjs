// enroll.test.mjs — `rollcall enroll` and `rollcall import` on real photos
// (copied into a temporary folder, never into the repository): help texts and
// usage errors, one progress line per photo, the server's enrollment policy
// (no face, duplicate identity, different people, no person created when
// nothing is accepted), roster.csv names and groups, and the result as the
// server then sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client } from '../http/lib.mjs';

const BIN = process.env.ROLLCALL_BIN;
const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const face = (rel) => join(FACES, rel);
let dir, db;

const run = (args) => spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, ROLLCALL_DB: '' } });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-enroll-'));
  db = join(dir, 'data', 'rollcall.db');
  const ds = join(dir, 'dataset');
  const put = (person, files) => {
    mkdirSync(join(ds, person), { recursive: true });
    for (const [src, name] of files) copyFileSync(face(src), join(ds, person, name));
  };
  put('ANG', [['id/deepface_angelina/1.jpg', '1.jpg'], ['id/deepface_angelina/2.jpg', '2.jpg'], ['id/deepface_angelina/3.jpg', '3.JPG']]);
  put('P02', [['id/deepface_person02/1.jpg', 'a.jpg'], ['id/deepface_person02/2.jpg', 'b.jpg'], ['noface/ocv4n_banana.jpg', 'c.jpg']]);
  put('GHOST', [['noface/ocv4n_banana.jpg', 'x.jpg']]);
  put('MIXED', [['id/deepface_person03/1.jpg', '1.jpg'], ['id/deepface_person04/1.jpg', '2.jpg']]);
  writeFileSync(join(ds, 'notes.txt'), 'not a person');
  writeFileSync(join(ds, 'roster.csv'),
    '\ufeffcode,first name,last name,kind,group\r\nANG,Angelina,"Jolie, Voight",student,Class A\r\nNOFOLDER,No,Folder,student,\r\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('enroll --help and import --help describe every option; usage errors exit 2', () => {
  let r = run(['enroll', '--help']);
  assert.equal(r.status, 0);
  for (const o of ['--person', '--name', '--allow-duplicate', '--consent', '--db', '--models']) assert.ok(r.stdout.includes(o), o);
  r = run(['import', '--help']);
  assert.equal(r.status, 0);
  for (const o of ['roster.csv', '--db', '--models', '--consent']) assert.ok(r.stdout.includes(o), o);
  r = run(['enroll', '--db', db, 'x.jpg']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--person CODE is required/);
  r = run(['enroll', '--db', db, '--person', 'A']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /one or more photos/);
  r = run(['import', '--db', db]);
  assert.equal(r.status, 2);
  r = run(['import', '--db', db, join(dir, 'no-such-folder')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read the folder/);
  assert.match(run(['--help']).stdout, /enroll[\s\S]*import/);
});

test('import enrolls one folder per person with the server policy and progress lines', () => {
  const r = run(['import', '--db', db, join(dir, 'dataset')]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /Importing 9 photo\(s\) of 4 person folder\(s\)/);
  assert.match(out, /\[1\/9\] ANG\/1\.jpg: accepted/);
  assert.match(out, /ANG\/3\.JPG: accepted/);
  assert.match(out, /group 'Class A' created/);
  assert.match(out, /GHOST\/x\.jpg: refused \(no_face\)/);
  assert.match(out, /GHOST not created/);
  assert.match(out, /MIXED\/1\.jpg: refused \(different_people\)/);
  assert.match(out, /MIXED\/2\.jpg: refused \(different_people\)/);
  assert.match(out, /P02\/a\.jpg: accepted/);
  assert.match(out, /P02\/c\.jpg: refused \(no_face\)/);
  assert.match(out, /\[9\/9\]/);
  assert.match(out, /NOFOLDER has no photo folder/);
  assert.match(out, /Done: 5 of 9 photo\(s\) accepted, 2 person\(s\) created/);
});

test('enroll refuses a face of another enrolled person, naming them; --allow-duplicate overrides', () => {
  let r = run(['enroll', '--db', db, '--person', 'P02', face('id/deepface_angelina/7.jpg')]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /refused \(duplicate_identity\): this face belongs to Angelina Jolie, Voight \(ANG\)/);
  r = run(['enroll', '--db', db, '--person', 'NEW1', face('id/deepface_person05/1.jpg')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no person with code 'NEW1'.*--name/);
  r = run(['enroll', '--db', db, '--person', 'NEW1', '--name', 'Nuevo Uno', '--consent',
    face('id/deepface_person05/1.jpg'), face('id/deepface_person05/2.jpg')]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Enrolling 2 photo\(s\) for Nuevo Uno/);
  assert.match(r.stdout, /2 of 2 photo\(s\) accepted; person created/);
  r = run(['enroll', '--db', db, '--person', 'NEW1', '--allow-duplicate', face('id/deepface_angelina/8.jpg')]);
  // The override lifts duplicate_identity only: the photo is still not of NEW1.
  assert.equal(r.status, 1);
  assert.match(r.stdout, /refused \(different_people\)/);
});

test('the server sees what the CLI enrolled: names, groups, faces, and no ghost', async () => {
  const srv = await startServer({ args: ['--data', join(dir, 'data'), '--models', join(dir, 'no-models'),
    '--admin-email', 'admin@example.org', '--admin-password', 'admin-pass-1'] });
  try {
    const admin = new Client(srv.url);
    await admin.login('admin@example.org', 'admin-pass-1');
    const persons = (await admin.get('/api/v1/persons?limit=100')).body.items;
    const byCode = Object.fromEntries(persons.map((p) => [p.external_id, p]));
    assert.deepEqual(Object.keys(byCode).sort(), ['ANG', 'NEW1', 'P02']);
    assert.equal(byCode.ANG.first_name, 'Angelina');
    assert.equal(byCode.ANG.last_name, 'Jolie, Voight');
    assert.equal(byCode.ANG.kind, 'student');
    assert.equal(byCode.ANG.face_count, 3);
    assert.equal(byCode.P02.face_count, 2);
    assert.equal(byCode.NEW1.face_count, 2);
    assert.ok(byCode.NEW1.consent_at, 'consent recorded');
    const groups = (await admin.get('/api/v1/groups')).body.items;
    const a = groups.find((g) => g.name === 'Class A');
    assert.ok(a);
    const members = (await admin.get(`/api/v1/groups/${a.id}/members`)).body;
    assert.deepEqual(members.items.map((m) => m.external_id), ['ANG']);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
