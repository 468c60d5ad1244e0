#!/usr/bin/env bash
# import.sh — memory of a dataset import (POST /api/v1/import) on the real
# server: PARTS photos (real JPEGs padded with zeros after their end-of-image
# marker to PART_MB each; default 150 x 2 MB = 300 MB), PER_PERSON (default
# 5) in each person's folder, the people taken in turn from the test photos'
# id folders, sent as one multipart body. Prints the server's resident memory
# before the import (after a small warm-up import that loads the models), its
# peak during it (VmHWM, reset after the warm-up) and after it, beside the
# reference measured in the same run: the size of the body itself. An import
# that held the body twice (raw, then parsed into parts) peaks near twice the
# body; one parsed into memory as it arrives, near once; one that spools the
# photos to disk, near one person's photos. REF_BIN=path/to/another/rollcall
# runs the same import against that binary too (e.g. an older build).
# Usage: bench/import.sh  (ROLLCALL_BIN, MODELS, PARTS, PART_MB, PER_PERSON,
# REF_BIN may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
MODELS=${MODELS:-models}
PARTS=${PARTS:-150}
PART_MB=${PART_MB:-2}
PER_PERSON=${PER_PERSON:-5}
FACES=${ROLLCALL_TESTDATA:-../shared/testdata}/faces
[[ -x $BIN ]] || { echo "import.sh: $BIN not found (run 'make build')" >&2; exit 1; }
[[ -f $MODELS/fr_detect.onnx ]] || { echo "import.sh: no models in $MODELS" >&2; exit 1; }
[[ -d $FACES/id ]] || { echo "import.sh: no test photos in $FACES" >&2; exit 1; }

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

run() {
  local bin=$1 tmp pid url
  tmp=$(mktemp -d)
  "$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" --models "$MODELS" --no-access-log \
    --admin-password bench-admin-1 --max-import 2048 >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$tmp/out" 2>/dev/null && break; sleep 0.1; done
  url=$(grep -o 'http://[^ ]*/' "$tmp/out") || { cat "$tmp/err" >&2; kill "$pid"; exit 1; }
  local before peak after
  # Warm-up: one small import (one person, unpadded photos) loads the models
  # and sizes the inference scratch, so "before" is the server ready to
  # import and the peak counts the import itself (VmHWM reset after it).
  send "$url" "$PER_PERSON" 0 W >/dev/null
  before=$(kb "$pid" VmRSS)
  echo 5 >"/proc/$pid/clear_refs"
  send "$url" "$PARTS" "$PART_MB" P
  sleep 2
  peak=$(kb "$pid" VmHWM)
  after=$(kb "$pid" VmRSS)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
  printf '%-40s RSS before %5d MB   peak %5d MB (+%d MB over before)   after %5d MB\n' "$bin" \
    $((before / 1024)) $((peak / 1024)) $(((peak - before) / 1024)) $((after / 1024))
}

# send URL PARTS PART_MB PREFIX: one import, people in folders PREFIX0, PREFIX1...
send() {
  node --input-type=module - "$1" "$FACES" "$2" "$3" "$PER_PERSON" "$4" <<'JS'
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
const [base, faces, parts, partMb, perPerson, prefix] = [process.argv[2], process.argv[3], Number(process.argv[4]),
  Number(process.argv[5]), Number(process.argv[6]), process.argv[7]];
const people = readdirSync(`${faces}/id`).sort();
const u = new URL(base);
function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const b of body) req.write(b);
    else if (body) req.write(body);
    req.end();
  });
}
let r = await request('POST', '/api/v1/auth/login', { 'Content-Type': 'application/json' },
  JSON.stringify({ email: 'admin@localhost', password: 'bench-admin-1' }));
const cookie = r.headers['set-cookie'][0].split(';')[0];
const csrf = JSON.parse(r.body).csrf_token;
const boundary = '----rollcallBenchImport';
const bufs = [];
let size = 0;
for (let i = 0; i < parts; i++) {
  const k = Math.floor(i / perPerson);
  const dir = `${faces}/id/${people[prefix === 'W' ? people.length - 1 : k % (people.length - 1)]}`;
  const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort();
  const photo = readFileSync(`${dir}/${files[(i % perPerson) % files.length]}`);
  const pad = Buffer.alloc(Math.max(0, partMb * 1024 * 1024 - photo.length));
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${prefix}${k}/${i}.jpg"\r\n` +
    'Content-Type: image/jpeg\r\n\r\n');
  bufs.push(head, photo, pad, Buffer.from('\r\n'));
  size += head.length + photo.length + pad.length + 2;
}
bufs.push(Buffer.from(`--${boundary}--\r\n`));
r = await request('POST', '/api/v1/import', { Cookie: cookie, 'X-CSRF-Token': csrf,
  'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(size + boundary.length + 6) }, bufs);
const lines = r.body.toString().trim().split('\n');
const done = JSON.parse(lines[lines.length - 1]);
if (r.status !== 200 || !done.done) { console.error('import failed', r.status, lines.slice(-2)); process.exit(1); }
console.log(`body ${(size / 1048576).toFixed(0)} MB, ${done.files} files, ${done.accepted} accepted`);
JS
}

echo "import of $PARTS x $PART_MB MB, $PER_PERSON per person (reference: the body, $((PARTS * PART_MB)) MB)"
run "$BIN"
[[ -n ${REF_BIN:-} ]] && run "$REF_BIN"
exit 0
