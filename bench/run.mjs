#!/usr/bin/env node
// fraudwall benchmark harness: one command, prints figures (not pass/fail).
//
//   node bench/run.mjs [--sizes 200000,1000000[,10000000]] [--duration 10] [--peers unbound,dnsmasq] [--quick]
//                      [--fw-log-level info|warn] [--latency-seconds 3] [--keep-files] [--profile] [--wait-idle 30]
//
// For each list size N it generates N synthetic blocked domains (fraudwall, Unbound and dnsmasq
// formats), starts a local upstream (Unbound answering every *.bench.test name), then for fraudwall
// and each peer: load time, RSS, throughput at < 0.1 % loss (warm and cold query mixes, dnsperf),
// latency percentiles at fixed rates. Servers under test are pinned to core 0; dnsperf, the upstream
// and this harness to core 1. All traffic stays on 127.0.0.1. See bench/README.md.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import { findThroughput, measureLatency, dnsperf, MAX_LOSS_PCT } from './lib/dnsperf.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { measureInspectionCost } from './inspection-cost.mjs';
import { benchEncrypted, encryptedTable } from './lib/encrypted.mjs';
import { ensureLists, warmCleanNames, warmPool, writeCold, writeFromPool } from './lib/gen.mjs';
import { startDnsmasqPeer, startFraudwall, startNodeEchoPeer, startUnboundPeer, startUpstream, FW_NODE_FLAGS, SERVER_CORE, LOAD_CORE } from './lib/servers.mjs';
import { busyProcesses, installCleanupHooks, machineInfo, memAvailableBytes, pinSelf, sleep, which } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const KNOWN_PEERS = ['unbound', 'dnsmasq'];
const LATENCY_RATES = [10_000, 50_000];
const BIG_SIZE = 5_000_000;
const BIG_MIN_FREE = 8 * 2 ** 30;
/** Answer-IP prefixes added to every fraudwall list set (see answer inspection in the README). */
const ANSWER_IP_RULES = 10_000;

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    'usage: node bench/run.mjs [--sizes 200000,1000000] [--duration 10] [--peers unbound,dnsmasq] [--quick]\n' +
      '                          [--fw-log-level info|warn] [--latency-seconds 3] [--keep-files] [--profile] [--wait-idle 30] [--fw-workers N]\n' +
      '                          [--fw-node-args="--max-semi-space-size=2"] [--cold-names 1000000]\n' +
      '  --inspect-compare yes|no: also run fraudwall with --inspect-answers=false, so the table shows what answer inspection costs (default yes)\n' +
      '  --platform yes|no: also run a bare node:dgram responder (bench/lib/node-echo-server.mjs, warm runs only): the most any server on Node can do here (default yes)\n' +
      '  --cold-names N: after the cold search, top up to N unique cold names at 0.8x the cold rate (at most 180 s; default 1,000,000, 0 with --quick)\n' +
      `  --fw-node-args: node flags fraudwall runs with (default "${FW_NODE_FLAGS.join(' ')}", as its launch line; "" for Node's defaults)\n` +
      '  --fw-workers N: run fraudwall with --workers N, pinned to cores 0..N-1 (so on a 2-core machine it shares core 1 with dnsperf)\n' +
      '  --wait-idle S: before each server, wait up to S seconds for other processes to leave the CPU (0: do not wait)\n' +
      '  --profile: run fraudwall under node --cpu-prof and print where its CPU time went (slows it a little)\n' +
      '  --no-encrypted: skip the DoT/DoH rows (run after the first size: UDP vs DoT vs DoH, fraudwall and Unbound)\n' +
      '  --only-encrypted: only the DoT/DoH rows (on the first size)\n',
  );
  process.exit(message ? 2 : 0);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        sizes: { type: 'string' },
        duration: { type: 'string' },
        peers: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'fw-log-level': { type: 'string', default: 'info' },
        'latency-seconds': { type: 'string', default: '3' },
        'keep-files': { type: 'boolean', default: false },
        profile: { type: 'boolean', default: false },
        'wait-idle': { type: 'string', default: '30' },
        'fw-workers': { type: 'string', default: '1' },
        'fw-node-args': { type: 'string' },
        'cold-names': { type: 'string' },
        'inspect-compare': { type: 'string', default: 'yes' },
        platform: { type: 'string', default: 'yes' },
        encrypted: { type: 'boolean', default: true },
        'only-encrypted': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowNegative: true,
    }).values;
  } catch (error) {
    usage(error.message);
  }
  if (parsed.help) usage();
  const sizes = (parsed.sizes ?? (parsed.quick ? '200000' : '200000,1000000')).split(',').map((s) => Number(s.replace(/[_k]/gi, (m) => (m.toLowerCase() === 'k' ? '000' : ''))));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) usage(`bad --sizes: ${parsed.sizes}`);
  const duration = Number(parsed.duration ?? (parsed.quick ? 5 : 10));
  if (!(duration >= 2 && duration <= 120)) usage('--duration must be 2..120 seconds');
  const installed = KNOWN_PEERS.filter((peer) => which(peer) !== null);
  let peers = installed;
  if (parsed.peers !== undefined) {
    peers = parsed.peers === '' || parsed.peers === 'none' ? [] : parsed.peers.split(',');
    for (const peer of peers) {
      if (!KNOWN_PEERS.includes(peer)) usage(`unknown peer ${peer} (known: ${KNOWN_PEERS.join(', ')})`);
      if (!installed.includes(peer)) usage(`peer ${peer} is not installed (apt-get install -y ${peer})`);
    }
  }
  if (!['debug', 'info', 'warn', 'error'].includes(parsed['fw-log-level'])) usage('--fw-log-level must be debug|info|warn|error');
  const fwWorkers = Number(parsed['fw-workers']);
  if (!Number.isInteger(fwWorkers) || fwWorkers < 1 || fwWorkers > 64) usage('--fw-workers must be 1..64');
  const fwNodeArgs = parsed['fw-node-args'] === undefined ? FW_NODE_FLAGS : parsed['fw-node-args'].split(' ').filter(Boolean);
  const coldNames = Number(parsed['cold-names'] ?? (parsed.quick ? 0 : 1_000_000));
  if (!Number.isInteger(coldNames) || coldNames < 0) usage('--cold-names must be a non-negative integer');
  if (parsed['only-encrypted'] && !parsed.encrypted) usage('--only-encrypted and --no-encrypted contradict each other');
  if (!['yes', 'no'].includes(parsed['inspect-compare'])) usage('--inspect-compare must be yes or no');
  if (!['yes', 'no'].includes(parsed.platform)) usage('--platform must be yes or no');
  return { platform: parsed.platform === 'yes', inspectCompare: parsed['inspect-compare'] === 'yes', encrypted: parsed.encrypted, onlyEncrypted: parsed['only-encrypted'], coldNames, fwNodeArgs, fwWorkers, sizes, duration, peers, quick: parsed.quick, fwLogLevel: parsed['fw-log-level'], latencySeconds: Number(parsed['latency-seconds']), keepFiles: parsed['keep-files'], profile: parsed.profile, waitIdle: Number(parsed['wait-idle']) };
}

const log = (line = '') => process.stdout.write(`${line}\n`);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** One server's rows; `warmOnly`: a responder that forwards nothing (the platform ceiling) gets no cold runs. */
async function benchServer({ name, start, opts, warm, runDir, warmOnly = false }) {
  log(`  ${name}: starting on core ${SERVER_CORE}`);
  const quiet = await checkIdle(`before ${name}`, opts.waitIdle);
  const server = await start();
  const result = {
    otherProcessesBefore: quiet,
    server: name,
    pid: server.pid,
    loadMs: Math.round(server.loadMs),
    firstAnswerMs: Math.round(server.firstAnswerMs),
    ...(name.startsWith('fraudwall') ? { listsLoadedMs: server.events.listsLoadedMs, entries: server.events.entries, readyLineMs: server.events.readyMs && Math.round(server.events.readyMs), flags: server.flags } : {}),
    ...(server.config ? { config: path.relative(ROOT, server.config) } : {}),
  };
  try {
    await sleep(500);
    const afterLoad = server.memory();
    result.rssAfterLoadMB = afterLoad.rss;
    log(`    loaded in ${(result.loadMs / 1000).toFixed(2)} s${name.startsWith('fraudwall') ? ` (blocklists loaded: ${result.listsLoadedMs} ms; first blocked answer ${(result.firstAnswerMs / 1000).toFixed(2)} s)` : ''}; RSS ${afterLoad.rss} MB (peak ${afterLoad.hwm} MB)${name.startsWith('fraudwall') ? `; node flags: ${opts.fwNodeArgs.join(' ') || 'none'}` : ''}`);

    const warmFile = (lines) => writeFromPool(path.join(runDir, `warm-${name}.txt`), warm.pool, lines, Math.floor(Math.random() * warm.pool.length));
    const coldFile = (lines) => writeCold(path.join(runDir, `cold-${name}.txt`), lines);

    // Warm-up: every clean name of the warm mix once, so the response caches hold them.
    const warmupFile = writeFromPool(path.join(runDir, `warmup-${name}.txt`), warm.clean, warm.clean.length);
    await dnsperf({ port: server.port, file: warmupFile, qps: 5000, outstanding: 100 });
    rmSync(warmupFile, { force: true });

    log(`    warm mix (1/3 blocked, 2/3 cached clean names):`);
    result.warm = await findThroughput({ port: server.port, serverPid: server.pid, makeFile: warmFile, duration: opts.duration, log });
    if (!warmOnly) {
      log(`    cold mix (unique names, forwarded to the upstream):`);
      await sleep(1000);
      result.cold = await findThroughput({ port: server.port, serverPid: server.pid, makeFile: coldFile, duration: opts.duration, log });
    }

    // Peak RSS is to include a cold run of at least --cold-names unique names: top up what the search sent.
    const short = warmOnly ? 0 : opts.coldNames - (result.cold?.sent ?? 0);
    if (short > 0 && result.cold?.qps) {
      const rate = Math.round(result.cold.qps * 0.8);
      const lines = Math.min(short, rate * 180);
      await sleep(1000);
      const fillFile = coldFile(lines);
      const fill = await dnsperf({ port: server.port, file: fillFile, qps: rate, outstanding: 2000, limitSec: Math.ceil((lines / rate) * 1.5) + 5, serverPid: server.pid });
      rmSync(fillFile, { force: true });
      result.coldFill = { names: lines, rate, qps: fill.qps, lostPct: fill.lostPct };
      log(`      cold fill: ${lines.toLocaleString('en')} more unique names at ${(rate / 1000).toFixed(1)}k q/s: got ${(fill.qps / 1000).toFixed(1)}k q/s, lost ${fill.lostPct?.toFixed(3)} %`);
    }

    result.latency = {};
    const latencyRuns = [...LATENCY_RATES.map((rate) => ['warm', rate]), ...(warmOnly ? [] : [['cold', LATENCY_RATES[0]]])];
    for (const [mix, rate] of latencyRuns) {
      await sleep(1000);
      const lat = await measureLatency({
        port: server.port,
        serverPid: server.pid,
        makeFile: mix === 'warm' ? warmFile : coldFile,
        rate,
        seconds: opts.latencySeconds,
        verboseFile: path.join(runDir, `verbose-${name}.txt`),
      });
      result.latency[`${mix}@${rate}`] = lat;
      log(`    latency ${mix} @ ${rate / 1000}k q/s for ${opts.latencySeconds} s: got ${(lat.achievedQps / 1000).toFixed(1)}k q/s, p50 ${fmtMs(lat.p50Ms)}, p99 ${fmtMs(lat.p99Ms)}, p99.9 ${fmtMs(lat.p999Ms)} (ms), lost ${lat.lostPct.toFixed(2)} %, cpu: core0 ${lat.cpu.server} % (server ${lat.cpu.serverProcess} %), core1 ${lat.cpu.load} %`);
    }
    result.coldNamesSent = (result.cold?.sent ?? 0) + (result.coldFill?.names ?? 0) + (result.latency['cold@10000']?.sent ?? 0);
    log(`    unique cold names sent: ${result.coldNamesSent.toLocaleString('en')}`);
    const afterRuns = server.memory();
    result.rssAfterRunsMB = afterRuns.rss;
    result.peakRssMB = afterRuns.hwm;
    if (!server.alive()) throw new Error(`${name} died during the runs:\n${server.output.slice(-10).join('\n')}`);
    if (name.startsWith('fraudwall')) {
      result.logLinesDuringRuns = server.events.linesAfterReady.length;
      result.logLinesSample = server.events.linesAfterReady.slice(0, 5);
      if (result.logLinesDuringRuns > 0) log(`    note: fraudwall wrote ${result.logLinesDuringRuns} log line(s) during the runs, e.g. ${result.logLinesSample[0]}`);
    }
  } finally {
    await server.stop();
  }
  return result;
}

/** Warns when processes other than ours use the CPU (the machine is shared with other work). */
async function checkIdle(when, waitSeconds = 0) {
  const deadline = Date.now() + waitSeconds * 1000;
  let others = await busyProcesses(1000, new Set([process.pid]));
  const busy = () => others.reduce((sum, p) => sum + p.pct, 0) >= 10;
  if (busy() && waitSeconds > 0) {
    log(`    other processes use ${others.reduce((sum, p) => sum + p.pct, 0)} % CPU: waiting up to ${waitSeconds} s for the machine to go idle`);
    while (busy() && Date.now() < deadline) others = await busyProcesses(2000, new Set([process.pid]));
  }
  if (busy()) {
    log(`    WARNING ${when}: other processes are using the CPU, figures will be low and noisy:`);
    for (const p of others.slice(0, 4)) log(`      ${String(p.pct).padStart(3)} %  pid ${p.pid}  ${p.cmd}`);
  }
  return others.slice(0, 8);
}

function printProfile(dir) {
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    // none written
  }
  if (files.length === 0) {
    log('    profile: no .cpuprofile was written (did fraudwall exit cleanly?)');
    return null;
  }
  const summary = summarizeProfile(path.join(dir, files[0]), ROOT, 25);
  log(`    profile ${path.relative(ROOT, summary.file)}: ${summary.seconds} s recorded, ${summary.busySeconds} s busy (open it in Chrome DevTools > Performance)`);
  log('      self time by file:');
  for (const entry of summary.files.slice(0, 12)) log(`        ${String(entry.pctOfBusy).padStart(5)} %  ${entry.what}`);
  log('      self time by function:');
  for (const entry of summary.functions.slice(0, 25)) log(`        ${String(entry.pctOfBusy).padStart(5)} %  ${entry.what}`);
  return summary;
}

/** `*`: load-generator bound; `!`: other processes took >= 10 % of the server's core in some run. */
function marks(search) {
  if (!search) return '';
  return `${search.clientBound ? '*' : ''}${search.maxForeignPct >= 10 ? '!' : ''}`;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return 'lost';
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
}
function fmtQps(x) {
  return x === null || x === undefined ? 'n/a' : Math.round(x).toLocaleString('en');
}
function fmtLat(lat) {
  if (!lat) return '-';
  const pair = `${fmtMs(lat.p50Ms)} / ${fmtMs(lat.p99Ms)}`;
  const short = lat.achievedQps < 0.95 * lat.rate;
  const notes = [];
  if (lat.cpu?.server !== null && lat.cpu?.serverProcess !== null && lat.cpu.server - lat.cpu.serverProcess >= 10) notes.push('!');
  if (lat.lostPct >= MAX_LOSS_PCT) notes.push(`lost ${lat.lostPct < 10 ? lat.lostPct.toFixed(1) : lat.lostPct.toFixed(0)}%`);
  if (short) notes.push(`got ${(lat.achievedQps / 1000).toFixed(0)}k`);
  return notes.length ? `${pair} (${notes.join(', ')})` : pair;
}

function table(rows) {
  const header = ['server', 'load s', 'RSS MB load/after/peak', 'warm q/s', 'cold q/s', 'warm p50/p99 ms @10k', 'warm p50/p99 ms @50k', 'cold p50/p99 ms @10k', 'vs Unbound warm/cold'];
  const unbound = rows.find((r) => r.server === 'unbound');
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '-');
  const body = rows.map((r) =>
    r.error
      ? [r.server, 'error', '-', '-', '-', '-', '-', '-', '-']
      : [
          r.server,
          (r.loadMs / 1000).toFixed(2),
          `${r.rssAfterLoadMB} / ${r.rssAfterRunsMB} / ${r.peakRssMB}`,
          `${fmtQps(r.warm?.qps)}${marks(r.warm)}`,
          `${fmtQps(r.cold?.qps)}${marks(r.cold)}`,
          fmtLat(r.latency?.['warm@10000']),
          fmtLat(r.latency?.['warm@50000']),
          fmtLat(r.latency?.['cold@10000']),
          unbound && !unbound.error ? `${ratio(r.warm?.qps, unbound.warm?.qps)} / ${ratio(r.cold?.qps, unbound.cold?.qps)}` : '-',
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main() {
  const opts = options();
  const distCli = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(distCli)) usage('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  for (const tool of ['dnsperf', 'unbound', 'taskset']) if (!which(tool)) usage(`${tool} is not installed (apt-get install -y ${tool === 'taskset' ? 'util-linux' : tool})`);

  let upstream = null;
  installCleanupHooks(() => upstream?.stop());
  const pinned = pinSelf(LOAD_CORE);
  const started = new Date();
  const machine = machineInfo();
  const runDir = path.join(BENCH_DIR, 'run');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });

  log(`fraudwall benchmark — ${started.toISOString()}`);
  log(`machine: ${machine.cpu}${machine.cpuMHz ? ` @ ${Math.round(machine.cpuMHz)} MHz` : ''}, ${machine.cores} cores, ${machine.memTotalGB} GB RAM, Linux ${machine.kernel}`);
  log(`tools:   node ${machine.node}, ${machine.dnsperf ?? 'dnsperf ?'}, unbound ${machine.unbound ?? '-'}, ${machine.dnsmasq ?? 'dnsmasq not installed'}`);
  log(`setup:   servers under test on core ${SERVER_CORE}; dnsperf, the upstream Unbound and this harness${pinned ? '' : ' (pinning failed)'} on core ${LOAD_CORE}`);
  log(`         sizes ${opts.sizes.join(', ')}; ${opts.duration} s per dnsperf run; peers: ${opts.peers.join(', ') || 'none'}; loss threshold ${MAX_LOSS_PCT} %`);
  if (opts.fwLogLevel !== 'warn') log(`         fraudwall runs with --log-level ${opts.fwLogLevel}: its "blocklists loaded" and "fraudwall ready" lines are info lines (none is written per query)`);
  if (!opts.peers.includes('dnsmasq') && !which('dnsmasq')) log('         dnsmasq is not installed: apt-get install -y dnsmasq to compare with it');

  const busyAtStart = await busyProcesses(1000, new Set([process.pid]));
  if (busyAtStart.length > 0) {
    log('WARNING: the machine is not idle; these processes use CPU (results will be low and noisy):');
    for (const p of busyAtStart.slice(0, 6)) log(`  ${String(p.pct).padStart(3)} %  pid ${p.pid}  ${p.cmd}`);
  }
  upstream = await startUpstream(runDir);
  log(`upstream: unbound on 127.0.0.1#${upstream.port} (pid ${upstream.pid}, core ${LOAD_CORE}), every *.bench.test A -> 192.0.2.1`);

  const results = { date: started.toISOString(), machine, busyAtStart, options: opts, upstream: { port: upstream.port, core: LOAD_CORE }, sizes: [] };
  const stamp = started.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const resultsFile = path.join(BENCH_DIR, `results-${stamp}.json`);
  const save = () => writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const tables = [];

  for (const n of opts.sizes) {
    log('');
    log(`== ${n.toLocaleString('en')} blocked domains ==`);
    if (n >= BIG_SIZE && memAvailableBytes() < BIG_MIN_FREE) {
      const msg = `skipped: ${(memAvailableBytes() / 2 ** 30).toFixed(1)} GB of memory available, ${BIG_MIN_FREE / 2 ** 30} GB needed for ${n.toLocaleString('en')} names`;
      log(`  ${msg}`);
      results.sizes.push({ n, skipped: msg });
      continue;
    }
    const lists = ensureLists(BENCH_DIR, n, log);
    // Answer-IP rules, so answer inspection searches a real prefix index for every forwarded
    // answer (none covers the upstream's 192.0.2.1: clean answers stay clean).
    writeFileSync(
      path.join(lists.listsDir, 'answer-ips.txt'),
      `# category: fraud\n${Array.from({ length: ANSWER_IP_RULES }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`).join('\n')}\n`,
    );
    const clean = warmCleanNames();
    const warm = { clean, pool: warmPool(lists.blockedSample, clean) };
    const sizeResult = { n, servers: [] };
    results.sizes.push(sizeResult);
    if (opts.encrypted && n === opts.sizes[0] && which('openssl')) {
      log('');
      log(`== DoT and DoH, ${n.toLocaleString('en')} blocked domains (warm mix; the machine is shared: figures are noisy) ==`);
      const rows = await benchEncrypted({ root: ROOT, runDir, lists, warm, upstreamPort: upstream.port, opts, log, writeFromPool });
      results.encrypted = { n, rows };
      save();
      const printed = `encrypted transports, ${n.toLocaleString('en')} blocked domains (warm mix, ${opts.duration} s per dnsperf run, 8 connections; !: other processes used >= 10 % of core 0; *: the DoH load client, not the server, was the bottleneck)\n${encryptedTable(rows)}`;
      tables.push(printed);
      log('');
      log(printed);
    }
    if (opts.onlyEncrypted) continue;
    const common = { upstreamPort: upstream.port, blockedName: lists.lastBlocked };
    /** fraudwall on this size's lists; `variant` adds what one row measures (a profile, an extra flag). */
    const fraudwallWith = (variant) =>
      startFraudwall({
        root: ROOT,
        lists: path.relative(ROOT, lists.listsDir) || lists.listsDir,
        stateDir: path.join('.bench', 'state'),
        logLevel: opts.fwLogLevel,
        heapMB: n >= BIG_SIZE ? 16384 : undefined,
        workers: opts.fwWorkers,
        baseNodeArgs: opts.fwNodeArgs,
        ...variant,
        ...common,
      });
    const servers = [
      ['fraudwall', () => fraudwallWith({ profileDir: opts.profile ? path.join(BENCH_DIR, `profile-${stamp}-${n}`) : undefined })],
      // The same fraudwall without answer inspection: the difference is what inspection costs.
      ...(opts.inspectCompare ? [['fraudwall, --inspect-answers=false', () => fraudwallWith({ extraFlags: ['--inspect-answers=false'] })]] : []),
      // The platform's ceiling: Node's UDP path with nothing behind it (answers at once; warm only).
      ...(opts.platform ? [['node:dgram echo', () => startNodeEchoPeer({ root: ROOT, blockedName: lists.lastBlocked, baseNodeArgs: opts.fwNodeArgs }), { warmOnly: true }]] : []),
      ...opts.peers.map((peer) => [
        peer,
        () => (peer === 'unbound' ? startUnboundPeer({ workDir: runDir, include: lists.unbound, ...common }) : startDnsmasqPeer({ workDir: runDir, include: lists.dnsmasq, ...common })),
      ]),
    ];
    for (const [name, start, { warmOnly = false } = {}] of servers) {
      let row;
      try {
        row = await benchServer({ name, start, opts, warm, runDir, warmOnly });
      } catch (error) {
        log(`  ${name}: ERROR ${error.message}`);
        row = { server: name, error: error.message };
      }
      if (name === 'fraudwall' && opts.profile) row.profile = printProfile(path.join(BENCH_DIR, `profile-${stamp}-${n}`));
      sizeResult.servers.push(row);
      save();
      await sleep(1000);
    }
    const unbound = sizeResult.servers.find((r) => r.server === 'unbound' && !r.error);
    for (const row of sizeResult.servers) {
      if (unbound && !row.error) row.ratioToUnbound = { warm: row.warm?.qps && unbound.warm?.qps ? row.warm.qps / unbound.warm.qps : null, cold: row.cold?.qps && unbound.cold?.qps ? row.cold.qps / unbound.cold.qps : null };
    }
    save();
    const printed = `${n.toLocaleString('en')} blocked domains (${opts.duration} s per dnsperf run; throughput = highest rate with < ${MAX_LOSS_PCT} % lost or SERVFAIL; latency open loop for ${opts.latencySeconds} s)\n${table(sizeResult.servers)}`;
    tables.push(printed);
    log('');
    log(printed);
  }

  await upstream.stop();
  upstream = null;
  if (!opts.keepFiles) rmSync(runDir, { recursive: true, force: true });
  // What answer inspection adds per cold-path answer, in-process (the DNS runs above include it).
  let inspection = null;
  if (opts.inspectCompare) {
    log('');
    log('answer inspection cost per upstream answer (bench/inspection-cost.mjs, in-process, best of 5 passes) ...');
    inspection = await measureInspectionCost({ answers: opts.quick ? 50_000 : 200_000 });
    results.inspectionCost = inspection;
  }
  results.finished = new Date().toISOString();
  save();

  log('');
  log('==================== summary ====================');
  log(`date:    ${started.toISOString()} (took ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min)`);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memTotalGB} GB; node ${machine.node}; ${machine.dnsperf}; unbound ${machine.unbound}; ${machine.dnsmasq ?? ''}`);
  for (const printed of tables) {
    log('');
    log(printed);
  }
  if (inspection) {
    log('');
    log('answer inspection per upstream answer (ns; 200,000 names, 10,000 prefixes; a = one A record, cname2 = two CNAMEs to unseen names + A, https = HTTPS with target and hints):');
    log(`  ${Object.entries(inspection).map(([kind, r]) => `${kind} ${r.inspectNs} ns (cache layout walk ${r.layoutNs} ns)`).join('; ')}`);
  }
  log('');
  log('load s: fraudwall = spawn to its "fraudwall ready" log line; peers = spawn to the first NXDOMAIN for a blocked name (polled every 20 ms).');
  log('*: the load core (dnsperf + upstream) was saturated while the server core was not: the server can do more than this.');
  log('!: other processes (not started by the harness) used >= 10 % of core 0 during the search: the figure is low and noisy.');
  log('RSS: VmRSS 0.5 s after load / after all runs / VmHWM (peak, includes the load itself). Latency: "lost" = more than 1 % (p50: 50 %) of queries unanswered; "got Nk" = the server fell behind the offered rate.');
  log(`results: ${path.relative(process.cwd(), resultsFile)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
