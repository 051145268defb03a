#!/usr/bin/env node
// Memory and tail probe of fraudwall alone (the quick A/B loop behind the bench's peak RSS and p99):
//
//   node bench/memory-probe.mjs [--n 1000000] [--cold-rate 20000] [--cold-seconds 50] [--latency-seconds 3]
//                               [--node-args="--max-semi-space-size=16"] [--fw-args="--cache-max-bytes 33554432"] [--json FILE]
//                               [--fw-env="MALLOC_ARENA_MAX=2"] (default FW_ENV of bench/lib/servers.mjs; "" for none)
//                               [--root DIR]   (another checkout's dist/, for A/B)
//
// Starts the bench's upstream and fraudwall (pinned like `npm run bench`, with
// bench/lib/loop-delay-preload.mjs preloaded: event-loop delay at 1 ms resolution, heap split and GC
// pauses every second; node flags: --node-args, default those of bench/lib/servers.mjs FW_NODE_FLAGS), fills it with a cold run of --cold-rate x --cold-seconds unique names (the
// default is 1,000,000), then measures latency as the bench does (warm @10k, warm @50k, cold @10k)
// plus 10 s closed-loop warm and cold runs (-q 500, as the bench's probes), and prints, per phase: RSS and peak RSS (VmHWM), heap used/total, external, event-loop delay
// p99/max, and GC counts and pauses.
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dnsperf, measureLatency, processCpuMs } from './lib/dnsperf.mjs';
import { benchFixture } from './lib/fixture.mjs';
import { writeCold, writeFromPool } from './lib/gen.mjs';
import { startFraudwall, FW_ENV, FW_NODE_FLAGS } from './lib/servers.mjs';
import { memoryMB, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    'cold-rate': { type: 'string', default: '20000' },
    'cold-seconds': { type: 'string', default: '50' },
    'latency-seconds': { type: 'string', default: '3' },
    'node-args': { type: 'string' },
    'fw-args': { type: 'string', default: '' },
    'fw-env': { type: 'string' },
    json: { type: 'string' },
    root: { type: 'string' },
  },
});
const n = Number(args.n);
const coldRate = Number(args['cold-rate']);
const coldSeconds = Number(args['cold-seconds']);
const latencySeconds = Number(args['latency-seconds']);
const nodeArgs = args['node-args'] === undefined ? FW_NODE_FLAGS : args['node-args'].split(' ').filter(Boolean);
const fwArgs = args['fw-args'].split(' ').filter(Boolean);
const fwEnv = args['fw-env'] === undefined ? FW_ENV : Object.fromEntries(args['fw-env'].split(' ').filter(Boolean).map((pair) => pair.split('=')));
const log = (line = '') => process.stdout.write(`${line}\n`);

/** RSS of a process by kind of mapping: brk heap (malloc), anonymous mappings by size, files. */
function smapsSummary(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
  const out = {};
  let kind = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = (parseInt(head[2], 16) - parseInt(head[1], 16)) / 2 ** 20;
      const name = head[3].trim();
      kind = name === '[heap]' ? 'brk heap' : name.startsWith('/') ? 'files' : name.startsWith('[') ? name : size >= 32 ? 'anon >= 32 MB' : size >= 1 ? 'anon 1-32 MB' : 'anon < 1 MB';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) out[kind] = Math.round(((out[kind] ?? 0) + Number(rss[1]) / 1024) * 10) / 10;
  }
  return out;
}

async function main() {
  const { runDir, lists, clean, pool, upstream } = await benchFixture(BENCH_DIR, 'probe', n, log);
  const server = await startFraudwall({
    root: args.root ? path.resolve(args.root) : ROOT,
    lists: path.relative(ROOT, lists.listsDir),
    stateDir: path.join('.bench', 'state-probe'),
    upstreamPort: upstream.port,
    blockedName: lists.lastBlocked,
    logLevel: 'info',
    baseNodeArgs: [],
    nodeArgs: ['--import', path.join(ROOT, 'bench', 'lib', 'loop-delay-preload.mjs'), ...nodeArgs],
    fwEnv,
    extraFlags: fwArgs,
  });
  const samples = [];
  let phase = 'load';
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('bench-loop-delay')) continue;
      try {
        samples.push({ phase, ...JSON.parse(line), hwm: memoryMB(server.pid).hwm });
      } catch {
        // a partial line
      }
    }
  };
  server.child.stderr.on('data', onData);
  // fraudwall's stdout (e.g. --trace-gc lines) goes to a file for reading afterwards.
  const stdoutLog = createWriteStream(path.join(BENCH_DIR, 'probe-stdout.log'));
  server.child.stdout.on('data', (chunk) => stdoutLog.write(chunk));
  const results = { n, coldRate, coldSeconds, nodeArgs, fwArgs, fwEnv, flags: server.flags, afterLoad: memoryMB(server.pid), phases: [] };
  log(`fraudwall ${server.flags.join(' ')} (environment: ${Object.entries(fwEnv).map(([k, v]) => `${k}=${v}`).join(' ') || 'as the harness'})`);
  log(`after load: RSS ${results.afterLoad.rss} MB, peak ${results.afterLoad.hwm} MB`);
  const warmFile = (lines) => writeFromPool(path.join(runDir, 'warm.txt'), pool, lines, Math.floor(Math.random() * pool.length));
  const coldFile = (lines) => writeCold(path.join(runDir, 'cold.txt'), lines);
  try {
    phase = 'warm-up';
    await dnsperf({ port: server.port, file: writeFromPool(path.join(runDir, 'warmup.txt'), clean, clean.length), qps: 5000, outstanding: 100 });
    await sleep(1500);
    const runs = [
      ['cold-fill', () => dnsperf({ port: server.port, file: coldFile(coldRate * coldSeconds), qps: coldRate, outstanding: 500, serverPid: server.pid })],
      ['warm-max', () => dnsperf({ port: server.port, file: warmFile(600_000), outstanding: 500, limitSec: 10, serverPid: server.pid })],
      ['cold-max', () => dnsperf({ port: server.port, file: coldFile(400_000), outstanding: 500, limitSec: 10, serverPid: server.pid })],
      ['warm@10k', () => measureLatency({ port: server.port, serverPid: server.pid, makeFile: warmFile, rate: 10_000, seconds: latencySeconds, verboseFile: path.join(runDir, 'v.txt') })],
      ['warm@50k', () => measureLatency({ port: server.port, serverPid: server.pid, makeFile: warmFile, rate: 50_000, seconds: latencySeconds, verboseFile: path.join(runDir, 'v.txt') })],
      ['cold@10k', () => measureLatency({ port: server.port, serverPid: server.pid, makeFile: coldFile, rate: 10_000, seconds: latencySeconds, verboseFile: path.join(runDir, 'v.txt') })],
    ];
    for (const [name, run] of runs) {
      phase = name;
      stdoutLog.write(`== phase ${name} starts\n`); // between the --trace-gc lines of fraudwall's stdout
      const before = samples.length;
      const cpuMsBefore = processCpuMs(server.pid);
      const result = await run();
      const cpuMsAfter = processCpuMs(server.pid);
      await sleep(1200);
      const mine = samples.slice(before).filter((s) => s.phase === name);
      const mem = memoryMB(server.pid);
      const max = (f) => Math.max(...mine.map(f));
      const sum = (f) => mine.reduce((t, s) => t + f(s), 0);
      const row = {
        phase: name,
        qps: Math.round(result.achievedQps ?? result.qps ?? 0),
        lostPct: result.lostPct ?? result.lostPct,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        p999Ms: result.p999Ms,
        rssMB: mem.rss,
        peakMB: mem.hwm,
        heapUsedMaxMB: Math.round(max((s) => s.heapUsed) / 2 ** 20),
        heapTotalMaxMB: Math.round(max((s) => s.heapTotal) / 2 ** 20),
        externalMaxMB: Math.round(max((s) => s.external) / 2 ** 20),
        loopDelayP99MaxMs: max((s) => s.p99),
        loopDelayMaxMs: max((s) => s.max),
        gcMinor: sum((s) => s.gc.minor),
        gcMinorMs: Math.round(sum((s) => s.gc.minorMs)),
        gcMajor: sum((s) => s.gc.major),
        gcMajorMs: Math.round(sum((s) => s.gc.majorMs)),
        gcMaxPauseMs: max((s) => s.gc.maxMs),
        // The server's CPU time (all its threads) per answered query: unlike q/s and p99, hardly moved by other load.
        cpuUsPerQuery: cpuMsBefore !== null && cpuMsAfter !== null && (result.completed ?? result.sent) ? Math.round(((cpuMsAfter - cpuMsBefore) * 1000) / (result.completed ?? result.sent) * 10) / 10 : null,
      };
      results.phases.push(row);
      log(
        `${name.padEnd(9)} ${String(row.qps).padStart(6)} q/s lost ${row.lostPct?.toFixed?.(2) ?? '-'} % p50/p99/p99.9 ${row.p50Ms?.toFixed?.(2) ?? '-'} / ${row.p99Ms?.toFixed?.(2) ?? '-'} / ${row.p999Ms?.toFixed?.(2) ?? '-'} ms | ` +
          `RSS ${row.rssMB} peak ${row.peakMB} MB heap ${row.heapUsedMaxMB}/${row.heapTotalMaxMB} ext ${row.externalMaxMB} MB | loop p99 ${row.loopDelayP99MaxMs} max ${row.loopDelayMaxMs} ms | ` +
          `gc minor ${row.gcMinor} (${row.gcMinorMs} ms) major ${row.gcMajor} (${row.gcMajorMs} ms) max pause ${row.gcMaxPauseMs} ms | CPU ${row.cpuUsPerQuery} µs/query`,
      );
      row.smaps = smapsSummary(server.pid);
      log(`          RSS by mapping (MB): ${Object.entries(row.smaps ?? {}).filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  } finally {
    results.final = memoryMB(server.pid);
    results.smaps = smapsSummary(server.pid);
    await server.stop();
    await upstream.stop();
  }
  log(`final: RSS ${results.final.rss} MB, peak ${results.final.hwm} MB`);
  if (results.smaps) log(`RSS by mapping (MB): ${Object.entries(results.smaps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ ...results, samples }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`probe: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
