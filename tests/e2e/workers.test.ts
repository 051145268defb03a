/**
 * `fraudwall serve --workers N`: a node:cluster primary (lists, admin API, /metrics) and N worker
 * processes serving DNS on the shared sockets, tested as an operator runs it: `dist/cli.js` as a
 * child process, real UDP/TCP on 127.0.0.1, worker processes found and signalled through /proc.
 *
 * "Which worker answered" is made observable by SIGSTOPping every other worker: the UDP socket is
 * one socket shared by all workers, so a stopped worker simply does not read from it and the one
 * left running answers everything.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, type DecodedMessage } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { childEnv, CLI, killHard, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';
import { metricByLabel, metricSum, metricValue, scrape } from '../helpers/metrics-text.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { admin } from './admin-helpers.js';
import {
  PortFleet,
  childPids,
  cmdline,
  isFraudwallProcess,
  isRunning,
  queryFromManyPorts,
  signal,
  startProbeRelay,
  unexpected,
  withOnlyWorker,
  type ProbeRelay,
} from './workers-helpers.js';

const TOKEN = 'workers-test-token-0123456789abcdef';
const UPSTREAM_ADDRESS = '192.0.2.1';
const LISTS: Record<string, string> = {
  'fraud.txt': '# category: phishing\nevil.fraud.test\nloan-scam.test\n*.wild.test\n',
  'scam.txt': '# category: fake-shop\nshop1.scam.test\nshop2.scam.test\nshop3.scam.test\nshop4.scam.test\nshop5.scam.test\n',
};

const children: ChildProcess[] = [];
/** Every worker pid seen, so that afterEach can SIGKILL workers a dead primary left behind. */
const seenPids = new Set<number>();
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => requireBuiltCli());

afterEach(async () => {
  for (const child of children) for (const pid of childPids(child.pid!)) seenPids.add(pid);
  for (const child of children.splice(0)) await killHard(child);
  for (const pid of seenPids) if (isRunning(pid) && isFraudwallProcess(pid)) signal(pid, 'SIGKILL');
  await waitFor(() => [...seenPids].every((pid) => !isRunning(pid) || !isFraudwallProcess(pid)), 3000);
  seenPids.clear();
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Cluster {
  readonly serve: ServedProcess;
  readonly pid: number;
  readonly upstream: FakeUpstream;
  readonly dir: string;
}

/** The primary's worker processes right now (remembered for cleanup). */
function workersOf(cluster: { pid: number }): number[] {
  const pids = childPids(cluster.pid);
  for (const pid of pids) seenPids.add(pid);
  return pids;
}

/**
 * `serve --workers N` (no --workers when `workers` is null) over the two test lists and a fake
 * upstream answering every A query with 192.0.2.1. `upstreams` go before that fake upstream.
 */
async function startCluster(options: { workers?: number | null; listen?: string; http?: string; upstreams?: string[] } = {}): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-workers-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const listsDir = path.join(dir, 'lists');
  mkdirSync(listsDir);
  for (const [file, content] of Object.entries(LISTS)) writeFileSync(path.join(listsDir, file), content);
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  const workers = options.workers === undefined ? 2 : options.workers;
  const args = [
    ...(workers === null ? [] : ['--workers', String(workers)]),
    '--listen', options.listen ?? '127.0.0.1:0',
    '--http', options.http ?? '127.0.0.1:0',
    '--lists', listsDir,
    '--state', path.join(dir, 'state'),
    '--watch-lists', 'false',
    ...[...(options.upstreams ?? []), `127.0.0.1:${upstream.port}`].flatMap((address) => ['--upstream', address]),
  ];
  const serve = await spawnServe(args, { env: { FRAUDWALL_ADMIN_TOKEN: TOKEN }, children });
  const cluster = { serve, pid: serve.pid, upstream, dir };
  workersOf(cluster);
  return cluster;
}

function readyLines(serve: ServedProcess): Record<string, unknown>[] {
  return serve.logEntries().filter((entry) => entry['msg'] === 'fraudwall ready');
}

const isNx = (reply: DecodedMessage): boolean => reply.rcode === 3 && reply.answers.length === 0;
const isClean = (reply: DecodedMessage): boolean => reply.rcode === 0 && reply.answers.map((a) => a.data).join(',') === UPSTREAM_ADDRESS;
const tag = (): string => randomBytes(4).toString('hex');

/** `count` blocked names (fraud and scam lists) and `count` clean ones, each clean name new. */
function mixedNames(count: number): { blocked: string[]; clean: string[] } {
  const t = tag();
  const blocked = Array.from({ length: count }, (_, i) =>
    i % 3 === 0 ? 'evil.fraud.test' : i % 3 === 1 ? `h${i}-${t}.wild.test` : `shop${(i % 5) + 1}.scam.test`,
  );
  const clean = Array.from({ length: count }, (_, i) => `clean-${i}-${t}.example.test`);
  return { blocked, clean };
}

/** Asserts that every worker alone answers blocked and clean names correctly. */
async function expectEachWorkerServes(cluster: Cluster, blockedName: string, what: string): Promise<void> {
  const workers = workersOf(cluster);
  for (const worker of workers) {
    await withOnlyWorker(workers, worker, async () => {
      const t = tag();
      const outcomes = await queryFromManyPorts(cluster.serve.dnsPort, [blockedName, blockedName, `alone-${t}.example.test`]);
      expect(unexpected(outcomes.slice(0, 2), isNx), `${what}: worker ${worker} (${cmdline(worker)}) alone, blocked name`).toEqual([]);
      expect(unexpected(outcomes.slice(2), isClean), `${what}: worker ${worker} (${cmdline(worker)}) alone, clean name`).toEqual([]);
    });
  }
}

describe('serve --workers 2', () => {
  it('starts two workers, logs ready once with workers: 2, answers UDP from many ports and TCP, and aggregates /metrics', async () => {
    const cluster = await startCluster();
    const ready = readyLines(cluster.serve);
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ workers: 2 });

    const workers = workersOf(cluster);
    expect(workers).toHaveLength(2);
    expect(workers.map((pid) => cmdline(pid)).sort()).toEqual(['fraudwall worker 0', 'fraudwall worker 1']);

    const before = await scrape(cluster.serve.httpPort);
    expect(metricValue(before, 'fraudwall_workers_ready')).toBe(2);
    expect(metricSum(before, 'fraudwall_build_info')).toBe(1);
    expect(metricValue(before, 'fraudwall_worker_restarts_total')).toBe(0);
    expect(metricValue(before, 'fraudwall_blocklist_generation')).toBe(1);
    expect(metricValue(before, 'fraudwall_blocklist_entries{list="fraud",category="phishing"}')).toBe(3);
    expect(metricValue(before, 'fraudwall_blocklist_entries{list="scam",category="fake-shop"}')).toBe(5);

    // 200 UDP queries, each from its own source port, all in flight at once.
    const { blocked, clean } = mixedNames(100);
    const outcomes = await queryFromManyPorts(cluster.serve.dnsPort, [...blocked, ...clean]);
    expect(new Set(outcomes.map((o) => o.sourcePort)).size).toBe(200);
    expect(unexpected(outcomes.slice(0, 100), isNx)).toEqual([]);
    expect(unexpected(outcomes.slice(100), isClean)).toEqual([]);

    // TCP: the primary hands connections to the workers in turn; 6 connections × 10 pipelined queries.
    const tcp = mixedNames(30);
    const tcpNames = [...tcp.blocked, ...tcp.clean];
    for (let c = 0; c < 6; c++) {
      const batch = tcpNames.slice(c * 10, c * 10 + 10);
      const packets = batch.map((name) => buildQuery(name, 'A'));
      const replies = (await tcpQuery(cluster.serve.dnsPort, packets)).map((reply) => decode(reply));
      for (const [i, packet] of packets.entries()) {
        const reply = replies.find((r) => r.id === packet.readUInt16BE(0));
        expect(reply, `TCP reply for ${batch[i]}`).toBeDefined();
        const name = batch[i]!;
        expect(name.endsWith('.example.test') ? isClean(reply!) : isNx(reply!), `TCP ${name}: rcode ${reply!.rcode}`).toBe(true);
      }
    }
    // Every clean name went upstream.
    const forwarded = new Set(cluster.upstream.queries.filter((q) => q.name.endsWith('.example.test')).map((q) => q.name));
    expect([...forwarded].sort()).toEqual([...clean, ...tcp.clean].sort());

    // Counters are summed across workers: the deltas are exactly what was sent.
    const after = await scrape(cluster.serve.httpPort);
    const delta = (name: string): number => metricSum(after, name) - metricSum(before, name);
    expect(delta('fraudwall_queries_total')).toBe(260);
    expect(delta('fraudwall_responses_total')).toBe(260);
    const blockedBefore = metricByLabel(before, 'fraudwall_blocked_total', 'list');
    const blockedAfter = metricByLabel(after, 'fraudwall_blocked_total', 'list');
    const blockedDelta = (list: string): number => (blockedAfter.get(list) ?? 0) - (blockedBefore.get(list) ?? 0);
    const expectedFraud = [...blocked, ...tcp.blocked].filter((name) => !name.endsWith('.scam.test')).length;
    expect(blockedDelta('fraud')).toBe(expectedFraud);
    expect(blockedDelta('scam')).toBe(130 - expectedFraud);
    expect(metricSum(after, 'fraudwall_query_duration_seconds_count') - metricSum(before, 'fraudwall_query_duration_seconds_count')).toBe(260);
    // Gauges are not multiplied by the number of processes.
    expect(metricValue(after, 'fraudwall_workers_ready')).toBe(2);
    expect(metricSum(after, 'fraudwall_build_info')).toBe(1);
    expect(metricValue(after, 'fraudwall_blocklist_entries{list="fraud",category="phishing"}')).toBe(3);
    expect(metricValue(after, 'fraudwall_blocklist_entries{list="scam",category="fake-shop"}')).toBe(5);
    expect(metricValue(after, 'fraudwall_blocklist_generation')).toBe(1);

    expect(readyLines(cluster.serve)).toHaveLength(1);
    expect(workersOf(cluster)).toEqual(workers);
  });

  it('logs ready only once every worker serves DNS (a worker held back holds back ready), then both serve', async () => {
    // Hold the first worker process in SIGSTOP as soon as it runs the worker script: the primary
    // must not call itself ready (log, /readyz) until that worker runs again and serves. (Not
    // before its exec: libuv's spawn blocks the parent until the child has exec'd.)
    const httpPort = await freePort();
    let held: { pid: number; at: number } | undefined;
    let holding = true;
    const holder = (async () => {
      while (holding) {
        const primary = children[0]?.pid;
        const first = primary === undefined ? undefined : childPids(primary).find((pid) => /worker-entry\.js|fraudwall worker/.test(cmdline(pid)));
        if (first !== undefined) {
          signal(first, 'SIGSTOP');
          seenPids.add(first);
          held = { pid: first, at: performance.now() };
          return;
        }
        await sleep(2);
      }
    })();
    let readyAt: number | undefined;
    const starting = startCluster({ http: `127.0.0.1:${httpPort}` }).then((cluster) => {
      readyAt = performance.now();
      return cluster;
    });
    starting.catch(() => undefined);
    try {
      expect(await waitFor(() => held !== undefined, 10_000, 5), 'a worker process was forked').toBe(true);
    } finally {
      holding = false;
      await holder;
    }
    await sleep(1000);
    expect(readyAt, 'ready while a worker was stopped').toBeUndefined();
    const readyz = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2000) });
    expect(readyz.status, '/readyz while a worker was stopped').toBe(503);
    const resumedAt = performance.now();
    signal(held!.pid, 'SIGCONT');
    const cluster = await starting;
    expect(readyAt!).toBeGreaterThanOrEqual(resumedAt);
    expect(workersOf(cluster)).toContain(held!.pid);
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);

    // Straight after "ready": each worker, alone on the shared socket, already answers.
    await expectEachWorkerServes(cluster, 'evil.fraud.test', 'right after ready');
    // Both continue: a burst from 100 ports is answered completely.
    const { blocked, clean } = mixedNames(50);
    const outcomes = await queryFromManyPorts(cluster.serve.dnsPort, [...blocked, ...clean]);
    expect(unexpected(outcomes.slice(0, 50), isNx)).toEqual([]);
    expect(unexpected(outcomes.slice(50), isClean)).toEqual([]);
  });

  it('a list change returns 200 only once every worker enforces it: 100/100 ports see it at once, for a PUT, a delta and a DELETE', async () => {
    const cluster = await startCluster();
    const http = cluster.serve.httpPort;
    const port = cluster.serve.dnsPort;
    const t = tag();
    const exact = `live-${t}.test`;
    const names = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? exact : `w${i}.live-wild-${t}.test`));
    const fleet = await PortFleet.open(100);
    cleanups.push(() => fleet.close());

    // Before: the names resolve (and the answers sit in the workers' response caches).
    const wildBefore = names.filter((_, i) => i % 2 === 1).slice(0, 10);
    const resolved = await queryFromManyPorts(port, [exact, exact, exact, ...wildBefore]);
    expect(unexpected(resolved, (r) => r.rcode === 0 && r.answers.length === 1)).toEqual([]);

    const put = await admin(http, 'PUT', `/v1/lists/live?category=scam`, { token: TOKEN, body: `${exact}\n*.live-wild-${t}.test\n` });
    const blockedNow = await fleet.ask(port, names);
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(unexpected(blockedNow, isNx), 'right after the PUT answered').toEqual([]);
    const generation = put.body['generation'] as number;
    expect(generation).toBe(2);

    await expectEachWorkerServes(cluster, exact, 'after PUT');
    const metrics = await scrape(http);
    expect(metricValue(metrics, 'fraudwall_blocklist_generation')).toBe(generation);
    expect(metricValue(metrics, 'fraudwall_blocklist_entries{list="live",category="scam"}')).toBe(2);

    // Replace the content while one worker is stopped: no 200 before that worker has the new
    // policy; once it runs again, the old names stop being blocked and the new one is, at once.
    const [held] = workersOf(cluster) as [number, number];
    signal(held, 'SIGSTOP');
    let replaced: Awaited<ReturnType<typeof admin>> | undefined;
    const replacing = admin(http, 'PUT', `/v1/lists/live?category=scam`, { token: TOKEN, body: `other-${t}.test\n` }).then((reply) => (replaced = reply));
    try {
      await sleep(700);
      expect(replaced, 'PUT answered while a worker could not have applied it').toBeUndefined();
    } finally {
      signal(held, 'SIGCONT');
    }
    await replacing;
    const afterReplace = await fleet.ask(port, [...names.slice(0, 50), ...Array.from({ length: 50 }, () => `other-${t}.test`)]);
    expect(replaced!.status, JSON.stringify(replaced!.body)).toBe(200);
    expect(unexpected(afterReplace.slice(0, 50), (r) => r.rcode === 0), 'old names right after the replacing PUT').toEqual([]);
    expect(unexpected(afterReplace.slice(50), isNx), 'new name right after the replacing PUT').toEqual([]);

    // A delta travels to the workers as an edit of the list they hold (not a whole list file).
    const delta = await admin(http, 'POST', '/v1/lists/live/entries', { token: TOKEN, body: { add: [`delta-${t}.test`], remove: [`other-${t}.test`] } });
    const afterDelta = await fleet.ask(port, Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `delta-${t}.test` : `other-${t}.test`)));
    expect(delta.status, JSON.stringify(delta.body)).toBe(200);
    expect(delta.body).toMatchObject({ added: 1, removed: 1, entries: 1 });
    expect(unexpected(afterDelta.filter((_, i) => i % 2 === 0), isNx), 'added name right after the delta answered').toEqual([]);
    expect(unexpected(afterDelta.filter((_, i) => i % 2 === 1), (r) => r.rcode === 0), 'removed name right after the delta answered').toEqual([]);
    await expectEachWorkerServes(cluster, `delta-${t}.test`, 'after the delta');

    const del = await admin(http, 'DELETE', '/v1/lists/live', { token: TOKEN });
    const unblockedNow = await fleet.ask(port, Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `delta-${t}.test` : names[i]!)));
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(unexpected(unblockedNow, (r) => r.rcode === 0 && r.answers.length === 1), 'right after the DELETE answered').toEqual([]);
    const final = await scrape(http);
    expect(metricValue(final, 'fraudwall_blocklist_generation')).toBe(5);
    expect(final).not.toContain('fraudwall_blocklist_entries{list="live"');
  });

  it('restarts a SIGKILLed worker after about a second with the current policy, answering DNS meanwhile', async () => {
    const cluster = await startCluster();
    const http = cluster.serve.httpPort;
    const port = cluster.serve.dnsPort;
    const t = tag();
    const first = await admin(http, 'PUT', '/v1/lists/pushed-before', { token: TOKEN, body: `before-${t}.test\n` });
    expect(first.status, JSON.stringify(first.body)).toBe(201);

    const [victim, survivor] = workersOf(cluster) as [number, number];
    const victimIndex = cmdline(victim).split(' ').pop();
    const killedAt = performance.now();
    signal(victim, 'SIGKILL');

    // DNS is answered meanwhile by the survivor (retries only for packets that met the dying worker).
    const meanwhile = await queryFromManyPorts(
      port,
      [...Array.from({ length: 20 }, () => `before-${t}.test`), ...Array.from({ length: 20 }, (_, i) => `mw-${i}-${t}.example.test`)],
      { timeoutMs: 250, attempts: 3 },
    );
    expect(unexpected(meanwhile.slice(0, 20), isNx)).toEqual([]);
    expect(unexpected(meanwhile.slice(20), isClean)).toEqual([]);

    // The primary notices: it says so, and until the replacement is up (>= 1 s) workers_ready is 1
    // and a list pushed now does not wait for the dead worker.
    const exitLog = `worker ${victimIndex} exited (code null, signal SIGKILL); starting it again in 1000 ms`;
    expect(await waitFor(() => cluster.serve.logs.some((line) => line.includes(exitLog)), 3000, 5), exitLog).toBe(true);
    const noticedAt = performance.now();
    const downMetrics = await scrape(http);
    const downWorkers = workersOf(cluster);
    const during = await admin(http, 'PUT', '/v1/lists/pushed-during', { token: TOKEN, body: `during-${t}.test\n` });
    expect(during.status, JSON.stringify(during.body)).toBe(201);
    expect(during.ms).toBeLessThan(2000);
    if (performance.now() - noticedAt < 800) {
      // Only meaningful while the 1 s restart delay surely runs (a slow machine may be past it).
      expect(metricValue(downMetrics, 'fraudwall_workers_ready')).toBe(1);
      expect(metricValue(downMetrics, 'fraudwall_worker_restarts_total')).toBe(0);
      expect(downWorkers).toEqual([survivor]);
    }

    let replacement: number | undefined;
    let seenAt = 0;
    expect(
      await waitFor(() => {
        replacement = workersOf(cluster).find((pid) => pid !== survivor);
        seenAt = performance.now();
        return replacement !== undefined;
      }, 10_000, 20),
      'a new worker process',
    ).toBe(true);
    expect(seenAt - killedAt, 'restart backoff').toBeGreaterThanOrEqual(900);
    expect(replacement).not.toBe(victim);
    expect(
      await waitFor(async () => {
        const m = await scrape(http);
        return metricValue(m, 'fraudwall_workers_ready') === 2 && metricValue(m, 'fraudwall_worker_restarts_total') === 1;
      }, 10_000, 100),
      'workers_ready 2 and worker_restarts_total 1',
    ).toBe(true);
    expect(performance.now() - killedAt).toBeLessThan(10_000);
    expect(cmdline(replacement!)).toMatch(/^fraudwall worker [01]$/);
    expect(cluster.serve.logs.join('\n')).toContain('starting it again in 1000 ms');

    // Both lists, pushed before the kill and while the worker was down, are enforced by every worker.
    const names = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `before-${t}.test` : `during-${t}.test`));
    const outcomes = await queryFromManyPorts(port, names);
    expect(unexpected(outcomes, isNx)).toEqual([]);
    await expectEachWorkerServes(cluster, `before-${t}.test`, 'after the restart');
    await expectEachWorkerServes(cluster, `during-${t}.test`, 'after the restart');

    const metrics = await scrape(http);
    expect(metricValue(metrics, 'fraudwall_blocklist_generation')).toBe(during.body['generation']);
    expect(metricValue(metrics, 'fraudwall_worker_restarts_total')).toBe(1);
    expect(metricSum(metrics, 'fraudwall_build_info')).toBe(1);
    expect(workersOf(cluster).sort((a, b) => a - b)).toEqual([survivor, replacement!].sort((a, b) => a - b));
  });

  it('kills a worker that does not confirm a list change within 15 s and starts a new one with the current policy', async () => {
    const cluster = await startCluster();
    const http = cluster.serve.httpPort;
    const t = tag();
    const [stuck, healthy] = workersOf(cluster) as [number, number];
    // SIGSTOP stands in for a worker stuck in a loop: it reads no message and ignores SIGTERM.
    signal(stuck, 'SIGSTOP');
    const started = performance.now();
    const put = await admin(http, 'PUT', '/v1/lists/while-stuck', { token: TOKEN, body: `stuck-${t}.test\n` });
    const waited = performance.now() - started;
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(waited).toBeGreaterThanOrEqual(14_500);
    expect(waited).toBeLessThan(20_000);
    expect(cluster.serve.logs.join('\n')).toContain('did not confirm policy 2 within 15 s');
    expect(await waitFor(() => !isRunning(stuck), 3000), 'the stuck worker is killed').toBe(true);
    let replacement: number | undefined;
    expect(
      await waitFor(async () => {
        replacement = workersOf(cluster).find((pid) => pid !== healthy);
        const m = await scrape(http);
        return replacement !== undefined && metricValue(m, 'fraudwall_workers_ready') === 2 && metricValue(m, 'fraudwall_worker_restarts_total') === 1;
      }, 10_000, 100),
      'a replacement worker, ready',
    ).toBe(true);
    expect(replacement).not.toBe(stuck);
    await expectEachWorkerServes(cluster, `stuck-${t}.test`, 'after replacing the stuck worker');
    expect(metricValue(await scrape(http), 'fraudwall_blocklist_generation')).toBe(2);
  }, 45_000);

  it('hands lists to workers through files it removes, and a primary killed with SIGKILL has its files removed by the next one', async () => {
    const transferDirs = (pid: number): string[] => readdirSync(tmpdir()).filter((entry) => entry.startsWith(`fraudwall-transfer-${pid}-`));
    const first = await startCluster();
    const [dir] = transferDirs(first.pid);
    expect(dir, 'the primary has its own transfer directory').toBeDefined();
    // Every worker confirmed its start: nothing is left to read.
    expect(await waitFor(() => readdirSync(path.join(tmpdir(), dir!)).length === 0, 3000)).toBe(true);
    const put = await admin(first.serve.httpPort, 'PUT', '/v1/lists/transfer', { token: TOKEN, body: `transfer-${tag()}.test\n` });
    expect(put.status).toBe(201);
    expect(await waitFor(() => readdirSync(path.join(tmpdir(), dir!)).length === 0, 3000), 'files removed after the update').toBe(true);

    const workers = workersOf(first);
    signal(first.pid, 'SIGKILL');
    for (const pid of workers) signal(pid, 'SIGKILL');
    expect(await waitFor(() => !isRunning(first.pid), 3000)).toBe(true);
    expect(transferDirs(first.pid)).toEqual([dir]);
    const second = await startCluster();
    expect(transferDirs(first.pid), 'the dead primary\'s directory').toEqual([]);
    expect(transferDirs(second.pid)).toHaveLength(1);
  });

  it('on SIGTERM drains the workers (an answer in flight is delivered) and exits 0 with no worker left', async () => {
    const cluster = await startCluster();
    const workers = workersOf(cluster);
    expect(workers).toHaveLength(2);
    const slow = `slow-${tag()}.example.test`;
    cluster.upstream.setBehaviour(slow, { kind: 'delay', ms: 500, then: { kind: 'answer', a: UPSTREAM_ADDRESS } });
    const inFlight = queryFromManyPorts(cluster.serve.dnsPort, [slow], { timeoutMs: 3000 });
    expect(await waitFor(() => cluster.upstream.queries.some((q) => q.name === slow), 2000, 10)).toBe(true);
    const termAt = performance.now();
    const exit = await cluster.serve.stop(8000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - termAt).toBeLessThan(5000);
    for (const pid of workers) expect(isRunning(pid), `worker ${pid} after the primary exited`).toBe(false);
    expect(unexpected(await inFlight, isClean), 'the query in flight at SIGTERM').toEqual([]);
    expect(cluster.serve.logs.join('\n')).not.toContain('starting it again');
  });

  it('detects a forwarding loop in every worker even when each probe comes back to another worker', async () => {
    const fraudwallPort = await freePort();
    const relay: ProbeRelay = await startProbeRelay({
      fraudwallPort,
      // The primary is the one child this test spawns; it exists by the time a probe arrives.
      workers: () => children.flatMap((child) => workersOf({ pid: child.pid! })),
    });
    cleanups.push(() => relay.close());
    const cluster = await startCluster({ listen: `127.0.0.1:${fraudwallPort}`, upstreams: [`127.0.0.1:${relay.port}`] });
    const readyAt = performance.now();
    const looping = `fraudwall_upstream_looping{upstream="127.0.0.1:${relay.port}"} 1`;
    expect(
      await waitFor(async () => (await scrape(cluster.serve.httpPort)).includes(looping), 5000, 100),
      `${looping} within 5 s of ready (relay: ${JSON.stringify(relay)})`,
    ).toBe(true);
    expect(performance.now() - readyAt).toBeLessThan(5000);
    expect(await waitFor(() => relay.probes.length === 2, 3000)).toBe(true);
    expect(relay.problems).toEqual([]);
    // Each worker's probe was read by the other worker only (its sender was stopped meanwhile).
    expect(new Set(relay.probes.map((probe) => probe.sender)).size).toBe(2);
    expect(relay.probes.every((probe) => probe.answeredByOther)).toBe(true);

    // Every worker skips the looping upstream: alone on the socket, each answers from the good
    // upstream at once (one that did not know would wait the 1 s upstream timeout on the relay).
    await sleep(500); // the last sender judges its probe 100 ms after its answer
    const workers = workersOf(cluster);
    for (const worker of workers) {
      await withOnlyWorker(workers, worker, async () => {
        const started = performance.now();
        const [outcome] = await queryFromManyPorts(cluster.serve.dnsPort, [`after-loop-${tag()}.example.test`], { timeoutMs: 3000 });
        const ms = performance.now() - started;
        expect(unexpected([outcome!], isClean), `worker ${worker} alone`).toEqual([]);
        expect(ms, `worker ${worker} alone answered in`).toBeLessThan(500);
      });
    }
    expect(relay.otherQueries).toEqual([]);
    const metrics = await scrape(cluster.serve.httpPort);
    expect(metrics).toContain(`fraudwall_upstream_looping{upstream="127.0.0.1:${cluster.upstream.port}"} 0`);
  });
});

describe('serve --workers without a writable temporary directory', () => {
  it('exits 1 before serving, saying to set TMPDIR or use --workers 1', () => {
    const result = spawnSync(
      process.execPath,
      [CLI, 'serve', '--workers', '2', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--watch-lists', 'false', '--state', path.join(tmpdir(), `fw-no-tmp-${tag()}`)],
      { env: childEnv({ TMPDIR: '/nonexistent/fraudwall-tmp' }), encoding: 'utf8', timeout: 15_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('E_WORKERS_TMPDIR');
    expect(result.stderr).toContain('set TMPDIR');
    expect(result.stderr).not.toContain('fraudwall ready');
  });
});

describe('serve without --workers or with --workers 1', () => {
  it('stays a single process that serves DNS itself', async () => {
    for (const workers of [null, 1]) {
      const cluster = await startCluster({ workers });
      expect(readyLines(cluster.serve)[0], `--workers ${workers ?? '(default)'}`).toMatchObject({ workers: 1 });
      expect(childPids(cluster.pid)).toEqual([]);
      const { blocked, clean } = mixedNames(10);
      const outcomes = await queryFromManyPorts(cluster.serve.dnsPort, [...blocked, ...clean]);
      expect(unexpected(outcomes.slice(0, 10), isNx)).toEqual([]);
      expect(unexpected(outcomes.slice(10), isClean)).toEqual([]);
      await sleep(200);
      expect(childPids(cluster.pid)).toEqual([]);
      const metrics = await scrape(cluster.serve.httpPort);
      expect(metricValue(metrics, 'fraudwall_blocklist_entries{list="fraud",category="phishing"}')).toBe(3);
      // The same worker series as with --workers, so one dashboard fits both.
      expect(metricValue(metrics, 'fraudwall_workers_ready')).toBe(1);
      expect(metricValue(metrics, 'fraudwall_worker_restarts_total')).toBe(0);
      expect(await cluster.serve.stop(5000)).toEqual({ code: 0, signal: null });
    }
  });
});
