// ort_reference.mjs — run ONNX Runtime (onnxruntime-node, one thread) on
// inputs written by the C tests and write its outputs back, so the C side can
// compare Rollcall's engine with the reference.
//
// Usage: node ort_reference.mjs JOBS_FILE
// Each line of JOBS_FILE: MODEL INPUT_FILE DIMS OUTPUT_PREFIX
//   INPUT_FILE holds raw little-endian float32 values for the model's first
//   input, DIMS is comma-separated (1,3,112,112). For every model output i
//   the script writes OUTPUT_PREFIX.i.bin (float32) and OUTPUT_PREFIX.i.shape
//   (comma-separated dims).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = process.env.ROLLCALL_SOURCE || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ort = require(path.join(root, 'node_modules', 'onnxruntime-node'));

const jobs = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const sessions = new Map();
for (const line of jobs) {
  const [model, input, dims, prefix] = line.split(' ');
  let s = sessions.get(model);
  if (!s) {
    s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    sessions.set(model, s);
  }
  const buf = readFileSync(input);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const shape = dims.split(',').map(Number);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, shape) });
  s.outputNames.forEach((name, i) => {
    const t = out[name];
    const f = Float32Array.from(t.data, Number);
    writeFileSync(`${prefix}.${i}.bin`, Buffer.from(f.buffer));
    writeFileSync(`${prefix}.${i}.shape`, t.dims.join(','));
  });
}
