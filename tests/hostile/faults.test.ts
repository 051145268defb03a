/**
 * Upstream faults injected by fake upstreams (silence, REFUSED, a closed port, garbage, spoofed
 * IDs, answers for another question, truncation, TCP closed mid-answer, slowness past the
 * deadline): every query gets its documented answer, and always within the query deadline. Also
 * the circuit breaker's open / half-open / closed cycle, load shedding, and minimal ANY answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, udpQuery, type DecodedMessage } from '../helpers/dns-client.js';
import { forwarded, startFakeUpstream, type Behaviour, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { startTestServer, type TestServer } from '../e2e/harness.js';
import { sleep } from '../helpers/built-cli.js';
import { metricValue, scrape } from '../helpers/metrics-text.js';

const DEADLINE_MS = 1000;
/** Slack on top of the deadline: timer granularity and a loaded 2-core CI machine. */
const SLACK_MS = 150;
const EDE_NETWORK_ERROR = 23;
const EDE_OTHER = 0;
const SERVFAIL = 2;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(behaviour?: Behaviour): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream();
  if (behaviour) upstream.setDefault(behaviour);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function fraudwall(upstreams: string[], flags: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({
    upstream: upstreams,
    'query-timeout-ms': String(DEADLINE_MS),
    'upstream-timeout-ms': '400',
    ...flags,
  });
  cleanups.push(() => server.close());
  return server;
}

const at = (upstream: FakeUpstream | number): string => `127.0.0.1:${typeof upstream === 'number' ? upstream : upstream.port}`;

let serial = 0;
/** A name no test asked before, so the response cache never answers for the upstream. */
const fresh = (label: string): string => `${label}-${++serial}-${Date.now().toString(36)}.faults.example`;

type Transport = 'udp' | 'tcp';

async function ask(fw: TestServer, transport: Transport, name: string, type = 'A'): Promise<{ message: DecodedMessage; ms: number }> {
  const packet = buildQuery(name, type, { edns: {} });
  const started = performance.now();
  const raw =
    transport === 'udp'
      ? await udpQuery(fw.port, packet, { timeoutMs: DEADLINE_MS + 2000 })
      : (await tcpQuery(fw.port, [packet], { timeoutMs: DEADLINE_MS + 2000 }))[0]!;
  return { message: decode(raw), ms: performance.now() - started };
}

function expectNoUpstreamAnswer(message: DecodedMessage, ms: number): void {
  expect(message.rcode).toBe(SERVFAIL);
  expect(message.opt?.ede?.infoCode).toBe(EDE_NETWORK_ERROR);
  expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
}

describe.each(['udp', 'tcp'] as const)('upstream faults, client over %s', (transport) => {
  it('a silent upstream: SERVFAIL with EDE 23 once the attempt times out, within the deadline', async () => {
    const upstream = await fake({ kind: 'silent' });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('silent'));
    expectNoUpstreamAnswer(message, ms);
    expect(ms).toBeGreaterThanOrEqual(350); // it did wait for the 400 ms attempt
    expect(forwarded(upstream)).toHaveLength(1);
    expect(forwarded(upstream)[0]!.transport).toBe(transport);
  });

  it('an upstream answering REFUSED: its REFUSED is relayed at once (nothing better came)', async () => {
    const upstream = await fake({ kind: 'rcode', rcode: 5 });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('refused'));
    expect(message.rcode).toBe(5);
    expect(ms).toBeLessThan(SLACK_MS);
  });

  it('a closed port (connection refused): SERVFAIL with EDE 23 at once', async () => {
    const port = await freePort();
    const fw = await fraudwall([at(port)]);
    const { message, ms } = await ask(fw, transport, fresh('closed'));
    expectNoUpstreamAnswer(message, ms);
    expect(ms).toBeLessThan(300); // ICMP port unreachable / RST, not a timeout
  });

  it('garbage answers: ignored, SERVFAIL with EDE 23 within the deadline', async () => {
    const upstream = await fake({ kind: 'garbage' });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('garbage'));
    expectNoUpstreamAnswer(message, ms);
  });

  it('answers with a spoofed message ID: never accepted, SERVFAIL with EDE 23 within the deadline', async () => {
    const upstream = await fake({ kind: 'wrong-id' });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('spoofed'));
    expectNoUpstreamAnswer(message, ms);
    expect(message.answers).toEqual([]);
  });

  it('answers for another question: never accepted, SERVFAIL with EDE 23 within the deadline', async () => {
    const upstream = await fake({ kind: 'wrong-question' });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('wrongq'));
    expectNoUpstreamAnswer(message, ms);
    expect(message.answers).toEqual([]);
  });

  it('an upstream slower than the whole deadline (attempt timeout above it): SERVFAIL at the deadline, not later', async () => {
    const upstream = await fake({ kind: 'delay', ms: 3000, then: { kind: 'answer' } });
    const fw = await fraudwall([at(upstream)], { 'upstream-timeout-ms': '5000' });
    const { message, ms } = await ask(fw, transport, fresh('slow'));
    expectNoUpstreamAnswer(message, ms);
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 60);
  });

  it('an upstream slow but inside the deadline: its answer', async () => {
    const upstream = await fake({ kind: 'delay', ms: 250, then: { kind: 'answer', a: '192.0.2.25' } });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('slowok'));
    expect(message.rcode).toBe(0);
    expect(message.answers.map((a) => a.data)).toEqual(['192.0.2.25']);
    expect(ms).toBeLessThan(DEADLINE_MS);
  });

  it('three silent upstreams: failover stops at the query deadline, SERVFAIL with EDE 23 on time', async () => {
    const upstreams = [await fake({ kind: 'silent' }), await fake({ kind: 'silent' }), await fake({ kind: 'silent' })];
    const fw = await fraudwall(upstreams.map(at));
    const { message, ms } = await ask(fw, transport, fresh('allsilent'));
    expectNoUpstreamAnswer(message, ms);
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 60); // all three tried: 400 + 400 + the 200 left
    expect(upstreams.map((u) => forwarded(u).length)).toEqual([1, 1, 1]);
  });

  it('TCP closed mid-answer: SERVFAIL with EDE 23 (a UDP client: the upstream stays silent, same answer)', async () => {
    const upstream = await fake({ kind: 'tcp-close-mid-answer' });
    const fw = await fraudwall([at(upstream)]);
    const { message, ms } = await ask(fw, transport, fresh('midclose'));
    expectNoUpstreamAnswer(message, ms);
    if (transport === 'tcp') expect(ms).toBeLessThan(300); // the close is noticed at once
  });
});

describe('truncation', () => {
  it('a truncated UDP answer is relayed with TC=1; the client retrying over TCP gets the full answer', async () => {
    const upstream = await fake({ kind: 'truncate' });
    const fw = await fraudwall([at(upstream)]);
    const name = fresh('trunc');
    const udp = await ask(fw, 'udp', name);
    expect(udp.message.tc).toBe(true);
    expect(udp.message.answers).toEqual([]);
    expect(udp.message.questions[0]!.name).toBe(name);
    const tcp = await ask(fw, 'tcp', name);
    expect(tcp.message.tc).toBe(false);
    expect(tcp.message.rcode).toBe(0);
    expect(tcp.message.answers).toHaveLength(40);
    expect(forwarded(upstream).map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });
});

describe('circuit breaker', () => {
  it('skips a dead upstream after 3 failures, probes it after the 2 s backoff, and uses it again once it answers', { timeout: 20_000 }, async () => {
    const flaky = await fake({ kind: 'silent' });
    const unhappy = await fake({ kind: 'rcode', rcode: 2 }); // alive but SERVFAILs, so it never becomes preferred
    const fw = await fraudwall([at(flaky), at(unhappy)], { 'upstream-timeout-ms': '200' });
    for (let i = 0; i < 3; i++) {
      const { message, ms } = await ask(fw, 'udp', fresh('dead'));
      expect(message.rcode).toBe(SERVFAIL);
      expect(ms).toBeGreaterThanOrEqual(180); // waited for the dead one
    }
    const opened = performance.now();
    expect(forwarded(flaky)).toHaveLength(3);

    // Open: not asked, answers come at once from the other upstream.
    const skipped = await ask(fw, 'udp', fresh('open'));
    expect(skipped.ms).toBeLessThan(150);
    expect(forwarded(flaky)).toHaveLength(3);
    const label = at(flaky);
    expect(metricValue(await scrape(fw.httpPort), `fraudwall_upstream_up{upstream="${label}"}`)).toBe(0);

    // It comes back, but nobody asks it until the backoff is over.
    flaky.setDefault({ kind: 'answer', a: '192.0.2.50' });
    let backAfter = -1;
    while (performance.now() - opened < 4000) {
      const { message } = await ask(fw, 'udp', fresh('probe'));
      if (message.rcode === 0) {
        expect(message.answers.map((a) => a.data)).toEqual(['192.0.2.50']);
        backAfter = performance.now() - opened;
        break;
      }
      expect(forwarded(flaky)).toHaveLength(3); // still skipped
      await sleep(100);
    }
    expect(backAfter, 'the upstream was never probed again').toBeGreaterThan(0);
    expect(backAfter).toBeGreaterThanOrEqual(1800);
    expect(backAfter).toBeLessThan(2700);
    // Closed again: used for every query.
    for (let i = 0; i < 3; i++) {
      const { message, ms } = await ask(fw, 'udp', fresh('closedagain'));
      expect(message.answers.map((a) => a.data)).toEqual(['192.0.2.50']);
      expect(ms).toBeLessThan(150);
    }
    expect(metricValue(await scrape(fw.httpPort), `fraudwall_upstream_up{upstream="${label}"}`)).toBe(1);
  });

  it('a probe that fails again doubles the backoff (2 s, then 4 s)', { timeout: 20_000 }, async () => {
    const dead = await fake({ kind: 'silent' });
    const unhappy = await fake({ kind: 'rcode', rcode: 2 });
    const fw = await fraudwall([at(dead), at(unhappy)], { 'upstream-timeout-ms': '200' });
    for (let i = 0; i < 3; i++) await ask(fw, 'udp', fresh('dead'));
    const opened = performance.now();
    expect(forwarded(dead)).toHaveLength(3);
    // Poll until the half-open probe reaches it (after ~2 s); it fails again.
    const probed = await pollUntilAsked(fw, dead, 4, 3500);
    expect(probed - opened).toBeGreaterThanOrEqual(1800);
    const reopened = performance.now();
    // Now 4 s: still skipped at 2.5 s, probed again before 5 s.
    const second = await pollUntilAsked(fw, dead, 5, 6000);
    expect(second - reopened).toBeGreaterThanOrEqual(3600);
    expect(second - reopened).toBeLessThan(5000);
  });
});

/** Sends fresh queries every 100 ms until `upstream` has seen `count` of them; returns when. */
async function pollUntilAsked(fw: TestServer, upstream: FakeUpstream, count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    await ask(fw, 'udp', fresh('poll'));
    if (forwarded(upstream).length >= count) return performance.now();
    await sleep(100);
  }
  throw new Error(`upstream not asked ${count} times within ${timeoutMs} ms (asked ${forwarded(upstream).length})`);
}

describe('load shedding', () => {
  it('with max-in-flight 5 and a silent upstream, the 6th concurrent query gets SERVFAIL at once and is counted', async () => {
    const upstream = await fake({ kind: 'silent' });
    const fw = await fraudwall([at(upstream)], { 'max-in-flight': '5', 'upstream-timeout-ms': '1000' });
    const shedBefore = metricValue(await scrape(fw.httpPort), 'fraudwall_shed_queries_total');
    const waiting = Array.from({ length: 5 }, (_, i) => ask(fw, i % 2 === 0 ? 'udp' : 'tcp', fresh('wait')));
    const deadline = performance.now() + 1000;
    while (forwarded(upstream).length < 5 && performance.now() < deadline) await sleep(5);
    expect(forwarded(upstream)).toHaveLength(5);

    for (const transport of ['udp', 'tcp'] as const) {
      const shed = await ask(fw, transport, fresh('shed'));
      expect(shed.message.rcode).toBe(SERVFAIL);
      expect(shed.message.opt?.ede?.infoCode).toBe(EDE_OTHER);
      expect(shed.message.opt?.ede?.text).toContain('overloaded');
      expect(shed.ms).toBeLessThan(50);
    }
    expect(forwarded(upstream)).toHaveLength(5); // shed queries never left
    expect(metricValue(await scrape(fw.httpPort), 'fraudwall_shed_queries_total') - shedBefore).toBe(2);

    for (const { message, ms } of await Promise.all(waiting)) expectNoUpstreamAnswer(message, ms);
    // Capacity is back once they finished.
    upstream.setDefault({ kind: 'answer', a: '192.0.2.60' });
    const after = await ask(fw, 'udp', fresh('after'));
    expect(after.message.answers.map((a) => a.data)).toEqual(['192.0.2.60']);
  });
});

describe('minimal ANY (RFC 8482)', () => {
  it.each(['udp', 'tcp'] as const)('an ANY query over %s gets NOERROR with one HINFO record; the upstream is never asked', async (transport) => {
    const upstream = await fake({ kind: 'answer' });
    const fw = await fraudwall([at(upstream)]);
    const name = fresh('any');
    const { message, ms } = await ask(fw, transport, name, 'ANY');
    expect(message.rcode).toBe(0);
    expect(message.answers).toHaveLength(1);
    expect(message.answers[0]!.type).toBe(13); // HINFO
    expect(message.answers[0]!.name).toBe(name);
    expect(message.answers[0]!.rdata.toString('latin1')).toContain('RFC8482');
    expect(ms).toBeLessThan(SLACK_MS);
    await sleep(50);
    expect(forwarded(upstream).filter((q) => q.name === name)).toEqual([]);
  });
});
