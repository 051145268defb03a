/**
 * The /v1 admin API through a real HttpServer on 127.0.0.1 (port 0), over a real ListRegistry and
 * ListService persisting to a temporary state directory: list reads, PUT (text and JSON), POST
 * entries (delta), DELETE, explain and reload, with the status and E_* code of every refusal.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerAdminApi } from '../../src/admin/admin-api.js';
import { AdminAuth } from '../../src/admin/admin-auth.js';
import { HttpServer } from '../../src/admin/http-server.js';
import { ListRegistry, type ListRecord } from '../../src/lists/list-registry.js';
import { ListService } from '../../src/lists/list-service.js';
import { StateStore } from '../../src/lists/state-store.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { explainLocalZones } from '../../src/policy/explain.js';
import { parseList } from '../../src/policy/parse-list.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { request, type RawResponse } from './http-request.js';

const TOKEN = 'admin-api-test-token';
const MAX_BODY = 4096;
const MAX_ENTRIES = 20;

let stateDir: string;
let server: HttpServer;
let registry: ListRegistry;
let auth: AdminAuth;
let logLines: Record<string, unknown>[];
let reloads: number;

const record = (name: string, text: string, source: ListRecord['source'], origin: string): ListRecord => ({
  list: parseList(text, { name, kind: 'block', category: 'phishing' }),
  source,
  origin,
  updatedAt: Date.UTC(2024, 0, 2, 3, 4, 5),
  generation: 1,
});

beforeEach(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'fraudwall-admin-api-'));
  logLines = [];
  reloads = 0;
  const logger = createLogger('debug', (line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
  registry = new ListRegistry(
    [record('from-file', 'file-listed.example\n', 'file', '/srv/lists'), record('from-url', 'url-listed.example\n', 'url', 'https://lists.example/x.txt')],
    new VerdictCache(),
    logger,
  );
  const lists = new ListService(registry, new StateStore(stateDir), logger, { adminMaxEntries: MAX_ENTRIES });
  auth = new AdminAuth(TOKEN, { maxFailures: 100, windowMs: 60_000, onFailure: () => undefined });
  server = await HttpServer.start({ host: '127.0.0.1', port: 0, family: 4 }, { ready: true }, silentLogger);
  registerAdminApi(server, {
    registry,
    lists,
    auth,
    reload: async () => {
      reloads++;
      return { generation: registry.generation, warnings: ['a warning'] };
    },
    adminMaxBodyBytes: MAX_BODY,
    localZones: explainLocalZones({ localZones: true, blockDohCanaries: true }),
  });
});

afterEach(async () => {
  await server.close();
  await rm(stateDir, { recursive: true, force: true });
});

interface CallOptions {
  readonly body?: string;
  readonly json?: unknown;
  readonly contentType?: string;
  readonly token?: string | null;
}

function call(method: string, urlPath: string, options: CallOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers['authorization'] = `Bearer ${options.token ?? TOKEN}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  return request({ port: server.port, method, path: urlPath, headers, body });
}

const storedFiles = async (): Promise<string[]> => readdir(path.join(stateDir, 'lists')).catch(() => []);

function expectError(res: RawResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  expect(typeof res.json.error.message).toBe('string');
}

describe('GET /v1/lists and /v1/lists/{name}', () => {
  it('lists every list in name order with its source and the generation', async () => {
    const res = await call('GET', '/v1/lists');
    expect(res.status).toBe(200);
    expect(res.json.generation).toBe(1);
    expect(res.json.lists).toEqual([
      {
        name: 'from-file',
        kind: 'block',
        category: 'phishing',
        entries: 1,
        skipped: 0,
        source: 'file',
        origin: '/srv/lists',
        generation: 1,
        updatedAt: '2024-01-02T03:04:05.000Z',
      },
      expect.objectContaining({ name: 'from-url', source: 'url', origin: 'https://lists.example/x.txt' }),
    ]);
  });

  it('one list, with its entries only when asked (?entries=1)', async () => {
    const plain = await call('GET', '/v1/lists/from-file');
    expect(plain.status).toBe(200);
    expect(plain.json).toMatchObject({ name: 'from-file', entries: 1 });
    expect(plain.json).not.toHaveProperty('list');
    expect((await call('GET', '/v1/lists/from-file?entries=1')).json.list).toEqual(['file-listed.example']);
    expect((await call('GET', '/v1/lists/from-file?entries=yes')).json).not.toHaveProperty('list');
  });

  it('an unknown list is 404 E_LIST_NOT_FOUND; a malformed escape in its name is 400', async () => {
    expectError(await call('GET', '/v1/lists/nope'), 404, 'E_LIST_NOT_FOUND');
    expectError(await call('GET', '/v1/lists/%E0%A4'), 400, 'E_BAD_REQUEST');
  });

  it('reads need the token when one is configured', async () => {
    expectError(await call('GET', '/v1/lists', { token: null }), 401, 'E_AUTH_MISSING');
    expectError(await call('GET', '/v1/lists/from-file', { token: 'wrong' }), 403, 'E_AUTH_WRONG');
    expectError(await call('GET', '/v1/explain?name=a.example', { token: null }), 401, 'E_AUTH_MISSING');
  });
});

describe('PUT /v1/lists/{name}', () => {
  it('creates a list from a text body (201), replaces it (200), persists it and swaps the policy', async () => {
    const created = await call('PUT', '/v1/lists/team?category=scam', { body: 'evil.example\n*.sub.example\n# comment\n\n' });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ name: 'team', kind: 'block', category: 'scam', entries: 2, generation: 2, created: true });
    expect(registry.generation).toBe(2);
    expect(registry.get('team')?.source).toBe('api');

    const stored = JSON.parse(await readFile(path.join(stateDir, 'lists', 'team.json'), 'utf8'));
    expect(stored).toMatchObject({ format: 1, name: 'team', kind: 'block', category: 'scam', entries: ['evil.example', '*.sub.example'] });

    const replaced = await call('PUT', '/v1/lists/team', { body: 'other.example\n' });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ entries: 1, generation: 3, created: false, category: 'uncategorized' });
    expect((await call('GET', '/v1/lists/team?entries=1')).json.list).toEqual(['other.example']);
    expect((await call('GET', '/v1/explain?name=evil.example')).json.verdict).toBe('not-listed');
    expect((await call('GET', '/v1/explain?name=www.other.example')).json.verdict).toBe('blocked');
  });

  it('takes kind and category from the query string for text, from the body for JSON', async () => {
    expect((await call('PUT', '/v1/lists/ok-text?kind=allow&category=partners', { body: 'partner.example' })).json).toMatchObject({
      kind: 'allow',
      category: 'partners',
    });
    const json = await call('PUT', '/v1/lists/ok-json', { json: { kind: 'allow', category: 'banks', entries: ['bank.example', '*.pay.example'] } });
    expect(json.status).toBe(201);
    expect(json.json).toMatchObject({ kind: 'allow', category: 'banks', entries: 2 });
    expect((await call('GET', '/v1/lists/ok-json?entries=1')).json.list).toEqual(['bank.example', '*.pay.example']);
    // Defaults: block, uncategorized, no entries.
    expect((await call('PUT', '/v1/lists/empty', { json: {} })).json).toMatchObject({ kind: 'block', category: 'uncategorized', entries: 0 });
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON'])('treats content type %j as JSON', async (contentType) => {
    const res = await call('PUT', '/v1/lists/ct', { body: JSON.stringify({ entries: ['ct.example'] }), contentType });
    expect(res.json).toMatchObject({ entries: 1 });
  });

  it('takes an RPZ zone with Content-Type text/dns or ?format=rpz, and refuses an unknown format', async () => {
    const zone = '$ORIGIN rpz.x.\nexact.example CNAME .\n';
    expect((await call('PUT', '/v1/lists/z1', { body: zone, contentType: 'text/dns' })).json).toMatchObject({ entries: 1 });
    expect((await call('PUT', '/v1/lists/z2?format=rpz', { body: zone })).json).toMatchObject({ entries: 1 });
    expect(registry.store.verdict('exact.example').rule).toMatchObject({ rpz: 'nxdomain', scope: 'exact' });
    expect(registry.store.verdict('x.exact.example').action).toBe('none');
    expectError(await call('PUT', '/v1/lists/z3?format=bind', { body: zone }), 400, 'E_BAD_REQUEST');
    // As list lines (no format), the zone's records are not list entries: refused whole.
    expectError(await call('PUT', '/v1/lists/z4', { body: zone }), 400, 'E_LIST_INVALID');
  });

  it('refuses a list with bad lines as a whole: 400 E_LIST_INVALID naming each line, nothing applied or stored', async () => {
    const res = await call('PUT', '/v1/lists/team', { body: 'fine.example\nhttp://x.example/path\nfine2.example\n10.0.0.0/8\n' });
    expectError(res, 400, 'E_LIST_INVALID');
    expect(res.json.error.problems).toEqual([
      { line: 2, entry: 'http://x.example/path', reason: expect.any(String) },
      { line: 4, entry: '10.0.0.0/8', reason: expect.any(String) },
    ]);
    expect(registry.generation).toBe(1);
    expect(registry.get('team')).toBeUndefined();
    expect(await storedFiles()).toEqual([]);
  });

  it('JSON entries must be single-line strings; problems name their 1-based position', async () => {
    const res = await call('PUT', '/v1/lists/team', { json: { entries: ['ok.example', 7, 'a.example\nb.example', null] } });
    expectError(res, 400, 'E_LIST_INVALID');
    expect(res.json.error.problems.map((p: { line: number }) => p.line)).toEqual([2, 3, 4]);
  });

  it.each([
    ['entries that are not an array', { entries: 'evil.example' }, 'E_BAD_REQUEST'],
    ['an unknown kind', { kind: 'deny', entries: [] }, 'E_BAD_REQUEST'],
    ['a body that is an array', ['evil.example'], 'E_BAD_REQUEST'],
    ['a body that is null', null, 'E_BAD_REQUEST'],
    ['a bad category', { category: 'Bad Category', entries: [] }, 'E_LIST_INVALID'],
  ])('refuses %s with 400 %s', async (_label, json, code) => {
    expectError(await call('PUT', '/v1/lists/team', { body: JSON.stringify(json), contentType: 'application/json' }), 400, code);
    expect(registry.generation).toBe(1);
  });

  it('refuses an unknown kind in the query string and a bad category for text bodies', async () => {
    expectError(await call('PUT', '/v1/lists/team?kind=deny', { body: 'a.example' }), 400, 'E_BAD_REQUEST');
    expectError(await call('PUT', '/v1/lists/team?category=UPPER', { body: 'a.example' }), 400, 'E_LIST_INVALID');
  });

  it.each(['{"entries":', '{"entries":[[[[[[[[[["a"]]]]]]]]]]}'])('refuses the JSON body %j with 400 E_BAD_JSON', async (body) => {
    expectError(await call('PUT', '/v1/lists/team', { body, contentType: 'application/json' }), 400, 'E_BAD_JSON');
  });

  it.each(['Upper', 'has%20space', '-dash-first', 'a.b', 'x'.repeat(65)])('refuses the list name %j with 400 E_LIST_INVALID', async (name) => {
    expectError(await call('PUT', `/v1/lists/${name}`, { body: 'a.example' }), 400, 'E_LIST_INVALID');
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses to overwrite a list that comes from a file or a URL: 409 E_LIST_READ_ONLY', async () => {
    const fromFile = await call('PUT', '/v1/lists/from-file', { body: 'a.example' });
    expectError(fromFile, 409, 'E_LIST_READ_ONLY');
    expect(fromFile.json.error.message).toContain('/srv/lists');
    expectError(await call('PUT', '/v1/lists/from-url', { body: 'a.example' }), 409, 'E_LIST_READ_ONLY');
    expect(registry.get('from-file')?.list.size).toBe(1);
    expect(registry.generation).toBe(1);
    expect(await storedFiles()).toEqual([]);
  });

  it('413 E_TOO_LARGE for more entries than allowed and for a body over the byte limit', async () => {
    const entries = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => `e${i}.example`);
    expectError(await call('PUT', '/v1/lists/big', { body: entries.join('\n') }), 413, 'E_TOO_LARGE');
    expect((await call('PUT', '/v1/lists/big', { body: entries.slice(1).join('\n') })).status).toBe(201);
    expectError(await call('PUT', '/v1/lists/huge', { body: `${'a'.repeat(MAX_BODY)}.example` }), 413, 'E_TOO_LARGE');
  });

  it('writes need the token; a refused write changes nothing', async () => {
    expectError(await call('PUT', '/v1/lists/team', { body: 'a.example', token: null }), 401, 'E_AUTH_MISSING');
    expectError(await call('PUT', '/v1/lists/team', { body: 'a.example', token: 'nope' }), 403, 'E_AUTH_WRONG');
    expect(registry.get('team')).toBeUndefined();
  });

  it('writes an audit line naming the token fingerprint, never the token', async () => {
    await call('PUT', '/v1/lists/team', { body: 'a.example' });
    const audit = logLines.find((line) => line['msg'] === 'audit: list changed');
    expect(audit).toMatchObject({ who: auth.label, action: 'create', list: 'team', entries: 1, generation: 2 });
    expect(JSON.stringify(logLines)).not.toContain(TOKEN);
  });
});

describe('POST /v1/lists/{name}/entries', () => {
  beforeEach(async () => {
    expect((await call('PUT', '/v1/lists/team', { body: 'a.example\nb.example\n' })).status).toBe(201);
  });

  it('adds and removes entries, counting what changed', async () => {
    const res = await call('POST', '/v1/lists/team/entries', { json: { add: ['c.example', 'a.example'], remove: ['b.example', 'missing.example'] } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ name: 'team', kind: 'block', category: 'uncategorized', entries: 2, generation: 3, added: 1, removed: 1 });
    expect((await call('GET', '/v1/lists/team?entries=1')).json.list).toEqual(['a.example', 'c.example']);
    // What a restart loads: the snapshot plus the delta journal.
    const stored = (await new StateStore(stateDir).loadLists()).lists.find((list) => list.name === 'team');
    expect(stored?.entries).toEqual(['a.example', 'c.example']);
  });

  it('refuses bad entries in add or remove as a whole', async () => {
    const res = await call('POST', '/v1/lists/team/entries', { json: { add: ['ok.example', 'http://bad/path'] } });
    expectError(res, 400, 'E_LIST_INVALID');
    expect(res.json.error.problems).toEqual([expect.objectContaining({ line: 2, entry: 'http://bad/path' })]);
    expectError(await call('POST', '/v1/lists/team/entries', { json: { remove: [1] } }), 400, 'E_LIST_INVALID');
    expect(registry.get('team')?.list.size).toBe(2);
    expect(registry.generation).toBe(2);
  });

  it('404 for a list that does not exist, 409 for a file or URL list, 400 for a non-object body', async () => {
    expectError(await call('POST', '/v1/lists/nope/entries', { json: { add: ['x.example'] } }), 404, 'E_LIST_NOT_FOUND');
    expectError(await call('POST', '/v1/lists/from-file/entries', { json: { add: ['x.example'] } }), 409, 'E_LIST_READ_ONLY');
    expectError(await call('POST', '/v1/lists/team/entries', { json: ['x.example'] }), 400, 'E_BAD_REQUEST');
    expectError(await call('POST', '/v1/lists/team/entries', { body: 'x.example' }), 400, 'E_BAD_JSON');
  });

  it('413 when the result would hold more than the entry limit', async () => {
    const add = Array.from({ length: MAX_ENTRIES - 1 }, (_, i) => `n${i}.example`);
    expectError(await call('POST', '/v1/lists/team/entries', { json: { add } }), 413, 'E_TOO_LARGE');
    expect((await call('POST', '/v1/lists/team/entries', { json: { add, remove: ['a.example'] } })).status).toBe(200);
  });
});

describe('DELETE /v1/lists/{name}', () => {
  it('removes an API list, its state file and its rules', async () => {
    await call('PUT', '/v1/lists/team', { body: 'gone.example' });
    expect(await storedFiles()).toEqual(['team.json']);
    const res = await call('DELETE', '/v1/lists/team');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ name: 'team', generation: 3 });
    expect(await storedFiles()).toEqual([]);
    expectError(await call('GET', '/v1/lists/team'), 404, 'E_LIST_NOT_FOUND');
    expect((await call('GET', '/v1/explain?name=gone.example')).json.verdict).toBe('not-listed');
  });

  it('404 for an unknown list, 409 for a file list, 401 without the token', async () => {
    expectError(await call('DELETE', '/v1/lists/nope'), 404, 'E_LIST_NOT_FOUND');
    expectError(await call('DELETE', '/v1/lists/from-file'), 409, 'E_LIST_READ_ONLY');
    expectError(await call('DELETE', '/v1/lists/from-url', { token: null }), 401, 'E_AUTH_MISSING');
    expect(registry.all().map((r) => r.list.name)).toEqual(['from-file', 'from-url']);
  });
});

describe('GET /v1/explain', () => {
  it('explains a blocked, an allowed and an unlisted name with the generation', async () => {
    await call('PUT', '/v1/lists/zz-allow?kind=allow', { body: 'ok.file-listed.example' });
    const blocked = await call('GET', '/v1/explain?name=WWW.File-Listed.Example.');
    expect(blocked.status).toBe(200);
    expect(blocked.json).toMatchObject({
      name: 'www.file-listed.example',
      valid: true,
      verdict: 'blocked',
      generation: 2,
      rule: { list: 'from-file', category: 'phishing', kind: 'block', domain: 'file-listed.example', line: 1 },
    });
    expect((await call('GET', '/v1/explain?name=ok.file-listed.example')).json).toMatchObject({ verdict: 'allowed', rule: { list: 'zz-allow' } });
    expect((await call('GET', '/v1/explain?name=unrelated.example')).json).toMatchObject({ verdict: 'not-listed' });
  });

  it('400 without a name; 400 with valid:false for a name that is not a domain', async () => {
    expectError(await call('GET', '/v1/explain'), 400, 'E_BAD_REQUEST');
    expectError(await call('GET', '/v1/explain?name='), 400, 'E_BAD_REQUEST');
    const invalid = await call('GET', '/v1/explain?name=not%20a%20domain');
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ valid: false, error: expect.any(String) });
  });
});

describe('POST /v1/reload', () => {
  it('runs the reload and answers with its result; needs the token', async () => {
    expect(await call('POST', '/v1/reload')).toMatchObject({ status: 200, json: { generation: 1, warnings: ['a warning'] } });
    expect(reloads).toBe(1);
    expectError(await call('POST', '/v1/reload', { token: null }), 401, 'E_AUTH_MISSING');
    expectError(await call('GET', '/v1/reload'), 405, 'E_METHOD');
    expect(reloads).toBe(1);
  });
});

describe('concurrent changes', () => {
  it('parallel PUTs each get their own generation and all land', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call('PUT', `/v1/lists/p${i}`, { body: `p${i}.example` })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(results.map((r) => r.json.generation).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(registry.generation).toBe(9);
    expect((await storedFiles()).length).toBe(8);
  });
});
