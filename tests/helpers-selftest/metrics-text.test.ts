import { describe, expect, it } from 'vitest';
import { metricByLabel, metricSum, metricValue, parseSamples, sampleNames } from '../helpers/metrics-text.js';

const TEXT = [
  '# HELP fraudwall_blocked_total Blocked queries.',
  '# TYPE fraudwall_blocked_total counter',
  'fraudwall_blocked_total{list="fraud",category="phishing",qtype="A"} 3',
  'fraudwall_blocked_total{list="fraud",category="phishing",qtype="AAAA"} 2',
  'fraudwall_blocked_total{list="casino",category="gambling",qtype="A"} 5',
  'fraudwall_blocklist_generation 7',
  'fraudwall_query_duration_seconds_bucket{le="+Inf",source="blocked"} 4',
  'fraudwall_query_duration_seconds_count{source="blocked"} 4',
  'fraudwall_odd{note="a \\"quoted\\" } brace",list="x"} 1.5',
  '',
].join('\n');

describe('metrics-text', () => {
  it('parses sample lines with their labels, escaped quotes and +Inf included', () => {
    const samples = parseSamples(TEXT);
    expect(samples).toHaveLength(7);
    expect(samples[0]).toEqual({ name: 'fraudwall_blocked_total', labels: { list: 'fraud', category: 'phishing', qtype: 'A' }, value: 3 });
    expect(samples[4]!.labels).toEqual({ le: '+Inf', source: 'blocked' });
    expect(samples[6]).toEqual({ name: 'fraudwall_odd', labels: { note: 'a \\"quoted\\" } brace', list: 'x' }, value: 1.5 });
  });

  it('reads one series as exposed, 0 when absent', () => {
    expect(metricValue(TEXT, 'fraudwall_blocklist_generation')).toBe(7);
    expect(metricValue(TEXT, 'fraudwall_blocked_total{list="casino",category="gambling",qtype="A"}')).toBe(5);
    expect(metricValue(TEXT, 'fraudwall_blocked_total{list="nope"}')).toBe(0);
  });

  it('sums a metric over all label sets or those matching some labels', () => {
    expect(metricSum(TEXT, 'fraudwall_blocked_total')).toBe(10);
    expect(metricSum(TEXT, 'fraudwall_blocked_total', { list: 'fraud', category: 'phishing' })).toBe(5);
    expect(metricSum(TEXT, 'fraudwall_blocked_total', { list: 'none' })).toBe(0);
    expect(metricSum(TEXT, 'fraudwall_query_duration_seconds_count')).toBe(4);
  });

  it('sums by one label, and names every sample', () => {
    expect(metricByLabel(TEXT, 'fraudwall_blocked_total', 'list')).toEqual(new Map([['fraud', 5], ['casino', 5]]));
    expect(sampleNames(TEXT)).toEqual(
      new Set(['fraudwall_blocked_total', 'fraudwall_blocklist_generation', 'fraudwall_query_duration_seconds_bucket', 'fraudwall_query_duration_seconds_count', 'fraudwall_odd']),
    );
  });
});
