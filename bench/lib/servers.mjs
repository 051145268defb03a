// Starting the processes of a benchmark: the local upstream (Unbound answering every *.bench.test
// name), fraudwall, and the peers (Unbound, dnsmasq) fed the same blocklist. Servers under test run
// on core 0 (`taskset -c 0`, which execs, so the pid is the server's own); the upstream on core 1.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pollUntilAnswer, queryOnce, RCODE } from './dns.mjs';
import { freePort, memoryMB, spawnTracked, stopChild } from './util.mjs';
import { ZONE } from './gen.mjs';

/**
 * V8 flags and environment fraudwall is launched with: the same as its own launch lines (npm
 * start, Dockerfile, systemd unit; src/runtime-flags.ts is the list, a test checks that these
 * match it). See bench/README.md, "Node flags": 2 MB semi-spaces (Node 24 would grow the young
 * generation to 16 MB semi-spaces under a cold run) and glibc malloc with two arenas.
 * `--fw-node-args` replaces the flags ("" for Node's defaults); the CLI itself applies the V8 flags
 * that work after start (--heap-growing-percent), unless they are given here.
 */
export const FW_NODE_FLAGS = ['--max-semi-space-size=2'];
export const FW_ENV = { MALLOC_ARENA_MAX: '2' };

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

function collectOutput(child, keep = 200) {
  const lines = [];
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return lines;
}

function isDead(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

const UNBOUND_COMMON = (port, dir) => [
  'server:',
  '    interface: 127.0.0.1',
  `    port: ${port}`,
  '    do-ip4: yes',
  '    do-ip6: no',
  '    do-udp: yes',
  '    do-tcp: yes',
  '    username: ""',
  '    chroot: ""',
  `    directory: "${dir}"`,
  '    pidfile: ""',
  '    use-syslog: no',
  '    logfile: ""',
  '    verbosity: 0',
  '    access-control: 127.0.0.0/8 allow',
  '    num-threads: 1',
  '    module-config: "iterator"',
  '    so-reuseport: no',
  // fraudwall asks the kernel for 4 MB UDP buffers; the Unbound processes get the same.
  '    so-rcvbuf: 4m',
  '    so-sndbuf: 4m',
];

/**
 * The local upstream: Unbound pinned to core LOAD_CORE (shared with dnsperf), answering every
 * <anything>.bench.test A with 192.0.2.1 (local-zone redirect) and everything else NXDOMAIN.
 */
export async function startUpstream(workDir) {
  const dir = path.join(workDir, 'upstream');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'unbound.conf');
  writeFileSync(
    config,
    [
      ...UNBOUND_COMMON(port, dir),
      '    local-zone: "." static',
      `    local-zone: "${ZONE}." redirect`,
      `    local-data: "${ZONE}. 300 IN A 192.0.2.1"`,
      '',
    ].join('\n'),
  );
  const child = spawnTracked('taskset', ['-c', String(LOAD_CORE), 'unbound', '-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  try {
    await pollUntilAnswer(port, `upstream-probe.${ZONE}`, { acceptRcodes: [RCODE.NOERROR], timeoutMs: 10_000, isDead: () => isDead(child) });
  } catch (error) {
    await stopChild(child);
    throw new Error(`the upstream Unbound did not start: ${error.message}\n${output.join('\n')}`);
  }
  return { port, pid: child.pid, config, stop: () => stopChild(child) };
}

/**
 * Common start logic of a server under test: spawn at t0, poll a blocked name every 20 ms until it
 * answers NXDOMAIN (the whole list is in effect), then check that a clean name resolves.
 */
async function startMeasured({ name, cmd, args, port, blockedName, env, onLine, timeoutMs = 900_000, cores = String(SERVER_CORE), readyRcode = RCODE.NXDOMAIN }) {
  const t0 = performance.now();
  const child = spawnTracked('taskset', ['-c', cores, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  const output = collectOutput(child);
  if (onLine) {
    let pending = '';
    child.stderr.on('data', (chunk) => {
      pending += chunk.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl), performance.now() - t0);
        pending = pending.slice(nl + 1);
      }
    });
  }
  const stop = () => stopChild(child);
  let first;
  try {
    first = await pollUntilAnswer(port, blockedName, { acceptRcodes: [readyRcode], intervalMs: 20, timeoutMs, isDead: () => isDead(child) });
  } catch (error) {
    await stop();
    throw new Error(`${name} did not start: ${error.message}\n  last output:\n    ${output.slice(-15).join('\n    ')}`);
  }
  const firstAnswerMs = first.at - t0;
  const clean = await queryOnce(port, `sanity-${Date.now()}.${ZONE}`, 3000);
  if (!clean || clean.rcode !== RCODE.NOERROR || clean.ancount < 1) {
    await stop();
    throw new Error(`${name}: a clean name under ${ZONE} did not resolve through the upstream (got ${clean ? `rcode ${clean.rcode}, ${clean.ancount} answers` : 'no answer'})\n    ${output.slice(-15).join('\n    ')}`);
  }
  return { child, pid: child.pid, port, firstAnswerMs, output, stop, memory: () => memoryMB(child.pid), alive: () => !isDead(child) };
}

/** fraudwall serve, with the flags the benchmark requires. */
export async function startFraudwall({ root, lists, stateDir, upstreamPort, blockedName, logLevel, heapMB, profileDir, nodeArgs: extraNodeArgs = [], baseNodeArgs = FW_NODE_FLAGS, fwEnv = FW_ENV, extraFlags = [], workers = 1 }) {
  const port = await freePort();
  const httpPort = await freePort();
  const flags = [
    '--listen', `127.0.0.1:${port}`,
    '--http', `127.0.0.1:${httpPort}`,
    '--upstream', `127.0.0.1:${upstreamPort}`,
    '--lists', lists,
    '--state', stateDir,
    '--rate-limit', '0',
    '--log-level', logLevel,
    '--workers', String(workers),
    ...extraFlags,
  ];
  const nodeArgs = [...baseNodeArgs];
  if (heapMB) nodeArgs.push(`--max-old-space-size=${heapMB}`);
  if (profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  nodeArgs.push(...extraNodeArgs);
  const events = { readyMs: null, listsLoadedMs: null, entries: null, linesAfterReady: [] };
  const server = await startMeasured({
    name: 'fraudwall',
    cmd: process.execPath,
    env: { ...process.env, ...fwEnv },
    // Workers spread over the first N cores (taskset's mask is inherited by the forked workers).
    cores: workers > 1 ? `${SERVER_CORE}-${SERVER_CORE + workers - 1}` : String(SERVER_CORE),
    args: [...nodeArgs, path.join(root, 'dist', 'cli.js'), 'serve', ...flags],
    port,
    blockedName,
    onLine: (line, atMs) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        entry = { msg: line };
      }
      if (entry.msg === 'blocklists loaded') {
        events.listsLoadedMs = entry.ms ?? null;
        events.entries = entry.entries ?? null;
      } else if (entry.msg === 'fraudwall ready') {
        events.readyMs = atMs;
      } else if (events.readyMs !== null) {
        events.linesAfterReady.push(line.slice(0, 300));
      }
    },
  });
  // The ready line is written just before the listener... or after; give it a moment to arrive.
  for (let i = 0; i < 50 && events.readyMs === null && logLevel !== 'warn' && logLevel !== 'error'; i++) await new Promise((r) => setTimeout(r, 20));
  return { ...server, httpPort, flags: [...nodeArgs, ...flags], events, loadMs: events.readyMs ?? server.firstAnswerMs };
}

/**
 * The platform ceiling: bench/lib/node-echo-server.mjs on the same Node binary, flags and
 * environment as fraudwall, answering everything at once (it blocks nothing: ready = NOERROR).
 */
export async function startNodeEchoPeer({ root, blockedName, baseNodeArgs = FW_NODE_FLAGS, fwEnv = FW_ENV }) {
  const port = await freePort();
  const server = await startMeasured({
    name: 'node:dgram echo',
    cmd: process.execPath,
    env: { ...process.env, ...fwEnv },
    args: [...baseNodeArgs, path.join(root, 'bench', 'lib', 'node-echo-server.mjs'), String(port)],
    port,
    blockedName,
    readyRcode: RCODE.NOERROR,
    timeoutMs: 10_000,
  });
  return { ...server, loadMs: server.firstAnswerMs };
}

/** Unbound as a peer: forwards everything to the upstream, blocks the list with always_nxdomain zones. */
export async function startUnboundPeer({ workDir, include, upstreamPort, blockedName, extraLines = [] }) {
  const dir = path.join(workDir, 'unbound-peer');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'unbound.conf');
  writeFileSync(
    config,
    [
      ...UNBOUND_COMMON(port, dir),
      '    do-not-query-localhost: no',
      // RFC 6761 default zone "test." would answer *.bench.test locally: forward it instead.
      '    local-zone: "test." nodefault',
      `    include: "${include}"`,
      ...extraLines.map((line) => `    ${line}`),
      'forward-zone:',
      '    name: "."',
      `    forward-addr: 127.0.0.1@${upstreamPort}`,
      '',
    ].join('\n'),
  );
  const server = await startMeasured({ name: 'unbound', cmd: 'unbound', args: ['-d', '-c', config], port, blockedName });
  return { ...server, loadMs: server.firstAnswerMs, config };
}

/** dnsmasq as a peer: local=/d/ (NXDOMAIN for d and its subdomains), forwarding to the upstream. */
export async function startDnsmasqPeer({ workDir, include, upstreamPort, blockedName }) {
  const dir = path.join(workDir, 'dnsmasq-peer');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'dnsmasq.conf');
  writeFileSync(
    config,
    [
      `port=${port}`,
      'listen-address=127.0.0.1',
      'bind-interfaces',
      'no-resolv',
      'no-hosts',
      'no-poll',
      `server=127.0.0.1#${upstreamPort}`,
      // The warm mix's 1,000 clean names fit; dnsmasq's default (150) would not. Kept small:
      // dnsmasq's man page warns that huge caches cost performance.
      'cache-size=2000',
      // Default 150 concurrent forwarded queries; fraudwall allows 10,000 (--max-in-flight).
      'dns-forward-max=10000',
      'log-facility=-',
      `conf-file=${include}`,
      '',
    ].join('\n'),
  );
  const server = await startMeasured({ name: 'dnsmasq', cmd: 'dnsmasq', args: ['-k', '-C', config, '--pid-file'], port, blockedName });
  return { ...server, loadMs: server.firstAnswerMs, config };
}
