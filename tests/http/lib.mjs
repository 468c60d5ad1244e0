// lib.mjs — helpers for the http integration tests: raw socket requests (for
// paths and bodies fetch would normalise or refuse), multipart bodies built
// by hand, and a small client that keeps the session cookie and CSRF token.
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Send bytes exactly as given; resolve {status, headers, body} when the
// server closes. `data` may be a string or a Buffer (or an array of them).
export function rawRequest(port, data, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('raw request timed out')); }, timeoutMs);
    sock.on('connect', () => {
      for (const d of [].concat(data)) sock.write(d);
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {}); // the server may close while we still write
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = text.match(/^HTTP\/1\.\d (\d{3})/);
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, head: text.slice(0, split), body: split >= 0 ? text.slice(split + 4) : '' });
    });
  });
}

// A 6000-px-wide JPEG of the group test photo tiled 3 x 3 (about 40 faces,
// 36 megapixels), written into `dir` by ffmpeg: a decode and a detection
// that take a while. Returns its bytes.
export function bigGroupPhoto(dir) {
  const out = join(dir, 'big.jpg');
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-i',
    join(process.env.ROLLCALL_TESTDATA, 'faces', 'group', 'deepface_selfie-many-people.jpg'),
    '-filter_complex', '[0:v]scale=2000:-2,split=3[a][b][c];[a][b][c]hstack=3,split=3[d][e][f];[d][e][f]vstack=3',
    '-q:v', '3', out]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return readFileSync(out);
}

// A multipart/form-data body from [{name, value}] and [{name, filename, type, data}].
export function multipart(parts, boundary = '----rollcallTestBoundary7MA4YWxk') {
  const bufs = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    bufs.push(Buffer.from(head + '\r\n'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(String(p.value ?? p.data ?? '')), Buffer.from('\r\n'));
  }
  bufs.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(bufs), type: `multipart/form-data; boundary=${boundary}` };
}

// fetch, once more when the connection it reused turns out to be closed.
// The server closes a keep-alive connection idle past its header deadline
// (src/http/conns.c); when a test blocks node's event loop longer than that
// (a synchronous ffmpeg or CLI run on a loaded machine), node has not yet
// seen the close and sends the next request into the dead socket. The
// server never read that request, so sending it again is safe.
export async function fetchFresh(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const code = e?.cause?.code;
    if (!['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(code)) throw e;
    return fetch(url, init);
  }
}

// A client for one identity: a session (cookie + CSRF) or an API key.
export class Client {
  constructor(base, { key = null } = {}) {
    this.base = base;
    this.key = key;
    this.cookie = null;
    this.csrf = null;
  }
  headers(extra = {}, method = 'GET') {
    const h = { ...extra };
    if (this.key) h.Authorization = `Bearer ${this.key}`;
    if (this.cookie) h.Cookie = this.cookie;
    if (this.cookie && this.csrf && method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = this.csrf;
    return h;
  }
  async login(email, password) {
    const res = await fetchFresh(new URL('api/v1/auth/login', this.base), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(body)}`);
    const set = res.headers.get('set-cookie');
    this.cookie = set.split(';')[0];
    this.csrf = body.csrf_token;
    return body;
  }
  async req(method, path, { json, body, type, headers = {} } = {}) {
    const h = this.headers(headers, method);
    let data = body;
    if (json !== undefined) { data = JSON.stringify(json); h['Content-Type'] = 'application/json'; }
    if (type) h['Content-Type'] = type;
    const res = await fetchFresh(new URL(path.replace(/^\//, ''), this.base), { method, headers: h, body: data });
    const ct = res.headers.get('content-type') || '';
    let out;
    if (ct.startsWith('text/') || ct.includes('ndjson')) out = await res.text();
    else if (ct.includes('json')) out = await res.json();
    else out = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: out, headers: res.headers };
  }
  get(p, o) { return this.req('GET', p, o); }
  post(p, json, o = {}) { return this.req('POST', p, { json, ...o }); }
  patch(p, json, o = {}) { return this.req('PATCH', p, { json, ...o }); }
  put(p, json, o = {}) { return this.req('PUT', p, { json, ...o }); }
  del(p, o) { return this.req('DELETE', p, o); }
}

// Start a server with a fresh data directory and sign in one caller per
// role: admin, manager and member (sessions) and device (an API key).
export async function startWithRoles({ args = [], models = false } = {}) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startServer } = await import('../lib/server.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-api-'));
  const srv = await startServer({
    args: ['--data', join(dir, 'data'), '--admin-email', 'admin@example.org', '--admin-password', 'admin-pass-1',
      '--models', models ? process.env.ROLLCALL_MODELS : join(dir, 'no-models'), ...args],
  });
  const admin = new Client(srv.url);
  await admin.login('admin@example.org', 'admin-pass-1');
  const mk = async (email, role) => {
    const r = await admin.post('/api/v1/users', { email, name: role, role, password: `${role}-pass-1`, must_change_password: false });
    if (r.status !== 201) throw new Error(`create ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    const c = new Client(srv.url);
    await c.login(email, `${role}-pass-1`);
    c.userId = r.body.id;
    return c;
  };
  const manager = await mk('manager@example.org', 'manager');
  const member = await mk('member@example.org', 'member');
  const k = await admin.post('/api/v1/api-keys', { name: 'door', role: 'device' });
  if (k.status !== 201) throw new Error(`api key: ${k.status}`);
  const device = new Client(srv.url, { key: k.body.key });
  device.keyId = k.body.id;
  const anonymous = new Client(srv.url);
  return {
    srv, dir, admin, manager, member, device, anonymous,
    async stop() {
      const code = await srv.stop();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// A zone where it is about noon now, so the test's day is the same from its
// first request to its last, whatever the hour it runs (a run from 23:59
// UTC would otherwise cross midnight): the tz database's fixed offset
// (Etc/GMT-3 is UTC+3), the offset in hours, the local wall time as a Date
// read with getUTC*, its date, its ISO weekday (Monday 1 .. Sunday 7), and
// at('HH:MM'): the UTC instant ("...Z", seconds) of that wall time today.
export function noonZone(now = new Date()) {
  const off = 12 - now.getUTCHours();
  const local = new Date(now.getTime() + off * 3600e3);
  const today = local.toISOString().slice(0, 10);
  const at = (hhmm) => {
    const [h, m] = hhmm.split(':').map(Number);
    return new Date(Date.parse(`${today}T00:00:00Z`) + ((h - off) * 60 + m) * 60e3).toISOString().slice(0, 19) + 'Z';
  };
  return {
    zone: `Etc/GMT${off > 0 ? '-' : '+'}${Math.abs(off)}`,
    off,
    local,
    today,
    dow: local.getUTCDay() || 7,
    at,
  };
}
