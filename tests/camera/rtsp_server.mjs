// rtsp_server.mjs — a minimal RTSP server on loopback, standing in for an IP
// camera in the camera tests. Debian's ffmpeg (5.1) cannot serve RTSP itself
// (its "-rtsp_flags listen" works for input only), so ffmpeg packetizes the
// video file as RTP to a local UDP port (-re, looping) and this server
// answers OPTIONS/DESCRIBE/SETUP/PLAY/TEARDOWN and relays the RTP packets to
// each playing client interleaved on its RTSP connection (RTP over TCP, as
// FFmpeg's client asks for with rtsp_transport=tcp).
//
//   node rtsp_server.mjs --input clip.mkv [--port 0] [--stdin watch]
// prints "listening PORT" once the stream is ready; the URL is
// rtsp://127.0.0.1:PORT/door
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, serveLoopback } from './loopback.mjs';

const args = parseArgs('input', 'node rtsp_server.mjs --input FILE [--port 0] [--stdin watch]');

const bindUdp = () =>
  new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
const rtp = await bindUdp();
const rtcp = await bindUdp();
const tmp = mkdtempSync(join(tmpdir(), 'rollcall-rtsp-'));
const sdpFile = join(tmp, 'stream.sdp');
const ff = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1',
  '-i', args.input, '-an', '-c:v', 'copy', '-f', 'rtp', '-sdp_file', sdpFile,
  `rtp://127.0.0.1:${rtp.address().port}?rtcpport=${rtcp.address().port}&pkt_size=1200`],
{ stdio: ['ignore', 'ignore', 'inherit'] });
ff.on('exit', (code) => {
  if (!stopping) {
    console.error(`ffmpeg exited (${code})`);
    process.exit(1);
  }
});
let stopping = false;

while (!existsSync(sdpFile)) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 100)); // let ffmpeg finish writing it
const sdp = readFileSync(sdpFile, 'utf8')
  .replace(/^c=IN IP4 .*$/m, 'c=IN IP4 0.0.0.0')
  .replace(/^m=video \d+/m, 'm=video 0')
  .replace(/^(m=video .*)$/m, '$1\r\na=control:trackID=0')
  .replace(/^t=0 0$/m, 't=0 0\r\na=control:*')
  .replace(/\r?\n/g, '\r\n');

const players = new Set();
rtp.on('message', (pkt) => {
  const head = Buffer.from([0x24, 0, pkt.length >> 8, pkt.length & 0xff]);
  for (const sock of players) sock.write(Buffer.concat([head, pkt]));
});
rtcp.on('message', () => {});

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  const session = String(Math.floor(Math.random() * 1e8));
  sock.on('error', () => {});
  sock.on('close', () => players.delete(sock));
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length && buf[0] === 0x24) { // interleaved RTCP from the client
        if (buf.length < 4) return;
        const len = 4 + buf.readUInt16BE(2);
        if (buf.length < len) return;
        buf = buf.subarray(len);
        continue;
      }
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const clen = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + clen) return;
      buf = buf.subarray(end + 4 + clen);
      const [method, uri] = head.split(' ');
      const cseq = /^cseq:\s*(\d+)/im.exec(head)?.[1] ?? '0';
      let extra = '';
      let body = '';
      switch (method) {
        case 'OPTIONS':
          extra = 'Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n';
          break;
        case 'DESCRIBE':
          body = sdp;
          extra = `Content-Base: ${uri}/\r\nContent-Type: application/sdp\r\n`;
          break;
        case 'SETUP':
          if (!/RTP\/AVP\/TCP/i.test(head)) {
            sock.write(`RTSP/1.0 461 Unsupported Transport\r\nCSeq: ${cseq}\r\n\r\n`);
            continue;
          }
          extra = `Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: ${session}\r\n`;
          break;
        case 'PLAY':
          extra = `Session: ${session}\r\nRange: npt=0.000-\r\n`;
          break;
        case 'GET_PARAMETER':
          extra = `Session: ${session}\r\n`;
          break;
        case 'TEARDOWN':
          players.delete(sock);
          sock.end(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n\r\n`);
          return;
        default:
          sock.write(`RTSP/1.0 405 Method Not Allowed\r\nCSeq: ${cseq}\r\n\r\n`);
          continue;
      }
      sock.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      if (method === 'PLAY') players.add(sock);
    }
  });
});

const stop = () => {
  stopping = true;
  ff.kill('SIGTERM');
  for (const s of players) s.destroy();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
};
serveLoopback(server, args, stop);
