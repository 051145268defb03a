/**
 * Graceful shutdown of `fraudwall serve` (a child process) under load: on SIGTERM every query
 * already waiting for an upstream still gets its answer, nothing new is answered, and the process
 * exits 0 within the query deadline + 1 s, also with clients that make closing hard (one that
 * never reads, idle keep-alive connections).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, frame, tcpQuery } from '../helpers/dns-client.js';
import { forwarded, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { TEST_LISTS, writeLists } from '../e2e/harness.js';
import { killHard, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { HOSTILE_SERVE_ARGS, TcpClient, UdpClient, connectTcp } from './hostile-helpers.js';

const QUERY_TIMEOUT_MS = 2500; // the default deadline
const UPSTREAM_DELAY_MS = 800;

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child, 3000);
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(): Promise<{ upstream: FakeUpstream; fw: ServedProcess }> {
  requireBuiltCli();
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  upstream.setDefault({ kind: 'delay', ms: UPSTREAM_DELAY_MS, then: { kind: 'answer', a: '192.0.2.70' } });
  const lists = writeLists(TEST_LISTS);
  cleanups.push(() => rmSync(lists, { recursive: true, force: true }));
  const fw = await spawnServe([...HOSTILE_SERVE_ARGS, '--upstream', `127.0.0.1:${upstream.port}`, '--lists', lists], { children });
  return { upstream, fw };
}

let serial = 0;
const fresh = (label: string): string => `${label}-${++serial}-${Date.now().toString(36)}.shutdown.example`;

/** Resolves with the ms from SIGTERM to the exit, and the exit code. */
async function terminate(fw: ServedProcess): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null; sentAt: number }> {
  const sentAt = performance.now();
  const exit = await fw.stop(10_000);
  const ms = performance.now() - sentAt;
  return exit === 'timeout' ? { ms, code: null, signal: null, sentAt } : { ms, code: exit.code, signal: exit.signal, sentAt };
}

describe('graceful shutdown on SIGTERM', () => {
  it('answers every query in flight, answers nothing new, and exits 0 within the deadline + 1 s', { timeout: 30_000 }, async () => {
    const { upstream, fw } = await setup();
    const udp = await UdpClient.open(fw.dnsPort);
    cleanups.push(() => udp.close());
    const tcp = await TcpClient.open(fw.dnsPort);
    cleanups.push(() => tcp.close());

    const inFlightNames: string[] = [];
    const inFlight: Promise<Buffer | null>[] = [];
    for (let i = 0; i < 10; i++) {
      const name = fresh('udp-inflight');
      inFlightNames.push(name);
      inFlight.push(udp.ask(buildQuery(name, 'A', { id: udp.takeId() }), QUERY_TIMEOUT_MS + 2000));
    }
    for (let i = 0; i < 5; i++) {
      const name = fresh('tcp-inflight');
      inFlightNames.push(name);
      inFlight.push(tcp.ask(buildQuery(name, 'A', { id: 500 + i }), QUERY_TIMEOUT_MS + 2000));
    }
    expect(await waitFor(() => forwarded(upstream).length >= 15, 2000, 5)).toBe(true);

    const exiting = terminate(fw);
    await sleep(50); // the signal is handled
    const lateNames: string[] = [];
    const late: Promise<Buffer | null>[] = [];
    for (let i = 0; i < 5; i++) {
      const name = fresh('udp-late');
      lateNames.push(name);
      late.push(udp.ask(buildQuery(name, 'A', { id: udp.takeId() }), 1500));
    }
    const lateTcpName = fresh('tcp-late');
    lateNames.push(lateTcpName);
    late.push(tcp.ask(buildQuery(lateTcpName, 'A', { id: 900 }), 1500));
    const newConnection = tcpQuery(fw.dnsPort, [buildQuery(fresh('tcp-late-new'), 'A')], { timeoutMs: 1500 }).then(
      (replies) => replies[0] ?? null,
      () => null,
    );

    const answers = await Promise.all(inFlight);
    for (const [i, reply] of answers.entries()) {
      expect(reply, `in-flight query ${inFlightNames[i]} was not answered`).not.toBeNull();
      const message = decode(reply!);
      expect(message.questions[0]!.name).toBe(inFlightNames[i]);
      expect(message.answers.map((a) => a.data)).toEqual(['192.0.2.70']);
    }
    expect(await Promise.all(late)).toEqual(late.map(() => null));
    expect(await newConnection).toBeNull();
    const exit = await exiting;
    console.log(`shutdown: exit ${exit.code ?? exit.signal} ${exit.ms.toFixed(0)} ms after SIGTERM`);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 1000);
    expect(exit.ms).toBeGreaterThanOrEqual(UPSTREAM_DELAY_MS - 200); // it did wait for the in-flight answers
    expect(forwarded(upstream).filter((q) => lateNames.includes(q.name))).toEqual([]);
  });

  it('exits 0 within the deadline + 1 s even with a client that never reads, idle TCP connections and a keep-alive HTTP connection', { timeout: 30_000 }, async () => {
    const { fw } = await setup();
    // A client that pipelines blocked-name queries and never reads its answers.
    const hog = await connectTcp(fw.dnsPort, '127.0.0.7');
    cleanups.push(() => void hog.destroy());
    hog.pause();
    const template = frame(buildQuery('never-reads.wild.test', 'A', { id: 1 }));
    hog.write(Buffer.concat(Array.from({ length: 100_000 }, () => template)));
    // Idle DNS connections and an HTTP keep-alive connection to /metrics.
    const idle = await Promise.all(Array.from({ length: 20 }, () => connectTcp(fw.dnsPort, '127.0.0.8')));
    cleanups.push(() => idle.forEach((socket) => socket.destroy()));
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: fw.httpPort, path: '/metrics', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    await sleep(500); // the server has read what the kernel let through and stopped reading the hog

    const exit = await terminate(fw);
    console.log(`shutdown with a non-reading client: exit ${exit.code ?? exit.signal} ${exit.ms.toFixed(0)} ms after SIGTERM`);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 1000);
  });

  it('exits at once when nothing is in flight', async () => {
    const { fw } = await setup();
    const udp = await UdpClient.open(fw.dnsPort);
    cleanups.push(() => udp.close());
    expect(decode((await udp.ask(buildQuery('x.wild.test', 'A', { id: udp.takeId() })))!).rcode).toBe(3);
    const exit = await terminate(fw);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(1000);
  });
});
