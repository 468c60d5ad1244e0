// face_cli.test.mjs — the face commands of the real `rollcall` binary on the
// test photos: detect (text, JSON, --draw), embed (and its agreement with ONNX
// Runtime on the same aligned crops), compare, identify against a folder
// gallery, and clear errors for corrupt, empty, huge and non-image inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.ROLLCALL_BIN;
const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const MODELS = process.env.ROLLCALL_MODELS;
const env = { ...process.env, ROLLCALL_MODELS: MODELS };
const run = (args) => spawnSync(BIN, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
const tmp = mkdtempSync(join(tmpdir(), 'rollcall-face-'));

// A minimal RGB PNG encoder (node has zlib), to hand pixels back to rollcall.
function png(width, height, rgb) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (1 + width * 3) + 1, y * width * 3, (y + 1) * width * 3);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

test('every face command has --help', () => {
  for (const cmd of ['detect', 'embed', 'compare', 'identify']) {
    const r = run([cmd, '--help']);
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, new RegExp(`Usage: rollcall ${cmd}`));
  }
  const b = run(['bench', '--help']);
  assert.match(b.stdout, /pipeline/);
  assert.match(b.stdout, /gallery/);
});

test('detect finds the two men in the Obama and Biden photo and draws them', () => {
  const out = join(tmp, 'ob.jpg');
  const r = run(['detect', '--json', '--draw', out, join(FACES, 'group/ageitgey_obama_and_biden.jpg')]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.length, 1);
  const faces = doc[0].faces;
  assert.ok(faces.length >= 2);
  for (const f of faces.slice(0, 2)) {
    assert.ok(f.score > 0.9);
    assert.ok(f.box.w > 100 && f.box.h > 100);
    assert.ok(f.landmarks.left_eye[0] < f.landmarks.right_eye[0]);
    assert.ok(f.liveness >= 0 && f.liveness <= 1);
    assert.equal(typeof f.quality.ok, 'boolean');
  }
  const jpg = readFileSync(out);
  assert.equal(jpg[0], 0xff);
  assert.equal(jpg[1], 0xd8);
});

test('detect on a photo without faces prints zero faces', () => {
  const r = run(['detect', join(FACES, 'noface/ocv4n_car.jpg')]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /: 0 faces/);
});

test('bad input gives clear errors, never a crash', () => {
  const empty = join(tmp, 'empty.jpg');
  writeFileSync(empty, '');
  const text = join(tmp, 'notes.jpg');
  writeFileSync(text, 'this is not a photo\n');
  const photo = readFileSync(join(FACES, 'group/ageitgey_obama_and_biden.jpg'));
  const cut = join(tmp, 'truncated.jpg');
  writeFileSync(cut, photo.subarray(0, photo.length >> 1));
  const huge = Buffer.from(photo);
  for (let i = 0; i + 9 < huge.length; i++)
    if (huge[i] === 0xff && (huge[i + 1] === 0xc0 || huge[i + 1] === 0xc2)) {
      huge.writeUInt16BE(60000, i + 5);
      huge.writeUInt16BE(60000, i + 7);
      break;
    }
  const big = join(tmp, 'huge.jpg');
  writeFileSync(big, huge);
  const cases = [
    [empty, /empty input: not an image/],
    [text, /not a JPEG, PNG, WebP or HEIC image/],
    [cut, /corrupt or truncated JPEG/],
    [big, /over the limit of 40.0 megapixels/],
    [join(tmp, 'missing.jpg'), /missing\.jpg/],
  ];
  for (const [file, msg] of cases) {
    const r = run(['detect', file]);
    assert.equal(r.status, 1, file);
    assert.match(r.stderr, msg);
    const e = run(['embed', file]);
    assert.equal(e.status, 1);
    assert.match(e.stderr, msg);
  }
  const u = run(['detect', '--threshold', '7', join(FACES, 'noface/ocv4n_car.jpg')]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--threshold must be a number from 0 to 1/);
  const m = run(['detect', '--models', join(tmp, 'nomodels'), join(FACES, 'noface/ocv4n_car.jpg')]);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /fr_detect\.onnx/);
  const n = run(['embed', join(FACES, 'noface/ocv4n_car.jpg')]);
  assert.equal(n.status, 1);
  assert.match(n.stderr, /no face found/);
});

// Float (ROLLCALL_NN_INT8=0) is compared with ONNX Runtime tightly; int8,
// the default on VNNI CPUs, with its own bar (face-int8 holds it to the
// accuracy figures).
test('embed prints a unit-length 512-d embedding with the model id, matching ONNX Runtime', async () => {
  const raw = join(tmp, 'aligned.rgb');
  const floatRun = (args) => spawnSync(BIN, args, { encoding: 'utf8', env: { ...env, ROLLCALL_NN_INT8: '0' } });
  const r = floatRun(['embed', '--dump-aligned', raw, join(FACES, 'id/deepface_angelina/1.jpg')]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.match(doc.model, /^fr_feature\.onnx@sha256:[0-9a-f]{12}$/);
  assert.equal(doc.embedding.length, 512);
  const norm = Math.hypot(...doc.embedding);
  assert.ok(Math.abs(norm - 1) < 1e-4);
  // The same aligned crop through ONNX Runtime: (x - 127) / 128, RGB planes.
  const px = readFileSync(raw);
  assert.equal(px.length, 112 * 112 * 3);
  const input = new Float32Array(3 * 112 * 112);
  for (let i = 0; i < 112 * 112; i++)
    for (let c = 0; c < 3; c++) input[c * 112 * 112 + i] = (px[3 * i + c] - 127) / 128;
  const require = createRequire(import.meta.url);
  const ort = require(join(process.env.ROLLCALL_SOURCE, 'node_modules', 'onnxruntime-node'));
  const s = await ort.InferenceSession.create(join(MODELS, 'fr_feature.onnx'), { intraOpNumThreads: 1 });
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 112, 112]) });
  const ref = Array.from(out[s.outputNames[0]].data);
  const rn = Math.hypot(...ref);
  let cos = 0;
  for (let i = 0; i < 512; i++) cos += (ref[i] / rn) * doc.embedding[i];
  assert.ok(cos >= 0.999, `cosine with ONNX Runtime ${cos}`);
  // the default (int8 on VNNI CPUs) on the same photo: the same model id
  const d = run(['embed', join(FACES, 'id/deepface_angelina/1.jpg')]);
  assert.equal(d.status, 0, d.stderr);
  const dd = JSON.parse(d.stdout);
  assert.equal(dd.model, doc.model);
  let dcos = 0;
  for (let i = 0; i < 512; i++) dcos += (ref[i] / rn) * dd.embedding[i];
  assert.ok(dcos >= 0.99, `default path: cosine with ONNX Runtime ${dcos}`);
  // --aligned on the same crop, saved as a PNG, gives the same embedding.
  const crop = join(tmp, 'aligned.png');
  writeFileSync(crop, png(112, 112, px));
  const a = floatRun(['embed', '--aligned', crop]);
  assert.equal(a.status, 0, a.stderr);
  const again = JSON.parse(a.stdout).embedding;
  let same = 0;
  for (let i = 0; i < 512; i++) same += again[i] * doc.embedding[i];
  assert.ok(same > 0.99999, `same crop, cosine ${same}`);
  // ...and a photo that is not an aligned crop is refused.
  const bad = run(['embed', '--aligned', join(FACES, 'id/deepface_angelina/1.jpg')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /112x112/);
});

test('compare says same person for two photos of one person, different otherwise', () => {
  const same = run(['compare', '--json', join(FACES, 'id/ageitgey_obama/1.jpg'), join(FACES, 'id/ageitgey_obama/2.jpg')]);
  assert.equal(same.status, 0, same.stderr);
  const a = JSON.parse(same.stdout);
  assert.equal(a.same, true);
  const diff = run(['compare', join(FACES, 'id/ageitgey_obama/1.jpg'), join(FACES, 'id/deepface_angelina/1.jpg')]);
  assert.equal(diff.status, 0);
  assert.match(diff.stdout, /different people/);
  const usage = run(['compare', join(FACES, 'id/ageitgey_obama/1.jpg')]);
  assert.equal(usage.status, 2);
});

const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

test('embed --json takes several photos: one JSON line each, in order, errors as lines', () => {
  const photos = ['group/faceapi_bbt5.jpg', 'noface/ocv4n_car.jpg', 'id/bbt_sheldon/1.jpg', 'group/deepface_couple.jpg']
    .map((p) => join(FACES, p));
  const r = run(['embed', '--json', ...photos]);
  assert.equal(r.status, 1, 'a photo without a face makes the exit status 1');
  assert.match(r.stderr, /ocv4n_car\.jpg: no face found/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => l.file), photos);
  assert.equal(lines[1].error, 'no face found');
  for (const i of [0, 2, 3]) {
    assert.equal(lines[i].embedding.length, 512);
    assert.match(lines[i].model, /^fr_feature\.onnx@/);
  }
  // The bbt5 photo is about the man in the centre (Sheldon), not the face
  // the detector lists first.
  assert.ok(cosine(lines[0].embedding, lines[2].embedding) > 0.5);
  assert.equal(lines[0].ambiguous, false);
  assert.equal(lines[0].faces_found, 5);
  const all = JSON.parse(run(['embed', '--all', photos[0]]).stdout);
  assert.notEqual(all.primary, 0);
  assert.ok(cosine(all.faces[all.primary].embedding, lines[0].embedding) > 0.9999);
  assert.ok(cosine(all.faces[0].embedding, lines[2].embedding) < 0.37);
  // Two people of one size: embedded, but flagged with the reason.
  assert.equal(lines[3].ambiguous, true);
  assert.match(lines[3].ambiguous_reason, /two faces of comparable size/);
  // One process gives the same embedding as one call per photo.
  const alone = JSON.parse(run(['embed', photos[2]]).stdout);
  assert.ok(cosine(alone.embedding, lines[2].embedding) > 0.99999);
  assert.match(run(['embed', '--help']).stdout, /JSON Lines/);
  const two = run(['embed', '--dump-aligned', join(tmp, 'x.rgb'), photos[0], photos[2]]);
  assert.equal(two.status, 2);
  assert.match(two.stderr, /--dump-aligned takes one image/);
});

test('compare and identify use the face the photo is about; enrollment refuses two comparable faces', () => {
  const c = run(['compare', '--json', join(FACES, 'group/faceapi_bbt5.jpg'), join(FACES, 'id/bbt_sheldon/2.jpg')]);
  assert.equal(c.status, 0, c.stderr);
  const doc = JSON.parse(c.stdout);
  assert.equal(doc.same, true);
  assert.equal(doc.threshold, 0.37, 'one pair is judged at the per-pair threshold');
  const amb = run(['compare', join(FACES, 'group/deepface_couple.jpg'), join(FACES, 'id/deepface_angelina/1.jpg')]);
  assert.equal(amb.status, 0, amb.stderr);
  assert.match(amb.stderr, /deepface_couple\.jpg: two faces of comparable size/);
  // A gallery where one photo shows two people alike: skipped with the
  // reason; a group photo with one central face is enrolled as that face.
  const g = join(tmp, 'gallery-pick');
  mkdirSync(join(g, 'angelina'), { recursive: true });
  mkdirSync(join(g, 'sheldon'), { recursive: true });
  symlinkSync(join(FACES, 'group/deepface_couple.jpg'), join(g, 'angelina', 'couple.jpg'));
  symlinkSync(join(FACES, 'id/deepface_angelina/1.jpg'), join(g, 'angelina', '1.jpg'));
  symlinkSync(join(FACES, 'group/faceapi_bbt5.jpg'), join(g, 'sheldon', 'bbt5.jpg'));
  const r = run(['identify', '--json', '--gallery', g, join(FACES, 'id/bbt_sheldon/3.jpg'), join(FACES, 'id/bbt_howard/1.jpg')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /skipped .*couple\.jpg: two faces of comparable size/);
  assert.match(r.stderr, /gallery: 2 people, 2 photos enrolled, 1 skipped/);
  const out = JSON.parse(r.stdout);
  assert.equal(out[0].faces[0].identity, 'sheldon');
  assert.equal(out[1].faces[0].identity, 'unknown', 'Howard (first in the bbt5 photo) was not enrolled');
});

test('identify names the people of a folder gallery in group photos, others unknown', () => {
  // A gallery of three people, linked from the test photos (no copies).
  const g = join(tmp, 'gallery');
  for (const p of ['ageitgey_obama', 'twd_daryl', 'twd_rick']) {
    mkdirSync(join(g, p), { recursive: true });
    symlinkSync(join(FACES, 'id', p, '1.jpg'), join(g, p, '1.jpg'));
    symlinkSync(join(FACES, 'id', p, '2.jpg'), join(g, p, '2.jpg'));
  }
  const out = join(tmp, 'drawn');
  mkdirSync(out);
  const r = run(['identify', '--json', '--gallery', g, '--draw', out,
    join(FACES, 'group/ageitgey_obama_and_biden.jpg'), join(FACES, 'group/ocv4n_daryl-rick.jpg')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /gallery: 3 people, 6 photos enrolled/);
  const doc = JSON.parse(r.stdout);
  const names = (i) => doc[i].faces.filter((f) => f.known).map((f) => f.identity).sort();
  assert.deepEqual(names(0), ['ageitgey_obama']);
  assert.deepEqual(names(1), ['twd_daryl', 'twd_rick']);
  assert.ok(doc[0].faces.some((f) => f.identity === 'unknown'), 'Biden is unknown');
  assert.ok(existsSync(join(out, 'ocv4n_daryl-rick.jpg')));
  // --db takes the server's recognition_threshold setting: the default
  // names the same people; a threshold above every match leaves all unknown.
  const db = join(tmp, 'rollcall.db');
  assert.equal(run(['db', 'migrate', '--db', db]).status, 0);
  const photos = [join(FACES, 'group/ocv4n_daryl-rick.jpg')];
  let d = run(['identify', '--json', '--gallery', g, '--db', db, ...photos]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /threshold 0\.47 \(recognition_threshold of /);
  assert.deepEqual(JSON.parse(d.stdout)[0].faces.filter((f) => f.known).map((f) => f.identity).sort(), ['twd_daryl', 'twd_rick']);
  assert.equal(spawnSync('sqlite3', [db, "INSERT INTO settings VALUES ('recognition_threshold', '0.99')"]).status, 0);
  d = run(['identify', '--json', '--gallery', g, '--db', db, ...photos]);
  assert.equal(d.status, 0, d.stderr);
  assert.ok(JSON.parse(d.stdout)[0].faces.every((f) => !f.known), 'nobody reaches 0.99');
  d = run(['identify', '--gallery', g, '--db', join(tmp, 'nowhere.db'), ...photos]);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /no database there/);
  assert.equal(run(['identify', '--gallery', g, '--db', db, '-t', '0.5', ...photos]).status, 2);
  const missing = run(['identify', join(FACES, 'group/ocv4n_daryl-rick.jpg')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--gallery DIR is required/);
  rmSync(tmp, { recursive: true, force: true });
});

test('calibrate writes the int8 ranges of both models; int8 refuses missing or foreign ranges', () => {
  const out = mkdtempSync(join(tmpdir(), 'rollcall-calib-'));
  let r = run(['calibrate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /give photos/);
  r = run(['calibrate', '--out', out, join(FACES, 'noface/nothing-here.jpg')]);
  assert.equal(r.status, 1);
  // a photo without a face: the detector ran, the embedding model did not
  r = run(['calibrate', '--out', out, join(FACES, 'noface/faceapi_white.jpg')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no calibration run|no face was found/);
  r = run(['calibrate', '--out', out, join(FACES, 'group/ocv4n_daryl-rick.jpg'), join(FACES, 'id/twd_rick')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+ photos, \d+ faces: wrote /);
  for (const m of ['fr_detect', 'fr_feature']) {
    const lines = readFileSync(join(out, `${m}.onnx.int8`), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(lines.length > 20, `${m}: ${lines.length} ranges`);
    for (const l of lines) {
      const [, lo, hi] = l.split(' ');
      assert.ok(+lo <= +hi && Number.isFinite(+lo) && Number.isFinite(+hi), l);
    }
  }
  // each file names the model it was made for
  for (const m of ['fr_detect', 'fr_feature'])
    assert.match(readFileSync(join(out, `${m}.onnx.int8`), 'utf8'), new RegExp(`^# model ${m}\\.onnx@sha256:[0-9a-f]{12}$`, 'm'));
  const photo = join(FACES, 'group/ocv4n_daryl-rick.jpg');
  const detect = (e) => spawnSync(BIN, ['detect', '--json', '--no-liveness', photo],
    { encoding: 'utf8', env: { ...env, ...e } });
  const int8 = (dir) => detect({ ROLLCALL_NN_INT8: '1', ROLLCALL_NN_INT8_RANGES: dir });
  const vnni = /\b(avx512_vnni|avx_vnni)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  if (vnni) {
    r = int8(out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fr_feature\.onnx: \d+ convolutions in int8/);
    const float = detect({ ROLLCALL_NN_INT8: '0' });
    assert.doesNotMatch(float.stderr, /in int8/);
    assert.equal(JSON.parse(r.stdout)[0].faces.length, JSON.parse(float.stdout)[0].faces.length);
    // asked-for ranges must be there and be for these models
    r = int8(join(out, 'nowhere'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /fr_detect\.onnx\.int8 missing for fr_detect\.onnx@/);
    // the detector's ranges given as the embedding model's
    writeFileSync(join(out, 'fr_feature.onnx.int8'), readFileSync(join(out, 'fr_detect.onnx.int8')));
    r = int8(out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /fr_feature\.onnx\.int8 is not for fr_feature\.onnx@/);
    // ... also without the model line: the Conv names do not match
    writeFileSync(join(out, 'fr_feature.onnx.int8'), readFileSync(join(out, 'fr_detect.onnx.int8'), 'utf8')
      .split('\n').filter((l) => !l.startsWith('# model')).join('\n'));
    r = int8(out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has no convolution/);
    // by default (nothing asked) a models directory without ranges runs in
    // float and says so; a bad ROLLCALL_NN_INT8 is refused
    const bare = join(out, 'models');
    mkdirSync(bare);
    for (const f of ['fr_detect', 'fr_landmark', 'fr_feature', 'fr_liveness'])
      symlinkSync(join(MODELS, `${f}.onnx`), join(bare, `${f}.onnx`));
    symlinkSync(join(MODELS, 'manifest.json'), join(bare, 'manifest.json'));
    const e = { ...env, ROLLCALL_MODELS: bare };
    delete e.ROLLCALL_NN_INT8;
    delete e.ROLLCALL_NN_INT8_RANGES;
    r = spawnSync(BIN, ['detect', '--json', '--no-liveness', photo], { encoding: 'utf8', env: e });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fr_feature\.onnx\.int8 missing for .*: the models run in float/);
    assert.deepEqual(JSON.parse(r.stdout)[0].faces, JSON.parse(float.stdout)[0].faces);
    // by default with the ranges there, only the embedding runs in int8:
    // the detector (and so every box and liveness crop) is float's
    const dflt = { ...env };
    delete dflt.ROLLCALL_NN_INT8;
    r = spawnSync(BIN, ['detect', '--json', '--no-liveness', photo], { encoding: 'utf8', env: dflt });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /fr_feature\.onnx: \d+ convolutions in int8/);
    assert.doesNotMatch(r.stderr, /fr_detect\.onnx: \d+ convolutions in int8/);
    assert.deepEqual(JSON.parse(r.stdout)[0].faces, JSON.parse(float.stdout)[0].faces);
    r = detect({ ROLLCALL_NN_INT8: 'yes' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ROLLCALL_NN_INT8=yes: expected 0 \(float\) or 1 \(int8\)/);
  }
  rmSync(out, { recursive: true, force: true });
});
