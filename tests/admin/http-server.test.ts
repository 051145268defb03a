/**
 * HttpServer on 127.0.0.1 (port 0) through real sockets: routing with {param} segments, percent
 * decoding (a malformed escape is the client's 400, never a crash), 404/405 bodies with their codes,
 * HttpError → its JSON body and headers, anything else → 500 E_INTERNAL, health endpoints and the
 * security headers on every answer.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, HttpServer, sendJson, sendText, type Health, type RouteParams } from '../../src/admin/http-server.js';
import { createLogger } from '../../src/log/logger.js';
import { request } from './http-request.js';

let server: HttpServer;
let health: Health;
let logged: Record<string, unknown>[];
const logger = createLogger('debug', (line) => logged.push(JSON.parse(line) as Record<string, unknown>));

beforeEach(async () => {
  health = { ready: false };
  logged = [];
  server = await HttpServer.start({ host: '127.0.0.1', port: 0, family: 4 }, health, logger);
});
afterEach(async () => {
  await server.close();
});

const get = (path: string, method = 'GET') => request({ port: server.port, method, path });

/** A route that answers with the params it was given, so the test sees the decoding. */
function echoParams(method: string, path: string): void {
  server.route(method, path, (_req, res, params: RouteParams) => sendJson(res, 200, { method, params }));
}

describe('HttpServer start', () => {
  it('binds the requested host and reports the port the OS chose for port 0', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
  });

  it('refuses to start on a port that is taken (the error reaches the caller)', async () => {
    await expect(HttpServer.start({ host: '127.0.0.1', port: server.port, family: 4 }, health, logger)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('health endpoints', () => {
  it('/healthz is always ok; /readyz follows health.ready, read on each request', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    const loading = await get('/readyz');
    expect(loading.status).toBe(503);
    expect(loading.text).toMatch(/not ready/);
    health.ready = true;
    expect(await get('/readyz')).toMatchObject({ status: 200, text: 'ready\n' });
    health.ready = false;
    expect((await get('/readyz')).status).toBe(503);
  });
});

describe('routing', () => {
  it('matches literal paths exactly, ignoring the query string', async () => {
    echoParams('GET', '/v1/lists');
    expect(await get('/v1/lists')).toMatchObject({ status: 200, json: { params: {} } });
    expect(await get('/v1/lists?entries=1&x=%zz')).toMatchObject({ status: 200, json: { params: {} } });
    expect((await get('/v1/lists/')).status).toBe(404);
    expect((await get('/v1/listsx')).status).toBe(404);
    expect((await get('/V1/LISTS')).status).toBe(404);
    expect((await get('/x/v1/lists')).status).toBe(404);
  });

  it('escapes regex characters in literal segments', async () => {
    echoParams('GET', '/a.b/c+d');
    expect((await get('/a.b/c+d')).status).toBe(200);
    expect((await get('/aXb/c+d')).status).toBe(404);
    expect((await get('/a.b/ccd')).status).toBe(404);
  });

  it('a {param} matches exactly one non-empty segment', async () => {
    echoParams('GET', '/v1/lists/{name}');
    echoParams('POST', '/v1/lists/{name}/entries');
    expect(await get('/v1/lists/fraud')).toMatchObject({ status: 200, json: { params: { name: 'fraud' } } });
    expect((await get('/v1/lists/')).status).toBe(404);
    expect((await get('/v1/lists/a/b')).status).toBe(404);
    expect(await get('/v1/lists/fraud/entries', 'POST')).toMatchObject({ status: 200, json: { method: 'POST', params: { name: 'fraud' } } });
  });

  it('picks the route by method when several share a path', async () => {
    echoParams('GET', '/v1/lists/{name}');
    echoParams('PUT', '/v1/lists/{name}');
    echoParams('DELETE', '/v1/lists/{name}');
    for (const method of ['GET', 'PUT', 'DELETE']) {
      expect(await get('/v1/lists/x', method)).toMatchObject({ status: 200, json: { method, params: { name: 'x' } } });
    }
  });

  it('several params in one path, each decoded', async () => {
    echoParams('GET', '/t/{a}/mid/{b}');
    expect(await get('/t/one/mid/two%20three')).toMatchObject({ json: { params: { a: 'one', b: 'two three' } } });
  });

  it.each([
    ['%20', ' '],
    ['a%2Fb', 'a/b'],
    ['%C3%A9t%C3%A9', 'été'],
    ['plain-name_1', 'plain-name_1'],
    ['%25', '%'],
  ])('percent-decodes the param %s to %j', async (segment, decoded) => {
    echoParams('GET', '/p/{name}');
    expect(await get(`/p/${segment}`)).toMatchObject({ status: 200, json: { params: { name: decoded } } });
  });

  it.each(['%', '%zz', '%E0%A4%A', '%C3', '%FF', 'ok%2'])('answers 400 E_BAD_REQUEST for the malformed escape %s, and keeps serving', async (segment) => {
    echoParams('GET', '/p/{name}');
    const res = await get(`/p/${segment}`);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('E_BAD_REQUEST');
    expect(res.json.error.message).toContain(segment);
    expect((await get('/p/fine')).status).toBe(200);
  });

  it('unknown path: 404 E_NOT_FOUND naming the path; known path, other method: 405 E_METHOD', async () => {
    echoParams('GET', '/v1/lists');
    const missing = await get('/nope?secret=1');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: 'E_NOT_FOUND', message: 'no such endpoint: /nope' } });
    const wrongMethod = await get('/v1/lists', 'DELETE');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json.error.code).toBe('E_METHOD');
    expect(wrongMethod.json.error.message).toContain('DELETE');
    // The built-in health routes are GET only too.
    expect((await get('/healthz', 'POST')).status).toBe(405);
  });
});

describe('errors from handlers', () => {
  it('an HttpError becomes its status, its code and message, its details and its headers', async () => {
    server.route('GET', '/fail', () => {
      throw new HttpError(429, 'E_AUTH_RATE_LIMITED', 'slow down', { problems: [{ line: 3 }] }, { 'retry-after': '60' });
    });
    const res = await get('/fail');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('60');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json).toEqual({ error: { code: 'E_AUTH_RATE_LIMITED', message: 'slow down', problems: [{ line: 3 }] } });
  });

  it('an HttpError from an async handler is answered the same way', async () => {
    server.route('GET', '/fail', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new HttpError(409, 'E_LIST_READ_ONLY', 'read only');
    });
    const res = await get('/fail');
    expect(res.status).toBe(409);
    expect(res.json).toEqual({ error: { code: 'E_LIST_READ_ONLY', message: 'read only' } });
  });

  it.each([
    ['a thrown Error', () => { throw new Error('secret internal detail /etc/passwd'); }],
    ['a rejected promise', () => Promise.reject(new TypeError('secret internal detail'))],
    ['a thrown non-Error', () => { throw 'secret internal detail'; }],
  ])('%s becomes 500 E_INTERNAL without leaking the message', async (_label, handler) => {
    server.route('GET', '/boom', handler as () => void);
    const res = await get('/boom');
    expect(res.status).toBe(500);
    expect(res.json.error.code).toBe('E_INTERNAL');
    expect(res.text).not.toContain('secret');
    expect((await get('/healthz')).status).toBe(200);
  });

  it('logs every 5xx once with its cause, under a request id the body and x-request-id carry', async () => {
    server.route('GET', '/v1/lists/{name}', async () => {
      await readFile('/nonexistent/fraudwall-state/lists/x.json');
    });
    const res = await get('/v1/lists/x');
    expect(res.status).toBe(500);
    const requestId = res.json.error.requestId as string;
    expect(requestId).toMatch(/^[0-9a-f]{12}$/);
    expect(res.headers['x-request-id']).toBe(requestId);
    expect(res.json.error.message).toContain(requestId);
    expect(res.text).not.toContain('/nonexistent');
    expect(logged).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/^HTTP GET \/v1\/lists\/x answered 500: ENOENT/),
        requestId,
        status: 500,
        code: 'ENOENT',
        errno: -2,
        syscall: 'open',
        file: '/nonexistent/fraudwall-state/lists/x.json',
      }),
    ]);
  });

  it('logs an HttpError of status 5xx too, and never a 4xx or the /readyz 503', async () => {
    server.route('GET', '/unavailable', () => {
      throw new HttpError(503, 'E_INTERNAL', 'try later');
    });
    server.route('GET', '/bad', () => {
      throw new HttpError(400, 'E_BAD_REQUEST', 'bad');
    });
    const unavailable = await get('/unavailable');
    expect(unavailable.status).toBe(503);
    expect(unavailable.json.error).toMatchObject({ code: 'E_INTERNAL', message: 'try later', requestId: expect.any(String) });
    expect((await get('/bad')).status).toBe(400);
    expect((await get('/nothing')).status).toBe(404);
    expect((await get('/readyz')).status).toBe(503);
    expect(logged.map((line) => [line['level'], line['status'], line['requestId']])).toEqual([['error', 503, unavailable.json.error.requestId]]);
  });

  it('a handler that fails after sending its headers gets its connection closed, not a second answer', async () => {
    server.route('GET', '/half', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('late failure');
    });
    await expect(get('/half')).rejects.toThrow();
    expect((await get('/healthz')).status).toBe(200);
    expect(logged).toEqual([expect.objectContaining({ level: 'error', msg: 'HTTP GET /half failed after its answer began; the connection was closed', error: 'late failure' })]);
  });
});

describe('response headers', () => {
  it('every answer (ok, error, text, JSON) carries the security headers', async () => {
    server.route('GET', '/text', (_req, res) => sendText(res, 200, 'hi'));
    const answers = await Promise.all([get('/healthz'), get('/text'), get('/nope'), get('/healthz', 'PUT')]);
    for (const res of answers) {
      expect(res.headers).toMatchObject({
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    }
  });

  it('sendJson lets a caller add headers but not replace the content type', async () => {
    server.route('GET', '/j', (_req, res) => sendJson(res, 201, { ok: true }, { 'x-extra': '1', 'content-type': 'text/html' }));
    const res = await get('/j');
    expect(res.status).toBe(201);
    expect(res.headers['x-extra']).toBe('1');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json).toEqual({ ok: true });
  });
});

describe('close', () => {
  it('stops listening and drops kept-alive connections', async () => {
    const port = server.port;
    await server.close();
    await expect(request({ port, method: 'GET', path: '/healthz' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    server = await HttpServer.start({ host: '127.0.0.1', port: 0, family: 4 }, health, logger); // for afterEach
  });
});
