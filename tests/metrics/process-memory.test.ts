import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { watchProcessMemory, type MemorySources } from '../../src/metrics/process-memory.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';

async function values(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name.startsWith('fraudwall_')) out.set(metric.name, (metric.values[0]?.value as number | undefined) ?? Number.NaN);
  }
  return out;
}

describe('process memory gauges', () => {
  it('split the process memory and read fraudwall’s structures at scrape time', async () => {
    const registry = new Registry();
    const sources: MemorySources = {};
    watchProcessMemory(registry, sources);
    let got = await values(registry);
    const rss = got.get('fraudwall_process_resident_memory_bytes')!;
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(got.get('fraudwall_process_peak_resident_memory_bytes')).toBeGreaterThanOrEqual(rss * 0.9);
    // The node binary's own pages: megabytes of code, but less than the whole RSS.
    expect(got.get('fraudwall_process_resident_file_bytes')).toBeGreaterThan(1024 * 1024);
    expect(got.get('fraudwall_process_resident_file_bytes')).toBeLessThan(rss);
    expect(got.get('fraudwall_process_heap_used_bytes')).toBeGreaterThan(0);
    expect(got.get('fraudwall_process_heap_total_bytes')).toBeGreaterThanOrEqual(got.get('fraudwall_process_heap_used_bytes')!);
    expect(got.get('fraudwall_process_external_memory_bytes')).toBeGreaterThanOrEqual(got.get('fraudwall_process_array_buffers_bytes')!);
    expect(got.get('fraudwall_policy_memory_bytes')).toBe(0);
    sources.policyBytes = () => 1234;
    sources.responseCacheBytes = () => 5678;
    got = await values(registry);
    expect(got.get('fraudwall_policy_memory_bytes')).toBe(1234);
    expect(got.get('fraudwall_cache_memory_bytes')).toBe(5678);
  });

  it('are on the Metrics registry, with the verdict cache’s bytes once it is watched', async () => {
    const metrics = new Metrics('test');
    const cache = new VerdictCache({ verdictCacheSize: 1000 });
    metrics.watchVerdictCache(() => cache);
    const got = await values(metrics.registry);
    expect(got.get('fraudwall_verdict_cache_memory_bytes')).toBe(cache.bytes);
    expect(cache.bytes).toBeGreaterThan(1000 * 64);
    expect(got.has('fraudwall_process_resident_memory_bytes')).toBe(true);
  });
});
