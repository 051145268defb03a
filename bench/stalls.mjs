#!/usr/bin/env node
// What runs while the event loop stalls (issue #16: warm p99 @ 50k):
//
//   node bench/stalls.mjs [--n 1000000] [--fill 200000] [--rate 10000] [--seconds 10] [--threshold-ms 3]
//                         [--node-args="..."] [--fw-args="..."] [--kind warm|cold] [--interval-us 250] [--root DIR]
//
// Starts the bench's upstream and fraudwall (pinned like `npm run bench`, node flags of
// bench/lib/servers.mjs FW_NODE_FLAGS unless --node-args) under `--cpu-prof` with a 250 µs
// sampling interval (--interval-us; the profiler's own thread shares the server's core) and bench/lib/loop-delay-preload.mjs, fills it with --fill unique cold names,
// then sends --rate q/s of the warm (or cold) mix for --seconds (open loop, as the bench's latency
// runs) and prints the client's p50/p99, the event-loop delay, the GC pauses, each fraudwall thread's
// CPU time during the run, and every stretch in which the main thread was busy for more than
// --threshold-ms without a break, with the functions that took its time ("(garbage collector)" is
// V8's GC on the main thread, "(not scheduled)" is time the thread was off the core).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dnsperf, measureLatency } from './lib/dnsperf.mjs';
import { benchFixture } from './lib/fixture.mjs';
import { writeCold, writeFromPool } from './lib/gen.mjs';
import { findStalls } from './lib/profile.mjs';
import { startFraudwall, FW_NODE_FLAGS } from './lib/servers.mjs';
import { sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    fill: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    'threshold-ms': { type: 'string', default: '3' },
    kind: { type: 'string', default: 'warm' },
    'interval-us': { type: 'string', default: '250' },
    'node-args': { type: 'string' },
    'fw-args': { type: 'string', default: '' },
    root: { type: 'string' },
  },
});
const log = (line = '') => process.stdout.write(`${line}\n`);
const nodeArgs = args['node-args'] === undefined ? FW_NODE_FLAGS : args['node-args'].split(' ').filter(Boolean);

/** CPU ms of each thread of `pid` (utime + stime), by thread name. */
function threadCpu(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

async function main() {
  const { runDir, lists, clean, pool, upstream } = await benchFixture(BENCH_DIR, 'stalls', Number(args.n), log);
  const profileDir = path.join(runDir, 'profile');
  mkdirSync(profileDir, { recursive: true });
  const server = await startFraudwall({
    root: args.root ? path.resolve(args.root) : ROOT,
    lists: path.relative(ROOT, lists.listsDir),
    stateDir: path.join('.bench', 'state-stalls'),
    upstreamPort: upstream.port,
    blockedName: lists.lastBlocked,
    logLevel: 'warn',
    baseNodeArgs: [],
    nodeArgs: ['--import', path.join(ROOT, 'bench', 'lib', 'loop-delay-preload.mjs'), '--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${args['interval-us']}`, ...nodeArgs],
    extraFlags: args['fw-args'].split(' ').filter(Boolean),
  });
  const samples = [];
  let recording = false;
  server.child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!recording || !line.includes('bench-loop-delay')) continue;
      try {
        samples.push(JSON.parse(line));
      } catch {
        // a partial line
      }
    }
  });
  log(`fraudwall ${server.flags.join(' ')}`);
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  let result;
  let cpu;
  const window = { fromUs: -Infinity, toUs: Infinity };
  try {
    await dnsperf({ port: server.port, file: writeFromPool(path.join(runDir, 'warmup.txt'), clean, clean.length), qps: 5000, outstanding: 100 });
    const fill = Number(args.fill);
    if (fill > 0) await dnsperf({ port: server.port, file: writeCold(path.join(runDir, 'fill.txt'), fill), qps: 20000, outstanding: 500, serverPid: server.pid });
    await sleep(1500);
    const makeFile =
      args.kind === 'cold'
        ? (lines) => writeCold(path.join(runDir, 'run.txt'), lines)
        : (lines) => writeFromPool(path.join(runDir, 'run.txt'), pool, lines, Math.floor(Math.random() * pool.length));
    const before = threadCpu(server.pid);
    recording = true;
    window.fromUs = Number(process.hrtime.bigint() / 1000n);
    result = await measureLatency({ port: server.port, serverPid: server.pid, makeFile, rate, seconds, verboseFile: path.join(runDir, 'v.txt') });
    recording = false;
    window.toUs = Number(process.hrtime.bigint() / 1000n);
    const after = threadCpu(server.pid);
    cpu = Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, ms - (before[name] ?? 0)]).filter(([, ms]) => ms > 0));
  } finally {
    await server.stop();
    await upstream.stop();
  }
  const max = (f) => Math.max(...samples.map(f));
  const sum = (f) => samples.reduce((t, s) => t + f(s), 0);
  log(`${args.kind} @ ${rate} q/s for ${seconds} s: achieved ${Math.round(result.achievedQps)} q/s, lost ${result.lostPct?.toFixed(2)} %, p50 / p99 / p99.9 ${result.p50Ms?.toFixed(2)} / ${result.p99Ms?.toFixed(2)} / ${result.p999Ms?.toFixed(2)} ms`);
  log(`event loop delay: p99 max ${max((s) => s.p99)} ms, max ${max((s) => s.max)} ms | GC: minor ${sum((s) => s.gc.minor)} (${Math.round(sum((s) => s.gc.minorMs))} ms), major ${sum((s) => s.gc.major)} (${Math.round(sum((s) => s.gc.majorMs))} ms), longest pause ${max((s) => s.gc.maxMs)} ms`);
  log(`thread CPU during the run (ms): ${Object.entries(cpu).map(([name, ms]) => `${name} ${ms}`).join(', ')}`);
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    log('no .cpuprofile was written (did fraudwall exit cleanly?)');
    return;
  }
  // Only the stretches inside the measured run: the profile covers the whole life of the process.
  const report = findStalls(path.join(profileDir, file), ROOT, Number(args['threshold-ms']), 6, window);
  log(`profile: ${report.seconds} s, sampling interval ${report.intervalUs} µs; stretches busy > ${args['threshold-ms']} ms during the run: ${report.stalls.length}, ${report.stalls.reduce((t, s) => t + s.ms, 0).toFixed(0)} ms in all`);
  const totals = new Map();
  for (const stall of report.stalls) for (const { what, ms } of stall.top) totals.set(what, (totals.get(what) ?? 0) + ms);
  log('time in those stretches by function (top 12):');
  for (const [what, ms] of [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) log(`  ${ms.toFixed(1).padStart(8)} ms  ${what}`);
  log('the 12 longest:');
  for (const stall of [...report.stalls].sort((a, b) => b.ms - a.ms).slice(0, 12)) {
    log(`  at ${(stall.atMs / 1000).toFixed(2)} s: ${stall.ms} ms: ${stall.top.map((t) => `${t.what} ${t.ms}`).join('; ')}`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`stalls: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
