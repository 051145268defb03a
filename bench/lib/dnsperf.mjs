// Running dnsperf (pinned to core 1) and reading its figures: throughput at < 0.1 % loss (a short
// search over -Q target rates) and per-query latency percentiles from `-v` output at fixed rates.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { spawnTracked, sleep } from './util.mjs';
import { LOAD_CORE, SERVER_CORE } from './servers.mjs';

/** Loss (timeouts + unexpected rcodes such as SERVFAIL) below which a rate counts as sustained. */
export const MAX_LOSS_PCT = 0.1;
/** A -Q run must reach this share of its target rate to count (dnsperf slows down when -q fills). */
const MIN_ACHIEVED = 0.95;
const CLIENTS = 8;
const TIMEOUT_S = 2;
/** dnsperf's socket buffers (KB): the kernel default (~208 KB) drops answers on the client side when dnsperf is descheduled. */
const CLIENT_BUFFER_KB = 4096;

export function parseDnsperf(text) {
  const num = (re) => {
    const match = text.match(re);
    return match ? Number(match[1]) : null;
  };
  const rcodes = {};
  const codes = text.match(/Response codes:\s*(.*)/)?.[1] ?? '';
  for (const match of codes.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[match[1]] = Number(match[2]);
  const latency = text.match(/Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/);
  const sent = num(/Queries sent:\s+(\d+)/);
  const completed = num(/Queries completed:\s+(\d+)/);
  const lost = num(/Queries lost:\s+(\d+)/);
  const interrupted = num(/Queries interrupted:\s+(\d+)/) ?? 0;
  const good = (rcodes.NOERROR ?? 0) + (rcodes.NXDOMAIN ?? 0);
  const bad = completed === null ? null : completed - good;
  return {
    sent,
    completed,
    lost,
    interrupted,
    lostPct: sent ? (100 * (lost ?? 0)) / sent : null,
    /** Lost plus answered with an rcode other than NOERROR/NXDOMAIN (SERVFAIL, REFUSED), in % of sent. */
    failPct: sent ? (100 * ((lost ?? 0) + (bad ?? 0))) / sent : null,
    rcodes,
    qps: num(/Queries per second:\s+([\d.]+)/),
    runTime: num(/Run time \(s\):\s+([\d.]+)/),
    avgLatencyMs: latency ? Number(latency[1]) * 1000 : null,
    minLatencyMs: latency ? Number(latency[2]) * 1000 : null,
    maxLatencyMs: latency ? Number(latency[3]) * 1000 : null,
    stddevMs: (num(/Latency StdDev \(s\):\s+([\d.]+)/) ?? NaN) * 1000,
    ended: text.match(/Testing complete \(([^)]*)\)/)?.[1] ?? null,
  };
}

/**
 * One dnsperf run. `qps` unset = closed loop (as fast as `outstanding` allows). With `verboseFile`,
 * `-v` output (one line per query with its latency) goes to that file.
 */
export async function dnsperf({ port, file, qps, outstanding: wanted, limitSec, verboseFile, serverPid, mode = 'udp' }) {
  const outstanding = wanted;
  const args = ['-c', String(LOAD_CORE), 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-n', '1', '-c', String(CLIENTS), '-q', String(outstanding), '-t', String(TIMEOUT_S), '-b', String(CLIENT_BUFFER_KB)];
  // Encrypted transports (#14): DoT, or DoH with POST (the message as the body, as browsers send it).
  if (mode !== 'udp') args.push('-m', mode);
  if (mode === 'doh') args.push('-O', `doh-uri=https://127.0.0.1:${port}/dns-query`, '-O', 'doh-method=POST');
  if (limitSec) args.push('-l', String(limitSec));
  if (qps) args.push('-Q', String(Math.round(qps)));
  if (verboseFile) args.push('-v');
  const cpuBefore = readCpuTimes();
  const procBefore = processTicks(serverPid);
  const wallBefore = performance.now();
  let stdout = '';
  let fd = null;
  let child;
  if (verboseFile) {
    fd = openSync(verboseFile, 'w');
    child = spawnTracked('taskset', args, { stdio: ['ignore', fd, 'pipe'] });
  } else {
    child = spawnTracked('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (stdout += d.toString()));
  }
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const { code } = await child.exited;
  if (fd !== null) {
    closeSync(fd);
    stdout = readFileSync(verboseFile, 'utf8');
  }
  if (code !== 0) throw new Error(`dnsperf exited with code ${code}: ${stderr.trim().slice(0, 500)}`);
  const result = parseDnsperf(stdout);
  result.cpu = cpuBusy(cpuBefore, readCpuTimes());
  const procAfter = processTicks(serverPid);
  // The server's own CPU time (all its threads) in % of one core; the rest of core 0's busy time
  // was used by other processes (the machine is shared: e.g. test suites running meanwhile).
  result.cpu.serverProcess = procBefore !== null && procAfter !== null ? Math.round((100 * (procAfter - procBefore)) / CLOCK_TICKS / ((performance.now() - wallBefore) / 1000)) : null;
  result.target = qps ? Math.round(qps) : null;
  result.outstanding = outstanding;
  if (verboseFile) result.verbose = stdout;
  return result;
}

const CLOCK_TICKS = 100;

/** utime + stime of a process (all threads) and its children (cluster workers), in clock ticks; null when unknown. */
export function processTicks(pid) {
  if (!pid) return null;
  const ticks = (each) => {
    const stat = readFileSync(`/proc/${each}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  try {
    let total = ticks(pid);
    let children = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      children = [];
    }
    for (const child of children) {
      try {
        total += ticks(child);
      } catch {
        // exited meanwhile
      }
    }
    return total;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system, all threads) of a process and its children (cluster workers) in ms: a
 * figure the machine's load distorts far less than latencies; null when the process is unknown.
 */
export function processCpuMs(pid) {
  const ticks = processTicks(pid);
  return ticks === null ? null : (ticks * 1000) / CLOCK_TICKS;
}

/** Per-core [busy, total] jiffies from /proc/stat. */
function readCpuTimes() {
  const times = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = line.match(/^cpu(\d+)\s+(.*)$/);
    if (!match) continue;
    const fields = match[2].split(/\s+/).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3] + (fields[4] ?? 0);
    times[match[1]] = [total - idle, total];
  }
  return times;
}

/** Busy % of the server core and of the load core over a run (whole-core figures, all processes). */
function cpuBusy(before, after) {
  const busy = (core) => {
    const a = before[core];
    const b = after[core];
    if (!a || !b || b[1] === a[1]) return null;
    return Math.round((100 * (b[0] - a[0])) / (b[1] - a[1]));
  };
  return { server: busy(SERVER_CORE), load: busy(LOAD_CORE) };
}

/** The load core was saturated while the server core was not: the figure is a lower bound. */
export function clientBound(run) {
  return run?.cpu?.load !== null && run?.cpu?.load >= 95 && run?.cpu?.server !== null && run.cpu.server < 90;
}

/** Share of core 0 used by processes other than the server during a run (null if unknown). */
export function foreignLoad(run) {
  if (run?.cpu?.server === null || run?.cpu?.server === undefined || run?.cpu?.serverProcess === null || run?.cpu?.serverProcess === undefined) return null;
  return Math.max(0, run.cpu.server - run.cpu.serverProcess);
}

function passes(run) {
  return run.failPct !== null && run.failPct < MAX_LOSS_PCT && (run.target === null || run.qps >= MIN_ACHIEVED * run.target);
}

const fmtCpu = (run) => {
  const other = foreignLoad(run);
  return `cpu: core0 ${run.cpu.server ?? '?'} % (server ${run.cpu.serverProcess ?? '?'} %${other !== null && other >= 5 ? `, OTHER PROCESSES ~${other} %` : ''}), core1 ${run.cpu.load ?? '?'} %`;
};
const fmtRate = (x) => (x === null || x === undefined ? '-' : `${(x / 1000).toFixed(1)}k`);

/**
 * Highest rate with < 0.1 % loss: a closed-loop probe (-q 500) gives the ceiling R0; then -Q runs of
 * `duration` s, each on a file of exactly rate × duration queries (so nothing is in flight when the
 * file ends: dnsperf counts queries still outstanding at a -l time limit as lost), starting at
 * 0.9 × R0 and bisecting between the best passing and the lowest failing rate.
 * `makeFile(lines)` writes a fresh query file and returns its path.
 */
export async function findThroughput({ port, serverPid, makeFile, duration, log, maxSteps = 3, mode = 'udp' }) {
  const probeSec = Math.max(2, Math.min(5, Math.round(duration / 2)));
  const probeFile = makeFile(250_000 * probeSec);
  const probe = await dnsperf({ port, file: probeFile, outstanding: 500, limitSec: probeSec, serverPid, mode });
  rmSync(probeFile, { force: true });
  log(`      probe (closed loop, -q 500, ${probeSec} s): ${fmtRate(probe.qps)} q/s, lost ${probe.lostPct?.toFixed(2)} % (in flight at the time limit counts as lost here), ${fmtCpu(probe)}`);
  if (!probe.qps) throw new Error(`the closed-loop probe got no answers (rcodes ${JSON.stringify(probe.rcodes)})`);
  const tried = [];
  const runs = [];
  let best = null;
  let lo = null;
  let hi = probe.qps * 1.05;
  let target = probe.qps * 0.9;
  for (let step = 0; step < maxSteps + (best === null ? 2 : 0) && target >= 200; step++) {
    await sleep(1000);
    const file = makeFile(Math.ceil(target * duration));
    const run = await dnsperf({ port, file, qps: target, outstanding: 2000, limitSec: Math.ceil(duration * 1.5) + 1, serverPid, mode });
    rmSync(file, { force: true });
    const ok = passes(run);
    runs.push(run);
    tried.push({ target: run.target, qps: run.qps, lostPct: run.lostPct, failPct: run.failPct, rcodes: run.rcodes, avgLatencyMs: run.avgLatencyMs, ended: run.ended, cpu: run.cpu, pass: ok });
    log(`      -Q ${fmtRate(target)}: got ${fmtRate(run.qps)} q/s, lost+errors ${run.failPct?.toFixed(3)} %, avg ${run.avgLatencyMs?.toFixed(2)} ms, ${fmtCpu(run)} -> ${ok ? 'pass' : 'fail'}`);
    if (ok) {
      if (best === null || run.qps > best.qps) best = run;
      lo = target;
    } else {
      hi = target;
    }
    if (lo === null) target = target * 0.7;
    else {
      if ((hi - lo) / hi < 0.04) break;
      target = (lo + hi) / 2;
    }
  }
  return {
    qps: best?.qps ?? null,
    clientBound: clientBound(best),
    /** Highest share of core 0 that other processes took in any run of this search. */
    maxForeignPct: Math.max(0, ...[probe, ...runs].map((r) => foreignLoad(r) ?? 0)),
    best: best && { target: best.target, qps: best.qps, lostPct: best.lostPct, failPct: best.failPct, avgLatencyMs: best.avgLatencyMs, maxLatencyMs: best.maxLatencyMs, rcodes: best.rcodes, cpu: best.cpu },
    probe: { qps: probe.qps, lostPct: probe.lostPct, avgLatencyMs: probe.avgLatencyMs, rcodes: probe.rcodes, seconds: probeSec, cpu: probe.cpu },
    /** Queries sent over the probe and every run (for the cold mix: unique names the server saw). */
    sent: [probe, ...runs].reduce((sum, r) => sum + (r.sent ?? 0), 0),
    tried,
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/**
 * Latency at a fixed offered rate (open loop as far as dnsperf goes: -Q rate, -q 10000), from the
 * per-query lines of `dnsperf -v`. Lost queries count as infinitely slow, so a p99 with > 1 % loss
 * is reported as null (lost).
 */
/**
 * Most queries dnsperf keeps in flight during a latency run. dnsperf sends its first `-q` queries
 * at once: 10,000 overflowed the server's 8 MB receive buffer (~7,500 small datagrams) and the
 * drops and queueing of that one burst dominated p99 at 50k q/s. 500 is far above what a steady
 * rate needs (50k q/s × 1 ms = 50) and still covers an 8 ms pause at that rate.
 */
const LATENCY_OUTSTANDING = 500;

export async function measureLatency({ port, serverPid, makeFile, rate, seconds, verboseFile }) {
  const file = makeFile(Math.ceil(rate * seconds));
  const run = await dnsperf({ port, file, qps: rate, outstanding: LATENCY_OUTSTANDING, limitSec: seconds * 3 + 2, verboseFile, serverPid });
  rmSync(file, { force: true });
  const latencies = [];
  let lost = 0;
  let errors = 0;
  for (const line of run.verbose.split('\n')) {
    if (!line.startsWith('> ')) continue;
    const parts = line.split(' ');
    if (parts[1] === 'T') {
      lost++;
      continue;
    }
    if (parts[1] !== 'NOERROR' && parts[1] !== 'NXDOMAIN') errors++;
    latencies.push(Number(parts[parts.length - 1]) * 1000);
  }
  rmSync(verboseFile, { force: true });
  latencies.sort((a, b) => a - b);
  const total = latencies.length + lost;
  const withLost = (p) => {
    const rank = Math.ceil((p / 100) * total);
    return rank > latencies.length ? null : latencies[rank - 1];
  };
  return {
    rate,
    seconds,
    achievedQps: run.qps,
    sent: run.sent,
    lostPct: total ? (100 * lost) / total : null,
    errorPct: total ? (100 * errors) / total : null,
    p50Ms: withLost(50),
    p90Ms: withLost(90),
    p99Ms: withLost(99),
    p999Ms: withLost(99.9),
    maxMs: lost > 0 ? null : latencies[latencies.length - 1] ?? null,
    p99AnsweredMs: percentile(latencies, 99),
    cpu: run.cpu,
  };
}
