/**
 * A real Prometheus scrapes a live fraudwall: the counters it stores must move by exactly the queries sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/require-tool.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { sendQueries, startLiveFraudwall } from './live-fraudwall.js';
import { startPrometheus } from './prometheus-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const FRAUD = 'sum(fraudwall_blocked_total{job="fraudwall",list="fraud",category="phishing"})';
const GAMBLING = 'sum(fraudwall_blocked_total{job="fraudwall",list="casino",category="gambling"})';
const QUERIES = 'sum(fraudwall_queries_total{job="fraudwall"})';
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;

describe.skipIf(!requireTool('prometheus', 'prometheus'))('Prometheus scraping fraudwall', () => {
  it('sees blocked_total rise by exactly the blocks sent, per list and category', async () => {
    const live = await startLiveFraudwall();
    cleanups.push(() => live.close());
    const { port, httpPort } = live.fraudwall;
    const prometheus = await startPrometheus({ targets: [`127.0.0.1:${httpPort}`], jobName: 'fraudwall', scrapeInterval: '1s' });
    cleanups.push(() => prometheus.stop());
    await prometheus.waitForTargetsUp();
    expect(await prometheus.queryScalar('up{job="fraudwall"}', -1)).toBe(1);

    // Warm-up: the phishing series exists before the baseline, the gambling one does not (absent = 0).
    expect(await sendQueries(port, 'b.evil.test', 2)).toEqual([RCODE_NXDOMAIN, RCODE_NXDOMAIN]);
    await prometheus.waitForScrapeAfter(Date.now());
    const before = {
      fraud: await prometheus.queryScalar(FRAUD),
      gambling: await prometheus.queryScalar(GAMBLING),
      queries: await prometheus.queryScalar(QUERIES),
    };
    expect(before.fraud).toBe(2);
    expect(before.gambling).toBe(0);

    const blockedFraud = await sendQueries(port, 'a.evil.test', 7);
    const blockedGambling = await sendQueries(port, 'casino.test', 5, 'AAAA');
    const clean = await sendQueries(port, 'www.example.test', 4);
    expect(blockedFraud).toEqual(Array(7).fill(RCODE_NXDOMAIN));
    expect(blockedGambling).toEqual(Array(5).fill(RCODE_NXDOMAIN));
    expect(clean).toEqual(Array(4).fill(RCODE_NOERROR));
    await prometheus.waitForScrapeAfter(Date.now());

    const after = {
      fraud: await prometheus.queryScalar(FRAUD),
      gambling: await prometheus.queryScalar(GAMBLING),
      queries: await prometheus.queryScalar(QUERIES),
    };
    expect(after.fraud - before.fraud).toBe(7);
    expect(after.gambling - before.gambling).toBe(5);
    expect(after.queries - before.queries).toBeGreaterThanOrEqual(7 + 5 + 4);

    // The gambling blocks were AAAA queries: the qtype label says so.
    const byQtype = await prometheus.queryVector('sum by (qtype) (fraudwall_blocked_total{job="fraudwall",list="casino"})');
    expect(byQtype.map((s) => [s.metric['qtype'], Number(s.value[1])])).toEqual([['AAAA', 5]]);

    // No traffic since the last scrape: Prometheus holds what fraudwall exposes right now.
    const exposition = await scrape(httpPort);
    expect(metricSum(exposition, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing' })).toBe(after.fraud);
    expect(metricSum(exposition, 'fraudwall_blocked_total', { list: 'casino', category: 'gambling' })).toBe(after.gambling);
  });
});
