#!/usr/bin/env bash
# http.sh — load test of POST /api/v1/recognize on the real server: one
# enrolled person, a real face JPEG, 1, 4 and 16 concurrent clients (keep-alive
# connections, each sending the next request when the last answer arrived).
# Prints requests/s and p50/p99 latency for each, beside two references
# measured in the same run: GET /healthz at the same concurrency (the HTTP
# layer alone) and the server's own pipeline time per frame (the `ms` field
# of the answers, i.e. the work no HTTP tuning can remove). Then the scaling
# run (bench/http_scaling.mjs): a 640x480 frame on --threads 1 beside
# --threads 2, frames/s and their ratio, and where the recognition threads
# spent their time.
# Usage: bench/http.sh  (ROLLCALL_BIN, MODELS, SECONDS_PER_RUN, THREADS may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
MODELS=${MODELS:-models}
SECS=${SECONDS_PER_RUN:-8}
FACES=${ROLLCALL_TESTDATA:-../shared/testdata}/faces
[[ -x $BIN ]] || { echo "http.sh: $BIN not found (run 'make build')" >&2; exit 1; }
[[ -f $MODELS/fr_detect.onnx ]] || { echo "http.sh: no models in $MODELS (run 'make models')" >&2; exit 1; }
[[ -d $FACES/id ]] || { echo "http.sh: no test photos in $FACES" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
threads=()
[[ -n ${THREADS:-} ]] && threads=(--threads "$THREADS")
"$BIN" serve --listen 127.0.0.1:0 --data "$tmp/data" --models "$MODELS" --no-access-log \
  --admin-password bench-admin-1 "${threads[@]}" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*/' "$tmp/out") || { cat "$tmp/err" >&2; exit 1; }

node --input-type=module - "$url" "$FACES" "$SECS" <<'JS'
import { readFileSync } from 'node:fs';
import http from 'node:http';
const [base, faces, secs] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const u = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
const json = (r) => JSON.parse(r.body.toString());

// Set up: admin session, a device key, one person with two enrolled photos.
let r = await request('POST', '/api/v1/auth/login', { 'Content-Type': 'application/json' },
  JSON.stringify({ email: 'admin@localhost', password: 'bench-admin-1' }));
const cookie = r.headers['set-cookie'][0].split(';')[0];
const csrf = json(r).csrf_token;
const adm = { Cookie: cookie, 'X-CSRF-Token': csrf };
r = await request('POST', '/api/v1/api-keys', { ...adm, 'Content-Type': 'application/json' }, JSON.stringify({ name: 'bench', role: 'device' }));
const key = json(r).key;
r = await request('POST', '/api/v1/persons', { ...adm, 'Content-Type': 'application/json' },
  JSON.stringify({ external_id: 'B1', first_name: 'Bench', last_name: 'Mark', kind: 'other' }));
const pid = json(r).id;
for (const n of [1, 2]) {
  r = await request('POST', `/api/v1/persons/${pid}/faces`, { ...adm, 'Content-Type': 'image/jpeg' },
    readFileSync(`${faces}/id/deepface_angelina/${n}.jpg`));
}
const jpeg = readFileSync(`${faces}/id/deepface_angelina/3.jpg`);
const dev = { Authorization: `Bearer ${key}` };
r = await request('POST', '/api/v1/recognize', { ...dev, 'Content-Type': 'image/jpeg' }, jpeg);
const first = json(r);
if (r.status !== 200 || first.faces[0]?.identity?.external_id !== 'B1') {
  console.error('bench: the warm-up recognition did not name the enrolled person', r.status, r.body.toString());
  process.exit(1);
}

async function run(conc, make) {
  const lat = [], work = [];
  let errors = 0;
  const end = performance.now() + secs * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const res = await make();
      lat.push(performance.now() - s);
      if (res.status !== 200) errors++;
      else if (res.work !== undefined) work.push(res.work);
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  work.sort((a, b) => a - b);
  const q = (a, p) => a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN;
  return { rps: lat.length / wall, p50: q(lat, 0.5), p99: q(lat, 0.99), n: lat.length, errors, work50: q(work, 0.5) };
}

const recognize = async () => {
  const res = await request('POST', '/api/v1/recognize', { ...dev, 'Content-Type': 'image/jpeg' }, jpeg);
  return { status: res.status, work: res.status === 200 ? json(res).ms : undefined };
};
const healthz = async () => ({ status: (await request('GET', '/healthz', {})).status });

console.log(`POST /api/v1/recognize, ${jpeg.length} byte JPEG (${first.width}x${first.height}, 1 face, gallery of 2), ${secs} s per run`);
console.log('clients   recognize req/s   p50 ms   p99 ms  errors | pipeline ms p50 | healthz req/s  p50 ms  p99 ms');
for (const c of [1, 4, 16]) {
  const a = await run(c, recognize);
  const h = await run(c, healthz);
  console.log(`${String(c).padStart(7)} ${a.rps.toFixed(1).padStart(17)} ${a.p50.toFixed(1).padStart(8)} ${a.p99.toFixed(1).padStart(8)} ${String(a.errors).padStart(7)} | ${a.work50.toFixed(1).padStart(15)} | ${h.rps.toFixed(0).padStart(13)} ${h.p50.toFixed(2).padStart(7)} ${h.p99.toFixed(2).padStart(7)}`);
}
console.log('(pipeline ms: the server\'s own time per frame from decode to answer; healthz: the HTTP layer alone)');
agent.destroy();
JS

# Scaling with the cores: --threads 1 beside --threads 2 (see the script).
echo
node bench/http_scaling.mjs 2 3 "$SECS" 4
