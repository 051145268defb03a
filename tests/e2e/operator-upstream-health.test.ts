/**
 * A dead upstream is visible in the log, not only as SERVFAIL (issue #17): a warning when its
 * circuit opens and when it is healthy again, one error (rate limited) when every upstream is down,
 * and a metric reason for ECONNREFUSED that is not the DNS rcode REFUSED. The built CLI, real UDP.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killHard, requireBuiltCli, waitFor } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/ports.js';
import { LOOPBACK_SERVE_ARGS, spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { queryA } from './admin-helpers.js';
import { writeLists } from './harness.js';

const children: ChildProcess[] = [];
let upstream: FakeUpstream;
let lists: string;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
  lists = writeLists({ 'fraud.txt': 'evil.test\n' });
});
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
});
afterAll(async () => {
  await upstream?.close();
  if (lists) rmSync(lists, { recursive: true, force: true });
});

const messages = (fw: ServedProcess, level: string): string[] =>
  fw.logEntries().filter((line) => line['level'] === level).map((line) => String(line['msg']));

/** Unique names, so that neither the cache nor coalescing saves an upstream attempt. */
let counter = 0;
const ask = (fw: ServedProcess): Promise<number> => queryA(fw.dnsPort, `q${counter++}.example`, 4000).then((reply) => reply.rcode);

describe('upstream health in the log', () => {
  it('warns when an upstream goes down and comes back, errors once when all are down; ECONNREFUSED is "connection-refused"', async () => {
    upstream.setDefault({ kind: 'silent' });
    const dead = `127.0.0.1:${await freePort()}`; // nothing listens: ICMP port unreachable → ECONNREFUSED
    const live = `127.0.0.1:${upstream.port}`;
    const fw = await spawnServe(
      [...LOOPBACK_SERVE_ARGS, '--lists', lists, '--upstream', dead, '--upstream', live, '--cache-size', '0', '--serve-stale-seconds', '0', '--upstream-timeout-ms', '200'],
      { children },
    );
    // Both fail every query (refused at once, then silent) until both circuits are open.
    for (let i = 0; i < 6; i++) expect(await ask(fw)).toBe(2);
    const warnings = messages(fw, 'warn');
    expect(warnings).toContain(`upstream ${dead} is unhealthy: 3 failed attempts in a row (last: connection refused: nothing listens there); skipped for 2 s, then tried again`);
    expect(warnings).toContain(`upstream ${live} is unhealthy: 3 failed attempts in a row (last: no answer within upstream-timeout-ms); skipped for 2 s, then tried again`);
    const allDown = messages(fw, 'error').filter((m) => m.startsWith('every upstream is down'));
    expect(allDown).toEqual([
      `every upstream is down (${dead}, ${live}): clients get SERVFAIL, or stale answers from the cache, until one answers again; check this host's network and --upstream (logged at most once a minute)`,
    ]);
    const metrics = await scrape(fw.httpPort);
    expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: dead, reason: 'connection-refused' })).toBeGreaterThanOrEqual(3);
    expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { reason: 'refused' })).toBe(0);

    // It answers again: once its backoff ends a query probes it and the circuit closes.
    upstream.setDefault({ kind: 'answer', a: '192.0.2.5' });
    expect(await waitFor(async () => (await ask(fw)) === 0 && messages(fw, 'warn').includes(`upstream ${live} is healthy again`), 8000, 250)).toBe(true);
    // The circuit of the dead one opening again (after its probe) is no new line: one per outage.
    expect(messages(fw, 'warn').filter((m) => m.startsWith(`upstream ${dead} is unhealthy`))).toHaveLength(1);
    expect(messages(fw, 'error').filter((m) => m.startsWith('every upstream is down'))).toHaveLength(1);
  });
});
