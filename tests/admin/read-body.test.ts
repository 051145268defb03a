/**
 * readBody (size limit, declared or streamed; never buffering past it) and parseJsonBody (nesting
 * limit checked before JSON.parse, strings and escapes skipped; bad JSON is E_BAD_JSON).
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError, HttpServer, sendJson } from '../../src/admin/http-server.js';
import { parseJsonBody, readBody } from '../../src/admin/read-body.js';
import { silentLogger } from '../../src/log/logger.js';
import { request } from './http-request.js';

/** A request stream that yields `chunks` and records how many were pulled. */
function fakeRequest(chunks: Buffer[], headers: http.IncomingHttpHeaders = {}): { req: http.IncomingMessage; pulled: () => number } {
  let pulled = 0;
  const stream = Readable.from(
    (function* () {
      for (const chunk of chunks) {
        pulled++;
        yield chunk;
      }
    })(),
  );
  return { req: Object.assign(stream, { headers }) as unknown as http.IncomingMessage, pulled: () => pulled };
}

const chunksOf = (total: number, size: number): Buffer[] =>
  Array.from({ length: Math.ceil(total / size) }, (_, i) => Buffer.alloc(Math.min(size, total - i * size), 0x61));

async function tooLarge(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  expect(error).toMatchObject({ status: 413, code: 'E_TOO_LARGE' });
  return error as HttpError;
}

describe('readBody', () => {
  it('returns the whole body, decoding UTF-8 split across chunks', async () => {
    const text = 'évil.example\n日本.example\n';
    const bytes = Buffer.from(text);
    // Split inside the two-byte "é" and inside a three-byte character.
    const { req } = fakeRequest([bytes.subarray(0, 1), bytes.subarray(1, 16), bytes.subarray(16)]);
    expect(await readBody(req, 1000)).toBe(text);
  });

  it('an empty body is the empty string', async () => {
    expect(await readBody(fakeRequest([]).req, 10)).toBe('');
  });

  it('accepts a body of exactly maxBytes, refuses one byte more', async () => {
    expect(await readBody(fakeRequest(chunksOf(100, 30)).req, 100)).toHaveLength(100);
    const error = await tooLarge(readBody(fakeRequest(chunksOf(101, 30)).req, 100));
    expect(error.message).toContain('100');
  });

  it('refuses a declared content-length over the limit before reading anything, and drains the request', async () => {
    const { req, pulled } = fakeRequest(chunksOf(5000, 1000), { 'content-length': '5000' });
    const error = await tooLarge(readBody(req, 1000));
    expect(error.message).toContain('5000 bytes');
    expect(error.message).toContain('--admin-max-body-bytes');
    // resume() lets the rest flow away so the socket can carry the 413.
    await new Promise((resolve) => req.once('end', resolve));
    expect(pulled()).toBe(5);
  });

  it('a declared length at the limit is read normally', async () => {
    expect(await readBody(fakeRequest(chunksOf(1000, 300), { 'content-length': '1000' }).req, 1000)).toHaveLength(1000);
  });

  it('a body longer than its declared length is still cut at the limit (chunked or lying clients)', async () => {
    const { req, pulled } = fakeRequest(chunksOf(100_000, 1000), { 'content-length': '10' });
    await tooLarge(readBody(req, 2500));
    // It stops at the chunk that crosses the limit (the third) and pauses the request (the socket
    // stays open for the 413): of the 100 chunks offered, at most a stream's read-ahead more were pulled.
    expect(pulled()).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pulled()).toBeLessThan(20);
    expect(req.isPaused()).toBe(true);
  });

  it.each(['abc', '', '-1'])('ignores an unusable content-length %j and counts the bytes', async (declared) => {
    expect(await readBody(fakeRequest(chunksOf(50, 10), { 'content-length': declared }).req, 50)).toHaveLength(50);
    await tooLarge(readBody(fakeRequest(chunksOf(51, 10), { 'content-length': declared }).req, 50));
  });
});

describe('readBody behind a real HttpServer', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(maxBytes: number): Promise<number> {
    server = await HttpServer.start({ host: '127.0.0.1', port: 0, family: 4 }, { ready: true }, silentLogger);
    server.route('PUT', '/body', async (req, res) => sendJson(res, 200, { length: (await readBody(req, maxBytes)).length }));
    return server.port;
  }

  it('a body within the limit arrives whole, with or without content-length', async () => {
    const port = await start(100_000);
    const body = 'x'.repeat(70_000);
    expect(await request({ port, method: 'PUT', path: '/body', body })).toMatchObject({ status: 200, json: { length: 70_000 } });
    expect(await request({ port, method: 'PUT', path: '/body', body, chunked: true })).toMatchObject({ status: 200, json: { length: 70_000 } });
  });

  it('a declared over-limit body gets 413 E_TOO_LARGE with the message', async () => {
    const port = await start(1000);
    const res = await request({ port, method: 'PUT', path: '/body', body: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('E_TOO_LARGE');
  });

  // Sent without content-length (chunked, as `curl -T -` or a streaming client sends it), the body
  // once made readBody destroy the request, closing the socket before the 413 could be written.
  it('a chunked over-limit body gets 413 E_TOO_LARGE too, and the connection closes after it', async () => {
    const port = await start(1000);
    const res = await request({ port, method: 'PUT', path: '/body', body: 'x'.repeat(50_000), chunked: true });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('E_TOO_LARGE');
    expect(res.json.error.message).toContain('--admin-max-body-bytes');
    expect(res.headers['connection']).toBe('close');
  });
});

describe('parseJsonBody', () => {
  const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('parses ordinary JSON', () => {
    expect(parseJsonBody('{"add":["a.example"],"remove":[]}')).toEqual({ add: ['a.example'], remove: [] });
    expect(parseJsonBody(' 42 ')).toBe(42);
  });

  it('allows nesting up to maxDepth and refuses one level more, before parsing', () => {
    expect(parseJsonBody(nested(8))).toEqual(JSON.parse(nested(8)));
    expect(() => parseJsonBody(nested(9))).toThrow(expect.objectContaining({ status: 400, code: 'E_BAD_JSON', message: expect.stringContaining('deeper than 8') }));
    expect(parseJsonBody(nested(3), 3)).toEqual([[[]]]);
    expect(() => parseJsonBody(nested(4), 3)).toThrow(/deeper than 3/);
  });

  it('counts objects and arrays alike', () => {
    const mixed = '{"a":[{"b":[{"c":[{"d":[{}]}]}]}]}'; // 9 levels
    expect(() => parseJsonBody(mixed)).toThrow(/deeper than 8/);
    expect(() => parseJsonBody(mixed, 9)).not.toThrow();
  });

  it('depth is nesting, not the number of brackets: siblings do not add up', () => {
    const siblings = `[${Array.from({ length: 50 }, () => nested(7)).join(',')}]`;
    expect(parseJsonBody(siblings)).toHaveLength(50);
  });

  it('brackets inside strings do not count, including after escaped quotes and backslashes', () => {
    expect(parseJsonBody(JSON.stringify({ s: '[[[[[[[[[[[[[[{{{{{{{{{{' }))).toEqual({ s: '[[[[[[[[[[[[[[{{{{{{{{{{' });
    expect(parseJsonBody(JSON.stringify({ s: '"[[[[[[[[[[[[' }))).toEqual({ s: '"[[[[[[[[[[[[' });
    // The string holds one backslash: its closing quote is real, so the brackets after it count.
    const afterBackslash = `["\\\\", ${nested(8)}]`;
    expect(() => parseJsonBody(afterBackslash)).toThrow(/deeper than 8/);
    expect(parseJsonBody(`["\\\\", ${nested(7)}]`)).toHaveLength(2);
  });

  it('a body nested a million levels deep is refused as E_BAD_JSON, not a stack overflow', () => {
    expect(() => parseJsonBody('['.repeat(1_000_000))).toThrow(expect.objectContaining({ code: 'E_BAD_JSON' }));
  });

  it.each(['', '{', '{"a":1,}', "{'a':1}", 'undefined', '[1,2', '{"a":1}}', 'NaN'])('refuses %j as E_BAD_JSON', (text) => {
    expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ status: 400, code: 'E_BAD_JSON', message: expect.stringMatching(/JSON/) }));
  });
});
