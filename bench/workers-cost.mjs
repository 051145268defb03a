#!/usr/bin/env node
// What `--workers N` costs per query against one process (issue #16: "q/s per busy core within 10 %"):
//
//   npm run build && node bench/workers-cost.mjs [--n 200000] [--workers 2] [--rate 8000] [--seconds 10] [--rounds 3]
//
// Saturating runs cannot answer this on a 2-core machine: with N workers on cores 0..N-1 a worker
// shares core 1 with dnsperf and the upstream, so its q/s says more about them than about
// fraudwall. This bench offers the same fixed, unsaturated rate (open loop, dnsperf -Q) to one
// process and to N workers, warm and cold mixes, and reads the CPU time of the whole process group
// (primary + workers, all threads, /proc utime+stime) over the run: CPU µs per answered query, and
// its inverse, queries per busy core-second. Rounds alternate 1, N, 1, N, …; medians are printed.
// All traffic stays on 127.0.0.1.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dnsperf, processCpuMs } from './lib/dnsperf.mjs';
import { benchFixture } from './lib/fixture.mjs';
import { writeCold, writeFromPool } from './lib/gen.mjs';
import { startFraudwall } from './lib/servers.mjs';
import { median, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    workers: { type: 'string', default: '2' },
    rate: { type: 'string', default: '8000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const n = Number(args.n);
const workers = Number(args.workers);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const log = (line = '') => process.stdout.write(`${line}\n`);

/** One fixed-rate run: answered queries and CPU µs per answered query of the whole process group. */
async function measure(server, file) {
  const before = processCpuMs(server.pid);
  const run = await dnsperf({ port: server.port, file, qps: rate, outstanding: 500, serverPid: server.pid });
  const after = processCpuMs(server.pid);
  return { answered: run.completed, lostPct: run.failPct, usPerQuery: (1000 * (after - before)) / Math.max(1, run.completed) };
}

async function main() {
  const { runDir, lists, clean, pool, upstream } = await benchFixture(BENCH_DIR, 'workers-cost', n, log);
  const lines = rate * seconds;
  const results = { 1: { warm: [], cold: [] }, [workers]: { warm: [], cold: [] } };
  log(`fixed rate ${rate.toLocaleString('en')} q/s for ${seconds} s, ${rounds} rounds alternating 1 and ${workers} workers; ${n.toLocaleString('en')}-domain list`);
  for (let round = 0; round < rounds; round++) {
    for (const count of [1, workers]) {
      const server = await startFraudwall({
        root: ROOT,
        lists: path.relative(ROOT, lists.listsDir),
        stateDir: path.join('.bench', 'state-workers-cost'),
        upstreamPort: upstream.port,
        blockedName: lists.lastBlocked,
        logLevel: 'warn',
        workers: count,
      });
      try {
        // Warm the caches with the repeated clean names (every worker sees some of them).
        await dnsperf({ port: server.port, file: writeFromPool(path.join(runDir, 'warmup.txt'), clean, clean.length * 4), outstanding: 100, serverPid: server.pid });
        await sleep(500);
        const warm = await measure(server, writeFromPool(path.join(runDir, 'warm.txt'), pool, lines, Math.floor(Math.random() * pool.length)));
        const cold = await measure(server, writeCold(path.join(runDir, 'cold.txt'), lines));
        results[count].warm.push(warm.usPerQuery);
        results[count].cold.push(cold.usPerQuery);
        log(
          `  round ${round + 1}, ${count} process${count === 1 ? '' : 'es'}: warm ${warm.usPerQuery.toFixed(1)} µs/q (lost ${warm.lostPct} %), ` +
            `cold ${cold.usPerQuery.toFixed(1)} µs/q (lost ${cold.lostPct} %)`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  await upstream.stop();
  log('');
  log(`| mix | 1 process: CPU µs/q | ${workers} workers: CPU µs/q | q per busy core-second, 1 / ${workers} | ${workers} workers vs 1 |`);
  log('|---|---:|---:|---:|---:|');
  for (const mix of ['warm', 'cold']) {
    const one = median(results[1][mix]);
    const many = median(results[workers][mix]);
    log(`| ${mix} | ${one.toFixed(1)} | ${many.toFixed(1)} | ${Math.round(1e6 / one).toLocaleString('en')} / ${Math.round(1e6 / many).toLocaleString('en')} | ${(((one / many) - 1) * 100).toFixed(1)} % |`);
  }
}

main().catch((error) => {
  process.stderr.write(`workers-cost: ${error.stack ?? error}\n`);
  process.exit(1);
});
