/**
 * The /v1 admin API over real HTTP, with its effect checked over real DNS.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { scrape } from '../helpers/metrics-text.js';
import { startTestServer, TEST_TOKEN, type TestServer } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function upstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  cleanups.push(() => fake.close());
  return fake;
}

async function start(flags: Record<string, string> = {}, env: Record<string, string> = { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }): Promise<TestServer> {
  const fake = await upstream();
  const fw = await startTestServer({ upstream: [`127.0.0.1:${fake.port}`], ...flags }, undefined, env);
  cleanups.push(() => fw.close());
  return fw;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function api(fw: TestServer, method: string, path: string, body?: string | object, token: string | null = TEST_TOKEN): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let data: string | undefined;
  if (typeof body === 'string') {
    headers['content-type'] = 'text/plain';
    data = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    data = JSON.stringify(body);
  }
  const res = await fetch(`http://127.0.0.1:${fw.httpPort}${path}`, { method, headers, body: data });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function rcode(fw: TestServer, name: string): Promise<number> {
  return decode(await udpQuery(fw.port, buildQuery(name, 'A'))).rcode;
}

describe('authentication', () => {
  it('refuses writes with 403 and a clear message when no token is configured, but still lists', async () => {
    const fw = await start({}, {});
    const put = await api(fw, 'PUT', '/v1/lists/x', 'a.test\n', null);
    expect(put.status).toBe(403);
    expect(put.body['error']).toMatchObject({ code: 'E_ADMIN_DISABLED' });
    expect(String((put.body['error'] as { message: string }).message)).toContain('FRAUDWALL_ADMIN_TOKEN');
    expect((await api(fw, 'GET', '/v1/lists', undefined, null)).status).toBe(200);
  });

  it('answers 401 without a token, 403 with a wrong one, 429 after repeated failures, and always accepts the right token', async () => {
    const fw = await start();
    const missing = await api(fw, 'PUT', '/v1/lists/x', 'a.test\n', null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await api(fw, 'PUT', '/v1/lists/x', 'a.test\n', 'wrong-token')).status).toBe(403);
    expect((await api(fw, 'GET', '/v1/lists', undefined, 'wrong-token')).status).toBe(403);
    // 1 missing + 2 wrong so far; 7 more wrong reach the limit of 10 failures per minute.
    for (let i = 0; i < 7; i++) expect((await api(fw, 'GET', '/v1/lists', undefined, 'wrong-token')).status).toBe(403);
    const limited = await api(fw, 'GET', '/v1/lists', undefined, 'another-wrong-token');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect((await api(fw, 'PUT', '/v1/lists/x', 'a.test\n', null)).status).toBe(429);
    // The right token still works: other local clients cannot lock the operator out.
    expect((await api(fw, 'GET', '/v1/lists', undefined, TEST_TOKEN)).status).toBe(200);
    const metrics = await scrape(fw.httpPort);
    expect(metrics).toContain('fraudwall_admin_auth_failures_total{reason="wrong"} 9');
    expect(metrics).toContain('fraudwall_admin_auth_failures_total{reason="missing"} 1');
    expect(metrics).toContain('fraudwall_admin_auth_failures_total{reason="rate-limited"} 2');
  });

  it('sends security headers on every response', async () => {
    const fw = await start();
    const reply = await api(fw, 'GET', '/v1/lists');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('changing lists', () => {
  it('creates a list (201), blocks its names at once, replaces it (200) and reports it in GET /v1/lists', async () => {
    const fw = await start();
    expect(await rcode(fw, 'fake-loan.test')).toBe(0);
    const created = await api(fw, 'PUT', '/v1/lists/pushed?category=fake-loan', '# pushed by a script\nfake-loan.test\n*.fake-job.test\n');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'pushed', kind: 'block', category: 'fake-loan', entries: 2, created: true, generation: 2 });
    const visibleAfter = performance.now();
    expect(await rcode(fw, 'www.fake-loan.test')).toBe(3);
    expect(performance.now() - visibleAfter).toBeLessThan(1000);
    expect(await rcode(fw, 'fake-job.test')).toBe(0); // *.d covers subdomains only
    expect(await rcode(fw, 'a.fake-job.test')).toBe(3);

    const replaced = await api(fw, 'PUT', '/v1/lists/pushed', { category: 'fake-job', kind: 'block', entries: ['other.test'] });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ entries: 1, category: 'fake-job', generation: 3 });
    expect(await rcode(fw, 'fake-loan.test')).toBe(0);
    expect(await rcode(fw, 'other.test')).toBe(3);

    const lists = await api(fw, 'GET', '/v1/lists');
    const pushed = (lists.body['lists'] as Record<string, unknown>[]).find((l) => l['name'] === 'pushed');
    expect(pushed).toMatchObject({ kind: 'block', category: 'fake-job', entries: 1, source: 'api', generation: 3 });
    const fraud = (lists.body['lists'] as Record<string, unknown>[]).find((l) => l['name'] === 'fraud');
    expect(fraud).toMatchObject({ source: 'file', entries: 3 });
  });

  it('rejects a push with any invalid entry as a whole, listing every problem, and changes nothing', async () => {
    const fw = await start();
    await api(fw, 'PUT', '/v1/lists/pushed', 'first.test\n');
    const bad = await api(fw, 'PUT', '/v1/lists/pushed', 'good.test\nhttp://evil.test/path\n10.0.0.0/8\nbad..name\n');
    expect(bad.status).toBe(400);
    const problems = (bad.body['error'] as { problems: { line: number; entry: string; reason: string }[] }).problems;
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(problems[1]).toMatchObject({ entry: '10.0.0.0/8' });
    for (const p of problems) expect(p.reason.length).toBeGreaterThan(3);
    expect(await rcode(fw, 'good.test')).toBe(0);
    expect(await rcode(fw, 'first.test')).toBe(3);
    const json = await api(fw, 'PUT', '/v1/lists/pushed', { entries: ['ok.test', 42] });
    expect(json.status).toBe(400);
    expect((json.body['error'] as { problems: unknown[] }).problems).toEqual([{ line: 2, entry: '42', reason: 'not a single-line string' }]);
    expect((await api(fw, 'GET', '/v1/lists/pushed')).body).toMatchObject({ entries: 1, generation: 2 });
  });

  it('rejects a push or delta with a public suffix as a whole: 400 {line, entry, reason: "public suffix"}', async () => {
    const fw = await start();
    const bad = await api(fw, 'PUT', '/v1/lists/psl', 'evil-shop.test\ncom\n*.github.io\n');
    expect(bad.status).toBe(400);
    expect((bad.body['error'] as { problems: unknown[] }).problems).toEqual([
      { line: 2, entry: 'com', reason: 'public suffix' },
      { line: 3, entry: '*.github.io', reason: 'public suffix' },
    ]);
    expect(await rcode(fw, 'evil-shop.test')).toBe(0);
    expect((await api(fw, 'PUT', '/v1/lists/psl', 'evil-shop.test\nalice.github.io\n')).status).toBe(201);
    const delta = await api(fw, 'POST', '/v1/lists/psl/entries', { add: ['co.uk'] });
    expect(delta.status).toBe(400);
    expect((delta.body['error'] as { problems: unknown[] }).problems).toEqual([{ line: 1, entry: 'co.uk', reason: 'public suffix' }]);
    expect(await rcode(fw, 'x.alice.github.io')).toBe(3);
  });

  it('rejects bad list names, unknown kinds, read-only lists, and bodies over the size limit', async () => {
    const fw = await start({ 'admin-max-body-bytes': '2048' });
    expect((await api(fw, 'PUT', '/v1/lists/Bad%20Name', 'a.test')).status).toBe(400);
    expect((await api(fw, 'PUT', '/v1/lists/x?kind=maybe', 'a.test')).status).toBe(400);
    const fileList = await api(fw, 'PUT', '/v1/lists/fraud', 'a.test');
    expect(fileList.status).toBe(409);
    expect(String((fileList.body['error'] as { message: string }).message)).toContain('file');
    expect((await api(fw, 'DELETE', '/v1/lists/fraud')).status).toBe(409);
    expect((await api(fw, 'DELETE', '/v1/lists/nope')).status).toBe(404);
    const big = await api(fw, 'PUT', '/v1/lists/big', `${'a'.repeat(60)}.test\n`.repeat(100));
    expect(big.status).toBe(413);
    expect((await api(fw, 'PUT', '/v1/lists/deep', '['.repeat(50) + ']'.repeat(50)).catch(() => null))?.status).not.toBe(500);
    const deep = await fetch(`http://127.0.0.1:${fw.httpPort}/v1/lists/deep/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '['.repeat(100) + ']'.repeat(100),
    });
    expect(deep.status).toBe(400);
  });

  it('applies add/remove deltas and deletes lists', async () => {
    const fw = await start();
    await api(fw, 'PUT', '/v1/lists/delta?category=gambling', 'one.test\ntwo.test\n');
    const delta = await api(fw, 'POST', '/v1/lists/delta/entries', { add: ['three.test', 'one.test'], remove: ['TWO.test.'] });
    expect(delta.status).toBe(200);
    expect(delta.body).toMatchObject({ entries: 2, added: 1, removed: 1, category: 'gambling' });
    expect(await rcode(fw, 'two.test')).toBe(0);
    expect(await rcode(fw, 'three.test')).toBe(3);
    const withEntries = await api(fw, 'GET', '/v1/lists/delta?entries=1');
    expect(withEntries.body['list']).toEqual(['one.test', 'three.test']);
    expect((await api(fw, 'POST', '/v1/lists/missing/entries', { add: ['x.test'] })).status).toBe(404);
    expect((await api(fw, 'POST', '/v1/lists/delta/entries', { add: ['bad name'] })).status).toBe(400);

    expect((await api(fw, 'DELETE', '/v1/lists/delta')).status).toBe(200);
    expect(await rcode(fw, 'three.test')).toBe(0);
    expect((await api(fw, 'GET', '/v1/lists/delta')).status).toBe(404);
  });

  it('allowlists pushed through the API override file blocks', async () => {
    const fw = await start();
    expect(await rcode(fw, 'x.casino.test')).toBe(3);
    await api(fw, 'PUT', '/v1/lists/exceptions?kind=allow', 'x.casino.test\n');
    expect(await rcode(fw, 'x.casino.test')).toBe(0);
    const explain = await api(fw, 'GET', '/v1/explain?name=x.casino.test');
    expect(explain.body).toMatchObject({ verdict: 'allowed', rule: { list: 'exceptions', kind: 'allow' } });
    const blocked = await api(fw, 'GET', '/v1/explain?name=Y.Casino.Test.');
    expect(blocked.body).toMatchObject({ name: 'y.casino.test', verdict: 'blocked', rule: { list: 'gambling', category: 'gambling' } });
    expect((await api(fw, 'GET', '/v1/explain?name=bad..name')).status).toBe(400);
  });
});

describe('persistence and reload', () => {
  it('keeps accepted pushes across a restart with the same state directory, and writes nothing before a push', async () => {
    const first = await start();
    expect(existsSync(path.join(first.stateDir, 'lists'))).toBe(false);
    await api(first, 'PUT', '/v1/lists/kept?category=fake-job', 'kept.test\n*.wild-kept.test\n');
    await api(first, 'PUT', '/v1/lists/gone', 'gone.test\n');
    await api(first, 'DELETE', '/v1/lists/gone');
    const stored = JSON.parse(readFileSync(path.join(first.stateDir, 'lists', 'kept.json'), 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ name: 'kept', kind: 'block', category: 'fake-job', entries: ['kept.test', '*.wild-kept.test'] });
    const before = await api(first, 'GET', '/v1/lists');
    await first.server.close(); // stop it but keep its directories for the second start

    const second = await start({ state: first.stateDir, lists: first.listsDir });
    expect(await rcode(second, 'kept.test')).toBe(3);
    expect(await rcode(second, 'a.wild-kept.test')).toBe(3);
    expect(await rcode(second, 'gone.test')).toBe(0);
    const after = await api(second, 'GET', '/v1/lists');
    const summary = (body: Record<string, unknown>) =>
      (body['lists'] as Record<string, unknown>[]).map((l) => [l['name'], l['kind'], l['category'], l['entries'], l['source']]);
    expect(summary(after.body)).toEqual(summary(before.body));
  });

  it('reloads a changed list file by itself (directory watch) and on POST /v1/reload', async () => {
    const fw = await start();
    expect(await rcode(fw, 'new-scam.test')).toBe(0);
    writeFileSync(path.join(fw.listsDir, 'fraud.txt'), '# category: phishing\nevil.fraud.test\nnew-scam.test\n');
    const deadline = Date.now() + 3000;
    while ((await rcode(fw, 'new-scam.test')) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await rcode(fw, 'new-scam.test')).toBe(3);
    expect(await rcode(fw, 'loan-scam.test')).toBe(0); // removed from the file

    writeFileSync(path.join(fw.listsDir, 'extra.txt'), 'extra.test\n');
    const reload = await api(fw, 'POST', '/v1/reload');
    expect(reload.status).toBe(200);
    expect(await rcode(fw, 'extra.test')).toBe(3);
  });
});
