/**
 * Abusive clients against a running fraudwall: TCP clients that never read, trickle bytes, or hold
 * thousands of idle connections; too many connections from one address; UDP floods from one
 * prefix (rate limit with TC slip or drop); clients outside the allow-list; packets from
 * reflection source ports; responses sent as queries; a random-subdomain flood against the
 * response cache. Where memory matters the server is a child process (`dist/cli.js serve`) whose
 * RSS is read from /proc. Traffic stays on 127.0.0.0/8.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, frame, tcpQuery, udpQuery, udpSendNoReply, type DecodedMessage } from '../helpers/dns-client.js';
import { forwarded, startFakeUpstream, type Behaviour, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestServer, TEST_LISTS, writeLists, type TestServer } from '../e2e/harness.js';
import { killHard, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';
import { metricByLabel, metricSum, metricValue, scrape } from '../helpers/metrics-text.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import {
  HOSTILE_SERVE_ARGS,
  MB,
  TcpClient,
  UdpClient,
  bindUdpSocket,
  closeUdpSocket,
  closedWithin,
  connectTcp,
  fdLimit,
  liveHeapAfterFullGc,
  openFds,
  rssBytes,
  startFastUpstream,
} from './hostile-helpers.js';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child, 3000);
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(behaviour: Behaviour = { kind: 'answer', a: '192.0.2.80' }): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream();
  upstream.setDefault(behaviour);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function inProcess(upstream: FakeUpstream, flags: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ upstream: `127.0.0.1:${upstream.port}`, ...flags });
  cleanups.push(() => server.close());
  return server;
}

async function child(upstream: { readonly port: number }, args: string[] = [], nodeArgs: string[] = []): Promise<ServedProcess> {
  requireBuiltCli();
  const lists = writeLists(TEST_LISTS);
  cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
  return spawnServe([...HOSTILE_SERVE_ARGS, '--upstream', `127.0.0.1:${upstream.port}`, '--lists', lists, ...args], { children, nodeArgs });
}

let serial = 0;
const fresh = (label: string): string => `${label}-${++serial}-${Date.now().toString(36)}.abuse.example`;

/** A blocked name (TEST_LISTS blocks *.wild.test): answered NXDOMAIN without any upstream. */
const blocked = (label: string): string => `${label}-${++serial}.wild.test`;

/**
 * `count` framed A queries for h<c>-<000000>.wild.test (blocked) in one buffer, written in place so a
 * big payload costs the test process one allocation, not one per query (GC pauses here would
 * show up as server latency in the measurements).
 */
function hogPayload(connection: number, count: number): Buffer {
  const template = frame(buildQuery(`h${connection}-000000.wild.test`, 'A', { id: 0 }));
  const digitsAt = 2 + 12 + 1 + `h${connection}-`.length;
  const out = Buffer.allocUnsafe(template.length * count);
  for (let i = 0; i < count; i++) {
    const at = i * template.length;
    template.copy(out, at);
    out.writeUInt16BE(i & 0xffff, at + 2);
    out.write(String(i % 1_000_000).padStart(6, '0'), at + digitsAt, 'latin1');
  }
  return out;
}

function framedQueries(count: number, name: (i: number) => string): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => frame(buildQuery(name(i), 'A', { id: i & 0xffff }))));
}

/** Query latency over UDP and TCP from a well-behaved client; null when unanswered within `timeoutMs`. */
async function probe(port: number, timeoutMs = 1000): Promise<{ udp: number | null; tcp: number | null; ok: boolean; error?: string }> {
  const name = blocked('probe');
  let ok = true;
  const udpStarted = performance.now();
  const udpReply = await udpSendNoReply(port, buildQuery(name, 'A'), timeoutMs, { host: '127.0.0.1' });
  const udp = udpReply === null ? null : performance.now() - udpStarted;
  if (udpReply !== null && decode(udpReply).rcode !== 3) ok = false;
  const tcpStarted = performance.now();
  let tcp: number | null = null;
  try {
    const [reply] = await tcpQuery(port, [buildQuery(name, 'A')], { timeoutMs });
    tcp = performance.now() - tcpStarted;
    if (decode(reply!).rcode !== 3) ok = false;
  } catch (error) {
    return { udp, tcp: null, ok, error: `${(error as Error).message} after ${(performance.now() - tcpStarted).toFixed(0)} ms` };
  }
  return { udp, tcp, ok };
}

describe('(a) a TCP client that sends many queries and never reads', () => {
  it('does not grow server memory without bound, and other clients are still answered promptly', { timeout: 40_000 }, async () => {
    const upstream = await fake();
    // Small caches: every hog query is a new name, and full verdict / response caches (bounded, but
    // large by default) would hide what the connections themselves cost.
    // The young generation fixed at Node 20's largest, 2 × 16 MB, from the start: Node 24's V8 grows it
    // to 2 × 64 MB under this load, Node 26's starts it smaller and grows it later, one-off sizing
    // steps of V8's (the memory work of issue 16 chooses the heap flags) that would land in the
    // growth this test measures, the memory the connections themselves cost.
    const fw = await child(upstream, ['--verdict-cache-size', '1000', '--cache-size', '1000'], ['--trace-gc', '--min-semi-space-size=16', '--max-semi-space-size=16']);
    // Warm up (the V8 heap grows to its working size under load), then take the baseline.
    const warm = await UdpClient.open(fw.dnsPort);
    cleanups.push(() => warm.close());
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 500 }, () => warm.ask(buildQuery(blocked('warm'), 'A', { id: warm.takeId() }), 2000)));
    }
    const queriesBefore = metricSum(await scrape(fw.httpPort), 'fraudwall_queries_total');

    // One hog first: the heap grows to its working size for this load; the baseline is taken then.
    // Seven more must not add memory per connection (what they sent stays in their own buffers).
    const CONNECTIONS = 8;
    const PER_CONNECTION = 150_000;
    const payloads = Array.from({ length: CONNECTIONS }, (_, c) => hogPayload(c, PER_CONNECTION));
    const hogs: Socket[] = [];
    const hog = async (c: number): Promise<void> => {
      const socket = await connectTcp(fw.dnsPort, '127.0.0.5');
      socket.pause(); // never reads
      hogs.push(socket);
      cleanups.push(() => void socket.destroy());
      socket.write(payloads[c]!);
    };
    await hog(0);
    await sleep(1500);
    const baseline = rssBytes(fw.pid);
    for (let c = 1; c < CONNECTIONS; c++) await hog(c);
    const sent = CONNECTIONS * PER_CONNECTION;

    let maxRss = baseline;
    const latencies: { udp: number | null; tcp: number | null; ok: boolean; error?: string }[] = [];
    const started = performance.now();
    while (performance.now() - started < 4000) {
      maxRss = Math.max(maxRss, rssBytes(fw.pid));
      latencies.push(await probe(fw.dnsPort));
      await sleep(200);
    }
    const finalMetrics = await scrape(fw.httpPort);
    const processed = metricSum(finalMetrics, 'fraudwall_queries_total') - queriesBefore;
    const loopLagMax = metricValue(finalMetrics, 'nodejs_eventloop_lag_max_seconds') * 1000;
    console.log(
      `non-reading clients: ${sent} queries written, ${processed} read by the server; RSS baseline ${(baseline / MB).toFixed(1)} MB, max ${(maxRss / MB).toFixed(1)} MB; ` +
        `live heap after full GCs ${JSON.stringify(liveHeapAfterFullGc(fw.stdout))} MB; server event-loop lag max ${loopLagMax.toFixed(0)} ms; probe latency max udp ${Math.max(...latencies.map((l) => l.udp ?? Infinity)).toFixed(1)} ms tcp ${Math.max(...latencies.map((l) => l.tcp ?? Infinity)).toFixed(1)} ms`,
    );
    expect(fw.exit).toBeUndefined();
    expect(maxRss).toBeLessThan(300 * MB);
    // 50 MB on Node 20 (29-38 MB measured); Node 24 and 26 add 10-20 MB of V8 heap pages under this
    // load (growth 29-47 MB on 24, 51-59 MB on 26, live heap 13-17 MB on each): still far below
    // what buffering the 1.2M queries sent would take.
    expect(maxRss - baseline).toBeLessThan(64 * MB);
    expect(processed).toBeLessThan(sent / 2); // reading paused: the rest waits in the client's buffers
    expect(latencies.length).toBeGreaterThan(5);
    for (const latency of latencies) {
      expect(latency.error).toBeUndefined();
      expect(latency.ok).toBe(true);
      expect(latency.udp).not.toBeNull();
      expect(latency.tcp).not.toBeNull();
      expect(latency.udp!).toBeLessThan(300);
      expect(latency.tcp!).toBeLessThan(300);
    }
  });
});

describe('(b) slow TCP clients and the absolute read deadline', () => {
  const READ_TIMEOUT_MS = 1500;

  it.each([1000, 300])('a client trickling a query one byte every %i ms is cut off by the read deadline, not kept alive by the bytes', async (everyMs) => {
    const upstream = await fake();
    // The idle timeout (10 s) alone would keep this connection open far longer.
    const fw = await inProcess(upstream, { 'tcp-query-read-timeout-ms': String(READ_TIMEOUT_MS), 'tcp-idle-timeout-ms': '10000' });
    const socket = await connectTcp(fw.port);
    cleanups.push(() => void socket.destroy());
    const bytes = frame(buildQuery('slowloris.example', 'A'));
    const closed = closedWithin(socket, 4000);
    const started = performance.now();
    let written = 0;
    const trickle = (async () => {
      while (written < bytes.length && !socket.destroyed && performance.now() - started < 4000) {
        socket.write(bytes.subarray(written, written + 1));
        written++;
        await sleep(everyMs);
      }
    })();
    const after = await closed;
    await trickle;
    expect(after, 'the connection was never closed').not.toBeNull();
    expect(after!).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 200);
    expect(after!).toBeLessThanOrEqual(2500);
    expect(written).toBeLessThan(bytes.length); // it was still trickling
  });

  it('the deadline is per query: a client that sent whole queries and then trickles the next one is cut off 1.5 s after its first byte', async () => {
    const upstream = await fake();
    const fw = await inProcess(upstream, { 'tcp-query-read-timeout-ms': String(READ_TIMEOUT_MS) });
    const client = await TcpClient.open(fw.port);
    cleanups.push(() => client.close());
    for (let i = 0; i < 3; i++) {
      const reply = await client.ask(buildQuery(blocked('whole'), 'A', { id: 100 + i }));
      expect(decode(reply!).rcode).toBe(3);
      await sleep(600); // 1.8 s in total: more than the read timeout, but no query was partial
    }
    const partial = frame(buildQuery('partial.example', 'A'));
    const closed = closedWithin(client.socket, 4000);
    client.socket.write(partial.subarray(0, 5));
    const after = await closed;
    expect(after).not.toBeNull();
    expect(after!).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 200);
    expect(after!).toBeLessThanOrEqual(2500);
  });

  it('a client that sent its queries promptly is not cut off while the server itself has paused reading (in-flight cap)', { timeout: 15_000 }, async () => {
    // 150 pipelined queries wait 2 s on the upstream; reading pauses at 100 in flight with half
    // of query 151 buffered. The client sent the rest of it 100 ms later: the delay is the server's.
    const upstream = await fake({ kind: 'delay', ms: 2000, then: { kind: 'answer', a: '192.0.2.81' } });
    const fw = await inProcess(upstream, {
      'tcp-query-read-timeout-ms': String(READ_TIMEOUT_MS),
      'query-timeout-ms': '3000',
      'upstream-timeout-ms': '2800',
    });
    const socket = await connectTcp(fw.port);
    cleanups.push(() => void socket.destroy());
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    const queries = framedQueries(150, (i) => `pipelined-${i}.${fresh('p')}`);
    const last = frame(buildQuery(fresh('last'), 'A', { id: 4242 }));
    socket.write(Buffer.concat([queries, last.subarray(0, 10)]));
    await sleep(100);
    socket.write(last.subarray(10));
    const closed = closedWithin(socket, 6500);
    const done = await waitFor(() => replies.length >= 151 || socket.destroyed, 6500, 25);
    const closedAt = socket.destroyed ? await closed : null;
    expect(done).toBe(true);
    expect(closedAt, `connection closed by the server after ${replies.length}/151 answers`).toBeNull();
    expect(replies).toHaveLength(151);
  });
});

describe('(c) thousands of idle TCP connections', () => {
  it('holds 5,000 idle connections, keeps answering others over UDP and TCP, and closes the idle ones after the idle timeout', { timeout: 50_000 }, async () => {
    const IDLE_MS = 5000;
    const limit = fdLimit();
    let count = 5000;
    if (limit < count + 1000) {
      count = Math.max(100, limit - 1000);
      console.log(`ulimit -n is ${limit}: holding ${count} idle connections instead of 5000`);
    }
    const upstream = await fake();
    const fw = await child(upstream, [
      '--tcp-max-connections',
      String(count + 100),
      '--tcp-max-connections-per-client',
      String(count + 100),
      '--tcp-idle-timeout-ms',
      String(IDLE_MS),
    ]);
    const sockets: { socket: Socket; openedAt: number; closedAt: number }[] = [];
    cleanups.push(() => sockets.forEach((s) => s.socket.destroy()));
    const connectStarted = performance.now();
    for (let batch = 0; sockets.length < count; batch++) {
      const size = Math.min(250, count - sockets.length);
      const opened = await Promise.all(
        Array.from({ length: size }, () => connectTcp(fw.dnsPort, '127.0.0.6', 5000).then((socket) => ({ socket, openedAt: performance.now() }))),
      );
      for (const { socket, openedAt } of opened) {
        const entry = { socket, openedAt, closedAt: 0 };
        socket.once('close', () => (entry.closedAt = performance.now()));
        socket.resume();
        sockets.push(entry);
      }
    }
    const connectMs = performance.now() - connectStarted;
    expect(connectMs, 'connecting took so long that the first ones may already be idle-closed').toBeLessThan(IDLE_MS - 1000);

    // All held by the server, and a separate client is served on both transports.
    expect(sockets.filter((s) => s.closedAt > 0)).toHaveLength(0);
    // A client's connect completes in the kernel's accept queue, a moment before the server accepts it.
    expect(await waitFor(() => openFds(fw.pid) >= count, 3000, 25), `server holds ${openFds(fw.pid)} fds, expected >= ${count}`).toBe(true);
    for (let i = 0; i < 3; i++) {
      const udpStarted = performance.now();
      const udp = decode(await udpQuery(fw.dnsPort, buildQuery(fresh('busy'), 'A'), { timeoutMs: 1000 }));
      const udpMs = performance.now() - udpStarted;
      const tcpStarted = performance.now();
      const [tcpReply] = await tcpQuery(fw.dnsPort, [buildQuery(fresh('busy'), 'A')], { timeoutMs: 1000 });
      const tcpMs = performance.now() - tcpStarted;
      expect(udp.answers.map((a) => a.data)).toEqual(['192.0.2.80']);
      expect(decode(tcpReply!).answers.map((a) => a.data)).toEqual(['192.0.2.80']);
      expect(udpMs).toBeLessThan(300);
      expect(tcpMs).toBeLessThan(300);
    }

    // The idle timeout closes every one of them: not before it, and not much after.
    const allClosed = await waitFor(() => sockets.every((s) => s.closedAt > 0), IDLE_MS + 6000, 100);
    const stillOpen = sockets.filter((s) => s.closedAt === 0).length;
    const earlySockets = sockets.filter((s) => s.closedAt > 0 && s.closedAt - s.openedAt < IDLE_MS - 300);
    const early = earlySockets.length;
    if (early > 0) console.log(`early closes (ms after open): ${earlySockets.slice(0, 20).map((s) => (s.closedAt - s.openedAt).toFixed(0)).join(' ')}; first opened at +${(earlySockets[0]!.openedAt - connectStarted).toFixed(0)} ms`);
    const late = Math.max(...sockets.map((s) => (s.closedAt > 0 ? s.closedAt - s.openedAt : Infinity)));
    console.log(`idle connections: ${count} opened in ${connectMs.toFixed(0)} ms; still open ${stillOpen}; closed early ${early}; latest close ${late.toFixed(0)} ms after open`);
    expect(allClosed, `${stillOpen} idle connections still open`).toBe(true);
    expect(early).toBe(0);
    expect(late).toBeLessThan(IDLE_MS + 4000);
    expect(fw.exit).toBeUndefined();
  });
});

describe('(d) connections per client address', () => {
  it('closes the 33rd connection from one address at once (default 32); other addresses and freed slots are accepted', async () => {
    const upstream = await fake();
    const fw = await inProcess(upstream);
    const held: TcpClient[] = [];
    cleanups.push(() => held.forEach((c) => c.close()));
    for (let i = 0; i < 32; i++) held.push(await TcpClient.open(fw.port, '127.0.0.3'));
    // Every one of the 32 is really served.
    const replies = await Promise.all(held.map((c, i) => c.ask(buildQuery(blocked('held'), 'A', { id: 1000 + i }))));
    expect(replies.filter((r) => r !== null && decode(r).rcode === 3)).toHaveLength(32);

    const extra = await connectTcp(fw.port, '127.0.0.3');
    cleanups.push(() => void extra.destroy());
    let data = 0;
    extra.on('data', (chunk: Buffer) => (data += chunk.length));
    extra.write(frame(buildQuery(blocked('extra'), 'A')));
    const closedAfter = await closedWithin(extra, 1000);
    expect(closedAfter, 'the 33rd connection was kept open').not.toBeNull();
    expect(closedAfter!).toBeLessThan(200);
    expect(data).toBe(0);

    const other = await TcpClient.open(fw.port, '127.0.0.4');
    cleanups.push(() => other.close());
    expect(decode((await other.ask(buildQuery(blocked('other'), 'A', { id: 7 })))!).rcode).toBe(3);

    held.pop()!.close();
    await sleep(100); // the server notices the close
    const again = await TcpClient.open(fw.port, '127.0.0.3');
    cleanups.push(() => again.close());
    const reply = await again.ask(buildQuery(blocked('again'), 'A', { id: 8 }));
    expect(reply).not.toBeNull();
    expect(decode(reply!).rcode).toBe(3);
  });
});

describe('(e) a UDP flood from one client prefix (per-prefix rate limit)', () => {
  const RATE = 200;
  const BURST = 50;
  const FLOOD = 400;

  interface FloodResult {
    readonly normal: number;
    readonly truncated: number;
    readonly unanswered: number;
    readonly seconds: number;
    readonly names: Set<string>;
    readonly answeredNames: Set<string>;
  }

  async function flood(fw: TestServer): Promise<FloodResult> {
    const client = await UdpClient.open(fw.port, '127.0.0.1');
    cleanups.push(() => client.close());
    const names = new Set<string>();
    const answeredNames = new Set<string>();
    let lastReplyAt = performance.now();
    client.socket.on('message', () => (lastReplyAt = performance.now()));
    const started = performance.now();
    const waits: Promise<Buffer | null>[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const name = fresh('flood');
      names.add(name);
      waits.push(client.ask(buildQuery(name, 'A', { id: client.takeId() }), 1500));
    }
    const replies = await Promise.all(waits);
    // Tokens refill while the server works through the flood: everything answered normally passed
    // the bucket between the first send and the last reply.
    const seconds = (lastReplyAt - started) / 1000;
    let normal = 0;
    let truncated = 0;
    let unanswered = 0;
    for (const reply of replies) {
      if (reply === null) {
        unanswered++;
        continue;
      }
      const message = decode(reply);
      if (message.tc) {
        expect(message.answers).toEqual([]);
        expect(message.rcode).toBe(0);
        truncated++;
      } else {
        expect(message.answers.map((a) => a.data)).toEqual(['192.0.2.80']);
        answeredNames.add(message.questions[0]!.name);
        normal++;
      }
    }
    return { normal, truncated, unanswered, seconds, names, answeredNames };
  }

  /** Queries from another /24 (127.0.1.0/24), sent while the flood runs: all answered normally. */
  async function otherPrefix(fw: TestServer): Promise<DecodedMessage[]> {
    const client = await UdpClient.open(fw.port, '127.0.1.1');
    cleanups.push(() => client.close());
    const replies = await Promise.all(Array.from({ length: 40 }, () => client.ask(buildQuery(fresh('neighbour'), 'A', { id: client.takeId() }), 1500)));
    return replies.map((reply) => {
      expect(reply, 'a query from the other prefix was not answered').not.toBeNull();
      return decode(reply!);
    });
  }

  it.each(['truncate', 'drop'] as const)('--rate-limit-action %s: beyond the burst the flood gets TC=1 (or nothing) and is not forwarded; the other prefix is served', async (action) => {
    const upstream = await fake();
    const fw = await inProcess(upstream, {
      'rate-limit': String(RATE),
      'rate-limit-burst': String(BURST),
      'rate-limit-loopback': 'true',
      'rate-limit-action': action,
    });
    const gatedBefore = metricValue(await scrape(fw.httpPort), `fraudwall_gated_queries_total{decision="${action}"}`);
    const [result, neighbours] = await Promise.all([flood(fw), otherPrefix(fw)]);
    const allowed = BURST + Math.ceil(RATE * result.seconds) + 2;
    console.log(`rate limit (${action}): flood of ${FLOOD}, last reply after ${(result.seconds * 1000).toFixed(0)} ms → ${result.normal} answered, ${result.truncated} TC, ${result.unanswered} unanswered (allowed ≤ ${allowed})`);

    expect(result.normal).toBeGreaterThanOrEqual(BURST - 1);
    expect(result.normal).toBeLessThanOrEqual(allowed);
    if (action === 'truncate') {
      expect(result.unanswered).toBe(0);
      expect(result.truncated).toBe(FLOOD - result.normal);
    } else {
      expect(result.truncated).toBe(0);
      expect(result.unanswered).toBe(FLOOD - result.normal);
    }
    // Only what passed the limit went upstream.
    const floodForwarded = forwarded(upstream).filter((q) => result.names.has(q.name));
    expect(new Set(floodForwarded.map((q) => q.name))).toEqual(result.answeredNames);
    expect(neighbours.every((m) => !m.tc && m.answers[0]?.data === '192.0.2.80')).toBe(true);
    const gated = metricValue(await scrape(fw.httpPort), `fraudwall_gated_queries_total{decision="${action}"}`) - gatedBefore;
    expect(gated).toBe(FLOOD - result.normal);

    // TCP is not rate limited: the flooded client's retry over TCP is answered.
    const [reply] = await tcpQuery(fw.port, [buildQuery(fresh('retry'), 'A')]);
    expect(decode(reply!).answers.map((a) => a.data)).toEqual(['192.0.2.80']);
  });
});

describe('(f) access control', () => {
  it('--allow-clients 127.0.0.2/32: 127.0.0.1 gets REFUSED with EDE 18 (UDP and TCP), 127.0.0.2 is answered', async () => {
    const upstream = await fake();
    const fw = await inProcess(upstream, { 'allow-clients': '127.0.0.2/32' });
    const before = metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="refuse"}');
    const name = fresh('outsider');
    const udp = decode(await udpQuery(fw.port, buildQuery(name, 'A', { edns: {} })));
    const [tcpRaw] = await tcpQuery(fw.port, [buildQuery(name, 'A', { edns: {} })]);
    for (const message of [udp, decode(tcpRaw!)]) {
      expect(message.rcode).toBe(5);
      expect(message.opt?.ede?.infoCode).toBe(18);
      expect(message.answers).toEqual([]);
    }
    expect(forwarded(upstream).filter((q) => q.name === name)).toEqual([]);
    expect(metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="refuse"}') - before).toBe(2);

    const insider = await UdpClient.open(fw.port, '127.0.0.2');
    cleanups.push(() => insider.close());
    const reply = await insider.ask(buildQuery(fresh('insider'), 'A', { id: insider.takeId() }));
    expect(decode(reply!).answers.map((a) => a.data)).toEqual(['192.0.2.80']);
    const tcpInsider = await TcpClient.open(fw.port, '127.0.0.2');
    cleanups.push(() => tcpInsider.close());
    expect(decode((await tcpInsider.ask(buildQuery(fresh('insider'), 'A', { id: 9 })))!).answers.map((a) => a.data)).toEqual(['192.0.2.80']);
  });

  it('--disallowed-clients drop: no answer at all for 127.0.0.1, counted as drop; 127.0.0.2 still answered', async () => {
    const upstream = await fake();
    const fw = await inProcess(upstream, { 'allow-clients': '127.0.0.2/32', 'disallowed-clients': 'drop' });
    const before = metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="drop"}');
    expect(await udpSendNoReply(fw.port, buildQuery(fresh('outsider'), 'A', { edns: {} }), 500)).toBeNull();
    const tcp = await TcpClient.open(fw.port, '127.0.0.1');
    cleanups.push(() => tcp.close());
    expect(await tcp.ask(buildQuery(fresh('outsider'), 'A', { id: 11 }), 500)).toBeNull();
    expect(metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="drop"}') - before).toBe(2);
    const insider = await UdpClient.open(fw.port, '127.0.0.2');
    cleanups.push(() => insider.close());
    expect(decode((await insider.ask(buildQuery(fresh('insider'), 'A', { id: insider.takeId() })))!).rcode).toBe(0);
  });
});

describe('(g) queries from reflection source ports', () => {
  const isRoot = process.getuid?.() === 0;

  it.for([19, 123])('a query from UDP source port %i gets no answer and is counted as drop (needs root to bind)', async (sourcePort, context) => {
    if (!isRoot) {
      console.log(`skipped: binding UDP source port ${sourcePort} needs root`);
      context.skip();
    }
    const upstream = await fake();
    const fw = await inProcess(upstream);
    let socket;
    try {
      socket = await bindUdpSocket('127.0.0.1', sourcePort);
    } catch (error) {
      console.log(`skipped: cannot bind 127.0.0.1:${sourcePort} (${(error as NodeJS.ErrnoException).code})`);
      context.skip();
      return;
    }
    const bound = socket;
    cleanups.push(() => closeUdpSocket(bound));
    const before = metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="drop"}');
    let replies = 0;
    bound.on('message', () => replies++);
    const name = fresh('reflect');
    bound.send(buildQuery(name, 'ANY', { edns: { udpSize: 4096 } }), fw.port, '127.0.0.1');
    bound.send(buildQuery(name, 'A'), fw.port, '127.0.0.1');
    await sleep(500);
    expect(replies).toBe(0);
    expect(forwarded(upstream).filter((q) => q.name === name)).toEqual([]);
    expect(metricValue(await scrape(fw.httpPort), 'fraudwall_gated_queries_total{decision="drop"}') - before).toBe(2);
  });
});

describe('(h) responses sent as queries', () => {
  it('a packet with QR=1 gets no answer over UDP or TCP, is counted as malformed "response", and the TCP connection stays usable', async () => {
    const upstream = await fake();
    const fw = await inProcess(upstream);
    const before = metricValue(await scrape(fw.httpPort), 'fraudwall_malformed_queries_total{reason="response"}');
    const response = buildQuery(fresh('qr'), 'A', { edns: {} });
    response.writeUInt16BE(response.readUInt16BE(2) | 0x8000 | 0x0080, 2); // QR, RA: a response
    expect(await udpSendNoReply(fw.port, response, 500)).toBeNull();
    const tcp = await TcpClient.open(fw.port);
    cleanups.push(() => tcp.close());
    response.writeUInt16BE(21, 0);
    expect(await tcp.ask(response, 500)).toBeNull();
    const reply = await tcp.ask(buildQuery(blocked('after-qr'), 'A', { id: 22 }));
    expect(decode(reply!).rcode).toBe(3);
    expect(metricValue(await scrape(fw.httpPort), 'fraudwall_malformed_queries_total{reason="response"}') - before).toBe(2);
    expect(forwarded(upstream)).toEqual([]);
  });
});

describe('(i) a random-subdomain flood against the response cache', () => {
  it('keeps the memory of the response cache within --cache-max-bytes', { timeout: 55_000 }, async () => {
    // Every query is a new name, so every answer is a new cache entry and the cache fills to its
    // byte bound. The live heap after full GCs (V8's --trace-gc, garbage excluded) must not grow by
    // much more than that bound.
    const CACHE_BYTES = 8 * MB;
    const upstream = await startFastUpstream('192.0.2.90');
    cleanups.push(() => upstream.close());
    // --gc-global: every collection is a full one, so the live heap is sampled all through the flood.
    // Without it, whether V8 runs a full GC in 45,000 queries depends on how much garbage each
    // forwarded query promotes, which #16 cut (issue 16: fewer objects per forwarded query).
    const fw = await child(upstream, ['--cache-size', '200000', '--cache-max-bytes', String(CACHE_BYTES), '--verdict-cache-size', '1000'], ['--trace-gc', '--gc-global']);
    const client = await UdpClient.open(fw.dnsPort);
    cleanups.push(() => client.close());
    await sleep(200);
    const before = liveHeapAfterFullGc(fw.stdout);
    const baselineLive = Math.min(...before, metricValue(await scrape(fw.httpPort), 'nodejs_heap_size_used_bytes') / MB);
    const gcLinesBefore = fw.stdout.length;
    const QUERIES = 45_000;
    let answered = 0;
    const started = performance.now();
    // 200 at a time: larger bursts lose upstream answers in the kernel (see the burst test below).
    for (let sent = 0; sent < QUERIES && !fw.exit && performance.now() - started < 35_000; sent += 200) {
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.ask(buildQuery(`r${sent + i}-${Math.random().toString(36).slice(2, 10)}.water-torture.example`, 'A', { id: client.takeId() }), 3000)),
      );
      answered += replies.filter((r) => r !== null).length;
    }
    const metrics = await scrape(fw.httpPort);
    const accounted = metricValue(metrics, 'fraudwall_cache_bytes');
    const entries = metricValue(metrics, 'fraudwall_cache_entries');
    const during = liveHeapAfterFullGc(fw.stdout.slice(gcLinesBefore));
    // Whether V8 runs a full GC during the flood depends on how the heap grew before it. Without one,
    // the old space never reached its limit; the heap in use now (garbage included) bounds the live heap.
    const maxLive = during.length > 0 ? Math.max(...during) : metricValue(metrics, 'nodejs_heap_size_used_bytes') / MB;
    console.log(
      `random-subdomain flood: ${answered} answered in ${((performance.now() - started) / 1000).toFixed(1)} s; cache ${entries} entries, ` +
        `${(accounted / MB).toFixed(1)} MB accounted (${(accounted / Math.max(1, entries)).toFixed(0)} B/entry); live heap ${baselineLive.toFixed(1)} MB before, ` +
        `after full GCs during the flood ${JSON.stringify(during)} MB (≈${(((maxLive - baselineLive) * MB) / Math.max(1, entries)).toFixed(0)} B/entry); RSS ${(rssBytes(fw.pid) / MB).toFixed(1)} MB`,
    );
    expect(fw.exit).toBeUndefined();
    expect(answered).toBeGreaterThan(40_000);
    expect(accounted).toBeGreaterThan(CACHE_BYTES * 0.9); // the flood did fill the cache
    expect(maxLive - baselineLive).toBeLessThan((CACHE_BYTES * 1.25) / MB + 8);
  });
});

describe('(j) a burst of distinct queries forwarded at once', () => {
  it('answers all of 5 × 1,000 concurrent queries from a fast upstream, none SERVFAIL (upstream answers must not be lost in the kernel)', { timeout: 40_000 }, async () => {
    // A burst that passes every defence (loopback, distinct names) goes upstream as fast as it
    // came in, and the upstream's answers come back as a burst too: the sockets fraudwall reads
    // them from must hold them until it gets to them.
    const upstream = await startFastUpstream('192.0.2.91');
    cleanups.push(() => upstream.close());
    const fw = await child(upstream, ['--cache-size', '0']);
    const client = await UdpClient.open(fw.dnsPort);
    cleanups.push(() => client.close());
    let answered = 0;
    let servfail = 0;
    let lost = 0;
    const started = performance.now();
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.ask(buildQuery(`b${round}-${i}.${fresh('burst')}`, 'A', { id: client.takeId() }), 4000)),
      );
      for (const reply of replies) {
        if (reply === null) lost++;
        else if (decode(reply).rcode === 2) servfail++;
        else if (decode(reply).answers[0]?.data === '192.0.2.91') answered++;
      }
    }
    const errors = metricByLabel(await scrape(fw.httpPort), 'fraudwall_upstream_errors_total', 'reason');
    console.log(
      `burst of 5 × 1000: ${answered} answered, ${servfail} SERVFAIL, ${lost} unanswered in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `upstream errors ${JSON.stringify(Object.fromEntries(errors))}; the upstream answered ${upstream.answered}`,
    );
    expect(lost).toBe(0);
    expect(servfail).toBe(0);
    expect(answered).toBe(5000);
  });
});
