/**
 * The CLI's admin client against a local HTTP server on 127.0.0.1: what it sends (method, path,
 * token, body), how it reads answers (any status, JSON or not), and AdminClientError
 * E_ADMIN_UNREACHABLE when nothing answers. Also where the token comes from (clientToken).
 */
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdminClientError, adminRequest, clientToken } from '../../src/admin/admin-client.js';
import { FraudwallError } from '../../src/errors.js';
import { closeTcp, listenTcp } from '../helpers/ports.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let url: string;
let seen: Seen[];
/** What the server answers; a test replaces it. */
let answer: (res: http.ServerResponse) => void;

beforeEach(async () => {
  seen = [];
  answer = (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res);
    });
  });
  const port = await listenTcp(server, 0, '127.0.0.1');
  url = `http://127.0.0.1:${port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await closeTcp(server);
});

describe('adminRequest', () => {
  it('sends the method, path, bearer token and body, and returns status and parsed JSON', async () => {
    const res = await adminRequest({ url, token: 'tok-1' }, 'PUT', '/v1/lists/team?kind=allow', { contentType: 'text/plain', data: 'a.example\n' });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/v1/lists/team?kind=allow',
      body: 'a.example\n',
      headers: { authorization: 'Bearer tok-1', 'content-type': 'text/plain', accept: 'application/json', 'content-length': '10' },
    });
  });

  it('sends no authorization header without a token and no content type without a body', async () => {
    await adminRequest({ url, token: undefined }, 'GET', '/v1/lists');
    expect(seen[0]!.headers).not.toHaveProperty('authorization');
    expect(seen[0]!.headers).not.toHaveProperty('content-type');
    expect(seen[0]!.body).toBe('');
  });

  it('sends a Buffer body byte for byte', async () => {
    const data = Buffer.from('évil.example\n', 'utf8');
    await adminRequest({ url, token: 't' }, 'PUT', '/v1/lists/x', { contentType: 'text/plain; charset=utf-8', data });
    expect(seen[0]!.body).toBe('évil.example\n');
    expect(seen[0]!.headers['content-length']).toBe(String(data.length));
  });

  it('returns error statuses as answers, not exceptions', async () => {
    answer = (res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'E_LIST_READ_ONLY', message: 'read only' } }));
    };
    expect(await adminRequest({ url, token: 't' }, 'DELETE', '/v1/lists/x')).toEqual({
      status: 409,
      body: { error: { code: 'E_LIST_READ_ONLY', message: 'read only' } },
    });
  });

  it.each([
    ['plain text', 'not ready: loading blocklists\n', { error: { message: 'not ready: loading blocklists' } }],
    ['an empty body', '', { error: { message: '' } }],
    ['truncated JSON', '{"error":', { error: { message: '{"error":' } }],
  ])('wraps %s as an error message', async (_label, text, body) => {
    answer = (res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(text);
    };
    expect(await adminRequest({ url, token: 't' }, 'GET', '/readyz')).toEqual({ status: 503, body });
  });

  it('nothing listening: AdminClientError E_ADMIN_UNREACHABLE naming the URL and the cause', async () => {
    const closed = http.createServer();
    const port = await listenTcp(closed, 0, '127.0.0.1');
    await closeTcp(closed);
    const deadUrl = `http://127.0.0.1:${port}`;
    const error = await adminRequest({ url: deadUrl, token: 't' }, 'GET', '/v1/lists').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminClientError);
    expect(error).toBeInstanceOf(FraudwallError);
    expect(error).toMatchObject({ code: 'E_ADMIN_UNREACHABLE', name: 'AdminClientError' });
    expect((error as Error).message).toContain(deadUrl);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).not.toContain('Bearer');
  });

  it('a server that never answers: AdminClientError after timeoutMs', async () => {
    answer = () => undefined; // hold the request open
    const started = performance.now();
    const error = await adminRequest({ url, token: 't', timeoutMs: 150 }, 'GET', '/v1/lists').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminClientError);
    expect((error as AdminClientError).code).toBe('E_ADMIN_UNREACHABLE');
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('clientToken', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-admin-client-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and trims the token file, which wins over the environment', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, '  from-file\n');
    expect(await clientToken(file, { FRAUDWALL_ADMIN_TOKEN: 'from-env' })).toBe('from-file');
  });

  it.each([
    [{ FRAUDWALL_ADMIN_TOKEN: ' from-env \n' }, 'from-env'],
    [{ FRAUDWALL_ADMIN_TOKEN: '   ' }, undefined],
    [{ FRAUDWALL_ADMIN_TOKEN: '' }, undefined],
    [{}, undefined],
  ])('without a file, takes FRAUDWALL_ADMIN_TOKEN from %j → %j', async (env, expected) => {
    expect(await clientToken(undefined, env)).toBe(expected);
  });

  it('a missing token file is an error, not a silent fallback to the environment', async () => {
    await expect(clientToken(path.join(dir, 'missing'), { FRAUDWALL_ADMIN_TOKEN: 'env' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
