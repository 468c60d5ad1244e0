// ort_bench.mjs — time ONNX Runtime (onnxruntime-node, intraOpNumThreads 1)
// on the same models and the same kind of inputs as `rollcall bench models`,
// printing the same tab-separated lines: model, median ms, p90 ms, runs.
//
// Usage: node ort_bench.mjs MODELS_DIR RUNS WARMUP MODEL.onnx:1x3x112x112...
// (each model with the input shape to feed, as `rollcall bench models --tsv`
// prints it).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ort = require(path.join(root, 'node_modules', 'onnxruntime-node'));

const [dir, runsArg, warmArg, ...models] = process.argv.slice(2);
const runs = Number(runsArg), warmup = Number(warmArg);
const cpuTime = process.env.CPU_TIME === '1';
for (const file of models) {
  const s = await ort.InferenceSession.create(path.join(dir, file.split(':')[0]), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const feeds = {};
  const dims = file.split(':')[1].split('x').map(Number);
  const name = s.inputNames[0];
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    x[i] = (seed >>> 8) / (1 << 24) * 2 - 1;
  }
  feeds[name] = new ort.Tensor('float32', x, dims);
  const ms = [];
  for (let i = 0; i < warmup + runs; i++) {
    // CPU_TIME=1: process CPU time (steadier on a busy machine), else wall.
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    const cu = process.cpuUsage(c0);
    const t = cpuTime ? (cu.user + cu.system) / 1e3 : Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= warmup) ms.push(t);
  }
  ms.sort((a, b) => a - b);
  const median = runs % 2 ? ms[(runs - 1) / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  const p90 = ms[Math.round((runs - 1) * 0.9)];
  console.log(`${file.split(':')[0]}\t${median.toFixed(3)}\t${p90.toFixed(3)}\t${runs}`);
}
