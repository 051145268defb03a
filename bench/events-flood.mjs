// What early-warning events cost DNS under a flood of blocked lookups from one client (issue #12):
// fraudwall with and without --events-url, alternately, answering dnsperf's flood of a few blocked
// names from 127.0.0.1. Prints closed-loop throughput of each run and, at a fixed 50k q/s, what was
// answered and lost, with the events that reached the receiver (one per registrable domain per
// dedupe window). Figures, not pass/fail: the machine is shared, so read the spread between rounds.
//
//   npm run build && node bench/events-flood.mjs [--rounds 3] [--duration 8] [--rate 50000]
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dnsperf } from './lib/dnsperf.mjs';
import { startFraudwall, startUpstream } from './lib/servers.mjs';
import { installCleanupHooks, machineInfo, sleep, which } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '8' }, rate: { type: 'string', default: '50000' } },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const rate = Number(values.rate);

installCleanupHooks();
for (const tool of ['dnsperf', 'unbound', 'taskset']) {
  if (!which(tool)) {
    console.error(`bench/events-flood: ${tool} is not installed (apt-get install -y dnsperf unbound util-linux)`);
    process.exit(1);
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'fraudwall-events-bench-'));
const lists = path.join(work, 'lists');
mkdirSync(lists);
writeFileSync(path.join(lists, 'fraud.txt'), '# category: fake-loan\nloan-scam.test\nphish-kit.test\n');
// A flood of blocked names: two registrable domains, four names, A and AAAA, all from one client.
const queries = path.join(work, 'queries');
const names = ['loan-scam.test', 'www.loan-scam.test', 'a.phish-kit.test', 'login.phish-kit.test'];
// dnsperf reads the file once (-n 1): enough lines for the whole run at up to 150k q/s.
const lines = Math.max(rate, 150_000) * duration;
writeFileSync(queries, `${Array.from({ length: lines }, (_, i) => `${names[i % 4]} ${i % 2 ? 'AAAA' : 'A'}`).join('\n')}\n`);

// The receiver: counts events and answers 200 at once (it runs on the load core with dnsperf).
let received = 0;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    received += JSON.parse(Buffer.concat(chunks).toString()).length;
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
process.env.FRAUDWALL_EVENTS_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const upstream = await startUpstream(work);
const machine = machineInfo();
console.log(`events flood: ${rounds} rounds × (off, on), ${duration} s closed-loop + ${duration} s at ${rate} q/s each; node ${process.version}; ${machine.cpu ?? ''}`);

async function scrape(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const results = { off: [], on: [] };
for (let round = 1; round <= rounds; round++) {
  for (const mode of ['off', 'on']) {
    const state = path.join(work, `state-${mode}-${round}`);
    const extraFlags = mode === 'on' ? ['--events-url', `http://127.0.0.1:${receiver.address().port}/hook`] : [];
    const server = await startFraudwall({ root: ROOT, lists, stateDir: state, upstreamPort: upstream.port, blockedName: 'loan-scam.test', logLevel: 'warn', extraFlags });
    await sleep(500);
    const before = received;
    const closed = await dnsperf({ port: server.port, file: queries, outstanding: 500, limitSec: duration, serverPid: server.pid });
    const fixed = await dnsperf({ port: server.port, file: queries, qps: rate, outstanding: 500, limitSec: duration, serverPid: server.pid });
    await sleep(1500);
    const events = received - before;
    const deduplicated = mode === 'on' ? await scrape(server.httpPort, 'fraudwall_events_deduplicated_total') : 0;
    await server.stop();
    const usPerQuery = (run) => (run.cpu?.serverProcess ? (run.cpu.serverProcess / 100 / run.qps) * 1e6 : null);
    const cpuUsPerQuery = usPerQuery(closed);
    const fixedUsPerQuery = usPerQuery(fixed);
    const row = { round, mode, qps: closed.qps, cpu: closed.cpu?.serverProcess, cpuUsPerQuery, fixedUsPerQuery, fixedQps: fixed.qps, fixedLostPct: fixed.lostPct, fixedAvgMs: fixed.avgLatencyMs, events, deduplicated };
    results[mode].push(row);
    console.log(
      `round ${round} events ${mode.padEnd(3)}: closed-loop ${Math.round(closed.qps).toLocaleString('en')} q/s (server CPU ${row.cpu ?? '?'} %, ${cpuUsPerQuery?.toFixed(1) ?? '?'} µs per query); ` +
        `at ${rate.toLocaleString('en')}: ${Math.round(fixed.qps).toLocaleString('en')} q/s, lost ${fixed.lostPct?.toFixed(3)} %, avg ${fixed.avgLatencyMs?.toFixed(2)} ms, ${fixedUsPerQuery?.toFixed(1) ?? '?'} µs CPU per query; ` +
        `events received ${events}${mode === 'on' ? `, lookups deduplicated ${deduplicated.toLocaleString('en')}` : ''}`,
    );
  }
}

const mean = (rows, key) => rows.reduce((sum, row) => sum + row[key], 0) / rows.length;
const off = mean(results.off, 'qps');
const on = mean(results.on, 'qps');
console.log(
  `\nmean closed-loop: off ${Math.round(off).toLocaleString('en')} q/s, on ${Math.round(on).toLocaleString('en')} q/s: ` +
    `${(((on - off) / off) * 100).toFixed(1)} % with events (target: no worse than -5 %)`,
);
for (const [label, key] of [['closed loop', 'cpuUsPerQuery'], [`at ${rate.toLocaleString('en')} q/s`, 'fixedUsPerQuery']]) {
  const cpuOff = mean(results.off, key);
  const cpuOn = mean(results.on, key);
  console.log(`mean server CPU per query, ${label}: off ${cpuOff.toFixed(2)} µs, on ${cpuOn.toFixed(2)} µs: ${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)} % (less sensitive to other load on the machine than q/s)`);
}
console.log(`events per run with events on: ${results.on.map((row) => row.events).join(', ')} (expected 2: one client, two registrable domains, one window)`);

// The query path's share in isolation: the pipeline's record() for a flood of repeats (dedupe hits),
// in this process, against a loop that does the same work minus record().
const { EventsPipeline } = await import(path.join(ROOT, 'dist', 'events', 'events-pipeline.js'));
const { silentLogger } = await import(path.join(ROOT, 'dist', 'log', 'logger.js'));
const pipeline = await EventsPipeline.start(
  {
    eventsUrl: `http://127.0.0.1:${receiver.address().port}/hook`, eventsSecretFile: 'off', eventsClient: 'anonymized', eventsDedupe: 600,
    eventsAllowInsecure: false, eventsBatchSize: 100, eventsBatchMs: 1000, eventsRate: 200, eventsClientRate: 60, eventsTimeoutMs: 10_000,
    eventsRetryMaxMs: 60_000, eventsSpoolMaxBytes: 1 << 26, eventsInstance: 'bench', state: path.join(work, 'state-micro'),
  },
  { logger: silentLogger, userAgent: 'bench', env: process.env, qtypeName: () => 'A' },
);
// Fresh strings per call, as the query parser makes them (so no string keeps a cached hash).
const freshNames = Array.from({ length: 4096 }, (_, i) => [...names[i & 3]].join(''));
const freshClients = Array.from({ length: 4096 }, () => [...'192.168.7.9'].join(''));
for (let pass = 0; pass < 3; pass++) {
  const n = 2_000_000;
  const started = process.hrtime.bigint();
  // The chain passes the query's receipt time, which the transport took anyway: no clock read here.
  let receivedAt = performance.now();
  for (let i = 0; i < n; i++) {
    if ((i & 4095) === 0) receivedAt = performance.now();
    pipeline.admit(freshClients[i & 4095], freshNames[i & 4095], receivedAt);
  }
  const ns = Number(process.hrtime.bigint() - started) / n;
  console.log(`admit() of a repeated blocked lookup (a dedupe hit), pass ${pass + 1}: ${ns.toFixed(0)} ns per call`);
}
await pipeline.close();

receiver.close();
await upstream.stop();
rmSync(work, { recursive: true, force: true });
process.exit(0);
