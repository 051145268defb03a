#!/usr/bin/env node
/**
 * What one forwarded query costs in src/upstream (the Forwarder over a UdpUpstream or a TcpUpstream),
 * measured so that a busy, shared machine hardly moves the figures: CPU time of the client process
 * per answered query (not q/s), bytes allocated on the JS heap per query (v8.GCProfiler: what each
 * collection freed plus the growth), collections per 100k queries, and, with a silent upstream,
 * the heap retained and the Node timers (Timeout objects) per query in flight.
 *
 *   npm run build && node bench/upstream-cost.mjs [--baseline-ref main] [--rounds 5] [--queries 100000]
 *                                                 [--concurrency 100] [--transport udp,tcp]
 *
 * With --baseline-ref, that git revision's src/ is compiled into a temporary directory and the two
 * builds run in alternating rounds (A B A B ..., each round a fresh process), and the medians are
 * compared: the load of other processes then falls on both alike. The upstream is an echo server
 * in its own process (flips QR, answers with no records), so its CPU is not counted.
 * Sends traffic only to 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { median } from './lib/util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    'baseline-ref': { type: 'string' },
    rounds: { type: 'string', default: '5' },
    queries: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '100' },
    transport: { type: 'string', default: 'udp,tcp' },
    // internal: one measuring round in a child process
    worker: { type: 'string' },
    'upstream-port': { type: 'string' },
    'silent-port': { type: 'string' },
    echo: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

// ---------- the echo upstream (its own process) ----------

function echoAnswer(query) {
  if (query.length < 12) return undefined;
  const answer = Buffer.from(query);
  answer[2] |= 0x80; // QR
  answer[3] = 0x80; // RA, NOERROR
  return answer;
}

async function runEcho() {
  const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  udp.on('message', (query, rinfo) => {
    const answer = echoAnswer(query);
    if (answer) udp.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
  // Swallows every query (UDP and TCP on one port): queries stay in flight.
  const silent = dgram.createSocket('udp4');
  await new Promise((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const silentTcp = net.createServer((socket) => {
    socket.on('data', () => {});
    socket.on('error', () => {});
  });
  await new Promise((resolve) => silentTcp.listen(silent.address().port, '127.0.0.1', resolve));
  const tcp = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let offset = 0;
      const out = [];
      while (buffered.length - offset >= 2) {
        const end = offset + 2 + buffered.readUInt16BE(offset);
        if (end > buffered.length) break;
        const answer = echoAnswer(buffered.subarray(offset + 2, end));
        if (answer) {
          const frame = Buffer.allocUnsafe(2 + answer.length);
          frame.writeUInt16BE(answer.length, 0);
          answer.copy(frame, 2);
          out.push(frame);
        }
        offset = end;
      }
      buffered = buffered.subarray(offset);
      if (out.length > 0) socket.write(Buffer.concat(out));
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => tcp.listen(udp.address().port, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: udp.address().port, silentPort: silent.address().port })}\n`);
}

// ---------- one measuring round (its own process, fresh heap) ----------

function encodeQuery(name) {
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)]));
  const header = Buffer.from([0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

async function runWorker(dist, transport, port, silentPort, queries, concurrency) {
  const dir = pathToFileURL(path.resolve(dist)).href;
  const { MessageIdSource } = await import(`${dir}/upstream/message-id.js`);
  const { UdpUpstream } = await import(`${dir}/upstream/udp-upstream.js`);
  const { TcpUpstream } = await import(`${dir}/upstream/tcp-upstream.js`);
  const { Forwarder } = await import(`${dir}/upstream/forwarder.js`);
  const ids = new MessageIdSource();
  // The whole forwarded path of src/upstream: the Forwarder (failover order, health, latency) over one client.
  const make = (p) => {
    const address = { host: '127.0.0.1', port: p, family: 4 };
    const client = transport === 'udp' ? new UdpUpstream(address, ids) : new TcpUpstream(address, ids);
    return new Forwarder([{ label: `127.0.0.1:${p}`, udp: client, tcp: client }], { upstreamTimeoutMs: 2000, ednsUdpSize: 1232 });
  };
  const template = encodeQuery('cost-bench.example.com');
  const parsed = { id: 0x4242, questionEnd: template.length, edns: undefined };
  // The forwarder copies the client's packet (its private copy gets the upstream ID).
  const forward = (forwarder, timeoutMs) => forwarder.forward({ packet: template, query: parsed, transport, deadline: performance.now() + timeoutMs });
  const client = make(port);

  // Closed loop: `concurrency` queries in flight, each answered query sends the next one.
  const run = (count) =>
    new Promise((resolve, reject) => {
      let started = 0;
      let done = 0;
      const next = () => {
        if (started >= count) return;
        started++;
        forward(client, 2000).then(
          () => {
            if (++done === count) resolve();
            else next();
          },
          reject,
        );
      };
      for (let i = 0; i < Math.min(concurrency, count); i++) next();
    });

  await run(Math.min(20_000, queries)); // warm-up: JIT, sockets, pools
  globalThis.gc?.();
  const profiler = new v8.GCProfiler();
  const usedBefore = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  const cpuBefore = process.cpuUsage();
  await run(queries);
  const cpu = process.cpuUsage(cpuBefore);
  const usedAfter = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  // The heap grows only by allocation and shrinks only by collection.
  const freed = statistics.reduce((total, gc) => total + Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize), 0);
  const allocated = usedAfter - usedBefore + freed;
  const gcPauseMs = statistics.reduce((total, gc) => total + gc.cost, 0) / 1000;
  client.close();

  // Queries in flight to a silent upstream: what each one holds while it waits.
  const IN_FLIGHT = 10_000;
  const silent = make(silentPort);
  globalThis.gc?.();
  const heapBefore = v8.getHeapStatistics().used_heap_size;
  const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  for (let i = 0; i < IN_FLIGHT; i++) forward(silent, 60_000).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 200));
  globalThis.gc?.();
  const heapInFlight = v8.getHeapStatistics().used_heap_size;
  const timers = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length - timersBefore;

  process.stdout.write(
    `${JSON.stringify({
      cpuUs: (cpu.user + cpu.system) / queries,
      allocBytes: allocated / queries,
      gcPer100k: (statistics.length / queries) * 100_000,
      gcPauseUsPerQuery: (gcPauseMs * 1000) / queries,
      retainedBytes: (heapInFlight - heapBefore) / IN_FLIGHT,
      timersPer1k: (timers / IN_FLIGHT) * 1000,
    })}\n`,
  );
  process.exit(0);
}

// ---------- the driver ----------

function buildBaseline(ref) {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-upstream-cost-'));
  try {
    execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${ref}" src tsconfig.json package.json | tar -x -C "${dir}"`]);
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', path.join(dir, 'tsconfig.json')], { stdio: 'inherit' });
    return dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`upstream-cost: could not compile ${ref} for the baseline (${error.message.split('\n')[0]})`);
  }
}

function runChild(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`round exited with ${code}`))));
  });
}

async function main() {
  if (args.help) {
    process.stdout.write(`${SELF}: see the comment at the top of the file.\n`);
    return;
  }
  const rounds = Number(args.rounds);
  const queries = Number(args.queries);
  const concurrency = Number(args.concurrency);
  const transports = args.transport.split(',');
  if (!(rounds >= 1 && queries >= 1000 && concurrency >= 1) || transports.some((t) => t !== 'udp' && t !== 'tcp')) {
    process.stderr.write('upstream-cost: --rounds ≥ 1, --queries ≥ 1000, --concurrency ≥ 1, --transport udp,tcp\n');
    process.exit(2);
  }
  const builds = [['this build', path.join(ROOT, 'dist')]];
  let baselineDir;
  if (args['baseline-ref']) {
    process.stdout.write(`compiling ${args['baseline-ref']} for the baseline ...\n`);
    baselineDir = buildBaseline(args['baseline-ref']);
    builds.unshift([args['baseline-ref'], path.join(baselineDir, 'dist')]);
  }
  const echo = spawn(process.execPath, [SELF, '--echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise((resolve) => echo.stdout.once('data', (chunk) => resolve(JSON.parse(chunk.toString()))));
  try {
    process.stdout.write(`${rounds} alternating rounds of ${queries} queries, ${concurrency} in flight; load average ${(await import('node:os')).loadavg()[0].toFixed(1)} (shared machine)\n`);
    for (const transport of transports) {
      const results = new Map(builds.map(([name]) => [name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const [name, dist] of builds) {
          const result = await runChild(['--expose-gc', '--max-semi-space-size=2', SELF, '--worker', dist, '--transport', transport,
            '--upstream-port', String(ports.port), '--silent-port', String(ports.silentPort), '--queries', String(queries), '--concurrency', String(concurrency)]);
          results.get(name).push(result);
        }
      }
      process.stdout.write(`\n${transport.toUpperCase()} upstream client, medians of ${rounds} rounds:\n`);
      const rows = [
        ['CPU µs per query', 'cpuUs', 2],
        ['heap bytes allocated per query', 'allocBytes', 0],
        ['collections per 100k queries', 'gcPer100k', 1],
        ['GC pause µs per query', 'gcPauseUsPerQuery', 2],
        ['heap bytes held per query in flight', 'retainedBytes', 0],
        ['Node timers per 1,000 in flight', 'timersPer1k', 1],
      ];
      const names = builds.map(([name]) => name);
      process.stdout.write(`  ${'figure'.padEnd(38)}${names.map((n) => n.padStart(14)).join('')}${builds.length > 1 ? '   new/old' : ''}\n`);
      for (const [label, key, digits] of rows) {
        const values = names.map((name) => median(results.get(name).map((r) => r[key])));
        const ratio = builds.length > 1 && values[0] !== 0 ? `   ${(values[1] / values[0]).toFixed(2)}` : '';
        process.stdout.write(`  ${label.padEnd(38)}${values.map((v) => v.toFixed(digits).padStart(14)).join('')}${ratio}\n`);
      }
      const spread = names.map((name) => {
        const cpu = results.get(name).map((r) => r.cpuUs);
        return `${name}: ${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)}`;
      });
      process.stdout.write(`  (CPU µs per query, range over the rounds: ${spread.join('; ')})\n`);
    }
  } finally {
    echo.kill();
    if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
  }
}

if (args.echo) await runEcho();
else if (args.worker) await runWorker(args.worker, args.transport, Number(args['upstream-port']), Number(args['silent-port']), Number(args.queries), Number(args.concurrency));
else await main();
