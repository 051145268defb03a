#!/usr/bin/env node
// A delta on a big list, one instance (no Redis): how long `POST /v1/lists/NAME/entries` takes to
// answer (it answers once the change serves, in every worker with --workers) and the CPU it costs.
//
//   npm run build && node bench/list-delta.mjs [--size 1000000] [--deltas 50] [--delta-size 100] [--workers 1]
//
// Starts `fraudwall serve` (dist/cli.js) on 127.0.0.1, pushes a list of --size domains, then sends
// --deltas deltas (--delta-size additions each; every other delta also removes as many listed names)
// one after the other. Prints the answer times and the CPU time per delta of the server's processes
// (from /proc: unlike latencies, not distorted by other load on the machine). Prints figures, not
// pass/fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuMs } from './lib/dnsperf.mjs';
import { FW_ENV, FW_NODE_FLAGS } from './lib/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TOKEN = 'bench-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1000000' },
    deltas: { type: 'string', default: '50' },
    'delta-size': { type: 'string', default: '100' },
    workers: { type: 'string', default: '1' },
  },
});
const SIZE = Number(values.size);
const DELTAS = Number(values.deltas);
const DELTA_SIZE = Number(values['delta-size']);
const WORKERS = Number(values.workers);

const dirs = [];
let server;
process.on('exit', () => {
  server?.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (name) => {
  const dir = mkdtempSync(path.join(tmpdir(), `fraudwall-bench-${name}-`));
  dirs.push(dir);
  return dir;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function api(http, method, route, body, contentType = 'application/json') {
  const response = await fetch(`http://127.0.0.1:${http}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
    body,
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  console.log(`list delta bench: one instance, --workers ${WORKERS}, list of ${SIZE.toLocaleString('en')} domains, ${DELTAS} deltas of ${DELTA_SIZE}; load average at start ${load()}`);
  const dns = await freePort();
  const http = await freePort();
  server = spawn(
    process.execPath,
    [...FW_NODE_FLAGS, CLI, 'serve', '--listen', `127.0.0.1:${dns}`, '--http', `127.0.0.1:${http}`, '--lists', tempDir('lists'), '--state', tempDir('state'),
      '--upstream', '127.0.0.1:9', '--log-level', 'error', '--workers', String(WORKERS), '--admin-max-entries', String(SIZE + DELTAS * DELTA_SIZE)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH, ...FW_ENV, FRAUDWALL_ADMIN_TOKEN: TOKEN } },
  );
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${http}/readyz`)).ok) break;
    } catch {
      // not yet
    }
    if (i > 3000) throw new Error('server did not become ready');
    await sleep(10);
  }
  const body = Array.from({ length: SIZE }, (_, i) => `d${i}.fraud-bench.test`).join('\n');
  let t0 = performance.now();
  await api(http, 'PUT', '/v1/lists/big', body, 'text/plain');
  console.log(`PUT of ${SIZE.toLocaleString('en')} domains answered in ${(performance.now() - t0).toFixed(0)} ms`);
  await sleep(1500);
  const times = [];
  const cpuBefore = processCpuMs(server.pid);
  for (let d = 0; d < DELTAS; d++) {
    const add = Array.from({ length: DELTA_SIZE }, (_, i) => `delta${d}-${i}.fraud-bench.test`);
    const remove = d % 2 === 1 ? Array.from({ length: DELTA_SIZE }, (_, i) => `d${(d * DELTA_SIZE + i) * 7 % SIZE}.fraud-bench.test`) : [];
    t0 = performance.now();
    await api(http, 'POST', '/v1/lists/big/entries', JSON.stringify({ add, remove }));
    times.push(performance.now() - t0);
  }
  const cpu = (processCpuMs(server.pid) - cpuBefore) / DELTAS;
  times.sort((a, b) => a - b);
  console.log(
    `delta (+${DELTA_SIZE}, every other also -${DELTA_SIZE}) answered (= serving${WORKERS > 1 ? ' in every worker' : ''}) in ms: p50 ${pct(times, 50).toFixed(0)}, p90 ${pct(times, 90).toFixed(0)}, p99 ${pct(times, 99).toFixed(0)}, max ${times.at(-1).toFixed(0)}`,
  );
  console.log(`CPU per delta, all processes of the server (state saves included): ${cpu.toFixed(1)} ms; load average now ${load()}`);
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  console.log(`RSS of the (primary) process after the deltas: ${(kb('VmRSS') / 1024).toFixed(0)} MB (peak ${(kb('VmHWM') / 1024).toFixed(0)} MB)`);
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
