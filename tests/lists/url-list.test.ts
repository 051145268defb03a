/**
 * UrlListSource against a local HTTP server on 127.0.0.1: conditional requests (ETag,
 * If-Modified-Since, same bytes without validators), the last good copy in the state directory (kept
 * when a download fails or is garbage, loaded at start), the minimum share of usable lines, HTTP
 * errors, timeouts and the size limit, and names taken by other sources.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UrlListSpec } from '../../src/config/options.js';
import { ListRegistry, type ListRecord } from '../../src/lists/list-registry.js';
import { StateStore } from '../../src/lists/state-store.js';
import { UrlListSource, type RefreshResult, type UrlListOptions } from '../../src/lists/url-list.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { parseList } from '../../src/policy/parse-list.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { sleep, waitFor } from '../helpers/built-cli.js';
import { closeTcp, listenTcp } from '../helpers/ports.js';
import { rulesOf } from '../policy/rules-of.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let baseUrl: string;
let handler: Handler;
let requests: http.IncomingHttpHeaders[];
let stateDir: string;
let state: StateStore;
let registry: ListRegistry;
let logLines: Record<string, unknown>[];
let results: RefreshResult[];

const LIST = 'evil.example\n*.phish.example\nscam.example\n';

beforeEach(async () => {
  requests = [];
  handler = (_req, res) => res.end(LIST);
  server = http.createServer((req, res) => {
    requests.push(req.headers);
    handler(req, res);
  });
  baseUrl = `http://127.0.0.1:${await listenTcp(server, 0, '127.0.0.1')}`;
  stateDir = await mkdtemp(path.join(tmpdir(), 'fraudwall-url-list-'));
  state = new StateStore(stateDir);
  registry = new ListRegistry([], new VerdictCache(), silentLogger);
  logLines = [];
  results = [];
});
afterEach(async () => {
  server.closeAllConnections();
  await closeTcp(server);
  await rm(stateDir, { recursive: true, force: true });
});

function spec(overrides: Partial<UrlListSpec> = {}): UrlListSpec {
  return { name: 'feed', url: `${baseUrl}/list.txt`, category: 'phishing', kind: 'block', refreshSeconds: 3600, format: 'list', ...overrides };
}

function source(options: Partial<UrlListOptions> = {}, specOverrides: Partial<UrlListSpec> = {}): UrlListSource {
  const logger = createLogger('debug', (line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
  return new UrlListSource(spec(specOverrides), state, logger, {
    urlMinValidPercent: 50,
    timeoutMs: 5000,
    maxBytes: 1_000_000,
    onResult: (result) => results.push(result),
    ...options,
  });
}

const files = () => state.urlCopyFiles('feed');
const storedBody = async (): Promise<string> => readFile(files().body, 'utf8');
const storedMeta = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(files().meta, 'utf8'));
const domains = (record: ListRecord | undefined): string[] => (record ? rulesOf(record.list).map((r) => r.domain) : []);
const warnings = (): string[] => logLines.filter((l) => l['level'] === 'warn').map((l) => String(l['msg']));

/** Answers `body` with the given headers, honouring If-None-Match / If-Modified-Since like a static server. */
function staticFile(body: string, headers: Record<string, string> = {}): Handler {
  return (req, res) => {
    const etag = headers['etag'];
    const lastModified = headers['last-modified'];
    if ((etag && req.headers['if-none-match'] === etag) || (!etag && lastModified && req.headers['if-modified-since'] === lastModified)) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
}

describe('a successful download', () => {
  it('swaps the list in, stores the copy with its validators and digest, reports updated', async () => {
    handler = staticFile(LIST, { etag: '"v1"', 'last-modified': 'Wed, 01 May 2024 10:00:00 GMT' });
    const url = source();
    expect(await url.refresh(registry)).toBe('updated');
    expect(results).toEqual(['updated']);
    expect(requests[0]).toMatchObject({ 'user-agent': 'fraudwall' });
    expect(requests[0]).not.toHaveProperty('if-none-match');
    expect(requests[0]).not.toHaveProperty('if-modified-since');

    const record = registry.get('feed');
    expect(record).toMatchObject({ source: 'url', origin: `${baseUrl}/list.txt`, generation: 2 });
    expect(record!.list).toMatchObject({ name: 'feed', kind: 'block', category: 'phishing' });
    expect(domains(record)).toEqual(['evil.example', 'phish.example', 'scam.example']);
    expect(registry.store.verdict('a.phish.example').action).toBe('block');

    expect(await storedBody()).toBe(LIST);
    const meta = await storedMeta();
    expect(meta).toMatchObject({
      url: `${baseUrl}/list.txt`,
      etag: '"v1"',
      lastModified: 'Wed, 01 May 2024 10:00:00 GMT',
      sha256: createHash('sha256').update(LIST).digest('hex'),
    });
    expect(Date.now() - Date.parse(String(meta['fetchedAt']))).toBeLessThan(60_000);
  });

  it('reads an RPZ feed (format rpz) with RPZ semantics, and warns about public-suffix entries of a list', async () => {
    handler = staticFile('$ORIGIN rpz.feed.\nexact.feed.test CNAME .\n*.wild.feed.test CNAME .\n24.0.113.0.203.rpz-ip CNAME .\n');
    expect(await source({}, { format: 'rpz' }).refresh(registry)).toBe('updated');
    const list = registry.get('feed')!.list;
    expect(rulesOf(list).map((r) => `${r.scope} ${r.rpz} ${r.domain}`)).toEqual(['exact nxdomain exact.feed.test', 'subdomains nxdomain wild.feed.test', 'domain nxdomain 203.0.113.0/24']);
    handler = staticFile('one.feed.test\nco.uk\ntwo.feed.test\n');
    expect(await source({}, { format: 'list' }).refresh(registry)).toBe('updated');
    expect(domains(registry.get('feed'))).toEqual(['one.feed.test', 'two.feed.test']);
    expect(warnings()).toContainEqual(expect.stringContaining('URL list "feed": skipped 1 public-suffix entry (first: line 2: co.uk)'));
  });

  it('follows redirects', async () => {
    handler = (req, res) => {
      if (req.url === '/list.txt') {
        res.writeHead(302, { location: '/moved.txt' });
        res.end();
      } else res.end(LIST);
    };
    expect(await source().refresh(registry)).toBe('updated');
    expect(domains(registry.get('feed'))).toHaveLength(3);
  });

  it('without a registry (before start) it only stores the copy', async () => {
    const url = source();
    expect(await url.refresh()).toBe('updated');
    expect(await storedBody()).toBe(LIST);
    expect(registry.generation).toBe(1);
  });
});

describe('conditional requests', () => {
  it('sends the stored ETag and Last-Modified back; a 304 changes nothing', async () => {
    handler = staticFile(LIST, { etag: '"v1"', 'last-modified': 'Wed, 01 May 2024 10:00:00 GMT' });
    const url = source();
    await url.refresh(registry);
    expect(await url.refresh(registry)).toBe('not-modified');
    expect(requests[1]).toMatchObject({ 'if-none-match': '"v1"', 'if-modified-since': 'Wed, 01 May 2024 10:00:00 GMT' });
    expect(registry.generation).toBe(2);
    expect(results).toEqual(['updated', 'not-modified']);
  });

  it('only Last-Modified: sent back as If-Modified-Since', async () => {
    handler = staticFile(LIST, { 'last-modified': 'Wed, 01 May 2024 10:00:00 GMT' });
    const url = source();
    await url.refresh(registry);
    expect(await url.refresh(registry)).toBe('not-modified');
    expect(requests[1]).toMatchObject({ 'if-modified-since': 'Wed, 01 May 2024 10:00:00 GMT' });
    expect(requests[1]).not.toHaveProperty('if-none-match');
  });

  it('a new version replaces the list and its validators', async () => {
    handler = staticFile(LIST, { etag: '"v1"' });
    const url = source();
    await url.refresh(registry);
    handler = staticFile('new.example\n', { etag: '"v2"' });
    expect(await url.refresh(registry)).toBe('updated');
    expect(domains(registry.get('feed'))).toEqual(['new.example']);
    expect(registry.get('feed')!.generation).toBe(3);
    expect((await storedMeta())['etag']).toBe('"v2"');
    expect(await url.refresh(registry)).toBe('not-modified');
    expect(requests[2]).toMatchObject({ 'if-none-match': '"v2"' });
  });

  it('without validators, the same bytes again are not-modified (no new policy); other bytes update', async () => {
    const url = source();
    expect(await url.refresh(registry)).toBe('updated');
    expect(await url.refresh(registry)).toBe('not-modified');
    expect(registry.generation).toBe(2);
    handler = (_req, res) => res.end(`${LIST}extra.example\n`);
    expect(await url.refresh(registry)).toBe('updated');
    expect(registry.generation).toBe(3);
  });
});

describe('the last good copy is kept', () => {
  async function withGoodCopy(): Promise<UrlListSource> {
    handler = staticFile(LIST, { etag: '"good"' });
    const url = source();
    expect(await url.refresh(registry)).toBe('updated');
    return url;
  }

  async function expectGoodCopyKept(): Promise<void> {
    expect(domains(registry.get('feed'))).toEqual(['evil.example', 'phish.example', 'scam.example']);
    expect(registry.generation).toBe(2);
    expect(await storedBody()).toBe(LIST);
    expect((await storedMeta())['etag']).toBe('"good"');
  }

  it.each([
    ['an HTML error page', '<!DOCTYPE html>\n<html>\n<head><title>Oops</title></head>\n<body>Service unavailable</body>\n</html>\n'],
    ['an empty body', ''],
    ['only comments', '# list moved\n# see https://example.net\n'],
    ['prefixes too broad to be rules', '10.0.0.0/8\n192.0.0.0/9\n127.0.0.1\nhost.example\n'],
  ])('%s is rejected', async (_label, body) => {
    const url = await withGoodCopy();
    handler = staticFile(body, { etag: '"bad"' });
    expect(await url.refresh(registry)).toBe('rejected');
    await expectGoodCopyKept();
    expect(warnings().some((w) => w.includes('download rejected'))).toBe(true);
    // The validators of the rejected download were not kept: the next request asks for a change again.
    await url.refresh(registry);
    expect(requests.at(-1)).toMatchObject({ 'if-none-match': '"good"' });
  });

  it.each([
    [404, 'HTTP 404'],
    [500, 'HTTP 500'],
    [503, 'HTTP 503'],
  ])('HTTP %d fails and logs the status', async (status, text) => {
    const url = await withGoodCopy();
    handler = (_req, res) => {
      res.writeHead(status);
      res.end('error page\nwith.domain.example\n');
    };
    expect(await url.refresh(registry)).toBe('failed');
    await expectGoodCopyKept();
    expect(warnings().some((w) => w.includes(text) && w.includes('keeping the last good copy'))).toBe(true);
  });

  it('a server that does not answer fails after timeoutMs', async () => {
    await withGoodCopy();
    handler = () => undefined;
    const url = source({ timeoutMs: 200 });
    const started = performance.now();
    expect(await url.refresh(registry)).toBe('failed');
    expect(performance.now() - started).toBeLessThan(10_000);
    await expectGoodCopyKept();
  });

  it('a body that stalls halfway fails after timeoutMs', async () => {
    await withGoodCopy();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial.example\n');
    };
    expect(await source({ timeoutMs: 300 }).refresh(registry)).toBe('failed');
    await expectGoodCopyKept();
  });

  it('a body over maxBytes fails, with or without a content-length', async () => {
    await withGoodCopy();
    const big = Array.from({ length: 2000 }, (_, i) => `host${i}.example`).join('\n');
    handler = (_req, res) => {
      res.writeHead(200);
      for (let at = 0; at < big.length; at += 1000) res.write(big.slice(at, at + 1000));
      res.end();
    };
    expect(await source({ maxBytes: 10_000 }).refresh(registry)).toBe('failed');
    handler = staticFile(big);
    expect(await source({ maxBytes: 10_000 }).refresh(registry)).toBe('failed');
    expect(warnings().some((w) => w.includes('larger than 10000 bytes'))).toBe(true);
    await expectGoodCopyKept();
    expect(await source({ maxBytes: big.length }).refresh(registry)).toBe('updated');
  });

  it('an unreachable server fails', async () => {
    await withGoodCopy();
    const closed = http.createServer();
    const port = await listenTcp(closed, 0, '127.0.0.1');
    await closeTcp(closed);
    expect(await source({}, { url: `http://127.0.0.1:${port}/list.txt` }).refresh(registry)).toBe('failed');
    await expectGoodCopyKept();
  });
});

describe('minimum share of usable lines', () => {
  const lines = (good: number, bad: number): string =>
    [...Array.from({ length: good }, (_, i) => `ok${i}.example`), ...Array.from({ length: bad }, (_, i) => `http://bad${i}.example/x`)].join('\n');

  it.each([
    [50, 5, 5, 'updated'],
    [50, 4, 6, 'rejected'],
    [50, 6, 4, 'updated'],
    [90, 9, 1, 'updated'],
    [90, 8, 2, 'rejected'],
    [29, 29, 71, 'updated'], // exactly the minimum, where a ratio in floating point falls just short
    [0, 1, 99, 'updated'],
    [100, 10, 0, 'updated'],
    [100, 10, 1, 'rejected'],
  ])('with url-min-valid-percent %d, %d good and %d bad lines are %s', async (urlMinValidPercent, good, bad, expected) => {
    handler = staticFile(lines(good, bad));
    expect(await source({ urlMinValidPercent }).refresh(registry)).toBe(expected);
    if (expected === 'updated') {
      expect(registry.get('feed')!.list.size).toBe(good);
      expect(registry.get('feed')!.list.skipped).toHaveLength(bad);
    } else {
      expect(registry.get('feed')).toBeUndefined();
    }
  });
});

describe('names taken by other sources', () => {
  it('does not replace an API or file list of the same name', async () => {
    registry = new ListRegistry(
      [{ list: parseList('pushed.example', { name: 'feed', kind: 'block' }), source: 'api', origin: 'api', updatedAt: 0, generation: 1 }],
      new VerdictCache(),
      silentLogger,
    );
    expect(await source().refresh(registry)).toBe('rejected');
    expect(registry.get('feed')?.source).toBe('api');
    expect(domains(registry.get('feed'))).toEqual(['pushed.example']);
    expect(warnings().some((w) => w.includes('not applied') && w.includes('comes from api'))).toBe(true);
  });
});

describe('loadLastGood', () => {
  it('loads the copy a previous process stored, and sends its validators on the next refresh', async () => {
    handler = staticFile(LIST, { etag: '"v1"' });
    await source().refresh(registry);
    const fetchedAt = Date.parse(String((await storedMeta())['fetchedAt']));

    const restarted = source();
    const record = await restarted.loadLastGood(1);
    expect(record).toMatchObject({ source: 'url', origin: `${baseUrl}/list.txt`, generation: 1, updatedAt: fetchedAt });
    expect(domains(record)).toEqual(['evil.example', 'phish.example', 'scam.example']);
    expect(record!.list.category).toBe('phishing');
    expect(await restarted.refresh(new ListRegistry([record!], new VerdictCache(), silentLogger))).toBe('not-modified');
    expect(requests.at(-1)).toMatchObject({ 'if-none-match': '"v1"' });
  });

  it('a copy made for another URL is not used, and its validators are not sent', async () => {
    handler = staticFile(LIST, { etag: '"v1"' });
    await source().refresh(registry);
    const moved = source({}, { url: `${baseUrl}/other.txt` });
    expect(await moved.loadLastGood(1)).toBeUndefined();
    await moved.refresh(registry);
    expect(requests.at(-1)).not.toHaveProperty('if-none-match');
  });

  it('no copy: undefined, quietly', async () => {
    expect(await source().loadLastGood(1)).toBeUndefined();
    expect(warnings()).toEqual([]);
  });

  it('an unreadable copy: undefined with a warning, and the next download is unconditional', async () => {
    await mkdir(path.dirname(files().meta), { recursive: true });
    await writeFile(files().body, LIST);
    await writeFile(files().meta, '{"url": "');
    const url = source();
    expect(await url.loadLastGood(1)).toBeUndefined();
    expect(warnings().some((w) => w.includes('unreadable'))).toBe(true);
    handler = staticFile(LIST, { etag: '"v1"' });
    expect(await url.refresh(registry)).toBe('updated');
    expect(requests[0]).not.toHaveProperty('if-none-match');
  });
});

describe('schedule', () => {
  it('refreshes every refreshSeconds after start, and stops on stop', async () => {
    const url = source({}, { refreshSeconds: 0.05 });
    url.start(registry);
    try {
      expect(await waitFor(() => requests.length >= 3, 5000, 10)).toBe(true);
      expect(registry.get('feed')).toBeDefined();
    } finally {
      url.stop();
    }
    await sleep(50); // a refresh already in flight may still land
    const count = requests.length;
    await sleep(300);
    expect(requests.length).toBe(count);
  });

  it('the first refresh is one interval away, not at start', async () => {
    const url = source({}, { refreshSeconds: 3600 });
    url.start(registry);
    await sleep(100);
    url.stop();
    expect(requests).toHaveLength(0);
  });
});
