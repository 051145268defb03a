#!/usr/bin/env node
// Warm-path cost probe (issue #16): one fraudwall process pinned to its core, the warm pool
// (repeated clean and blocked names, every answer cached) sent closed-loop by dnsperf, and the
// figures a change to the hot path moves: q/s, CPU µs per answered query (load on other
// processes barely moves it), and with --profile where that CPU went.
//
//   npm run build && node bench/warm-probe.mjs [--n 200000] [--seconds 10] [--rounds 3] [--profile] [--node-args="..."] [--mix pool|clean|listed|cold] [--compare ROOT]
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dnsperf, processCpuMs } from './lib/dnsperf.mjs';
import { benchFixture } from './lib/fixture.mjs';
import { writeCold, writeFromPool } from './lib/gen.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { startFraudwall } from './lib/servers.mjs';
import { median, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    'fw-flags': { type: 'string', default: '' },
    mix: { type: 'string', default: 'pool' },
    compare: { type: 'string' },
  },
});
const log = (line = '') => process.stdout.write(`${line}\n`);
const split = (text) => text.split(' ').filter(Boolean);

async function main() {
  const n = Number(args.n);
  const { runDir, lists, clean, pool, upstream } = await benchFixture(BENCH_DIR, 'warm-probe', n, log);
  const profileDir = args.profile ? path.join(runDir, 'profile') : undefined;
  // With --compare ROOT, a second fraudwall from ROOT/dist runs beside this build (same core, same
  // lists); rounds alternate between the two so that this VM's slow drifts hit both alike.
  const builds = [{ name: 'this build', root: ROOT }];
  if (args.compare) builds.push({ name: args.compare, root: path.resolve(args.compare) });
  const servers = [];
  const rows = builds.map(() => []);
  try {
    for (const build of builds) {
      servers.push(
        await startFraudwall({
          root: build.root,
          lists: path.relative(ROOT, lists.listsDir),
          stateDir: path.join('.bench', `state-warm-probe-${servers.length}`),
          upstreamPort: upstream.port,
          blockedName: lists.lastBlocked,
          logLevel: 'warn',
          profileDir: servers.length === 0 ? profileDir : undefined,
          nodeArgs: split(args['node-args']),
          extraFlags: split(args['fw-flags']),
        }),
      );
    }
    // pool: the bench's warm mix (1/3 listed names, 2/3 repeated clean ones); clean or listed: one half of it.
    // cold: unique names never asked before, every one forwarded to the upstream.
    const names = args.mix === 'clean' ? clean : args.mix === 'listed' ? lists.blockedSample : pool;
    const file = args.mix === 'cold' ? writeCold(path.join(runDir, 'cold.txt'), 3_000_000) : writeFromPool(path.join(runDir, 'warm.txt'), names, 2_000_000);
    for (const server of servers) {
      await dnsperf({ port: server.port, file: writeFromPool(path.join(runDir, 'warmup.txt'), clean, clean.length * 4), outstanding: 100, serverPid: server.pid });
      await dnsperf({ port: server.port, file, outstanding: 200, limitSec: 2, serverPid: server.pid });
    }
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const [i, server] of servers.entries()) {
        await sleep(300);
        const before = processCpuMs(server.pid);
        const run = await dnsperf({ port: server.port, file, outstanding: 200, limitSec: Number(args.seconds), serverPid: server.pid });
        const cpu = processCpuMs(server.pid) - before;
        const usPerQuery = (1000 * cpu) / Math.max(1, run.completed);
        rows[i].push({ qps: run.qps, usPerQuery });
        log(`  round ${round + 1}, ${builds[i].name}: ${Math.round(run.qps).toLocaleString('en')} q/s, ${usPerQuery.toFixed(2)} CPU µs/q, lost ${run.failPct} %, server core ${Math.round((cpu / (Number(args.seconds) * 1000)) * 100)} %`);
      }
    }
  } finally {
    for (const server of servers) await server.stop();
    await upstream.stop();
  }
  for (const [i, build] of builds.entries()) {
    const us = median(rows[i].map((r) => r.usPerQuery));
    const qps = median(rows[i].map((r) => r.qps));
    log(`median ${build.name}: ${Math.round(qps).toLocaleString('en')} q/s, ${us.toFixed(2)} CPU µs/q`);
  }
  if (profileDir) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    const summary = summarizeProfile(path.join(profileDir, file), ROOT, 30);
    log(`profile ${summary.busySeconds} s busy of ${summary.seconds} s`);
    for (const f of summary.files) log(`  ${String(f.pctOfBusy).padStart(5)} %  ${f.what}`);
    log('');
    for (const f of summary.functions) log(`  ${String(f.pctOfBusy).padStart(5)} %  ${f.what}`);
  }
}

main().catch((error) => {
  process.stderr.write(`warm-probe: ${error.stack ?? error}\n`);
  process.exit(1);
});
