// Small helpers of the benchmark harness: child-process bookkeeping (every child is killed on exit,
// Ctrl-C and errors), free ports, /proc readings, a seeded PRNG and machine facts.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Median of a list of numbers (the mean of the middle two for an even count); NaN for none. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Children: every process the harness starts is registered here and killed when the harness ends.

const children = new Set();
let hooksInstalled = false;
let stopping = false;

function killAllSync(signal = 'SIGKILL') {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

export function installCleanupHooks(onSignal) {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => killAllSync('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      stopping = true;
      process.stderr.write(`\n${signal}: stopping ${children.size} child process(es) and exiting\n`);
      try {
        onSignal?.();
      } catch {
        // best effort
      }
      killAllSync('SIGTERM');
      setTimeout(() => {
        killAllSync('SIGKILL');
        process.exit(130);
      }, 300).unref();
    });
  }
  const fatal = (error) => {
    process.stderr.write(`\nbench: fatal error: ${error?.stack ?? error}\n`);
    killAllSync('SIGKILL');
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

/** spawn() that registers the child for cleanup; `exited` resolves with {code, signal}. */
export function spawnTracked(cmd, args, opts = {}) {
  if (stopping) throw new Error('stopping: no new processes');
  const child = spawn(cmd, args, opts);
  children.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      children.delete(child);
      resolve({ code: -1, signal: null, error });
    });
  });
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------

/** A port free for both UDP and TCP on 127.0.0.1 (several tries). */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found');
}

/** VmRSS and VmHWM of a process in MB (null when it is gone). */
/** Direct children of `pid` (a cluster primary's workers). */
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** RSS and peak RSS in MB of `pid` and its children (with --workers, the primary and every worker). */
export function memoryMB(pid) {
  let rss = null;
  let hwm = null;
  for (const each of [pid, ...childPids(pid)]) {
    try {
      const status = readFileSync(`/proc/${each}/status`, 'utf8');
      const field = (name) => {
        const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
        return match ? Number(match[1]) / 1024 : null;
      };
      const r = field('VmRSS');
      const h = field('VmHWM');
      if (r !== null) rss = (rss ?? 0) + r;
      if (h !== null) hwm = (hwm ?? 0) + h;
    } catch {
      // gone meanwhile
    }
  }
  const round = (mb) => (mb === null ? null : Math.round(mb * 10) / 10);
  return { rss: round(rss), hwm: round(hwm) };
}

export function memAvailableBytes() {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const match = meminfo.match(/^MemAvailable:\s+(\d+) kB/m);
  return match ? Number(match[1]) * 1024 : os.freemem();
}

/** Deterministic PRNG (mulberry32): the same seed gives the same synthetic lists on every machine. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** A random DNS label of `min`..`max` characters from [a-z0-9]. */
export function randomLabel(rand, min, max) {
  const length = min + Math.floor(rand() * (max - min + 1));
  let label = '';
  for (let i = 0; i < length; i++) label += ALPHABET[Math.floor(rand() * 36)];
  return label;
}

export function which(tool) {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function firstLine(cmd, args, match) {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n').find((line) => match.test(line))?.trim() ?? null;
  } catch (error) {
    const text = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    return text.split('\n').find((line) => match.test(line))?.trim() ?? null;
  }
}

export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1]?.trim() ?? null;
  return {
    cpu: model,
    cpuMHz: mhz === null ? null : Number(mhz),
    cores: os.cpus().length,
    memTotalGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    dnsperf: firstLine('dnsperf', ['-h'], /^Version/),
    unbound: which('unbound') ? firstLine('unbound', ['-V'], /^Version/) : null,
    dnsmasq: which('dnsmasq') ? firstLine('dnsmasq', ['--version'], /^Dnsmasq version/)?.replace(/\s+Copyright.*$/, '') : null,
  };
}

/** Pins this process (all its threads) to one core, so it never competes with the server under test. */
export function pinSelf(core) {
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Busy % of each core over `ms` milliseconds (to see whether the machine is idle). */
export async function coreBusy(ms = 1000) {
  const read = () =>
    readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((line) => /^cpu\d+ /.test(line))
      .map((line) => {
        const fields = line.split(/\s+/).slice(1, 9).map(Number);
        const total = fields.reduce((a, b) => a + b, 0);
        return [total - fields[3] - fields[4], total];
      });
  const before = read();
  await sleep(ms);
  const after = read();
  return after.map(([busy, total], i) => Math.round((100 * (busy - before[i][0])) / Math.max(1, total - before[i][1])));
}

/** Processes (not ours) that used the most CPU over `ms` milliseconds: [{pid, pct, cmd}]. */
export async function busyProcesses(ms = 1000, exclude = new Set()) {
  const { readdirSync } = await import('node:fs');
  const snapshot = () => {
    const map = new Map();
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        map.set(pid, Number(fields[11]) + Number(fields[12]));
      } catch {
        // gone
      }
    }
    return map;
  };
  const before = snapshot();
  await sleep(ms);
  const after = snapshot();
  const out = [];
  for (const [pid, ticks] of after) {
    if (exclude.has(Number(pid)) || !before.has(pid)) continue;
    const pct = Math.round(((ticks - before.get(pid)) * 100) / (ms / 10));
    if (pct < 5) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 120);
    } catch {
      // gone
    }
    out.push({ pid: Number(pid), pct, cmd });
  }
  return out.sort((a, b) => b.pct - a.pct);
}
