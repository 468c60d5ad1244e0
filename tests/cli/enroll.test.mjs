// enroll.test.mjs — `rollcall enroll` and `rollcall import` on real photos
// (copied into a temporary folder, never into the repository): help texts and
// usage errors, one progress line per photo, the server's enrollment policy
// (no face, duplicate identity, different people, no person created when
// nothing is accepted), roster.csv names and groups, and the result as the
// server then sees it; then the import rules of src/dataset: stray files,
// unsupported formats refused before counting, accented and NFD folder names,
// the comma form, a roster alone (Spanish Excel CSV), WebP and HEIC photos
// made at test time, and nobody created or changed without an accepted photo.
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
  for (const o of ['--roster', '--db', '--models', '--consent', '--no-folder-codes', '1234_Ana_Garcia', 'María José Núñez', 'Núñez García, María José', 'código', '.heic', '.webp'])
    assert.ok(r.stdout.includes(o), o);
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
  assert.match(out, /Importing 9 photo\(s\) of 4 person folder\(s\) and 2 roster row\(s\)/);
  assert.match(out, /skipped notes\.txt \(stray_file\)/, 'a stray top-level file is no person');
  assert.match(out, /\[1\/9\] ANG\/1\.jpg: accepted/);
  assert.match(out, /ANG\/3\.JPG: accepted/);
  assert.match(out, /GHOST\/x\.jpg: refused \(no_face\)/);
  assert.match(out, /GHOST was not created/);
  assert.match(out, /MIXED\/1\.jpg: refused \(different_people\)/);
  assert.match(out, /MIXED\/2\.jpg: refused \(different_people\)/);
  assert.match(out, /P02\/a\.jpg: accepted/);
  assert.match(out, /P02\/c\.jpg: refused \(no_face\)/);
  assert.match(out, /\[9\/9\]/);
  assert.match(out, /person NOFOLDER \(No Folder\): created from the roster \(no photos\)/);
  assert.match(out, /Done: 5 of 9 photo\(s\) accepted, 3 person\(s\) created, 0 updated, 1 skipped/);
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
    assert.deepEqual(Object.keys(byCode).sort(), ['ANG', 'NEW1', 'NOFOLDER', 'P02']);
    assert.equal(byCode.NOFOLDER.face_count, 0);
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

const tool = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const nfd = (s) => s.normalize('NFD');

test('import rules: stray and unsupported files, accented NFD folders, WebP and HEIC photos', { skip: !tool('cwebp') || !tool('heif-enc') ? 'cwebp/heif-enc missing (scripts/bootstrap installs webp, libheif-examples)' : false }, () => {
  const db2 = join(dir, 'rules', 'rollcall.db');
  const ds = join(dir, 'rules-ds');
  const maria = nfd('María José Núñez'); // as a macOS zip stores it
  mkdirSync(join(ds, maria), { recursive: true });
  mkdirSync(join(ds, 'Pérez Gil, Ana Belén'), { recursive: true });
  mkdirSync(join(ds, 'S7', 'old'), { recursive: true });
  copyFileSync(face('id/deepface_person06/1.jpg'), join(ds, maria, '1.jpg'));
  assert.equal(spawnSync('cwebp', ['-quiet', face('id/deepface_person06/2.jpg'), '-o', join(ds, maria, '2.webp')]).status, 0);
  assert.equal(spawnSync('heif-enc', ['-q', '60', face('id/deepface_person07/1.jpg'), '-o', join(ds, 'Pérez Gil, Ana Belén', '1.heic')]).status, 0);
  copyFileSync(face('id/deepface_person08/1.jpg'), join(ds, 'S7', '1.jpg'));
  copyFileSync(face('id/deepface_person08/2.jpg'), join(ds, 'S7', 'old', '2.jpg'));
  for (const f of ['notes.txt', 'scan.pdf', 'clip.mov']) writeFileSync(join(ds, 'S7', f), 'x'.repeat(100));
  writeFileSync(join(ds, 'foto.jpg'), 'x');
  writeFileSync(join(ds, '.DS_Store'), 'x');
  const r = run(['import', '--db', db2, ds]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = r.stdout;
  // Unsupported files are refused before counting: 4 photos, not 7.
  assert.match(out, /Importing 4 photo\(s\) of 3 person folder\(s\)/);
  for (const f of ['clip.mov', 'notes.txt', 'scan.pdf']) assert.match(out, new RegExp(`skipped S7/${f.replace('.', '\\.')} \\(unsupported_format\\)`));
  assert.match(out, /skipped S7\/old\/2\.jpg \(nested_folder\)/);
  assert.match(out, /skipped foto\.jpg \(stray_file\)/);
  assert.match(out, /skipped \.DS_Store \(hidden_file\)/);
  assert.match(out, /2\.webp: accepted/);
  assert.match(out, /1\.heic: accepted/);
  assert.match(out, /\[4\/4\]/);
  assert.match(out, /Done: 4 of 4 photo\(s\) accepted, 3 person\(s\) created, 0 updated, 6 skipped/);
  const people = spawnSync('sqlite3', ['-separator', '|', db2, 'SELECT external_id, first_name, last_name FROM persons ORDER BY id'], { encoding: 'utf8' }).stdout.trim().split('\n');
  assert.deepEqual(people, ['María José Núñez|María José|Núñez', 'Pérez Gil, Ana Belén|Ana Belén|Pérez Gil', 'S7|S7|']);
  // The same folder in NFC is the same person: nobody new, photos added.
  mkdirSync(join(dir, 'rules-nfc', 'María José Núñez'), { recursive: true });
  copyFileSync(face('id/deepface_person06/3.jpg'), join(dir, 'rules-nfc', 'María José Núñez', '3.jpg'));
  const again = run(['import', '--db', db2, join(dir, 'rules-nfc')]);
  assert.equal(again.status, 0, again.stdout);
  assert.match(again.stdout, /person María José Núñez \(María José Núñez\): existing person, 1 of 1/);
  assert.match(again.stdout, /0 person\(s\) created/);
});

test('a roster alone creates and updates people and groups; refused photos change nobody', () => {
  const db3 = join(dir, 'roster', 'rollcall.db');
  const csv = join(dir, 'alumnos.csv');
  // Spanish Excel: BOM, ';', Spanish header in its own order, a bad row.
  writeFileSync(csv, '\ufeffApellidos;Nombre;Código;Grupo;Tipo;Correo\r\nNúñez;María José;S001;1º A;alumna;mj@example.org\r\n' +
    'Ruiz;Pedro;S002;1º B;alumno;\r\nCódigo;Sin;;;;\r\nMal;Correo;S004;;;no-es-correo\r\n');
  let r = run(['import', '--db', db3, '--roster', csv]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /alumnos\.csv line 4: the code is empty/);
  assert.match(r.stdout, /alumnos\.csv line 5: 'no-es-correo' is not an email address/);
  assert.match(r.stdout, /person S001 \(María José Núñez\): created from the roster \(no photos\)/);
  assert.match(r.stdout, /2 person\(s\) created, 0 updated, 2 skipped/);
  const q = (sql) => spawnSync('sqlite3', ['-separator', '|', db3, sql], { encoding: 'utf8' }).stdout.trim();
  assert.equal(q("SELECT first_name, last_name, kind, email FROM persons WHERE external_id = 'S001'"), 'María José|Núñez|student|mj@example.org');
  assert.equal(q('SELECT g.name, p.external_id FROM person_groups g JOIN group_members m ON m.group_id = g.id JOIN persons p ON p.id = m.person_id ORDER BY 2'),
    '1º A|S001\n1º B|S002');
  // A folder named by the person's name finds its roster row; its photos
  // are all refused, so the roster's new name is not applied either.
  const ds = join(dir, 'roster-ds');
  mkdirSync(join(ds, 'Pedro Ruiz Otro'), { recursive: true });
  copyFileSync(face('noface/ocv4n_banana.jpg'), join(ds, 'Pedro Ruiz Otro', '1.jpg'));
  writeFileSync(join(ds, 'roster.csv'), 'code,first name,last name\nS002,Pedro,Ruiz Otro\n');
  r = run(['import', '--db', db3, ds]);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /Pedro Ruiz Otro\/1\.jpg: refused \(no_face\)/);
  assert.match(r.stdout, /no photo was accepted: S002 was not changed/);
  assert.equal(q("SELECT last_name FROM persons WHERE external_id = 'S002'"), 'Ruiz');
  // With an accepted photo the roster row applies to the existing person.
  copyFileSync(face('id/deepface_person09/1.jpg'), join(ds, 'Pedro Ruiz Otro', '2.jpg'));
  r = run(['import', '--db', db3, ds]);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /person S002 \(Pedro Ruiz Otro\): updated, 1 of 2 photo\(s\) accepted/);
  assert.equal(q("SELECT count(*) FROM persons"), '2');
});
