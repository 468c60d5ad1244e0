#!/usr/bin/env bash
# camera.sh — 8 simulated cameras (MJPEG at 5 fps each, served on loopback by
# tests/camera/mjpeg_server.mjs from frames made of the test photos) feeding
# one camera manager; prints frames processed per second, drops, latency
# p50/p99 and CPU use beside a single-thread decode reference. Runs twice:
# decode only, and with 60 ms of simulated recognition per frame, which two
# workers cannot keep up with at 40 frames/s: the queues drop the oldest
# frames, latency stays bounded and every camera keeps its share.
# Then the same 8 cameras against ONE real `rollcall serve` with the real
# models (bench/camera_server.mjs): frames recognized per second, drops,
# capture-to-recognition latency p50/p99 from /metrics and the server's CPU
# use per camera, with face tracking off and on, beside the one-thread
# pipeline time measured in the same run. Before that, bench/camera_marked.c:
# a marking frame of a person already marked live at the camera (liveness
# skipped) beside the same frame with liveness measured, CPU per frame.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
BUILD=$(dirname "$(dirname "$(dirname "$BIN")")")
BENCH=$BUILD/tests/camera/bench_camera
export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-$(pwd)/../shared/testdata}
tmp=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sh tests/camera/make_media.sh "$tmp"
node tests/camera/mjpeg_server.mjs --dir "$tmp/frames" --port 0 >"$tmp/server.out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q listening "$tmp/server.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening //p' "$tmp/server.out")
[[ -n $port ]] || { cat "$tmp/server.out"; exit 1; }
"$BENCH" "http://127.0.0.1:$port" 8 5 10 2 0
"$BENCH" "http://127.0.0.1:$port" 8 5 10 2 60
echo "-- a camera frame of a person already marked there (liveness skipped) beside the same frame measured"
ROLLCALL_NN_INT8_RANGES=${ROLLCALL_NN_INT8_RANGES:-$(pwd)/models-int8} \
  "$BUILD/bench/camera-marked" "${ROLLCALL_MODELS:-models}" "$ROLLCALL_TESTDATA/faces" 2> >(grep -v ' info ' >&2)
echo "-- 8 cameras against one rollcall serve (real models)"
ROLLCALL_BIN=$BIN node bench/camera_server.mjs 8 5 20
