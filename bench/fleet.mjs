#!/usr/bin/env node
// Fleet benchmark (--redis): how fast a list change reaches every instance, and what Redis holds.
//
//   npm run build && node bench/fleet.mjs [--size 1000000] [--deltas 100] [--delta-size 100] [--instances 3]
//
// Starts a real redis-server and N `fraudwall serve` processes (dist/cli.js) on 127.0.0.1, then:
//   1. replaces a list of --size domains through instance A's admin API and times until every other
//      instance serves that version (polled over its admin API, then checked over DNS);
//   2. pushes --deltas deltas of --delta-size domains each to that list and times each the same way;
//   3. prints Redis's memory for the list (MEMORY USAGE of its keys, used_memory before and after).
// Prints figures, not pass/fail. All traffic stays on 127.0.0.1.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuMs } from './lib/dnsperf.mjs';
import { FW_ENV, FW_NODE_FLAGS } from './lib/servers.mjs';
import { memoryMB } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TOKEN = 'bench-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1000000' },
    deltas: { type: 'string', default: '100' },
    'delta-size': { type: 'string', default: '100' },
    instances: { type: 'string', default: '3' },
  },
});
const SIZE = Number(values.size);
const DELTAS = Number(values.deltas);
const DELTA_SIZE = Number(values['delta-size']);
const INSTANCES = Number(values.instances);

const children = new Set();
const dirs = [];
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tempDir = (name) => {
  const dir = mkdtempSync(path.join(tmpdir(), `fraudwall-bench-${name}-`));
  dirs.push(dir);
  return dir;
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function redis(port, args) {
  const encode = (parts) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      text += chunk;
      if (/\r\n$/.test(text) && (!text.startsWith('$') || text.split('\r\n').length >= 3)) {
        socket.end();
        resolve(text);
      }
    });
    socket.write(encode(args));
  });
}

async function waitUntil(check, timeoutMs, what) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

function dnsRcode(port, name) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const query = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('DNS timeout'));
    }, 10_000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply[3] & 0x0f);
    });
    socket.send(query, port, '127.0.0.1');
  });
}

async function api(instance, method, route, body, contentType = 'application/json') {
  const response = await fetch(`http://127.0.0.1:${instance.http}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body,
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir('redis')], { stdio: 'ignore' });
  children.add(child);
  await waitUntil(async () => (await redis(port, ['PING'])).startsWith('+PONG'), 10_000, 'redis-server');
  return port;
}

async function startInstance(redisPort) {
  const dns = await freePort();
  const http = await freePort();
  const child = spawn(
    process.execPath,
    [...FW_NODE_FLAGS, CLI, 'serve', '--listen', `127.0.0.1:${dns}`, '--http', `127.0.0.1:${http}`, '--lists', tempDir('lists'), '--state', tempDir('state'),
      '--upstream', '127.0.0.1:9', '--redis', `redis://127.0.0.1:${redisPort}`, '--log-level', 'warn', '--admin-max-entries', String(SIZE + DELTAS * DELTA_SIZE)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH, ...FW_ENV, FRAUDWALL_ADMIN_TOKEN: TOKEN } },
  );
  children.add(child);
  const instance = { dns, http, pid: child.pid };
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${http}/readyz`)).ok, 30_000, 'fraudwall ready');
  return instance;
}

/** Resident and peak resident memory of an instance, MB (from /proc). */
function rssMb(pid) {
  const { rss, hwm } = memoryMB(pid);
  return `${(rss ?? 0).toFixed(0)} (peak ${(hwm ?? 0).toFixed(0)})`;
}
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const version = async (instance, list) => (await api(instance, 'GET', `/v1/lists/${list}`)).version;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const usedMemory = async (port) => Number(/used_memory:(\d+)/.exec(await redis(port, ['INFO', 'memory']))[1]);

async function main() {
  console.log(`fleet bench: ${INSTANCES} instances, list of ${SIZE.toLocaleString('en')} domains, ${DELTAS} deltas of ${DELTA_SIZE}`);
  console.log(`(2-core machine shared with other work: latencies are noisy; load average at start ${load()})`);
  const redisPort = await startRedis();
  const fleet = [];
  for (let i = 0; i < INSTANCES; i++) fleet.push(await startInstance(redisPort));
  const [a, ...others] = fleet;
  const memoryBefore = await usedMemory(redisPort);

  const body = Array.from({ length: SIZE }, (_, i) => `d${i}.fraud-bench.test`).join('\n');
  const started = performance.now();
  const put = await api(a, 'PUT', '/v1/lists/big', body, 'text/plain');
  const answered = performance.now() - started;
  const reached = await Promise.all(
    others.map(async (instance) => {
      await waitUntil(async () => (await version(instance, 'big')) >= put.version, 60_000, 'replace reaches instance');
      return performance.now() - started;
    }),
  );
  for (const instance of others) {
    const t0 = performance.now();
    if ((await dnsRcode(instance.dns, `d${SIZE - 1}.fraud-bench.test`)) !== 3) throw new Error('last name not blocked');
    console.log(`  DNS check on an instance right after: answered in ${(performance.now() - t0).toFixed(0)} ms`);
  }
  console.log(`replace of ${SIZE.toLocaleString('en')} domains: push answered in ${answered.toFixed(0)} ms; served by every other instance after ${reached.map((ms) => ms.toFixed(0)).join(' / ')} ms`);

  const delays = [];
  const cpuBefore = fleet.map((instance) => processCpuMs(instance.pid));
  for (let d = 0; d < DELTAS; d++) {
    const add = Array.from({ length: DELTA_SIZE }, (_, i) => `delta${d}-${i}.fraud-bench.test`);
    const t0 = performance.now();
    const reply = await api(a, 'POST', '/v1/lists/big/entries', JSON.stringify({ add }));
    await Promise.all(others.map((instance) => waitUntil(async () => (await version(instance, 'big')) >= reply.version, 30_000, 'delta reaches instance')));
    delays.push({ ms: performance.now() - t0, index: d });
  }
  const cpuPerDelta = fleet.map((instance, i) => (processCpuMs(instance.pid) - cpuBefore[i]) / DELTAS);
  const slowest = [...delays].sort((x, y) => y.ms - x.ms).slice(0, 3);
  for (const instance of others) if ((await dnsRcode(instance.dns, `delta${DELTAS - 1}-0.fraud-bench.test`)) !== 3) throw new Error('last delta not blocked');
  const sorted = delays.map((d) => d.ms).sort((x, y) => x - y);
  console.log(`delta of ${DELTA_SIZE} domains on the ${SIZE.toLocaleString('en')}-domain list, push to served everywhere (ms): p50 ${pct(sorted, 50).toFixed(0)}, p90 ${pct(sorted, 90).toFixed(0)}, p99 ${pct(sorted, 99).toFixed(0)}, max ${sorted.at(-1).toFixed(0)}`);
  console.log(`  slowest deltas (number in the run: ms): ${slowest.map((d) => `#${d.index + 1}: ${d.ms.toFixed(0)}`).join(', ')}`);
  console.log(
    `  CPU per delta (ms, whole process incl. the bench's status polls every 10 ms): origin ${cpuPerDelta[0].toFixed(1)}, others ${cpuPerDelta.slice(1).map((ms) => ms.toFixed(1)).join(' / ')}; load average now ${load()}`,
  );
  console.log(`  RSS after the deltas, MB: ${fleet.map((instance) => rssMb(instance.pid)).join(' / ')}`);

  const memoryAfter = await usedMemory(redisPort);
  const keyBytes = async (key) => Number(/:(\d+)/.exec(await redis(redisPort, ['MEMORY', 'USAGE', key, 'SAMPLES', '0']))?.[1] ?? 0);
  const hash = await keyBytes('{fraudwall}:v1:list:big');
  const deltas = await keyBytes('{fraudwall}:v1:deltas:big');
  const stream = await keyBytes('{fraudwall}:v1:changes');
  const perMillion = (bytes) => ((bytes / SIZE) * 1e6) / 2 ** 20;
  console.log(
    `Redis memory: list snapshot ${(hash / 2 ** 20).toFixed(1)} MiB (${perMillion(hash).toFixed(1)} MiB per 1M domains), pending deltas ${(deltas / 2 ** 10).toFixed(0)} KiB, ` +
      `change stream ${(stream / 2 ** 10).toFixed(0)} KiB; used_memory ${(memoryBefore / 2 ** 20).toFixed(1)} → ${(memoryAfter / 2 ** 20).toFixed(1)} MiB`,
  );
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
