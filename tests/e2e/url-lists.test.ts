/**
 * URL lists against a local HTTP server on 127.0.0.1: conditional refreshes (ETag and
 * Last-Modified), updates, garbage and failures that keep the last good copy in effect, the last good
 * copy at restart, and --require-lists failing closed when a URL list has never been downloaded.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { requireBuiltCli, waitFor } from '../helpers/built-cli.js';
import { metricValue, scrape } from '../helpers/metrics-text.js';
import { isBlocked, listLists, queryA, runCli } from './admin-helpers.js';
import { startTestServer, TEST_TOKEN, writeLists, type TestServer } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type Serving =
  | { readonly kind: 'list'; readonly body: string; readonly etag?: string; readonly lastModified?: string }
  | { readonly kind: 'status'; readonly status: number };

interface SeenRequest {
  readonly at: number;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly status: number;
}

interface ListServer {
  readonly port: number;
  readonly url: string;
  readonly requests: SeenRequest[];
  serve(what: Serving): void;
  /** Stops listening and drops open connections (the port is then refused). */
  close(): Promise<void>;
}

/** A blocklist publisher: answers GET /feed.txt with what it is told to serve, honouring validators. */
async function startListServer(initial: Serving, port = 0): Promise<ListServer> {
  let serving = initial;
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    const record = (status: number): void => {
      requests.push({ at: performance.now(), ifNoneMatch, ifModifiedSince, status });
    };
    if (req.url !== '/feed.txt') {
      record(404);
      res.writeHead(404).end();
      return;
    }
    if (serving.kind === 'status') {
      record(serving.status);
      res.writeHead(serving.status, { 'content-type': 'text/plain' }).end('upstream trouble\n');
      return;
    }
    const { body, etag, lastModified } = serving;
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (etag !== undefined) headers['etag'] = etag;
    if (lastModified !== undefined) headers['last-modified'] = lastModified;
    const fresh = etag !== undefined ? ifNoneMatch === etag : lastModified !== undefined && ifModifiedSince === lastModified;
    if (fresh) {
      record(304);
      res.writeHead(304, headers).end();
      return;
    }
    record(200);
    res.writeHead(200, headers).end(body);
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  let closed = false;
  const close = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  cleanups.push(close);
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/feed.txt`,
    requests,
    serve: (what) => {
      serving = what;
    },
    close,
  };
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function fakeUpstream(): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  return upstream;
}

function urlListsFlag(url: string, name = 'feed'): string {
  return JSON.stringify([{ name, url, category: 'phishing', kind: 'block', refresh: 1 }]);
}

async function fraudwall(upstream: FakeUpstream, flags: Record<string, string>): Promise<TestServer> {
  const fw = await startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], 'watch-lists': 'false', ...flags }, {}, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });
  cleanups.push(() => fw.close());
  return fw;
}

const refreshes = async (fw: TestServer, result: string, list = 'feed'): Promise<number> =>
  metricValue(await scrape(fw.httpPort), `fraudwall_url_list_refreshes_total{list="${list}",result="${result}"}`);

const V1 = '# category: phishing\none.feed.test\ntwo.feed.test\nthree.feed.test\n';
const V2 = 'two.feed.test\nfour.feed.test\n*.five.feed.test\n';
const HTML = `<!DOCTYPE html>\n<html>\n<head><title>503 Service Unavailable</title></head>\n<body>\n<h1>Service Unavailable</h1>\n<p>Try again later.</p>\n<hr>\n<address>nginx</address>\n</body>\n</html>\n`;
const PATHS_AND_IPS = [
  'http://six.feed.test/login.php',
  'https://seven.feed.test/a/b?c=d',
  '/wp-admin/install.php',
  // Addresses that can never be answer-IP rules (too broad, loopback); a plain address would be one.
  '10.0.0.0/8',
  '127.0.0.1',
  '::1',
  '||eight.feed.test/path^',
  'nine.feed.test',
].join('\n');

describe('a URL list', () => {
  it('is downloaded, refreshed conditionally, updated, and kept through garbage, errors, outages and a restart', { timeout: 50_000 }, async () => {
    const upstream = await fakeUpstream();
    const feed = await startListServer({ kind: 'list', body: V1, etag: '"v1"' });
    // Our own state directory: it must outlive the first server (the harness removes the ones it makes).
    const stateDir = tempDir('fraudwall-url-state-');
    const fw = await fraudwall(upstream, { 'url-lists': urlListsFlag(feed.url), state: stateDir });

    // Downloaded before DNS was served.
    expect(feed.requests.length).toBeGreaterThanOrEqual(1);
    expect(feed.requests[0]).toMatchObject({ ifNoneMatch: undefined, status: 200 });
    for (const name of ['one.feed.test', 'www.two.feed.test', 'three.feed.test']) expect(await isBlocked(fw.port, name), name).toBe(true);
    expect(await isBlocked(fw.port, 'four.feed.test')).toBe(false);
    const first = (await listLists(fw.httpPort, TEST_TOKEN)).lists.find((l) => l.name === 'feed');
    expect(first).toMatchObject({ source: 'url', entries: 3, category: 'phishing' });
    const generationV1 = (await listLists(fw.httpPort, TEST_TOKEN)).generation;

    // Refresh: a conditional request with the ETag it got, answered 304, changes nothing.
    expect(await waitFor(() => feed.requests.some((r) => r.status === 304), 5000), 'no conditional refresh within 5 s').toBe(true);
    const conditional = feed.requests.find((r) => r.status === 304)!;
    expect(conditional.ifNoneMatch).toBe('"v1"');
    expect(await waitFor(async () => (await refreshes(fw, 'not-modified')) >= 1, 2000)).toBe(true);
    expect((await listLists(fw.httpPort, TEST_TOKEN)).generation).toBe(generationV1);
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(true);

    // New content: in effect within a few seconds; names that left the list resolve again.
    feed.serve({ kind: 'list', body: V2, etag: '"v2"' });
    const changedAt = performance.now();
    expect(await waitFor(async () => isBlocked(fw.port, 'four.feed.test'), 5000, 100), 'v2 not in effect within 5 s').toBe(true);
    console.log(`[url-lists] new content in effect ${Math.round(performance.now() - changedAt)} ms after the publisher changed it (refresh 1 s)`);
    expect(await isBlocked(fw.port, 'x.five.feed.test')).toBe(true);
    expect(await isBlocked(fw.port, 'two.feed.test')).toBe(true);
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(false);
    expect((await queryA(fw.port, 'one.feed.test')).answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    expect(readFileSync(path.join(stateDir, 'url', 'feed.txt'), 'utf8')).toBe(V2);
    const afterV2 = await listLists(fw.httpPort, TEST_TOKEN);
    expect(afterV2.lists.find((l) => l.name === 'feed')?.entries).toBe(3);

    // Garbage with a 200: rejected, the last good copy (v2) stays in effect and on disk.
    const keptInEffect = async (): Promise<void> => {
      expect(await isBlocked(fw.port, 'four.feed.test')).toBe(true);
      expect(await isBlocked(fw.port, 'x.five.feed.test')).toBe(true);
      expect(await isBlocked(fw.port, 'one.feed.test')).toBe(false);
      const now = await listLists(fw.httpPort, TEST_TOKEN);
      expect(now.lists.find((l) => l.name === 'feed')?.entries).toBe(3);
      expect(now.generation).toBe(afterV2.generation);
      expect(readFileSync(path.join(stateDir, 'url', 'feed.txt'), 'utf8')).toBe(V2);
    };
    for (const [label, body] of [
      ['an HTML error page', HTML],
      ['mostly URLs, paths and unusable addresses', PATHS_AND_IPS],
      ['an empty body', ''],
    ] as const) {
      const rejectedBefore = await refreshes(fw, 'rejected');
      feed.serve({ kind: 'list', body, etag: `"garbage-${label.length}"` });
      expect(await waitFor(async () => (await refreshes(fw, 'rejected')) > rejectedBefore, 5000, 100), `${label} was not rejected within 5 s`).toBe(true);
      await keptInEffect();
      expect(await isBlocked(fw.port, 'six.feed.test')).toBe(false);
      expect(await isBlocked(fw.port, 'nine.feed.test')).toBe(false);
    }

    // Server errors, then the server gone: failed refreshes, v2 stays.
    let failedBefore = await refreshes(fw, 'failed');
    feed.serve({ kind: 'status', status: 500 });
    expect(await waitFor(async () => (await refreshes(fw, 'failed')) > failedBefore, 5000, 100), 'HTTP 500 not counted as failed').toBe(true);
    await keptInEffect();
    failedBefore = await refreshes(fw, 'failed');
    await feed.close();
    expect(await waitFor(async () => (await refreshes(fw, 'failed')) > failedBefore, 5000, 100), 'refused connection not counted as failed').toBe(true);
    await keptInEffect();

    // Restart on the same state directory while the publisher is down: the last good copy loads at start.
    await fw.close();
    const again = await fraudwall(upstream, { 'url-lists': urlListsFlag(feed.url), state: stateDir, 'require-lists': 'true' });
    expect(await isBlocked(again.port, 'four.feed.test')).toBe(true);
    expect(await isBlocked(again.port, 'x.five.feed.test')).toBe(true);
    expect(await isBlocked(again.port, 'one.feed.test')).toBe(false);
    expect((await listLists(again.httpPort, TEST_TOKEN)).lists.find((l) => l.name === 'feed')).toMatchObject({ source: 'url', entries: 3 });

    // The publisher is back, unchanged: the restarted server revalidates with the stored ETag.
    const back = await startListServer({ kind: 'list', body: V2, etag: '"v2"' }, feed.port);
    expect(await waitFor(() => back.requests.length > 0, 5000), 'no refresh within 5 s of the publisher coming back').toBe(true);
    expect(back.requests[0]).toMatchObject({ ifNoneMatch: '"v2"', status: 304 });
    expect(await isBlocked(again.port, 'four.feed.test')).toBe(true);
  });

  it('sends If-Modified-Since when the publisher gives only Last-Modified, and takes a 304 as unchanged', async () => {
    const upstream = await fakeUpstream();
    const lastModified = 'Wed, 01 Jan 2025 00:00:00 GMT';
    const feed = await startListServer({ kind: 'list', body: V1, lastModified });
    const fw = await fraudwall(upstream, { 'url-lists': urlListsFlag(feed.url) });
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(true);
    expect(await waitFor(() => feed.requests.some((r) => r.status === 304), 5000), 'no conditional refresh within 5 s').toBe(true);
    expect(feed.requests.find((r) => r.status === 304)).toMatchObject({ ifModifiedSince: lastModified, ifNoneMatch: undefined });
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(true);
  });

  it('takes the same bytes from a publisher without ETag or Last-Modified as unchanged: no new policy, until the content changes', async () => {
    const upstream = await fakeUpstream();
    const feed = await startListServer({ kind: 'list', body: V1 });
    const fw = await fraudwall(upstream, { 'url-lists': urlListsFlag(feed.url) });
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(true);
    const generation = (await listLists(fw.httpPort, TEST_TOKEN)).generation;
    const updatesAtStart = await refreshes(fw, 'updated');
    // Refreshed every second, always 200 with the full body, never a new generation.
    expect(await waitFor(async () => (await refreshes(fw, 'not-modified')) >= 2, 5000), 'two unchanged refreshes within 5 s').toBe(true);
    expect(feed.requests.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect((await listLists(fw.httpPort, TEST_TOKEN)).generation).toBe(generation);
    expect(await refreshes(fw, 'updated')).toBe(updatesAtStart);
    feed.serve({ kind: 'list', body: V2 });
    expect(await waitFor(async () => isBlocked(fw.port, 'four.feed.test'), 5000), 'changed content applied').toBe(true);
    expect((await listLists(fw.httpPort, TEST_TOKEN)).generation).toBe(generation + 1);
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(false);
  });

  it('that was never downloaded and cannot be: startup goes on without it, and it appears once the publisher is up', async () => {
    const upstream = await fakeUpstream();
    const port = await freePort();
    const fw = await fraudwall(upstream, { 'url-lists': urlListsFlag(`http://127.0.0.1:${port}/feed.txt`) });
    expect((await listLists(fw.httpPort, TEST_TOKEN)).lists.map((l) => l.name)).toEqual([]);
    expect(await isBlocked(fw.port, 'one.feed.test')).toBe(false);
    await startListServer({ kind: 'list', body: V1, etag: '"v1"' }, port);
    expect(await waitFor(async () => isBlocked(fw.port, 'one.feed.test'), 5000, 100), 'list not downloaded within 5 s of the publisher coming up').toBe(true);
  });
});

describe('a URL list whose name another source already holds', () => {
  // At start the first source of a name wins (files, then lists pushed through the API, then URL
  // copies) and the admin API refuses to overwrite a URL list; a refresh must respect the same order.
  it('does not replace a file list of the same name when it refreshes', async () => {
    const upstream = await fakeUpstream();
    const feed = await startListServer({ kind: 'list', body: V1, etag: '"v1"' });
    const fw = await startTestServer(
      { upstream: [`127.0.0.1:${upstream.port}`], 'watch-lists': 'false', 'url-lists': urlListsFlag(feed.url) },
      { 'feed.txt': '# category: local\nlocal-only.feed.test\n' },
      { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
    );
    cleanups.push(() => fw.close());
    const owner = async () => (await listLists(fw.httpPort, TEST_TOKEN)).lists.find((l) => l.name === 'feed');
    expect(await owner()).toMatchObject({ source: 'file', entries: 1 });
    expect(await isBlocked(fw.port, 'local-only.feed.test')).toBe(true);
    // Two refresh intervals and then some.
    expect(await waitFor(() => feed.requests.length >= 2, 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await owner(), 'the URL refresh took over the file list "feed"').toMatchObject({ source: 'file', entries: 1 });
    expect(await isBlocked(fw.port, 'local-only.feed.test')).toBe(true);
  });

  it('does not replace a list pushed through the API under that name while the URL was down', async () => {
    const upstream = await fakeUpstream();
    const port = await freePort();
    const stateDir = tempDir('fraudwall-url-state-');
    const fw = await fraudwall(upstream, { 'url-lists': urlListsFlag(`http://127.0.0.1:${port}/feed.txt`), state: stateDir });
    const pushed = await fetch(`http://127.0.0.1:${fw.httpPort}/v1/lists/feed`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'text/plain' },
      body: 'pushed-only.feed.test\n',
    });
    expect(pushed.status).toBe(201);
    const feed = await startListServer({ kind: 'list', body: V1, etag: '"v1"' }, port);
    expect(await waitFor(() => feed.requests.length >= 2, 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const owner = (await listLists(fw.httpPort, TEST_TOKEN)).lists.find((l) => l.name === 'feed');
    // The pushed list is what a restart loads (stored lists come before URL copies), so it must be what is in effect now.
    expect(owner, 'the URL refresh took over the list pushed through the API').toMatchObject({ source: 'api', entries: 1 });
    expect(await isBlocked(fw.port, 'pushed-only.feed.test')).toBe(true);
  });
});

describe('a URL list publisher that accepts connections but never answers', () => {
  it('does not hold DNS back for long at start when --require-lists is false', { timeout: 30_000 }, async () => {
    const upstream = await fakeUpstream();
    const sockets = new Set<Socket>();
    const hanging = http.createServer(() => undefined); // reads the request, never responds
    hanging.on('connection', (socket: Socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen({ port: 0, host: '127.0.0.1' }, () => resolve()));
    let hangingStopped = false;
    const stopHanging = (): Promise<void> => {
      if (hangingStopped) return Promise.resolve();
      hangingStopped = true;
      return new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        hanging.close(() => resolve());
      });
    };
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/feed.txt`;

    const started = performance.now();
    const starting = startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], 'url-lists': urlListsFlag(url) }, {}, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });
    // Whatever happens below, the server gets closed once it is up.
    cleanups.push(async () => {
      await stopHanging(); // a download still waiting fails at once, so startup can finish
      await (await starting.catch(() => undefined))?.close();
    });
    const BOUND_MS = 10_000;
    const ready = await Promise.race([starting.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), BOUND_MS))]);
    console.log(`[url-lists] with a hanging publisher, DNS was ${ready ? `served after ${Math.round(performance.now() - started)} ms` : `still not served after ${BOUND_MS} ms`}`);
    expect(ready, `DNS not served within ${BOUND_MS / 1000} s: startup waits for the hanging URL list download`).toBe(true);
  });
});

describe('--require-lists true with a URL list never downloaded', () => {
  it('makes startServer reject, naming the list, when the URL is down or serves garbage', async () => {
    const upstream = await fakeUpstream();
    const down = `http://127.0.0.1:${await freePort()}/feed.txt`;
    const garbage = await startListServer({ kind: 'list', body: HTML, etag: '"html"' });
    for (const url of [down, garbage.url]) {
      const starting = startTestServer(
        { upstream: [`127.0.0.1:${upstream.port}`], 'url-lists': urlListsFlag(url, 'must-have'), 'require-lists': 'true' },
        {},
        { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
      );
      // If it did start, make sure it is closed again.
      starting.then((fw) => cleanups.push(() => fw.close())).catch(() => undefined);
      await expect(starting).rejects.toMatchObject({ code: 'E_LISTS_REQUIRED', message: expect.stringContaining('"must-have"') });
      await expect(starting).rejects.toThrow(url);
    }
  });

  it('makes `fraudwall serve` exit 1 with a message naming the list', async () => {
    requireBuiltCli();
    const url = `http://127.0.0.1:${await freePort()}/feed.txt`;
    const lists = writeLists({});
    const state = tempDir('fraudwall-url-state-');
    cleanups.push(async () => rmSync(lists, { recursive: true, force: true }));
    const result = await runCli(
      ['serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', lists, '--state', state, '--require-lists', 'true', '--url-lists', urlListsFlag(url, 'must-have')],
      { timeoutMs: 15_000 },
    );
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain('--require-lists');
    expect(result.stderr).toContain('"must-have"');
    expect(result.stderr).toContain(url);
    expect(result.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
  });
});
