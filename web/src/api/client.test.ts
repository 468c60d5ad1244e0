// The API client against a real HTTP server on loopback (node:http): error
// bodies, non-JSON errors, unreachable server, CSRF header, 401 handling and
// the streamed NDJSON import.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError, queryString } from './client';

interface Seen {
  method: string;
  url: string;
  csrf: string | undefined;
  auth: string | undefined;
  type: string | undefined;
  body: string;
}

let server: Server;
let base = '';
const seen: Seen[] = [];

function handler(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('latin1');
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      csrf: req.headers['x-csrf-token'] as string | undefined,
      auth: req.headers.authorization,
      type: req.headers['content-type'],
      body,
    });
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/api/v1/auth/login':
        return json(200, {
          user: { id: 1, email: 'a@b.c', name: 'A', role: 'admin', person_id: null, created_at: '', last_login_at: null },
          csrf_token: 'tok123',
        });
      case '/api/v1/persons':
        if (req.method === 'POST')
          return json(409, { error: { code: 'duplicate_external_id', message: 'A person with ID A1 already exists.' } });
        return json(200, { items: [], total: 0, query: url.search });
      case '/api/v1/settings':
        return json(401, { error: { code: 'unauthenticated', message: 'Log in first.' } });
      case '/api/v1/broken':
        res.writeHead(502, { 'Content-Type': 'text/html' });
        return res.end('<html>Bad gateway</html>');
      case '/api/v1/notjson':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end('{"truncated":');
      case '/api/v1/import': {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        const lines = [
          { file: 'alice/1.jpg', person: 'alice', accepted: true, reason: null, face_id: 1 },
          { file: 'alice/2.jpg', person: 'alice', accepted: false, reason: 'no_face', face_id: null },
          { done: true, files: 2, accepted: 1, persons_created: 1 },
        ];
        const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
        // Cut the stream in the middle of a line on purpose.
        res.write(text.slice(0, 30));
        setTimeout(() => {
          res.write(text.slice(30, 100));
          setTimeout(() => res.end(text.slice(100)), 20);
        }, 20);
        return;
      }
      default:
        return json(404, { error: { code: 'not_found', message: `No route ${url.pathname}` } });
    }
  });
}

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('queryString', () => {
  it('drops empty values and encodes the rest', () => {
    expect(queryString(undefined)).toBe('');
    expect(queryString({ a: undefined, b: null, c: '' })).toBe('');
    expect(queryString({ q: 'José Ñ&1', limit: 50, active: true })).toBe('?q=Jos%C3%A9+%C3%91%261&limit=50&active=true');
  });
});

describe('ApiClient', () => {
  it('turns the contract error body into an ApiError', async () => {
    const c = new ApiClient(base);
    const err = await c.createPerson({ external_id: 'A1', first_name: 'A', last_name: 'B', kind: 'student' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).code).toBe('duplicate_external_id');
    expect((err as ApiError).message).toBe('A person with ID A1 already exists.');
  });

  it('a non-JSON error keeps the HTTP status', async () => {
    const err = (await new ApiClient(base).get('/api/v1/broken').catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(502);
    expect(err.code).toBe('http_502');
  });

  it('a success body that is not JSON is an error, not a crash', async () => {
    const err = (await new ApiClient(base).get('/api/v1/notjson').catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('bad_response');
  });

  it('an unreachable server is a network error (status 0)', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const err = (await new ApiClient(`http://127.0.0.1:${port}`).persons({}).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.isNetwork).toBe(true);
    expect(err.code).toBe('network');
  });

  it('sends the CSRF token from login on state-changing requests only', async () => {
    const c = new ApiClient(base);
    await c.login('a@b.c', 'pw');
    seen.length = 0;
    await c.persons({ q: 'ana', limit: 10 });
    await c.createPerson({ external_id: 'A1', first_name: 'A', last_name: 'B', kind: 'student' }).catch(() => undefined);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].url).toBe('/api/v1/persons?q=ana&limit=10');
    expect(seen[0].csrf).toBeUndefined();
    expect(seen[1].method).toBe('POST');
    expect(seen[1].csrf).toBe('tok123');
    expect(seen[1].type).toBe('application/json');
    expect(JSON.parse(seen[1].body)).toMatchObject({ external_id: 'A1' });
  });

  it('a device key goes as a Bearer token instead of the CSRF header', async () => {
    const c = new ApiClient(base);
    await c.login('a@b.c', 'pw');
    c.setBearer('rc_k_secret');
    seen.length = 0;
    await c.createPerson({ external_id: 'A1', first_name: 'A', last_name: 'B', kind: 'student' }).catch(() => undefined);
    expect(seen[0].auth).toBe('Bearer rc_k_secret');
    expect(seen[0].csrf).toBeUndefined();
    c.setBearer(null);
    seen.length = 0;
    await c.persons({});
    expect(seen[0].auth).toBeUndefined();
  });

  it("ends the cookie's session while a key is in use: no Bearer, that session's CSRF token", async () => {
    const c = new ApiClient(base);
    await c.login('a@b.c', 'pw');
    const csrf = c.csrfToken;
    expect(csrf).toBe('tok123');
    c.setBearer('rc_k_secret');
    seen.length = 0;
    await c.logoutSession(csrf).catch(() => undefined);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe('/api/v1/auth/logout');
    expect(seen[0].auth).toBeUndefined();
    expect(seen[0].csrf).toBe('tok123');
    expect(c.usesKey).toBe(true); // the key stays in use
    seen.length = 0;
    await c.persons({});
    expect(seen[0].auth).toBe('Bearer rc_k_secret');
  });

  it('calls onUnauthorized on 401 outside the auth endpoints', async () => {
    const c = new ApiClient(base);
    let called = 0;
    c.onUnauthorized = () => called++;
    await expect(c.settings()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(called).toBe(1);
  });

  it('sends recognition frames as raw image bodies with the query', async () => {
    const c = new ApiClient(base);
    seen.length = 0;
    await c
      .recognize(new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' }), { mark: true, cameraId: 2 })
      .catch(() => undefined);
    expect(seen[0].url).toBe('/api/v1/recognize?mark=true&camera_id=2');
    expect(seen[0].type).toBe('image/jpeg');
    expect(seen[0].body.length).toBe(3);
  });

  it('enrolls as multipart with one file part per photo', async () => {
    const c = new ApiClient(base);
    seen.length = 0;
    await c
      .enroll(3, [
        { blob: new Blob(['x']), name: 'a.jpg' },
        { blob: new Blob(['y']), name: 'b.jpg' },
      ])
      .catch(() => undefined);
    expect(seen[0].type).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[0].body.match(/name="file"; filename="[ab]\.jpg"/g)).toHaveLength(2);
  });

  it('reads the streamed NDJSON import answer line by line', async () => {
    const c = new ApiClient(base);
    const lines: unknown[] = [];
    const done = await c.importDataset([{ blob: new Blob(['x']), name: 'alice/1.jpg' }], (l) => lines.push(l));
    expect(lines).toEqual([
      { file: 'alice/1.jpg', person: 'alice', accepted: true, reason: null, face_id: 1 },
      { file: 'alice/2.jpg', person: 'alice', accepted: false, reason: 'no_face', face_id: null },
    ]);
    expect(done).toEqual({ done: true, files: 2, accepted: 1, persons_created: 1 });
  });
});
