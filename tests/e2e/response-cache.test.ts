/**
 * The response cache over real sockets, with a fake upstream that counts what reaches it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LOOP_PROBE_SUFFIX } from '../../src/upstream/loop-guard.js';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import { sleep } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { scrape } from '../helpers/metrics-text.js';
import { startTestServer, type TestServer } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(flags: Record<string, string> = {}): Promise<{ fw: TestServer; upstream: FakeUpstream; forwarded: (name: string) => number }> {
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  const fw = await startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], ...flags });
  cleanups.push(() => fw.close());
  const forwarded = (name: string) => upstream.queries.filter((q) => q.name === name && !q.name.endsWith(LOOP_PROBE_SUFFIX)).length;
  return { fw, upstream, forwarded };
}

describe('response cache', () => {
  it('answers a repeated question from the cache with the client’s ID and 0x20 question, TTLs counting down', async () => {
    const { fw, upstream, forwarded } = await setup();
    upstream.setDefault({ kind: 'answer', a: '192.0.2.31', ttl: 300 });
    const first = decode(await udpQuery(fw.port, buildQuery('www.cached.test', 'A', { id: 1 })));
    expect(first.answers[0]).toMatchObject({ data: '192.0.2.31', ttl: 300 });
    await sleep(1100);
    const raw = await udpQuery(fw.port, buildQuery('WwW.CaChEd.TeSt', 'A', { id: 2 }));
    const second = decode(raw);
    expect(forwarded('www.cached.test')).toBe(1);
    expect(second.id).toBe(2);
    expect(second.questions[0]?.name).toBe('WwW.CaChEd.TeSt');
    expect(second.answers[0]?.data).toBe('192.0.2.31');
    expect(second.answers[0]?.ttl).toBeGreaterThanOrEqual(298);
    expect(second.answers[0]?.ttl).toBeLessThanOrEqual(299);
    const metrics = await scrape(fw.httpPort);
    expect(metrics).toContain('fraudwall_cache_hits_total 1');
    expect(metrics).toContain('fraudwall_responses_total{rcode="NOERROR",source="cache"} 1');
  });

  it('gives each client its own OPT: none without EDNS, ours with it; DO keeps separate entries', async () => {
    const { fw, forwarded } = await setup();
    await udpQuery(fw.port, buildQuery('opt.cached.test', 'A', { edns: { udpSize: 4096 } }));
    const plain = decode(await udpQuery(fw.port, buildQuery('opt.cached.test', 'A')));
    expect(plain.opt).toBeUndefined();
    expect(plain.answers).toHaveLength(1);
    const withEdns = decode(await udpQuery(fw.port, buildQuery('opt.cached.test', 'A', { edns: { udpSize: 4096 } })));
    expect(withEdns.opt?.udpSize).toBe(1232);
    expect(forwarded('opt.cached.test')).toBe(1);
    await udpQuery(fw.port, buildQuery('opt.cached.test', 'A', { edns: { do: true } }));
    expect(forwarded('opt.cached.test')).toBe(2); // DO=1 is another key
  });

  it('caches NXDOMAIN for min(SOA TTL, SOA MINIMUM), and never caches SERVFAIL or truncated answers', async () => {
    const { fw, upstream, forwarded } = await setup();
    upstream.setBehaviour('gone.cached.test', { kind: 'rcode', rcode: 3 });
    upstream.setBehaviour('broken.cached.test', { kind: 'rcode', rcode: 2 });
    upstream.setBehaviour('tc.cached.test', { kind: 'truncate' });
    for (let i = 0; i < 2; i++) {
      const nx = decode(await udpQuery(fw.port, buildQuery('gone.cached.test', 'A')));
      expect(nx.rcode).toBe(3);
      // Forwarded as is the first time (SOA TTL 300, MINIMUM 60); from the cache, capped at 60.
      expect(nx.authorities[0]?.ttl).toBe(i === 0 ? 300 : 60);
      await udpQuery(fw.port, buildQuery('broken.cached.test', 'A'));
      expect(decode(await udpQuery(fw.port, buildQuery('tc.cached.test', 'A'))).tc).toBe(true);
    }
    expect(forwarded('gone.cached.test')).toBe(1);
    expect(forwarded('broken.cached.test')).toBe(2);
    expect(forwarded('tc.cached.test')).toBe(2);
  });

  it('re-truncates a cached answer for a client with a smaller UDP size', async () => {
    const { fw, upstream, forwarded } = await setup();
    upstream.setDefault({ kind: 'big', records: 60 });
    const big = decode(await udpQuery(fw.port, buildQuery('many.cached.test', 'A', { edns: { udpSize: 4096 } })));
    expect(big.answers).toHaveLength(60);
    const small = decode(await udpQuery(fw.port, buildQuery('many.cached.test', 'A')));
    expect(small.tc).toBe(true);
    expect(forwarded('many.cached.test')).toBe(1);
  });

  it('sends identical questions in flight upstream once', async () => {
    const { fw, upstream, forwarded } = await setup();
    upstream.setDefault({ kind: 'delay', ms: 200, then: { kind: 'answer', a: '192.0.2.32' } });
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => udpQuery(fw.port, buildQuery('same.cached.test', 'A', { id: 500 + i }))),
    );
    expect(replies.map((r) => decode(r).id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => 500 + i));
    for (const reply of replies) expect(decode(reply).answers[0]?.data).toBe('192.0.2.32');
    expect(forwarded('same.cached.test')).toBe(1);
  });

  it('serves a stale answer (TTL 30, EDE 3) when the upstream stops answering after expiry', async () => {
    const { fw, upstream } = await setup({ 'stale-answer-timeout-ms': '300', 'upstream-timeout-ms': '2000' });
    upstream.setDefault({ kind: 'answer', a: '192.0.2.33', ttl: 1 });
    await udpQuery(fw.port, buildQuery('stale.cached.test', 'A'));
    await sleep(1200);
    upstream.setDefault({ kind: 'silent' });
    const started = performance.now();
    const stale = decode(await udpQuery(fw.port, buildQuery('stale.cached.test', 'A', { edns: {} })));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(stale.answers[0]).toMatchObject({ data: '192.0.2.33', ttl: 30 });
    expect(stale.opt?.ede?.infoCode).toBe(3);
  });

  it('prefetches a popular entry before it expires', async () => {
    const { fw, upstream, forwarded } = await setup();
    upstream.setDefault({ kind: 'answer', a: '192.0.2.34', ttl: 2 });
    for (let i = 0; i < 4; i++) await udpQuery(fw.port, buildQuery('hot.cached.test', 'A'));
    expect(forwarded('hot.cached.test')).toBe(1);
    await sleep(1100); // 1 s of freshness left: within the prefetch window
    await udpQuery(fw.port, buildQuery('hot.cached.test', 'A'));
    await sleep(100);
    expect(forwarded('hot.cached.test')).toBe(2); // refreshed in the background
    await sleep(1000); // past the original expiry: still answered from the refreshed entry
    const reply = decode(await udpQuery(fw.port, buildQuery('hot.cached.test', 'A')));
    expect(reply.answers[0]?.data).toBe('192.0.2.34');
    expect(forwarded('hot.cached.test')).toBe(2);
  });

  it('can be turned off', async () => {
    const { fw, forwarded } = await setup({ 'cache-size': '0' });
    await udpQuery(fw.port, buildQuery('off.cached.test', 'A'));
    await udpQuery(fw.port, buildQuery('off.cached.test', 'A'));
    expect(forwarded('off.cached.test')).toBe(2);
  });
});
