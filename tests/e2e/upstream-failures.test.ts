/**
 * Upstream failure handling over real sockets, with in-process fake upstreams injecting the faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { forwarded, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { metricValue, scrape } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/ports.js';
import { startTestServer, type TestServer } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  return upstream;
}

async function fraudwall(upstreams: string[], flags: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ upstream: upstreams, 'upstream-timeout-ms': '300', 'query-timeout-ms': '1000', ...flags });
  cleanups.push(() => server.close());
  return server;
}

const at = (upstream: FakeUpstream): string => `127.0.0.1:${upstream.port}`;

/** What clients caused, without fraudwall's own forwarding-loop probes. */

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('failover between upstreams', () => {
  it('tries the next upstream when the first is silent', async () => {
    const silent = await fake();
    silent.setDefault({ kind: 'silent' });
    const good = await fake();
    good.setDefault({ kind: 'answer', a: '192.0.2.55' });
    const fw = await fraudwall([at(silent), at(good)]);
    const { value, ms } = await timed(udpQuery(fw.port, buildQuery('www.example.test', 'A')));
    expect(decode(value).answers.map((a) => a.data)).toEqual(['192.0.2.55']);
    expect(forwarded(silent)).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(250); // waited for the first upstream's attempt timeout
  });

  it('tries the next upstream on SERVFAIL and REFUSED answers', async () => {
    for (const rcode of [2, 5]) {
      const failing = await fake();
      failing.setDefault({ kind: 'rcode', rcode });
      const good = await fake();
      const fw = await fraudwall([at(failing), at(good)]);
      const reply = decode(await udpQuery(fw.port, buildQuery('www.example.test', 'A')));
      expect(reply.rcode).toBe(0);
      expect(reply.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    }
  });

  it('returns the upstream SERVFAIL when every upstream says SERVFAIL', async () => {
    const a = await fake();
    a.setDefault({ kind: 'rcode', rcode: 2 });
    const b = await fake();
    b.setDefault({ kind: 'rcode', rcode: 2 });
    const fw = await fraudwall([at(a), at(b)]);
    expect(decode(await udpQuery(fw.port, buildQuery('x.example.test', 'A'))).rcode).toBe(2);
    expect(forwarded(a).length + forwarded(b).length).toBe(2);
  });

  it('answers SERVFAIL with EDE within the query deadline when every upstream is down', async () => {
    const closedPort = await freePort();
    const silent = await fake();
    silent.setDefault({ kind: 'silent' });
    const fw = await fraudwall([`127.0.0.1:${closedPort}`, at(silent)], { 'upstream-timeout-ms': '2000' });
    const query = buildQuery('www.example.test', 'A', { edns: { udpSize: 1232 } });
    const { value, ms } = await timed(udpQuery(fw.port, query, { timeoutMs: 3000 }));
    const reply = decode(value);
    expect(reply.rcode).toBe(2);
    expect(reply.opt?.ede?.infoCode).toBe(23);
    expect(ms).toBeLessThan(1000 + 200);
    expect(ms).toBeGreaterThan(800);
  });

  it('ignores answers with a wrong ID or a different question (spoofing) and fails over', async () => {
    for (const kind of ['wrong-id', 'wrong-question', 'garbage'] as const) {
      const spoofing = await fake();
      spoofing.setDefault({ kind });
      const good = await fake();
      good.setDefault({ kind: 'answer', a: '192.0.2.77' });
      const fw = await fraudwall([at(spoofing), at(good)]);
      const reply = decode(await udpQuery(fw.port, buildQuery('www.example.test', 'A')));
      expect(reply.answers.map((a) => a.data), kind).toEqual(['192.0.2.77']);
      if (kind !== 'garbage') {
        const metrics = await scrape(fw.httpPort);
        const reason = kind === 'wrong-id' ? 'late' : 'mismatch';
        // At least ours; fraudwall's own loop probe to that upstream gets the same treatment.
        const series = `fraudwall_upstream_ignored_answers_total{upstream="127.0.0.1:${spoofing.port}",reason="${reason}"}`;
        expect(metricValue(metrics, series), kind).toBeGreaterThanOrEqual(1);
      }
    }
  });
});

describe('transport choice towards the upstream', () => {
  it('relays a truncated UDP answer with TC=1, and a TCP client’s query goes upstream over TCP', async () => {
    const upstream = await fake();
    upstream.setDefault({ kind: 'truncate' });
    const fw = await fraudwall([at(upstream)]);
    const query = buildQuery('big.example.test', 'A', { id: 7 });
    const overUdp = decode(await udpQuery(fw.port, query));
    expect(overUdp.tc).toBe(true);
    expect(overUdp.id).toBe(7);
    const [overTcp] = await tcpQuery(fw.port, [query]);
    const full = decode(overTcp!);
    expect(full.tc).toBe(false);
    expect(full.answers).toHaveLength(40);
    expect(forwarded(upstream).map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('truncates an answer bigger than the client’s UDP size itself (TC=1, question and OPT kept)', async () => {
    const upstream = await fake();
    upstream.setDefault({ kind: 'big', records: 60 }); // ~1 KB: over 512, under 1232
    const fw = await fraudwall([at(upstream)]);
    const plain = decode(await udpQuery(fw.port, buildQuery('many.example.test', 'A')));
    expect(plain.tc).toBe(true);
    expect(plain.answers).toHaveLength(0);
    expect(plain.questions[0]?.name).toBe('many.example.test');
    expect(plain.opt).toBeUndefined();
    const withEdns = decode(await udpQuery(fw.port, buildQuery('many.example.test', 'A', { edns: { udpSize: 4096 } })));
    expect(withEdns.tc).toBe(false);
    expect(withEdns.answers).toHaveLength(60);
  });

  it('gives SERVFAIL when the upstream closes TCP mid-answer and no other upstream exists', async () => {
    const upstream = await fake();
    upstream.setDefault({ kind: 'tcp-close-mid-answer' });
    const fw = await fraudwall([at(upstream)]);
    const [reply] = await tcpQuery(fw.port, [buildQuery('www.example.test', 'A')]);
    expect(decode(reply!).rcode).toBe(2);
  });

  it('advertises no more than its own EDNS size upstream, and forwards the client’s bytes otherwise', async () => {
    const upstream = await fake();
    const fw = await fraudwall([at(upstream)]);
    const query = buildQuery('WwW.Example.TEST', 'A', { id: 4321, edns: { udpSize: 4096, do: true } });
    await udpQuery(fw.port, query);
    const sent = forwarded(upstream)[0]!.raw;
    expect(sent.readUInt16BE(0)).not.toBe(4321); // fresh ID towards the upstream
    const expected = Buffer.from(query);
    expected.writeUInt16BE(sent.readUInt16BE(0), 0);
    expected.writeUInt16BE(1232, query.length - 11 + 3); // OPT class = UDP size
    expect(sent.toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('upstream health', () => {
  it('stops asking a dead upstream after three failures in a row (circuit breaker) and reports it down', async () => {
    const silent = await fake();
    silent.setDefault({ kind: 'silent' });
    const unhappy = await fake(); // alive, but SERVFAILs: it never becomes the preferred upstream
    unhappy.setDefault({ kind: 'rcode', rcode: 2 });
    const fw = await fraudwall([at(silent), at(unhappy)], { 'upstream-timeout-ms': '100' });
    for (let i = 0; i < 3; i++) {
      const { ms } = await timed(udpQuery(fw.port, buildQuery(`n${i}.example.test`, 'A')));
      expect(ms).toBeGreaterThanOrEqual(90); // waited for the silent upstream each time
    }
    expect(forwarded(silent)).toHaveLength(3);
    const { value, ms } = await timed(udpQuery(fw.port, buildQuery('after.example.test', 'A')));
    expect(decode(value).rcode).toBe(2);
    expect(forwarded(silent)).toHaveLength(3); // breaker open: not asked
    expect(ms).toBeLessThan(90);
    const metrics = await scrape(fw.httpPort);
    expect(metrics).toContain(`fraudwall_upstream_up{upstream="127.0.0.1:${silent.port}"} 0`);
    expect(metrics).toContain(`fraudwall_upstream_up{upstream="127.0.0.1:${unhappy.port}"} 1`);
  });

  it('detects an upstream that forwards back to fraudwall itself, skips it, and keeps answering', async () => {
    const good = await fake();
    good.setDefault({ kind: 'answer', a: '192.0.2.44' });
    const port = await freePort();
    // The first upstream is fraudwall's own address: the shortest possible forwarding loop.
    const fw = await fraudwall([`127.0.0.1:${port}`, at(good)], { listen: `127.0.0.1:${port}`, 'upstream-timeout-ms': '500' });
    const deadline = Date.now() + 3000;
    let metrics = '';
    while (Date.now() < deadline) {
      metrics = await scrape(fw.httpPort);
      if (metrics.includes(`fraudwall_upstream_looping{upstream="127.0.0.1:${port}"} 1`)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(metrics).toContain(`fraudwall_upstream_looping{upstream="127.0.0.1:${port}"} 1`);
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await timed(udpQuery(fw.port, buildQuery(`loop${i}.example.test`, 'A')));
      expect(decode(value).answers.map((a) => a.data)).toEqual(['192.0.2.44']);
      expect(ms).toBeLessThan(300); // the looping upstream is not even tried
    }
  });
});

describe('upstream strategy', () => {
  it('fastest: moves to the upstream with the lower latency, whatever the configured order', async () => {
    const slow = await fake();
    slow.setDefault({ kind: 'delay', ms: 120, then: { kind: 'answer', a: '192.0.2.61' } });
    const quick = await fake();
    quick.setDefault({ kind: 'answer', a: '192.0.2.62' });
    const fw = await fraudwall([at(slow), at(quick)], { 'upstream-strategy': 'fastest', 'cache-size': '0' });
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(decode(await udpQuery(fw.port, buildQuery(`f${i}.example.test`, 'A'))).answers[0]!.data as string);
    // Both are tried once while unmeasured; after that every query goes to the quick one.
    expect(answers.slice(2)).toEqual(['192.0.2.62', '192.0.2.62', '192.0.2.62', '192.0.2.62']);
    expect(forwarded(slow).length).toBeLessThanOrEqual(1);
  });

  it('failover: keeps the configured order while the first upstream answers', async () => {
    const slow = await fake();
    slow.setDefault({ kind: 'delay', ms: 50, then: { kind: 'answer', a: '192.0.2.61' } });
    const quick = await fake();
    const fw = await fraudwall([at(slow), at(quick)], { 'cache-size': '0' });
    for (let i = 0; i < 3; i++) expect(decode(await udpQuery(fw.port, buildQuery(`o${i}.example.test`, 'A'))).answers[0]!.data).toBe('192.0.2.61');
    expect(forwarded(quick)).toHaveLength(0);
  });
});
