#!/usr/bin/env node
/**
 * Bounded soak run of fraudwall: spawns `node dist/cli.js serve` against an inline fake upstream
 * (UDP and TCP, answering every A query with one A record), drives a steady mixed load (blocked,
 * clean and malformed queries over UDP, some over TCP) for a fixed time, samples the server's RSS
 * every 5 s, and prints sent/answered, loss, latency percentiles and RSS figures.
 *
 *   npm run build && node bench/soak.mjs [--seconds 600] [--rate 5000] [--tcp-share 0.05] [--malformed-share 0.1]
 *                                        [--blocked-share 0.3] [--cold-share 0.4] [--node-args="--max-semi-space-size=2"]
 *
 * Mixed load: blocked names, recurring clean names (warm) and names never asked before (cold: at the
 * defaults 0.4 x 0.9 x 5000 q/s x 600 s = 1.08M unique names). Prints the RSS slope after warm-up.
 *
 * Exit code: 0 = fine; 1 = the server died, or RSS grew more than 20 % after warm-up, or more than
 * 1 % of valid queries went unanswered; 2 = usage error. Plain JavaScript on purpose (Node 20 runs
 * it as is); it imports nothing from src/ and only talks to 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FW_ENV, FW_NODE_FLAGS } from './lib/servers.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    rate: { type: 'string', default: '5000' },
    'tcp-share': { type: 'string', default: '0.05' },
    'malformed-share': { type: 'string', default: '0.1' },
    'blocked-share': { type: 'string', default: '0.3' },
    'cold-share': { type: 'string', default: '0.4' },
    'node-args': { type: 'string' },
    'max-rss-growth': { type: 'string', default: '0.2' },
    'cache-size': { type: 'string', default: '100000' },
    'verdict-cache-size': { type: 'string', default: '100000' },
    'cache-max-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 14).join('\n') + '\n');
  process.exit(0);
}
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const TCP_SHARE = Number(args['tcp-share']);
const MALFORMED_SHARE = Number(args['malformed-share']);
const BLOCKED_SHARE = Number(args['blocked-share']);
const COLD_SHARE = Number(args['cold-share']);
const NODE_ARGS = args['node-args'] === undefined ? FW_NODE_FLAGS : args['node-args'].split(' ').filter(Boolean);
const MAX_RSS_GROWTH = Number(args['max-rss-growth']);
// The server's cache bounds (its defaults unless given): growth is judged only once the caches
// are full, because until then RSS rises by design (the caches filling up to these bounds).
const CACHE_SIZE = Number(args['cache-size']);
const VERDICT_CACHE_SIZE = Number(args['verdict-cache-size']);
const CACHE_MAX_BYTES = Number(args['cache-max-bytes']);
/** A cache this close to its bound counts as full (LRU eviction keeps it just under). */
const FULL = 0.98;
/** The response cache's memory this close to cache-max-bytes counts as full (the last segment may not fit). */
const FULL_MEMORY = 0.95;
for (const [name, value] of Object.entries({ SECONDS, RATE, TCP_SHARE, MALFORMED_SHARE, BLOCKED_SHARE, COLD_SHARE, MAX_RSS_GROWTH, CACHE_SIZE, VERDICT_CACHE_SIZE, CACHE_MAX_BYTES })) {
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`soak: ${name.toLowerCase()} must be a non-negative number\n`);
    process.exit(2);
  }
}
if (SECONDS < 10 || SECONDS > 3600 || RATE < 1 || RATE > 100_000) {
  process.stderr.write('soak: --seconds must be 10…3600 and --rate 1…100000\n');
  process.exit(2);
}

const QUERY_TIMEOUT_MS = 3000;
const RUN_TAG = Date.now().toString(36);
const CLEAN_NAMES = 20_000; // a bounded name set, so caches reach a steady state
const BLOCKED_NAMES = 5_000;
const UDP_SOCKETS = 8;
const TCP_CONNECTIONS = 4;
const TICK_MS = 10;
const SAMPLE_EVERY_MS = 5000;

// ---------- DNS bytes ----------

function encodeName(name) {
  return Buffer.concat([...name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])), Buffer.from([0])]);
}

function query(id, name, type = 1) {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** End of the question of an uncompressed single-question message, or -1. */
function questionEnd(message) {
  let pos = 12;
  while (pos < message.length && message[pos] !== 0) {
    if (message[pos] > 63) return -1;
    pos += message[pos] + 1;
  }
  pos += 5;
  return pos <= message.length ? pos : -1;
}

function upstreamAnswer(q) {
  const end = questionEnd(q);
  if (q.length < 17 || end < 0 || (q[2] & 0x80) !== 0) return undefined;
  const reply = Buffer.alloc(end + 16);
  q.copy(reply, 0, 0, end);
  reply[2] = q[2] | 0x80;
  reply[3] = 0x80;
  reply.writeUInt16BE(1, 4);
  reply.writeUInt16BE(1, 6);
  reply.writeUInt32BE(0, 8);
  reply.writeUInt16BE(0xc00c, end);
  reply.writeUInt16BE(1, end + 2);
  reply.writeUInt16BE(1, end + 4);
  reply.writeUInt32BE(300, end + 6);
  reply.writeUInt16BE(4, end + 10);
  Buffer.from([192, 0, 2, 1]).copy(reply, end + 12);
  return reply;
}

const MALFORMED = [
  Buffer.alloc(5), // short header
  Buffer.concat([Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]), encodeName('resp.example'), Buffer.from([0, 1, 0, 1])]), // QR=1
  Buffer.concat([Buffer.from([0, 2, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0]), encodeName('two.example'), Buffer.from([0, 1, 0, 1])]), // qdcount 2
  Buffer.concat([Buffer.from([0, 3, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), // pointer loop
  Buffer.concat([Buffer.from([0, 4, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([70]), Buffer.alloc(70, 0x61), Buffer.from([0, 0, 1, 0, 1])]), // label > 63
  Buffer.concat([query(5, 'trailing.example'), Buffer.from([1, 2, 3])]), // trailing bytes
  Buffer.concat([Buffer.from([0, 6, 0x29, 0, 0, 1, 0, 0, 0, 0, 0, 0]), encodeName('op.example'), Buffer.from([0, 1, 0, 1])]), // opcode 5
];

// ---------- inline fake upstream (UDP + TCP on one port) ----------

async function startUpstream() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const tcp = net.createServer((socket) => {
      let pending = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const reply = upstreamAnswer(pending.subarray(2, 2 + pending.readUInt16BE(0)));
          pending = pending.subarray(2 + pending.readUInt16BE(0));
          if (reply) {
            const length = Buffer.alloc(2);
            length.writeUInt16BE(reply.length, 0);
            socket.write(Buffer.concat([length, reply]));
          }
        }
      });
    });
    const ok = await new Promise((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    let answered = 0;
    udp.on('message', (q, remote) => {
      const reply = upstreamAnswer(q);
      if (reply) {
        answered++;
        udp.send(reply, remote.port, remote.address);
      }
    });
    return { port, answered: () => answered, close: () => (udp.close(), tcp.close()) };
  }
  throw new Error('soak: no port free for the fake upstream on both UDP and TCP');
}

// ---------- fraudwall ----------

function rssMb(pid, field = 'VmRSS') {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((t, p) => t + p.x, 0) / n;
  const my = points.reduce((t, p) => t + p.y, 0) / n;
  const sxy = points.reduce((t, p) => t + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((t, p) => t + (p.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

function startFraudwall(upstreamPort, listsDir) {
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, CLI, 'serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', listsDir, '--upstream', `127.0.0.1:${upstreamPort}`, '--watch-lists', 'false',
     '--cache-size', String(CACHE_SIZE), '--verdict-cache-size', String(VERDICT_CACHE_SIZE), '--cache-max-bytes', String(CACHE_MAX_BYTES)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', ...FW_ENV } },
  );
  const state = { child, exit: undefined, errors: [] };
  child.on('exit', (code, signal) => (state.exit = { code, signal }));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('soak: fraudwall not ready within 15 s')), 15_000);
    child.stderr.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.level === 'error' && state.errors.length < 20) state.errors.push(line);
        if (entry.msg === 'fraudwall ready') {
          clearTimeout(timer);
          state.dnsPort = Number(entry.dns[0].split(':').pop());
          state.httpPort = Number(entry.http.split(':').pop());
          resolve(state);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`soak: fraudwall exited (${code ?? signal}) before ready`));
    });
  });
}

// ---------- load ----------

const stats = {
  validSent: 0,
  validAnswered: 0,
  wrongAnswers: 0,
  lost: 0,
  malformedSent: 0,
  malformedReplies: 0,
  /** Replies to valid queries that came after they were given up as lost. */
  strayReplies: 0,
  tcpSent: 0,
  coldSent: 0,
  latencies: new Float64Array(Math.ceil(SECONDS * RATE * 1.1) + 1000),
  latencyCount: 0,
};

function recordLatency(ms) {
  if (stats.latencyCount < stats.latencies.length) stats.latencies[stats.latencyCount++] = ms;
}

/** Checks an answer: blocked names NXDOMAIN, clean ones the upstream's A record. */
function check(reply, blocked) {
  const rcode = reply[3] & 0x0f;
  if (blocked) return rcode === 3;
  return rcode === 0 && reply.readUInt16BE(6) >= 1;
}

class UdpDriver {
  constructor(socket, port) {
    this.socket = socket;
    this.port = port;
    this.pending = new Map(); // id → { sentAt, blocked }
    this.nextId = 1;
    socket.on('message', (reply) => {
      if (reply.length < 12) return;
      const id = reply.readUInt16BE(0);
      const entry = this.pending.get(id);
      if (entry === undefined) {
        stats.strayReplies++;
        return;
      }
      this.pending.delete(id);
      recordLatency(performance.now() - entry.sentAt);
      stats.validAnswered++;
      if (!check(reply, entry.blocked)) stats.wrongAnswers++;
    });
  }

  send(name, blocked) {
    let id = this.nextId;
    while (this.pending.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextId = id === 0xffff ? 1 : id + 1;
    this.pending.set(id, { sentAt: performance.now(), blocked });
    stats.validSent++;
    this.socket.send(query(id, name), this.port, '127.0.0.1');
  }

  expire(now) {
    for (const [id, entry] of this.pending) {
      if (now - entry.sentAt > QUERY_TIMEOUT_MS) {
        this.pending.delete(id);
        stats.lost++;
      }
    }
  }
}

class TcpDriver {
  constructor(port) {
    this.port = port;
    this.pending = new Map();
    this.nextId = 1;
    this.connect();
  }

  connect() {
    this.buffer = Buffer.alloc(0);
    this.socket = net.connect({ port: this.port, host: '127.0.0.1', noDelay: true });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      // Whatever was pending on this connection is lost; reconnect (idle timeouts are normal).
      stats.lost += this.pending.size;
      this.pending.clear();
      if (!stopped) setTimeout(() => this.connect(), 100);
    });
    this.socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 2 && this.buffer.length >= 2 + this.buffer.readUInt16BE(0)) {
        const reply = this.buffer.subarray(2, 2 + this.buffer.readUInt16BE(0));
        this.buffer = this.buffer.subarray(2 + this.buffer.readUInt16BE(0));
        const entry = this.pending.get(reply.readUInt16BE(0));
        if (entry === undefined) continue;
        this.pending.delete(reply.readUInt16BE(0));
        recordLatency(performance.now() - entry.sentAt);
        stats.validAnswered++;
        if (!check(reply, entry.blocked)) stats.wrongAnswers++;
      }
    });
  }

  send(name, blocked) {
    let id = this.nextId;
    while (this.pending.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextId = id === 0xffff ? 1 : id + 1;
    const message = query(id, name);
    const framed = Buffer.alloc(2 + message.length);
    framed.writeUInt16BE(message.length, 0);
    message.copy(framed, 2);
    this.pending.set(id, { sentAt: performance.now(), blocked });
    stats.validSent++;
    stats.tcpSent++;
    this.socket.write(framed);
  }

  expire(now) {
    for (const [id, entry] of this.pending) {
      if (now - entry.sentAt > QUERY_TIMEOUT_MS) {
        this.pending.delete(id);
        stats.lost++;
      }
    }
  }
}

let stopped = false;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const listsDir = mkdtempSync(path.join(tmpdir(), 'fraudwall-soak-'));
  writeFileSync(path.join(listsDir, 'soak.txt'), '# category: phishing\n*.soak-blocked.test\n');
  const upstream = await startUpstream();
  const fw = await startFraudwall(upstream.port, listsDir);
  console.log(`soak: fraudwall pid ${fw.child.pid} on 127.0.0.1:${fw.dnsPort} (node ${process.version} ${NODE_ARGS.join(' ')}), ${RATE} q/s for ${SECONDS} s ` +
    `(blocked ${BLOCKED_SHARE}, cold ${COLD_SHARE}, malformed ${MALFORMED_SHARE}, TCP ${TCP_SHARE})`);

  const udp = [];
  for (let i = 0; i < UDP_SOCKETS; i++) {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    udp.push(new UdpDriver(socket, fw.dnsPort));
  }
  const tcp = Array.from({ length: TCP_CONNECTIONS }, () => new TcpDriver(fw.dnsPort));
  // Malformed packets go out on their own socket: their FORMERR replies carry arbitrary IDs that
  // must not be taken for the answer of a valid query.
  const junk = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise((resolve) => junk.bind(0, '127.0.0.1', resolve));
  junk.on('message', () => stats.malformedReplies++);
  const sendMalformed = (packet) => {
    stats.malformedSent++;
    junk.send(packet, fw.dnsPort, '127.0.0.1');
  };

  const samples = [];
  const started = performance.now();
  let sentTotal = 0;
  let counter = 0;
  let nextSample = started + SAMPLE_EVERY_MS;
  let maxLagMs = 0;
  // Warm-up ends when both caches are full (sampled from /metrics with each RSS sample); if they
  // never fill (a short run), after 15 % of the run, at least 10 s, as before.
  const fallbackWarmupUntil = started + Math.max(10_000, SECONDS * 150);
  let cachesFullAt; // seconds into the run
  let lastFill = { entries: 0, bytes: 0, memory: 0, verdicts: 0, heapUsed: 0, heapTotal: 0, external: 0 };
  const readFill = async () => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      const gauge = (name) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1] ?? NaN);
      return { entries: gauge('fraudwall_cache_entries'), bytes: gauge('fraudwall_cache_bytes'), memory: gauge('fraudwall_cache_memory_bytes'), verdicts: gauge('fraudwall_verdict_cache_entries'),
        heapUsed: gauge('fraudwall_process_heap_used_bytes'), heapTotal: gauge('fraudwall_process_heap_total_bytes'), external: gauge('fraudwall_process_external_memory_bytes') };
    } catch {
      return undefined;
    }
  };
  // The response cache keeps answers in Buffer segments that it allocates one by one until segments
  // plus index reach cache-max-bytes, and only then reuses the oldest: with the entry count at its
  // bound long before (100,000 small answers take ~16 MB), its memory keeps growing to the byte
  // bound. So "full" is the memory it has taken, not its entries.
  // The response cache is full at whichever bound binds first: its entries, or its memory (large answers).
  const isFull = (fill) => (fill.entries >= FULL * CACHE_SIZE || fill.memory >= FULL_MEMORY * CACHE_MAX_BYTES) && fill.verdicts >= FULL * VERDICT_CACHE_SIZE;

  await new Promise((resolve) => {
    let lastTick = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - lastTick - TICK_MS);
      lastTick = now;
      const elapsed = now - started;
      if (fw.exit || elapsed >= SECONDS * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Catch up to the target rate (bounded so a stall does not turn into a burst of minutes).
      const due = Math.min(Math.floor((elapsed / 1000) * RATE) - sentTotal, RATE);
      for (let i = 0; i < due; i++) {
        sentTotal++;
        counter++;
        const roll = ((Math.imul(counter, 2654435761) >>> 0) % 1000) / 1000; // deterministic spread over the mix
        if (roll < MALFORMED_SHARE) {
          sendMalformed(MALFORMED[counter % MALFORMED.length]);
          continue;
        }
        const blocked = roll < MALFORMED_SHARE + BLOCKED_SHARE;
        // Cold: a name never asked before (every one forwarded and cached); warm: a recurring clean name.
        const cold = !blocked && roll < MALFORMED_SHARE + BLOCKED_SHARE + COLD_SHARE;
        if (cold) stats.coldSent++;
        const name = blocked ? `b${counter % BLOCKED_NAMES}.soak-blocked.test` : cold ? `u${counter.toString(36)}-${RUN_TAG}.soak-cold.example` : `c${counter % CLEAN_NAMES}.soak-clean.example`;
        if (((Math.imul(counter, 40503) >>> 0) % 1000) / 1000 < TCP_SHARE) tcp[counter % TCP_CONNECTIONS].send(name, blocked);
        else udp[counter % UDP_SOCKETS].send(name, blocked);
      }
      if (counter % 50 === 0) for (const driver of [...udp, ...tcp]) driver.expire(now);
      if (now >= nextSample) {
        nextSample += SAMPLE_EVERY_MS;
        try {
          const rss = rssMb(fw.child.pid);
          const at = (now - started) / 1000;
          samples.push({ at, rss });
          const fill = lastFill;
          if (cachesFullAt === undefined && isFull(fill)) cachesFullAt = at;
          process.stdout.write(
            `  t=${at.toFixed(0).padStart(4)} s  RSS ${rss.toFixed(1)} MB  sent ${stats.validSent + stats.malformedSent}  answered ${stats.validAnswered}  lost ${stats.lost}` +
              `  cache ${fill.entries} (${(fill.bytes / 2 ** 20).toFixed(1)} MB in ${(fill.memory / 2 ** 20).toFixed(1)} MB)  verdicts ${fill.verdicts}  heap ${(fill.heapUsed / 2 ** 20).toFixed(0)}/${(fill.heapTotal / 2 ** 20).toFixed(0)} MB  external ${(fill.external / 2 ** 20).toFixed(0)} MB${cachesFullAt === at ? '  <- caches full' : ''}\n`,
          );
          // For the next sample: a scrape takes a moment, and the load loop must not wait for it.
          void readFill().then((next) => {
            if (next !== undefined) lastFill = next;
          });
        } catch {
          // the process is gone; the exit handler records it
        }
      }
    }, TICK_MS);
  });

  // Stragglers: wait for the last answers, then count what is still missing as lost.
  stopped = true;
  await new Promise((resolve) => setTimeout(resolve, QUERY_TIMEOUT_MS + 200));
  for (const driver of [...udp, ...tcp]) driver.expire(Number.POSITIVE_INFINITY);

  const alive = fw.exit === undefined;
  const finalRss = alive ? rssMb(fw.child.pid) : NaN;
  let metrics = '';
  if (alive) {
    try {
      metrics = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    } catch {
      metrics = '';
    }
  }
  const sum = (name) =>
    metrics
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

  const warmFrom = cachesFullAt ?? (fallbackWarmupUntil - started) / 1000;
  for (const sample of samples) sample.warm = sample.at >= warmFrom;
  const sorted = stats.latencies.slice(0, stats.latencyCount).sort();
  const rssValues = samples.map((s) => s.rss);
  const firstRss = rssValues[0] ?? NaN;
  const warmRss = samples.find((s) => s.warm)?.rss ?? firstRss;
  const lastRss = Number.isNaN(finalRss) ? (rssValues[rssValues.length - 1] ?? NaN) : finalRss;
  const maxRss = Math.max(...rssValues, lastRss);
  const growth = (lastRss - warmRss) / warmRss;
  // RSS slope after warm-up, MB per minute (least squares over the 5 s samples).
  const rssSlope = slope(samples.filter((s) => s.warm).map((s) => ({ x: s.at / 60, y: s.rss })));
  const lateSlope = slope(samples.filter((s) => s.at >= SECONDS / 2).map((s) => ({ x: s.at / 60, y: s.rss })));
  const peakRss = alive ? rssMb(fw.child.pid, 'VmHWM') : NaN;
  const lossPct = (100 * stats.lost) / Math.max(1, stats.validSent);
  const durationS = (performance.now() - started) / 1000;

  let exitCode = 0;
  const problems = [];
  if (!alive) problems.push(`fraudwall died: ${JSON.stringify(fw.exit)}`);
  if (growth > MAX_RSS_GROWTH) problems.push(`RSS grew ${(growth * 100).toFixed(1)} % after warm-up (limit ${(MAX_RSS_GROWTH * 100).toFixed(0)} %)`);
  if (lossPct > 1) problems.push(`${lossPct.toFixed(2)} % of valid queries unanswered`);
  if (stats.wrongAnswers > 0) problems.push(`${stats.wrongAnswers} wrong answers`);
  if (problems.length > 0) exitCode = 1;

  console.log('\nsoak result');
  console.log(`  duration            ${durationS.toFixed(1)} s (load ${SECONDS} s + ${QUERY_TIMEOUT_MS / 1000} s drain), target ${RATE} q/s, achieved ${((stats.validSent + stats.malformedSent) / SECONDS).toFixed(0)} q/s`);
  console.log(`  queries sent        ${stats.validSent + stats.malformedSent} (${stats.validSent} valid, of which ${stats.tcpSent} over TCP; ${stats.malformedSent} malformed)`);
  console.log(`  valid answered      ${stats.validAnswered} (wrong ${stats.wrongAnswers}), lost ${stats.lost} = ${lossPct.toFixed(3)} %, late ${stats.strayReplies}`);
  console.log(`  malformed replies   ${stats.malformedReplies} (FORMERR/NOTIMP; short headers and responses get none)`);
  console.log(`  latency             p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, p99.9 ${percentile(sorted, 99.9).toFixed(2)} ms, max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms`);
  console.log(`  RSS                 first ${firstRss.toFixed(1)} MB, after warm-up ${warmRss.toFixed(1)} MB, last ${lastRss.toFixed(1)} MB, max ${maxRss.toFixed(1)} MB, peak (VmHWM) ${peakRss.toFixed(1)} MB, growth after warm-up ${(growth * 100).toFixed(1)} %`);
  console.log(`  warm-up             ${cachesFullAt === undefined ? `caches never full (run too short?): judged from ${warmFrom.toFixed(0)} s (15 % of the run)` : `caches full at ${cachesFullAt.toFixed(0)} s (response cache entries ≥ ${FULL * 100} % of ${CACHE_SIZE} or its memory ≥ ${FULL_MEMORY * 100} % of ${(CACHE_MAX_BYTES / 2 ** 20).toFixed(0)} MB, verdicts ≥ ${FULL * 100} % of ${VERDICT_CACHE_SIZE}); growth judged from there`}`);
  console.log(`  RSS slope           ${rssSlope.toFixed(3)} MB/min after warm-up (${samples.filter((s) => s.warm).length} samples), ${lateSlope.toFixed(3)} MB/min over the second half`);
  console.log(`  unique cold names   ${stats.coldSent} (each forwarded once, then cached)`);
  console.log(`  upstream answered   ${upstream.answered()} UDP queries`);
  if (metrics) {
    console.log(`  server metrics      queries ${sum('fraudwall_queries_total')}, malformed ${sum('fraudwall_malformed_queries_total')}, ` +
      `shed ${sum('fraudwall_shed_queries_total')}, upstream errors ${sum('fraudwall_upstream_errors_total')}, cache hits ${sum('fraudwall_cache_hits_total')}, ` +
      `cache entries ${sum('fraudwall_cache_entries')} (${(sum('fraudwall_cache_bytes') / 2 ** 20).toFixed(1)} MB), heap used ${(sum('nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1)} MB`);
  }
  console.log(`  driver max tick lag ${maxLagMs.toFixed(0)} ms`);
  console.log(`  server              ${alive ? 'alive' : 'DEAD'}${fw.errors.length > 0 ? `, ${fw.errors.length} error log line(s): ${fw.errors[0]}` : ''}`);
  console.log(problems.length === 0 ? '  verdict             OK' : `  verdict             FAIL: ${problems.join('; ')}`);

  for (const driver of udp) driver.socket.close();
  junk.close();
  for (const driver of tcp) driver.socket.destroy();
  if (alive) {
    const exited = new Promise((resolve) => fw.child.once('exit', resolve));
    fw.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (fw.exit === undefined) fw.child.kill('SIGKILL');
  }
  upstream.close();
  rmSync(listsDir, { recursive: true, force: true });
  process.exit(exitCode);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
