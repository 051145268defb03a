/**
 * FastCounter, FastHistogram and ReadCounter as prom-client's Registry renders them: the exposition
 * text is read back with a strict parser, histogram buckets are cumulative with `le` inclusive, series
 * keep their values as the typed arrays grow, and the cluster aggregation (sum) adds processes up.
 */
import { AggregatorRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram, ReadCounter } from '../../src/metrics/fast-metrics.js';
import { parseExposition, samplesOf, valueOf, type Exposition } from './exposition.js';

type AnyMetric = FastCounter | FastHistogram | ReadCounter;

async function render(...metrics: AnyMetric[]): Promise<Exposition> {
  const registry = new Registry();
  for (const metric of metrics) registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return parseExposition(await registry.metrics());
}

describe('FastCounter', () => {
  it('renders HELP, TYPE and one sample per series, created at 0', async () => {
    const counter = new FastCounter('test_queries_total', 'Queries, by transport.');
    const udp = counter.series({ transport: 'udp' });
    counter.series({ transport: 'tcp' });
    counter.inc(udp);
    counter.inc(udp, 2.5);
    const text = await render(counter);
    expect(text.help.get('test_queries_total')).toBe('Queries, by transport.');
    expect(text.type.get('test_queries_total')).toBe('counter');
    expect(samplesOf(text, 'test_queries_total')).toEqual([
      { name: 'test_queries_total', labels: { transport: 'udp' }, value: 3.5 },
      { name: 'test_queries_total', labels: { transport: 'tcp' }, value: 0 },
    ]);
  });

  it('the same labels give the same series, even from another object', () => {
    const counter = new FastCounter('c_total', 'c');
    const a = counter.series({ list: 'fraud', qtype: 'A' });
    expect(counter.series({ list: 'fraud', qtype: 'A' })).toBe(a);
    expect(counter.series({ list: 'fraud', qtype: 'AAAA' })).not.toBe(a);
    expect(counter.series({ list: 'other', qtype: 'A' })).not.toBe(a);
    counter.inc(a, 4);
    expect(counter.value(counter.series({ list: 'fraud', qtype: 'A' }))).toBe(4);
  });

  it('a counter without series renders no samples', async () => {
    const text = await render(new FastCounter('empty_total', 'e'));
    expect(samplesOf(text, 'empty_total')).toEqual([]);
  });

  it('keeps every value as series grow past the initial capacity', async () => {
    const counter = new FastCounter('many_total', 'm');
    const series = Array.from({ length: 100 }, (_, i) => counter.series({ n: String(i) }));
    series.forEach((s, i) => counter.inc(s, i + 1));
    // Series created later (after the arrays grew) still add to the right place.
    counter.inc(series[0]!, 1000);
    const text = await render(counter);
    expect(samplesOf(text, 'many_total')).toHaveLength(100);
    for (let i = 1; i < 100; i++) expect(valueOf(text, 'many_total', { n: String(i) })).toBe(i + 1);
    expect(valueOf(text, 'many_total', { n: '0' })).toBe(1001);
  });

  it('escapes label values as the format requires', async () => {
    const counter = new FastCounter('esc_total', 'e');
    counter.inc(counter.series({ v: 'a"b\\c\nd' }));
    const text = await render(counter);
    expect(samplesOf(text, 'esc_total')[0]!.labels['v']).toBe('a"b\\c\nd');
  });
});

describe('FastHistogram', () => {
  const BOUNDS = [0.001, 0.01, 0.1, 1];

  it('renders cumulative buckets with le inclusive, +Inf, _sum and _count', async () => {
    const histogram = new FastHistogram('test_duration_seconds', 'Durations.', BOUNDS);
    const s = histogram.series({ source: 'cache' });
    for (const value of [0.0005, 0.001, 0.002, 0.01, 0.5, 1, 7]) histogram.observe(s, value);
    const text = await render(histogram);
    expect(text.type.get('test_duration_seconds')).toBe('histogram');
    expect(samplesOf(text, 'test_duration_seconds_bucket').map((b) => [b.labels['le'], b.labels['source'], b.value])).toEqual([
      ['0.001', 'cache', 2], // 0.0005 and exactly 0.001
      ['0.01', 'cache', 4],
      ['0.1', 'cache', 4],
      ['1', 'cache', 6],
      ['+Inf', 'cache', 7],
    ]);
    expect(valueOf(text, 'test_duration_seconds_sum', { source: 'cache' })).toBeCloseTo(0.0005 + 0.001 + 0.002 + 0.01 + 0.5 + 1 + 7, 12);
    expect(valueOf(text, 'test_duration_seconds_count', { source: 'cache' })).toBe(7);
  });

  it('keeps series apart and a new series starts empty', async () => {
    const histogram = new FastHistogram('h_seconds', 'h', BOUNDS);
    const a = histogram.series({ source: 'a' });
    const b = histogram.series({ source: 'b' });
    histogram.observe(a, 0.05);
    histogram.series({ source: 'c' });
    const text = await render(histogram);
    expect(valueOf(text, 'h_seconds_count', { source: 'a' })).toBe(1);
    expect(valueOf(text, 'h_seconds_count', { source: 'b' })).toBe(0);
    expect(valueOf(text, 'h_seconds_count', { source: 'c' })).toBe(0);
    expect(samplesOf(text, 'h_seconds_bucket', { source: 'b' }).map((s) => s.value)).toEqual([0, 0, 0, 0, 0]);
    expect(histogram.series({ source: 'b' })).toBe(b);
  });

  it('keeps every series intact as the arrays grow past the initial capacity', async () => {
    const histogram = new FastHistogram('grow_seconds', 'g', BOUNDS);
    const series = Array.from({ length: 40 }, (_, i) => histogram.series({ n: String(i) }));
    series.forEach((s, i) => {
      for (let k = 0; k <= i; k++) histogram.observe(s, 0.05);
    });
    const text = await render(histogram);
    for (let i = 0; i < 40; i++) {
      expect(valueOf(text, 'grow_seconds_count', { n: String(i) })).toBe(i + 1);
      expect(valueOf(text, 'grow_seconds_bucket', { n: String(i), le: '0.01' })).toBe(0);
      expect(valueOf(text, 'grow_seconds_bucket', { n: String(i), le: '0.1' })).toBe(i + 1);
    }
  });

  it('every bucket series is non-decreasing and ends at _count', async () => {
    const histogram = new FastHistogram('mono_seconds', 'm', [0.00005, 0.0001, 0.001, 0.1, 2.5, 5]);
    const s = histogram.series({});
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      histogram.observe(s, (seed / 2 ** 31) ** 4 * 10);
    }
    const text = await render(histogram);
    const buckets = samplesOf(text, 'mono_seconds_bucket').map((b) => b.value);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(500);
    expect(valueOf(text, 'mono_seconds_count')).toBe(500);
  });
});

describe('ReadCounter', () => {
  it('reads its values at scrape time, not at registration', async () => {
    let hits = 1;
    const counter = new ReadCounter('read_hits_total', 'Hits.', () => [{ labels: {}, value: hits }]);
    const registry = new Registry();
    registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
    hits = 5;
    expect(valueOf(parseExposition(await registry.metrics()), 'read_hits_total')).toBe(5);
    hits = 8;
    expect(valueOf(parseExposition(await registry.metrics()), 'read_hits_total')).toBe(8);
  });
});

describe('cluster aggregation', () => {
  it('sums counters and histogram buckets of several processes series by series', async () => {
    const processes = [0, 1, 2].map((p) => {
      const counter = new FastCounter('agg_total', 'a');
      const histogram = new FastHistogram('agg_seconds', 'h', [0.1, 1]);
      // Series created in different orders in different processes must still line up by labels.
      const labels = p === 1 ? ['tcp', 'udp'] : ['udp', 'tcp'];
      const series = Object.fromEntries(labels.map((transport) => [transport, counter.series({ transport })]));
      counter.inc(series['udp']!, p + 1);
      counter.inc(series['tcp']!, 10 * (p + 1));
      histogram.observe(histogram.series({ source: 'x' }), p === 0 ? 0.05 : 5);
      const registry = new Registry();
      for (const metric of [counter, histogram]) registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
      return registry;
    });
    const aggregated = AggregatorRegistry.aggregate(await Promise.all(processes.map((r) => r.getMetricsAsJSON())));
    const text = parseExposition(await aggregated.metrics());
    expect(valueOf(text, 'agg_total', { transport: 'udp' })).toBe(6);
    expect(valueOf(text, 'agg_total', { transport: 'tcp' })).toBe(60);
    expect(samplesOf(text, 'agg_seconds_bucket').map((b) => [b.labels['le'], b.value])).toEqual([
      ['0.1', 1],
      ['1', 1],
      ['+Inf', 3],
    ]);
    expect(valueOf(text, 'agg_seconds_count')).toBe(3);
    expect(valueOf(text, 'agg_seconds_sum')).toBeCloseTo(10.05, 10);
  });
});
