/**
 * Metrics: every counting method lands in the right series of the scraped exposition; fixed label
 * sets are exported at 0 from the start; label sets stay bounded whatever the traffic (every qtype,
 * every rcode); and no label value is ever anything but a fixed word or a configured name (no query
 * name, no client address).
 */
import { VERDICT_REASONS } from '../../src/query/rule.js';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS, MALFORMED_REASONS, Metrics, QTYPE_LABELS, RCODE_NAMES, SOURCES, TRANSPORTS, UPSTREAM_FAILURES } from '../../src/metrics/metrics.js';
import { parseExposition, samplesOf, seriesKey, valueOf, type Exposition } from './exposition.js';

const scrape = async (metrics: Metrics): Promise<Exposition> => parseExposition(await metrics.registry.metrics());
const QTYPE_NAMES = [...QTYPE_LABELS.values(), 'other'];

describe('fixed series exported from the start', () => {
  it('queries, responses, durations, malformed, gated and auth failures start at 0 with every label value', async () => {
    const text = await scrape(new Metrics('1.2.3'));
    const queries = samplesOf(text, 'fraudwall_queries_total');
    expect(queries).toHaveLength(TRANSPORTS.length * QTYPE_NAMES.length);
    expect(new Set(queries.map(seriesKey)).size).toBe(queries.length);
    expect(queries.every((s) => s.value === 0)).toBe(true);
    expect(samplesOf(text, 'fraudwall_responses_total')).toHaveLength(SOURCES.length * RCODE_NAMES.length);
    expect(samplesOf(text, 'fraudwall_query_duration_seconds_count').map((s) => s.labels['source']).sort()).toEqual([...SOURCES].sort());
    expect(samplesOf(text, 'fraudwall_malformed_queries_total').map((s) => s.labels['reason']).sort()).toEqual([...MALFORMED_REASONS].sort());
    expect(samplesOf(text, 'fraudwall_gated_queries_total').map((s) => s.labels['decision']).sort()).toEqual(['drop', 'refuse', 'truncate']);
    expect(samplesOf(text, 'fraudwall_admin_auth_failures_total').map((s) => s.labels['reason']).sort()).toEqual(['disabled', 'missing', 'rate-limited', 'wrong']);
    expect(valueOf(text, 'fraudwall_build_info', { version: '1.2.3' })).toBe(1);
    // Nothing blocked yet: the blocked series appear on first use.
    expect(samplesOf(text, 'fraudwall_blocked_total')).toEqual([]);
  });

  it('has HELP and TYPE for every fraudwall family, and counters end in _total', async () => {
    const metrics = new Metrics('x');
    metrics.watchVerdictCache(() => ({ hits: 1, misses: 2, size: 3 }));
    metrics.watchResponseCache(() => ({ hits: 1, misses: 2, stale: 3, prefetches: 4, entries: 5, bytes: 6 }));
    metrics.watchUpstreams(() => [{ upstream: '192.0.2.53:53', up: true, looping: false }]);
    metrics.watchIgnoredAnswers(() => [{ upstream: '192.0.2.53:53', mismatch: 1, late: 2 }]);
    const text = await scrape(metrics);
    const families = [...text.type.keys()].filter((name) => name.startsWith('fraudwall_'));
    expect(families.length).toBeGreaterThan(25);
    for (const family of families) {
      expect(text.help.get(family), family).toBeTruthy();
      const type = text.type.get(family);
      if (type === 'counter') expect(family, family).toMatch(/_total$/);
      else expect(family, family).not.toMatch(/_total$/);
    }
    // The process metrics that break the rule are left out.
    expect([...text.type.keys()].filter((name) => /^nodejs_active_.*_total$/.test(name))).toEqual([]);
    expect(text.type.get('process_cpu_user_seconds_total')).toBe('counter');
  });
});

describe('counting', () => {
  it('countQuery maps qtype numbers to their label and everything else to other', async () => {
    const metrics = new Metrics('x');
    for (const [qtype, transport] of [
      [1, 'udp'],
      [1, 'udp'],
      [28, 'tcp'],
      [65, 'udp'],
      [255, 'tcp'],
      [99, 'udp'],
      [0, 'udp'],
      [65535, 'udp'],
    ] as const) {
      metrics.countQuery(transport, qtype);
    }
    const text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'udp', qtype: 'A' })).toBe(2);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'tcp', qtype: 'AAAA' })).toBe(1);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'udp', qtype: 'HTTPS' })).toBe(1);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'tcp', qtype: 'ANY' })).toBe(1);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'udp', qtype: 'other' })).toBe(3);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'tcp', qtype: 'A' })).toBe(0);
    expect(samplesOf(text, 'fraudwall_queries_total').reduce((sum, s) => sum + s.value, 0)).toBe(8);
  });

  it('every qtype number in QTYPE_LABELS lands on its own label', async () => {
    const metrics = new Metrics('x');
    for (const qtype of QTYPE_LABELS.keys()) metrics.countQuery('udp', qtype);
    const text = await scrape(metrics);
    for (const label of QTYPE_LABELS.values()) expect(valueOf(text, 'fraudwall_queries_total', { transport: 'udp', qtype: label }), label).toBe(1);
    expect(valueOf(text, 'fraudwall_queries_total', { transport: 'udp', qtype: 'other' })).toBe(0);
  });

  it('countResponse counts by source and rcode name (6 and above are other) and times the answer', async () => {
    const metrics = new Metrics('x');
    metrics.countResponse('blocked', 3, 0.00003);
    metrics.countResponse('upstream', 0, 0.02);
    metrics.countResponse('upstream', 0, 0.3);
    metrics.countResponse('error', 2, 3);
    metrics.countResponse('refused', 5, 0.0001);
    metrics.countResponse('upstream', 9, 0.001);
    metrics.countResponse('upstream', 15, 0.001);
    const text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_responses_total', { source: 'blocked', rcode: 'NXDOMAIN' })).toBe(1);
    expect(valueOf(text, 'fraudwall_responses_total', { source: 'upstream', rcode: 'NOERROR' })).toBe(2);
    expect(valueOf(text, 'fraudwall_responses_total', { source: 'error', rcode: 'SERVFAIL' })).toBe(1);
    expect(valueOf(text, 'fraudwall_responses_total', { source: 'refused', rcode: 'REFUSED' })).toBe(1);
    expect(valueOf(text, 'fraudwall_responses_total', { source: 'upstream', rcode: 'other' })).toBe(2);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_count', { source: 'upstream' })).toBe(4);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_sum', { source: 'upstream' })).toBeCloseTo(0.322, 9);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_bucket', { source: 'blocked', le: '0.00005' })).toBe(1);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_bucket', { source: 'upstream', le: '0.025' })).toBe(3);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_bucket', { source: 'error', le: '2.5' })).toBe(0);
    expect(valueOf(text, 'fraudwall_query_duration_seconds_bucket', { source: 'error', le: '5' })).toBe(1);
    expect(samplesOf(text, 'fraudwall_query_duration_seconds_bucket', { source: 'cache' })).toHaveLength(LATENCY_BUCKETS.length + 1);
  });

  it('countBlocked creates a series per list, category and qtype on first use, and follows a category change', async () => {
    const metrics = new Metrics('x');
    metrics.countBlocked('fraud', 'phishing', 1);
    metrics.countBlocked('fraud', 'phishing', 1);
    metrics.countBlocked('fraud', 'phishing', 28);
    metrics.countBlocked('ads', 'ads', 4242);
    let text = await scrape(metrics);
    expect(samplesOf(text, 'fraudwall_blocked_total').map((s) => [seriesKey(s), s.value])).toEqual([
      ['category="phishing",list="fraud",qtype="A",reason="name"', 2],
      ['category="phishing",list="fraud",qtype="AAAA",reason="name"', 1],
      ['category="ads",list="ads",qtype="other",reason="name"', 1],
    ]);
    // Blocks through answer inspection count under their own reason.
    metrics.countBlocked('fraud', 'phishing', 1, 'cname');
    metrics.countBlocked('fraud', 'phishing', 1, 'ip');
    metrics.countBlocked('fraud', 'phishing', 1, 'ip');
    text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing', qtype: 'A', reason: 'cname' })).toBe(1);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing', qtype: 'A', reason: 'ip' })).toBe(2);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing', qtype: 'A', reason: 'name' })).toBe(2);
    metrics.countBlocked('fraud', 'scam', 1);
    text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'scam', qtype: 'A' })).toBe(1);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing', qtype: 'A', reason: 'name' })).toBe(2);
    // Back to the first category: counting continues on its series, no duplicate is made.
    metrics.countBlocked('fraud', 'phishing', 1);
    text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing', qtype: 'A', reason: 'name' })).toBe(3);
  });

  it('observeUpstream times every attempt and counts failures by reason; declareUpstreams starts them at 0', async () => {
    const metrics = new Metrics('x');
    metrics.declareUpstreams(['192.0.2.1:53', '[2001:db8::1]:53']);
    let text = await scrape(metrics);
    expect(samplesOf(text, 'fraudwall_upstream_errors_total')).toHaveLength(2 * UPSTREAM_FAILURES.length);
    expect(valueOf(text, 'fraudwall_upstream_duration_seconds_count', { upstream: '[2001:db8::1]:53' })).toBe(0);

    metrics.observeUpstream('192.0.2.1:53', 0.01, undefined);
    metrics.observeUpstream('192.0.2.1:53', 2, 'timeout');
    metrics.observeUpstream('192.0.2.1:53', 0.001, 'servfail');
    metrics.observeUpstream('192.0.2.9:53', 0.001, 'refused'); // not declared: created on first use
    text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_upstream_duration_seconds_count', { upstream: '192.0.2.1:53' })).toBe(3);
    expect(valueOf(text, 'fraudwall_upstream_errors_total', { upstream: '192.0.2.1:53', reason: 'timeout' })).toBe(1);
    expect(valueOf(text, 'fraudwall_upstream_errors_total', { upstream: '192.0.2.1:53', reason: 'servfail' })).toBe(1);
    expect(valueOf(text, 'fraudwall_upstream_errors_total', { upstream: '192.0.2.1:53', reason: 'network' })).toBe(0);
    expect(valueOf(text, 'fraudwall_upstream_errors_total', { upstream: '192.0.2.9:53', reason: 'refused' })).toBe(1);
    // Declaring again does not reset anything.
    metrics.declareUpstreams(['192.0.2.1:53']);
    expect(valueOf(await scrape(metrics), 'fraudwall_upstream_errors_total', { upstream: '192.0.2.1:53', reason: 'timeout' })).toBe(1);
  });

  it('countMalformed and countGated count known reasons and ignore unknown ones', async () => {
    const metrics = new Metrics('x');
    metrics.countMalformed('bad-opt');
    metrics.countMalformed('bad-opt');
    metrics.countMalformed('evil.example' as never);
    metrics.countGated('truncate');
    metrics.countGated('192.0.2.1');
    const text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_malformed_queries_total', { reason: 'bad-opt' })).toBe(2);
    expect(samplesOf(text, 'fraudwall_malformed_queries_total')).toHaveLength(MALFORMED_REASONS.length);
    expect(valueOf(text, 'fraudwall_gated_queries_total', { decision: 'truncate' })).toBe(1);
    expect(samplesOf(text, 'fraudwall_gated_queries_total')).toHaveLength(3);
  });
});

describe('list gauges', () => {
  it('setLists replaces the per-list gauges: removed lists disappear, the generation follows', async () => {
    const metrics = new Metrics('x');
    metrics.setLists(
      [
        { name: 'fraud', category: 'phishing', entries: 120, skipped: 3, updatedAt: 1_700_000_000 },
        { name: 'ads', category: 'ads', entries: 5, skipped: 0, updatedAt: 1_700_000_100 },
      ],
      4,
    );
    let text = await scrape(metrics);
    expect(valueOf(text, 'fraudwall_blocklist_entries', { list: 'fraud', category: 'phishing' })).toBe(120);
    expect(valueOf(text, 'fraudwall_blocklist_skipped_lines', { list: 'fraud' })).toBe(3);
    expect(valueOf(text, 'fraudwall_blocklist_last_update_timestamp_seconds', { list: 'ads' })).toBe(1_700_000_100);
    expect(valueOf(text, 'fraudwall_blocklist_generation')).toBe(4);

    metrics.setLists([{ name: 'fraud', category: 'scam', entries: 7, skipped: 0, updatedAt: 1_700_000_200 }], 5);
    text = await scrape(metrics);
    expect(samplesOf(text, 'fraudwall_blocklist_entries').map((s) => [seriesKey(s), s.value])).toEqual([['category="scam",list="fraud"', 7]]);
    expect(samplesOf(text, 'fraudwall_blocklist_skipped_lines', { list: 'ads' })).toEqual([]);
    expect(valueOf(text, 'fraudwall_blocklist_generation')).toBe(5);
  });
});

describe('values read at scrape time', () => {
  it('cache, verdict cache, upstream state and ignored answers are read when scraped', async () => {
    const metrics = new Metrics('x');
    const cache = { hits: 0, misses: 0, stale: 0, prefetches: 0, entries: 0, bytes: 0 };
    const verdicts = { hits: 0, misses: 0, size: 0 };
    const upstreams = [{ upstream: '192.0.2.1:53', up: true, looping: false }];
    const ignored = [{ upstream: '192.0.2.1:53', mismatch: 0, late: 0 }];
    metrics.watchResponseCache(() => cache);
    metrics.watchVerdictCache(() => verdicts);
    metrics.watchUpstreams(() => upstreams);
    metrics.watchIgnoredAnswers(() => ignored);
    Object.assign(cache, { hits: 10, misses: 4, stale: 2, prefetches: 1, entries: 9, bytes: 4096 });
    Object.assign(verdicts, { hits: 7, misses: 3, size: 5 });
    upstreams[0] = { upstream: '192.0.2.1:53', up: false, looping: true };
    ignored[0] = { upstream: '192.0.2.1:53', mismatch: 6, late: 8 };
    const text = await scrape(metrics);
    expect(
      ['hits_total', 'misses_total', 'stale_answers_total', 'prefetches_total', 'entries', 'bytes'].map((suffix) => valueOf(text, `fraudwall_cache_${suffix}`)),
    ).toEqual([10, 4, 2, 1, 9, 4096]);
    expect(valueOf(text, 'fraudwall_verdict_cache_hits_total')).toBe(7);
    expect(valueOf(text, 'fraudwall_verdict_cache_misses_total')).toBe(3);
    expect(valueOf(text, 'fraudwall_verdict_cache_entries')).toBe(5);
    expect(valueOf(text, 'fraudwall_upstream_up', { upstream: '192.0.2.1:53' })).toBe(0);
    expect(valueOf(text, 'fraudwall_upstream_looping', { upstream: '192.0.2.1:53' })).toBe(1);
    expect(valueOf(text, 'fraudwall_upstream_ignored_answers_total', { upstream: '192.0.2.1:53', reason: 'mismatch' })).toBe(6);
    expect(valueOf(text, 'fraudwall_upstream_ignored_answers_total', { upstream: '192.0.2.1:53', reason: 'late' })).toBe(8);
  });
});

describe('bounded label sets, no names or addresses in labels', () => {
  /** Drives every counting method with all the variety traffic can bring. */
  function hammer(metrics: Metrics): void {
    for (let qtype = 0; qtype < 65536; qtype++) metrics.countQuery(qtype % 2 ? 'udp' : 'tcp', qtype);
    for (const source of SOURCES) for (let rcode = 0; rcode < 16; rcode++) metrics.countResponse(source, rcode, rcode / 1000);
    for (let qtype = 0; qtype < 300; qtype++) {
      metrics.countBlocked('fraud', 'phishing', qtype);
      metrics.countBlocked('team-allow', 'partners', qtype);
    }
    for (const reason of MALFORMED_REASONS) metrics.countMalformed(reason);
    for (const decision of ['refuse', 'drop', 'truncate']) metrics.countGated(decision);
    for (const failure of [...UPSTREAM_FAILURES, undefined]) metrics.observeUpstream('192.0.2.1:53', 0.01, failure);
  }

  it('series counts stay fixed whatever qtypes and rcodes arrive', async () => {
    const metrics = new Metrics('x');
    metrics.declareUpstreams(['192.0.2.1:53']);
    const before = await scrape(metrics);
    hammer(metrics);
    hammer(metrics);
    const after = await scrape(metrics);
    for (const name of ['fraudwall_queries_total', 'fraudwall_responses_total', 'fraudwall_query_duration_seconds_bucket', 'fraudwall_upstream_errors_total']) {
      expect(samplesOf(after, name).length, name).toBe(samplesOf(before, name).length);
    }
    // Blocked: at most one series per list and qtype label.
    expect(samplesOf(after, 'fraudwall_blocked_total')).toHaveLength(2 * QTYPE_NAMES.length);
  });

  it('every label value of a fraudwall metric is a fixed word or a configured name', async () => {
    const metrics = new Metrics('9.9.9');
    metrics.declareUpstreams(['192.0.2.1:53']);
    metrics.setLists([{ name: 'fraud', category: 'phishing', entries: 1, skipped: 0, updatedAt: 0 }], 2);
    metrics.listUpdates.labels('api', 'accepted').inc();
    metrics.urlListRefreshes.labels('fraud', 'updated').inc();
    hammer(metrics);
    const configured = new Set(['fraud', 'phishing', 'team-allow', 'partners', '192.0.2.1:53', '9.9.9', 'api', 'accepted', 'updated']);
    const fixed = new Set<string>([
      ...QTYPE_NAMES,
      ...RCODE_NAMES,
      ...TRANSPORTS,
      ...SOURCES,
      ...UPSTREAM_FAILURES,
      ...MALFORMED_REASONS,
      ...VERDICT_REASONS,
      'refuse',
      'drop',
      'truncate',
      'missing',
      'wrong',
      'rate-limited',
      'disabled',
      ...LATENCY_BUCKETS.map(String),
      '+Inf',
    ]);
    const text = await scrape(metrics);
    const unexpected = text.samples
      .filter((s) => s.name.startsWith('fraudwall_'))
      .flatMap((s) =>
        Object.entries(s.labels)
          .filter(([, value]) => !fixed.has(value) && !configured.has(value))
          .map(([label, value]) => `${s.name}{${label}="${value}"}`),
      );
    expect(unexpected).toEqual([]);
    // And the label names are the documented ones.
    const labelNames = new Set(text.samples.filter((s) => s.name.startsWith('fraudwall_')).flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].sort()).toEqual(['category', 'decision', 'le', 'list', 'qtype', 'rcode', 'reason', 'result', 'source', 'transport', 'upstream', 'version']);
  });
});
