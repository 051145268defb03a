/**
 * The operator's view of a running fraudwall: /metrics counters move with real queries, and the
 * query log gets one NDJSON line per query.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { metricValue } from '../helpers/metrics-text.js';
import { startTestServer } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(flags: Record<string, string> = {}) {
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  const fw = await startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], ...flags });
  cleanups.push(() => fw.close());
  return fw;
}

/** /metrics, checked for what a scraper needs: 200 and a text/plain body. */
async function scrapeChecked(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('/metrics', () => {
  it('counts queries, blocks by list and category, responses by source, and malformed packets', async () => {
    const fw = await setup();
    for (let i = 0; i < 3; i++) await udpQuery(fw.port, buildQuery(`x${i}.evil.fraud.test`, 'A'));
    await tcpQuery(fw.port, [buildQuery('casino.test', 'AAAA')]);
    await udpQuery(fw.port, buildQuery('clean.example', 'A'));
    await udpQuery(fw.port, buildQuery('localhost', 'A'));
    await udpQuery(fw.port, Buffer.from('000100000000000000000000', 'hex'), { timeoutMs: 500 }).catch(() => undefined);

    const text = await scrapeChecked(fw.httpPort);
    expect(metricValue(text, 'fraudwall_queries_total{transport="udp",qtype="A"}')).toBe(5);
    expect(metricValue(text, 'fraudwall_queries_total{transport="tcp",qtype="AAAA"}')).toBe(1);
    expect(metricValue(text, 'fraudwall_blocked_total{list="fraud",category="phishing",qtype="A",reason="name"}')).toBe(3);
    expect(metricValue(text, 'fraudwall_blocked_total{list="gambling",category="gambling",qtype="AAAA",reason="name"}')).toBe(1);
    expect(metricValue(text, 'fraudwall_responses_total{rcode="NXDOMAIN",source="blocked"}')).toBe(4);
    expect(metricValue(text, 'fraudwall_responses_total{rcode="NOERROR",source="upstream"}')).toBe(1);
    expect(metricValue(text, 'fraudwall_responses_total{rcode="NOERROR",source="local"}')).toBe(1);
    expect(metricValue(text, 'fraudwall_malformed_queries_total{reason="qdcount"}')).toBe(1);
    expect(metricValue(text, 'fraudwall_query_duration_seconds_count{source="blocked"}')).toBe(4);
    expect(metricValue(text, 'fraudwall_blocklist_entries{list="fraud",category="phishing"}')).toBe(3);
    expect(metricValue(text, 'fraudwall_blocklist_generation')).toBe(1);
    expect(metricValue(text, 'fraudwall_verdict_cache_misses_total')).toBeGreaterThanOrEqual(6);
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    // No label ever carries a queried name or a client address.
    expect(text).not.toContain('evil.fraud.test');
    // 127.0.0.1 is also the upstream here: it may appear only as an upstream label.
    const withAddress = text.split('\n').filter((l) => !l.startsWith('#') && l.includes('127.0.0.1'));
    expect(withAddress.length).toBeGreaterThan(0);
    for (const line of withAddress) expect(line).toMatch(/^fraudwall_upstream_\w+\{(le="[^"]+",)?upstream="127\.0\.0\.1:\d+"/);
  });

  it('counts upstream failures by upstream and reason', async () => {
    const silent = await startFakeUpstream();
    cleanups.push(() => silent.close());
    silent.setDefault({ kind: 'silent' });
    const fw = await startTestServer({ upstream: [`127.0.0.1:${silent.port}`], 'upstream-timeout-ms': '100', 'query-timeout-ms': '300' });
    cleanups.push(() => fw.close());
    expect(decode(await udpQuery(fw.port, buildQuery('slow.example', 'A'))).rcode).toBe(2);
    const text = await scrapeChecked(fw.httpPort);
    expect(metricValue(text, `fraudwall_upstream_errors_total{upstream="127.0.0.1:${silent.port}",reason="timeout"}`)).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fraudwall_responses_total{rcode="SERVFAIL",source="error"}')).toBe(1);
  });
});

describe('query log', () => {
  it('writes one NDJSON line per query with verdict, list, rule and rcode; anonymizes clients when asked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-qlog-'));
    const file = path.join(dir, 'queries.ndjson');
    const fw = await setup({ 'query-log': file, 'query-log-anonymize': 'true' });
    await udpQuery(fw.port, buildQuery('a.evil.fraud.test', 'A'));
    await udpQuery(fw.port, buildQuery('ok.evil.fraud.test', 'AAAA'));
    await udpQuery(fw.port, buildQuery('clean.example', 'MX'));
    await fw.close();
    cleanups.length = 0;
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ client: '127.0.0.0', name: 'a.evil.fraud.test', type: 'A', verdict: 'block', list: 'fraud', category: 'phishing', rule: 'evil.fraud.test', rcode: 'NXDOMAIN', source: 'blocked' });
    expect(lines[1]).toMatchObject({ name: 'ok.evil.fraud.test', type: 'AAAA', verdict: 'allow', list: 'fraud-allow', rcode: 'NOERROR', source: 'upstream' });
    expect(lines[2]).toMatchObject({ name: 'clean.example', type: 'MX', verdict: 'none', source: 'upstream' });
    expect(typeof lines[0]!['ms']).toBe('number');
    expect(Number.isNaN(Date.parse(String(lines[0]!['time'])))).toBe(false);
  });

  it('logs only blocked queries when asked, with full client addresses by default', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-qlog-'));
    const file = path.join(dir, 'queries.ndjson');
    const fw = await setup({ 'query-log': file, 'query-log-blocked-only': 'true' });
    await udpQuery(fw.port, buildQuery('clean.example', 'A'));
    await udpQuery(fw.port, buildQuery('casino.test', 'A'));
    await fw.close();
    cleanups.length = 0;
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['name'])).toEqual(['casino.test']);
    expect(lines[0]!['client']).toBe('127.0.0.1');
  });
});
