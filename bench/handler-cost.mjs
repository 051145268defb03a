#!/usr/bin/env node
// fraudwall's own cost per warm query, without the kernel (issue #16: "about 11 µs of our own
// work per warm query where a cache hit needs 2-3; profile, then cut"):
//
//   npm run build && node --max-semi-space-size=64 bench/handler-cost.mjs [--n 200000] [--queries 2000000] [--mix pool|clean|listed]
//
// The whole server runs in this process on the real configuration path (lists, response cache,
// verdict cache, metrics, inspection), but its UDP socket is fed by emitting 'message' events
// with fresh packet buffers and its send() only counts: what is left is exactly the JavaScript a
// datagram runs through between Node's receive callback and its send call. Timed over
// `--queries` warm queries (ns per query; the median of 5 slices), and the bytes it leaves for
// the young-generation collector per query (heap growth over slices in which no GC ran; run
// with a large --max-semi-space-size so that such slices exist). Clean names are resolved once
// through a real upstream (Unbound on 127.0.0.1) before the clock starts.
import dgram from 'node:dgram';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { buildQuery } from './lib/dns.mjs';
import { ensureLists, warmCleanNames, warmPool } from './lib/gen.mjs';
import { startUpstream } from './lib/servers.mjs';
import { installCleanupHooks, median, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    queries: { type: 'string', default: '2000000' },
    mix: { type: 'string', default: 'pool' },
    root: { type: 'string', default: ROOT },
    'alloc-profile': { type: 'boolean', default: false },
  },
});
const log = (line = '') => process.stdout.write(`${line}\n`);

// The server's sockets, caught as it creates them.
const sockets = [];
const createSocket = dgram.createSocket;
dgram.createSocket = function (...options) {
  const socket = createSocket.apply(this, options);
  sockets.push(socket);
  return socket;
};

async function main() {
  const n = Number(args.n);
  const runDir = path.join(BENCH_DIR, 'handler-cost');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const lists = ensureLists(BENCH_DIR, n, log);
  const clean = warmCleanNames();
  const pool = warmPool(lists.blockedSample, clean);
  const upstream = await startUpstream(runDir);
  installCleanupHooks(() => upstream.stop());
  const dist = (file) => pathToFileURL(path.join(path.resolve(args.root), 'dist', file)).href;
  const { loadConfig } = await import(dist('config/load-config.js'));
  const { startServer } = await import(dist('app/start-server.js'));
  const { createLogger } = await import(dist('log/logger.js'));
  const config = loadConfig({
    flags: {
      listen: ['127.0.0.1:0'],
      http: '127.0.0.1:0',
      upstream: [`127.0.0.1:${upstream.port}`],
      lists: path.relative(process.cwd(), lists.listsDir),
      state: path.join(runDir, 'state'),
      'rate-limit': '0',
      'log-level': 'warn',
    },
    env: {},
  });
  const server = await startServer(config, createLogger('warn'));
  const boundPort = (socket) => { try { return socket.address().port; } catch { return -1; } };
  const listener = sockets.find((socket) => socket.listenerCount('message') > 0 && boundPort(socket) === server.listeners[0].port);
  if (!listener) throw new Error('the server UDP socket was not found');
  let sent = 0;
  let sentBytes = 0;
  listener.send = (bytes) => {
    sent++;
    sentBytes += bytes.length;
  };
  const answerBytes = () => Math.round(sentBytes / Math.max(1, sent));

  const names = args.mix === 'clean' ? clean : args.mix === 'listed' ? lists.blockedSample : pool;
  const packets = names.map((name, i) => buildQuery(name, i));
  const rinfo = (i) => ({ address: '127.0.0.1', family: 'IPv4', port: 20000 + (i & 1023), size: 0 });
  // Warm-up: every clean name once through the real upstream, then one pass over the mix.
  for (const [i, name] of clean.entries()) listener.emit('message', buildQuery(name, i), rinfo(i));
  await sleep(1500);
  for (let i = 0; i < packets.length; i++) listener.emit('message', Buffer.from(packets[i]), rinfo(i));
  await sleep(200);

  const total = Number(args.queries);
  const slices = 5;
  const perSlice = Math.floor(total / slices);
  const nsPerQuery = [];
  let averageAnswer = 0;
  for (let s = 0; s < slices; s++) {
    sent = 0;
    sentBytes = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < perSlice; i++) {
      const k = (s * perSlice + i) % packets.length;
      listener.emit('message', Buffer.from(packets[k]), rinfo(k));
    }
    nsPerQuery.push(Number(process.hrtime.bigint() - start) / perSlice);
    if (sent !== perSlice) throw new Error(`${perSlice - sent} of ${perSlice} queries got no synchronous answer: is the cache warm?`);
    averageAnswer = answerBytes();
    await sleep(50);
  }

  // Bytes per query: heap growth across small slices that ran no GC at all.
  const bytes = [];
  const profiler = new v8.GCProfiler();
  for (let s = 0; s < 40 && bytes.length < 10; s++) {
    const batch = 5000;
    profiler.start();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++) {
      const k = (s * batch + i) % packets.length;
      listener.emit('message', Buffer.from(packets[k]), rinfo(k));
    }
    const after = process.memoryUsage().heapUsed;
    const gcs = profiler.stop().statistics.length;
    if (gcs === 0) bytes.push((after - before) / batch);
  }
  log(`${args.mix} mix, ${n.toLocaleString('en')}-domain list, ${packets.length.toLocaleString('en')} distinct queries, answers ${averageAnswer} B on average`);
  log(`  ${median(nsPerQuery).toFixed(0)} ns per query (slices: ${nsPerQuery.map((x) => x.toFixed(0)).join(', ')})`);
  log(`  ${bytes.length ? median(bytes).toFixed(0) : '?'} bytes of JS heap per query (${bytes.length} GC-free slices)`);
  if (args['alloc-profile']) await allocationProfile(listener, packets, rinfo);
  await server.close();
  await upstream.stop();
  process.exit(0);
}

/** Where the heap bytes come from: V8's sampling heap profiler, counting objects the GC already took. */
async function allocationProfile(listener, packets, rinfo) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  const count = 200_000;
  for (let i = 0; i < count; i++) listener.emit('message', Buffer.from(packets[i % packets.length]), rinfo(i));
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const bySite = new Map();
  const walk = (node, stack) => {
    const frame = node.callFrame;
    const where = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}`;
    const here = [...stack, where];
    if (node.selfSize > 0) {
      const key = here.slice(-2).join(' < ');
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head, []);
  log(`  allocation sites (bytes per query, sampled):`);
  for (const [site, bytes] of [...bySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) log(`    ${(bytes / count).toFixed(0).padStart(5)}  ${site.split(' < ').reverse().join('  <  ')}`);
}

main().catch((error) => {
  process.stderr.write(`handler-cost: ${error.stack ?? error}\n`);
  process.exit(1);
});
