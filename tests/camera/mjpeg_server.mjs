// mjpeg_server.mjs — a stand-in for ESP32-CAMs and broken cameras, for the
// camera tests and the camera benchmark. Serves the JPEGs of --dir on
// loopback and prints "listening PORT" once ready.
//
//   node mjpeg_server.mjs --dir DIR [--video FILE] [--port 0] [--fps 20] [--stdin watch]
//
// Paths (each takes ?fps=N):
//   /stream           multipart/x-mixed-replace like the ESP32-CAM firmware
//                     (boundary "123456789000000000000987654321", Content-Length)
//   /stream?mode=nolength   parts without Content-Length
//   /stream?mode=quirks     boundary without "--", quoted boundary parameter,
//                           odd header case, blank lines and junk between parts
//   /stream?mode=truncate   every third frame is cut short before the next part
//   /cut              the first connection is cut in the middle of its 4th
//                     frame; later connections stream normally
//   /cut-all          every stream open now is cut in the middle of its next
//                     frame (a camera losing power or Wi-Fi); later
//                     connections stream normally
//   /capture          one JPEG per request (a snapshot URL)
//   /404              404 Not Found
//   /html             a 200 HTML page instead of video
//   /garbage          raw bytes that are not HTTP at all
//   /garbage-body     a multipart header followed by random bytes, forever
//   /stall            stream headers and then silence
//   /drip             stream headers, then one byte every 100 ms and never a frame
//   /hang             no answer at all (as an ESP32-CAM busy with another viewer)
//   /private          401 asking for credentials
//   /video.mkv        the --video file (HTTP video for the FFmpeg source)
//   /nopicture.ts     the --nopicture file (MPEG-TS) over and over, forever: a
//                     live stream whose video never decodes
//   /trickle.ts       the --trickle file (MPEG-TS) once at full speed, then
//                     over and over at 3760 bytes/s in 376-byte writes every
//                     100 ms: a slow link, where a packet takes longer to
//                     arrive than the stall timeout but bytes never stop
//   /garbage-after.ts the --trickle file once, then 376 random bytes every
//                     100 ms: a stream that turns to garbage and never stops
//   /hits             JSON: connections per path so far
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs, serveLoopback } from './loopback.mjs';

const args = parseArgs('dir', 'node mjpeg_server.mjs --dir DIR [--port 0] [--fps 20]');
const frames = readdirSync(args.dir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => readFileSync(join(args.dir, f)));
if (!frames.length) {
  console.error(`no JPEGs in ${args.dir}`);
  process.exit(2);
}
const defaultFps = Number(args.fps ?? 20);
const BOUNDARY = '123456789000000000000987654321';
const hits = {};
const sockets = new Set();
const streams = new Set(); // open streams: {cut} set by /cut-all

function streamFrames(req, res, { mode = 'normal', fps = defaultFps, cutAt = -1 }) {
  const quirks = mode === 'quirks';
  res.writeHead(200, {
    'Content-Type': quirks
      ? `multipart/x-mixed-replace; boundary="${BOUNDARY}"`
      : `multipart/x-mixed-replace;boundary=${BOUNDARY}`,
    'Access-Control-Allow-Origin': '*',
  });
  let n = 0;
  const me = { cut: false };
  streams.add(me);
  const send = () => {
    const jpeg = frames[n % frames.length];
    const parts = [];
    if (quirks) {
      // Boundary without the leading "--", lower/odd-case headers, extra junk.
      parts.push(Buffer.from(`${n ? '\r\n\r\n' : ''}${BOUNDARY}\r\ncontent-TYPE: image/jpeg\r\n` +
        `X-Timestamp: ${Date.now()}.000\r\n\r\n`));
    } else {
      const len = mode === 'nolength' ? '' : `Content-Length: ${jpeg.length}\r\n`;
      parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\n${len}\r\n`));
    }
    if (n === cutAt || me.cut) {
      // Half a frame reaches the client, then the connection drops.
      res.write(Buffer.concat([...parts, jpeg.subarray(0, jpeg.length >> 1)]), () =>
        setTimeout(() => res.socket?.destroy(), 50));
      clearInterval(timer);
      return;
    }
    const body = mode === 'truncate' && n % 3 === 2 ? jpeg.subarray(0, jpeg.length >> 1) : jpeg;
    parts.push(body, Buffer.from('\r\n'));
    res.write(Buffer.concat(parts));
    n++;
  };
  let timer = null;
  send();
  timer = setInterval(send, 1000 / fps);
  res.on('close', () => {
    clearInterval(timer);
    streams.delete(me);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname;
  hits[path] = (hits[path] ?? 0) + 1;
  const fps = Number(url.searchParams.get('fps') ?? defaultFps);
  switch (path) {
    case '/stream':
      return streamFrames(req, res, { mode: url.searchParams.get('mode') ?? 'normal', fps });
    case '/cut':
      return streamFrames(req, res, { fps, cutAt: hits[path] === 1 ? 3 : -1 });
    case '/cut-all':
      for (const s of streams) s.cut = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ cut: streams.size }));
    case '/capture': {
      const jpeg = frames[(hits[path] - 1) % frames.length];
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length });
      return res.end(jpeg);
    }
    case '/html':
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end('<!doctype html><html><body><h1>Camera settings</h1></body></html>');
    case '/garbage':
      res.socket.end(randomBytes(4096));
      return;
    case '/garbage-body': {
      res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}` });
      const timer = setInterval(() => res.write(randomBytes(32768)), 20);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/stall':
      res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}` });
      res.flushHeaders();
      return;
    case '/drip': {
      res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}` });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/hang':
      return; // keep the connection open, say nothing
    case '/private':
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"' });
      return res.end();
    case '/video.mkv': {
      if (!args.video) break;
      const data = readFileSync(args.video);
      res.writeHead(200, { 'Content-Type': 'video/x-matroska', 'Content-Length': data.length });
      return res.end(data);
    }
    case '/nopicture.ts': {
      if (!args.nopicture) break;
      const data = readFileSync(args.nopicture);
      res.writeHead(200, { 'Content-Type': 'video/mp2t' });
      const again = () => {
        if (!res.destroyed) res.write(data, () => setTimeout(again, 200));
      };
      return again();
    }
    case '/trickle.ts':
    case '/garbage-after.ts': {
      if (!args.trickle) break;
      const data = readFileSync(args.trickle);
      res.writeHead(200, { 'Content-Type': 'video/mp2t' });
      const garbage = path === '/garbage-after.ts';
      let at = 0;
      const drip = () => {
        if (res.destroyed) return;
        res.write(garbage ? randomBytes(376) : data.subarray(at, at + 376));
        at = at + 376 >= data.length ? 0 : at + 376;
        setTimeout(drip, 100);
      };
      return res.write(data, () => setTimeout(drip, 100));
    }
    case '/hits':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(hits));
    default:
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  return res.end('not found\n');
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
const stop = () => {
  server.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
};
serveLoopback(server, args, stop);
