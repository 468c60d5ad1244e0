// bench.test.mjs — `rollcall bench models` from the outside: help, usage
// errors, a clear error for a broken model file, and the timing output for a
// real model (format only: speed belongs to `make bench`, not to tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.ROLLCALL_BIN;
const MODELS = process.env.ROLLCALL_MODELS;
const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8' });

test('rollcall bench lists its benchmarks; bench models --help lists the options', () => {
  const r = run('bench', '--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /models/);
  const h = run('bench', 'models', '--help');
  assert.equal(h.status, 0);
  for (const opt of ['--models', '--runs', '--warmup', '--tsv', '--cpu-time', '--profile', '--ops'])
    assert.ok(h.stdout.includes(opt), `bench models --help mentions ${opt}`);
});

test('usage errors exit 2 with a message', () => {
  const r = run('bench', 'nosuch');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown benchmark 'nosuch'/);
  const n = run('bench', 'models', '--runs', '0');
  assert.equal(n.status, 2);
  assert.match(n.stderr, /--runs/);
});

test('a broken model file is reported by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-'));
  try {
    const f = join(dir, 'broken.onnx');
    writeFileSync(f, Buffer.from([0x08, 0x07, 0x12, 0xff, 0xff]));
    const r = run('bench', 'models', '--runs', '1', f);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.onnx: .*(ONNX|protobuf|graph)/);
    const e = run('bench', 'models', '--models', dir);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /broken\.onnx/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench models times a real model and prints median and p90', () => {
  const r = run('bench', 'models', '--runs', '3', '--warmup', '1', '--tsv', join(MODELS, 'fr_eye.onnx'));
  assert.equal(r.status, 0, r.stderr);
  const [name, median, p90, runs, shape] = r.stdout.trim().split('\t');
  assert.equal(name, 'fr_eye.onnx');
  assert.ok(Number(median) > 0 && Number(p90) >= Number(median));
  assert.equal(runs, '3');
  assert.equal(shape, '1x1x24x24');
  const p = run('bench', 'models', '--runs', '2', '--profile', '--ops', join(MODELS, 'fr_eye.onnx'));
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /median ms/);
  assert.match(p.stdout, /Conv/);
  assert.match(p.stdout, /nodes after fusion/);
  // the model's multiply-adds and rate, each profiled Conv's rate, and the
  // core's ceiling measured in the same run
  const mm = p.stdout.match(/([\d.]+) M multiply-adds a run: ([\d.]+) G\/s at the median/);
  assert.ok(mm && Number(mm[1]) > 0 && Number(mm[2]) > 0, p.stdout);
  assert.match(p.stdout, /[\d.]+ G\/s {2}Conv/);
  const avx512 = process.arch === 'x64' && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const capped = !!process.env.ROLLCALL_NN_CPU;
  const ceil = p.stdout.match(/this core's ceiling \(multiply-adds per second, G\): fp32 ([\d.]+) \(([^)]+)\)/);
  if (avx512 && !capped) {
    assert.ok(ceil && Number(ceil[1]) > 0, p.stdout);
    assert.equal(ceil[2], 'AVX-512 FMA');
  }
  const g = spawnSync(BIN, ['bench', 'models', '--runs', '1', join(MODELS, 'fr_eye.onnx')], {
    encoding: 'utf8',
    env: { ...process.env, ROLLCALL_NN_CPU: 'generic' },
  });
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /this core's ceiling \(multiply-adds per second, G\): none \(the engine runs its plain C kernels here\)/);
});

test('bench models --ops names the pairs run in row bands; ROLLCALL_NN_BAND=0 runs none, =2 is refused', () => {
  const env = (band) => {
    const e = { ...process.env, ROLLCALL_NN_BAND: band };
    delete e.ROLLCALL_NN_CPU;
    return e;
  };
  const runEnv = (band, ...args) => spawnSync(BIN, args, { encoding: 'utf8', env: env(band) });
  const model = join(MODELS, 'fr_detect.onnx');
  const on = runEnv('1', 'bench', 'models', '--runs', '1', '--warmup', '0', '--ops', model);
  assert.equal(on.status, 0, on.stderr);
  // the engine bands on its AVX-512 path only
  const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  if (avx512)
    assert.match(on.stdout, /row bands: 2 \(Conv_0\+Conv_2\+Conv_4\+Conv_6 Conv_8\+Conv_10\+Conv_12\+Conv_14\)/);
  else assert.match(on.stdout, /row bands: 0/);
  const off = runEnv('0', 'bench', 'models', '--runs', '1', '--warmup', '0', '--ops', model);
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /row bands: 0\n/);
  const bad = runEnv('2', 'bench', 'models', '--runs', '1', '--warmup', '0', model);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ROLLCALL_NN_BAND=2: expected 0/);
});

test('bench pipeline --one prints each stage, the total, and the core rate around the frame', () => {
  const env = { ...process.env };
  delete env.ROLLCALL_NN_CPU;
  const r = spawnSync(BIN, ['bench', 'pipeline', '--one', '--runs', '2', '--cpu-time'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  for (const stage of ['decode', 'detect', 'landmarks', 'align', 'embed', 'liveness', 'quality', 'search', 'total']) {
    const m = r.stdout.match(new RegExp(`^  ${stage} +([\\d.]+) +([\\d.]+) +([\\d.]+)x$`, 'm'));
    assert.ok(m && Number(m[1]) > 0 && Number(m[2]) > 0, `${stage} row in:\n${r.stdout}`);
  }
  // the fp32 probe before and after the frame's runs, where the engine has
  // a SIMD path (every x86-64 with AVX2 or AVX-512)
  const rate = r.stdout.match(/this core's fp32 multiply-add rate before \/ after the frame's runs: ([\d.]+) \/ ([\d.]+) G\/s \(([^,]+), registers only\)/);
  const simd = process.arch === 'x64' && /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  if (simd) assert.ok(rate && Number(rate[1]) > 0 && Number(rate[2]) > 0, r.stdout);
  else assert.equal(rate, null);
});
