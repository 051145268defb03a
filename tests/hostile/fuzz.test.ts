/**
 * Fuzzing a live `fraudwall serve` (a child process, so a crash is visible) with well over 100,000
 * malformed packets over UDP and a share over TCP (several frames per connection, bogus length
 * prefixes included), interleaved with valid queries whose answers are checked. The packets come
 * from a seeded generator (printed; rerun with FUZZ_SEED=<seed>), and the test process runs each
 * through the server's own parseQuery to know how many the server must count as malformed.
 */
import { MALFORMED_REASONS } from '../../src/metrics/metrics.js';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, frame } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { TEST_LISTS, writeLists } from '../e2e/harness.js';
import { parseQuery, type MalformedReason } from '../../src/dns/wire.js';
import { generateCorpus, int, mulberry32, randomBytes, type FuzzPacket, type Rng } from './fuzz-corpus.js';
import { killHard, requireBuiltCli } from '../helpers/built-cli.js';
import { metricByLabel, metricSum, scrape } from '../helpers/metrics-text.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { FrameReader, HOSTILE_SERVE_ARGS, MB, UdpClient, connectTcp, rssBytes, udpSocketDrops } from './hostile-helpers.js';

const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const UDP_PACKETS = Math.max(200_000, Number(process.env['FUZZ_PACKETS'] ?? 0));
const TCP_FRAMES = 8_000;
const FLOOD_SOCKETS = 4;
/** Datagrams per socket before the round waits for a valid answer (which the server reads after them). */
const BURST_PER_SOCKET = 60;
const BURST_BYTES = 1_000_000;
const CLEAN_A = '192.0.2.77';
const ALL_REASONS: readonly MalformedReason[] = MALFORMED_REASONS;

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const child of children.splice(0)) await killHard(child, 3000);
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** What the server must do with one message, according to its own parser. */
function expectation(bytes: Buffer): { reason: MalformedReason | undefined; replies: boolean } {
  const parsed = parseQuery(bytes);
  if (parsed.ok) return { reason: undefined, replies: true }; // the chain answers everything, at worst SERVFAIL
  return { reason: parsed.reason, replies: parsed.rcode !== undefined };
}

function countReasons(packets: Iterable<Buffer>, into: Map<MalformedReason, number>): number {
  let total = 0;
  for (const bytes of packets) {
    const { reason } = expectation(bytes);
    if (reason === undefined) continue;
    into.set(reason, (into.get(reason) ?? 0) + 1);
    total++;
  }
  return total;
}

interface Checks {
  sent: number;
  failures: string[];
}

/** One valid query (alternately blocked and clean) whose answer must be right; over UDP or TCP. */
async function checkValid(client: UdpClient, fw: ServedProcess, round: number, checks: Checks): Promise<void> {
  const blocked = round % 2 === 0;
  const name = blocked ? `r${round}.wild.test` : `r${round}.clean-check.example`;
  const id = client.takeId();
  const reply = await client.ask(buildQuery(name, 'A', { id }), 3000);
  checks.sent++;
  if (reply === null) {
    checks.failures.push(`round ${round}: no UDP answer for ${name}`);
    return;
  }
  const message = decode(reply);
  const answers = message.answers.map((a) => a.data);
  const ok = message.questions[0]?.name === name && (blocked ? message.rcode === 3 : message.rcode === 0 && answers.length === 1 && answers[0] === CLEAN_A);
  if (!ok) checks.failures.push(`round ${round}: ${name} answered rcode ${message.rcode} ${JSON.stringify(answers)}`);
  if (fw.exit) checks.failures.push(`round ${round}: fraudwall exited (${JSON.stringify(fw.exit)})`);
}

interface TcpPlan {
  readonly stream: Buffer;
  /** Messages the server will cut out of the stream, in order. */
  readonly dispatched: Buffer[];
  readonly expectedReplies: number;
  /** Name of the valid blocked query that ends the stream, when the framing is intact. */
  readonly trailer: string | undefined;
}

/**
 * One connection's bytes: frames of corpus packets, sometimes an empty frame, sometimes a length
 * prefix that lies (too short, so the rest of the stream is read as other frames), sometimes an
 * incomplete frame at the end (a prefix claiming up to 65535 bytes that never come).
 */
function planConnection(rng: Rng, packets: readonly FuzzPacket[], index: number): TcpPlan {
  const parts: Buffer[] = [];
  let intact = true;
  for (const packet of packets) {
    const roll = rng();
    if (roll < 0.03) parts.push(Buffer.from([0, 0])); // empty message
    if (roll > 0.97 && packet.bytes.length > 2) {
      // A prefix shorter than the message: the server reads its tail as further frames.
      const lie = Buffer.alloc(2);
      lie.writeUInt16BE(int(rng, 0, packet.bytes.length - 1), 0);
      parts.push(lie, packet.bytes);
      intact = false;
      continue;
    }
    parts.push(frame(packet.bytes));
  }
  const trailer = intact ? `t${index}.wild.test` : undefined;
  if (trailer !== undefined) parts.push(frame(buildQuery(trailer, 'A', { id: 0x7e00 + (index % 256) })));
  const tail = rng();
  if (tail < 0.15) parts.push(Buffer.from([0xff, 0xff]), randomBytes(rng, int(rng, 0, 200))); // never completed
  else if (tail < 0.2) parts.push(Buffer.from([int(rng, 0, 255)])); // half a length prefix
  const stream = Buffer.concat(parts);
  const reader = new FrameReader();
  const dispatched = reader.push(stream);
  const expectedReplies = dispatched.filter((message) => expectation(message).replies).length;
  return { stream, dispatched, expectedReplies, trailer };
}

/** Sends one planned connection in 1–3 writes; waits for the expected replies, then half-closes and waits for the close. */
async function runConnection(port: number, plan: TcpPlan, rng: Rng, failures: string[]): Promise<void> {
  const socket = await connectTcp(port);
  const reader = new FrameReader();
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  const cuts = [0, ...Array.from({ length: int(rng, 0, 2) }, () => int(rng, 0, plan.stream.length)).sort((a, b) => a - b), plan.stream.length];
  for (let i = 0; i + 1 < cuts.length; i++) {
    if (cuts[i + 1]! > cuts[i]!) socket.write(plan.stream.subarray(cuts[i], cuts[i + 1]));
  }
  const deadline = performance.now() + 8000;
  while (reader.messages.length < plan.expectedReplies && !closed && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  socket.end();
  await Promise.race([closedPromise, new Promise((r) => setTimeout(r, 3000))]);
  socket.destroy();
  if (reader.messages.length !== plan.expectedReplies) {
    failures.push(`TCP connection: ${reader.messages.length} replies for ${plan.dispatched.length} frames, expected ${plan.expectedReplies}`);
  }
  if (plan.trailer !== undefined) {
    const reply = reader.messages.map((m) => ({ raw: m, message: safeDecode(m) })).find((r) => r.message?.questions[0]?.name === plan.trailer);
    if (reply?.message?.rcode !== 3) failures.push(`TCP trailer ${plan.trailer}: ${reply ? `rcode ${reply.message?.rcode}` : 'no answer'}`);
  }
}

function safeDecode(bytes: Buffer): ReturnType<typeof decode> | undefined {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

describe('fuzzing a running fraudwall', () => {
  it(`survives ${UDP_PACKETS} malformed UDP packets and ${TCP_FRAMES} TCP frames, answering valid queries throughout`, { timeout: 90_000 }, async () => {
    requireBuiltCli();
    console.log(`fuzz seed ${SEED} (rerun with FUZZ_SEED=${SEED})`);
    const started = performance.now();
    const udpCorpus = generateCorpus(mulberry32(SEED), UDP_PACKETS, 65_507);
    const tcpCorpus = generateCorpus(mulberry32(SEED ^ 0x5bd1e995), TCP_FRAMES, 65_535);
    const tcpRng = mulberry32(SEED ^ 0x1b873593);

    // What parseQuery makes of the UDP packets; the corpus must reach every reject reason.
    const expectedUdp = new Map<MalformedReason, number>();
    const udpMalformed = countReasons(
      udpCorpus.map((p) => p.bytes),
      expectedUdp,
    );
    for (const reason of ALL_REASONS) expect(expectedUdp.get(reason) ?? 0, `corpus has no '${reason}' packet`).toBeGreaterThan(50);
    expect(udpMalformed).toBeGreaterThan(UDP_PACKETS * 0.75);

    const plans: TcpPlan[] = [];
    for (let offset = 0, index = 0; offset < tcpCorpus.length; index++) {
      const size = int(tcpRng, 20, 80);
      plans.push(planConnection(tcpRng, tcpCorpus.slice(offset, offset + size), index));
      offset += size;
    }
    const expectedTcp = new Map<MalformedReason, number>();
    const tcpMalformed = countReasons(
      plans.flatMap((p) => p.dispatched),
      expectedTcp,
    );

    const upstream: FakeUpstream = await startFakeUpstream();
    cleanups.push(() => upstream.close());
    upstream.setDefault({ kind: 'answer', a: CLEAN_A });
    const lists = writeLists(TEST_LISTS);
    cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
    const fw = await spawnServe(
      [...HOSTILE_SERVE_ARGS, '--upstream', `127.0.0.1:${upstream.port}`, '--lists', lists, '--upstream-timeout-ms', '400', '--query-timeout-ms', '800', '--verdict-cache-size', '1000', '--cache-size', '1000'],
      { children },
    );

    const checker = await UdpClient.open(fw.dnsPort);
    const flooders = await Promise.all(Array.from({ length: FLOOD_SOCKETS }, () => UdpClient.open(fw.dnsPort)));
    cleanups.push(async () => {
      await checker.close();
      for (const flooder of flooders) await flooder.close();
    });
    const checks: Checks = { sent: 0, failures: [] };
    await checkValid(checker, fw, 0, checks);
    await checkValid(checker, fw, 1, checks);
    const baseline = await scrape(fw.httpPort);
    const baselineMalformed = metricSum(baseline, 'fraudwall_malformed_queries_total');
    const dropsBefore = udpSocketDrops(fw.dnsPort);

    // TCP: a few connections at a time, alongside the UDP flood.
    const tcpFailures: string[] = [];
    let nextPlan = 0;
    const tcpWorkers = Array.from({ length: 3 }, async () => {
      while (nextPlan < plans.length && !fw.exit && tcpFailures.length < 20) {
        const plan = plans[nextPlan++]!;
        await runConnection(fw.dnsPort, plan, tcpRng, tcpFailures);
      }
    });

    // UDP: bursts from several sockets, each round closed by a valid query the server reads after the burst.
    const rss: number[] = [];
    let warmRss = 0;
    let sent = 0;
    let round = 2;
    while (sent < udpCorpus.length && checks.failures.length < 20) {
      let bytes = 0;
      for (const flooder of flooders) {
        for (let i = 0; i < BURST_PER_SOCKET && sent < udpCorpus.length && bytes < BURST_BYTES; i++) {
          const packet = udpCorpus[sent++]!.bytes;
          bytes += packet.length;
          flooder.send(packet);
        }
      }
      await checkValid(checker, fw, round++, checks);
      if (round % 10 === 0) {
        if (fw.exit) break;
        rss.push(rssBytes(fw.pid));
        if (process.env['FUZZ_DEBUG'] && round % 200 === 0) {
          const m = await scrape(fw.httpPort);
          console.log(`round ${round} sent ${sent} rss ${(rss[rss.length - 1]! / MB).toFixed(1)} heapUsed ${(metricSum(m, 'nodejs_heap_size_used_bytes') / MB).toFixed(1)} heapTotal ${(metricSum(m, 'nodejs_heap_size_total_bytes') / MB).toFixed(1)} external ${(metricSum(m, 'nodejs_external_memory_bytes') / MB).toFixed(1)}`);
        }
        if (warmRss === 0 && sent >= UDP_PACKETS * 0.1) warmRss = rss[rss.length - 1]!;
      }
    }
    await Promise.all(tcpWorkers);
    await checkValid(checker, fw, round++, checks);
    const endRss = fw.exit ? 0 : rssBytes(fw.pid);
    const after = await scrape(fw.httpPort);
    const drops = udpSocketDrops(fw.dnsPort) - dropsBefore;

    const rose = metricSum(after, 'fraudwall_malformed_queries_total') - baselineMalformed;
    const byReason = metricByLabel(after, 'fraudwall_malformed_queries_total', 'reason');
    const expectedTotal = udpMalformed + tcpMalformed;
    const floodReplies = flooders.reduce((sum, f) => sum + f.received, 0);
    const maxRss = Math.max(...rss, endRss);
    console.log(
      `fuzz: ${sent} UDP packets (${udpMalformed} malformed by parseQuery), ${plans.length} TCP connections / ${tcpCorpus.length} frames ` +
        `(${tcpMalformed} malformed), ${checks.sent} valid checks, ${floodReplies} UDP replies to the flood, ` +
        `malformed metric +${rose} (expected ≥ ${expectedTotal}), server socket drops ${drops}, ` +
        `RSS warm ${(warmRss / MB).toFixed(1)} MB end ${(endRss / MB).toFixed(1)} MB max ${(maxRss / MB).toFixed(1)} MB, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    expect(fw.exit, 'fraudwall must not exit').toBeUndefined();
    expect(fw.child.exitCode).toBeNull();
    expect(fw.logs.filter((line) => line.includes('"level":"error"')), 'no internal errors logged').toEqual([]);
    expect(sent).toBe(UDP_PACKETS);
    expect(checks.failures).toEqual([]);
    expect(tcpFailures).toEqual([]);
    expect(checks.sent).toBeGreaterThan(200);
    // Every packet parseQuery rejects is counted (datagrams the kernel dropped on the server's socket, if any, excused).
    expect(rose).toBeGreaterThanOrEqual(expectedTotal - drops);
    for (const reason of ALL_REASONS) {
      const expected = (expectedUdp.get(reason) ?? 0) + (expectedTcp.get(reason) ?? 0);
      expect(byReason.get(reason) ?? 0, `reason ${reason}`).toBeGreaterThanOrEqual(expected - drops);
    }
    expect(maxRss).toBeLessThan(300 * MB);
    expect(endRss - warmRss).toBeLessThan(50 * MB);
  });
});
