// Where the process's memory goes, as gauges read at scrape time: the process as the kernel sees it
// (RSS now and at its peak), V8's split (heap used and reserved, external memory, ArrayBuffers),
// and what fraudwall's own large structures hold (the policy's tables, the response cache's
// segments and index, the verdict cache's arrays). Nothing here costs anything per query.
//
// RSS ≈ the node binary's resident pages (resident_file) + heap total + V8's pooled pages (freed
// by a full GC, kept resident until a memory-reducing GC; not in heap total) + malloc + (the part of
// external/arrayBuffers that was touched). The
// policy's and the caches' bytes are outside the V8 heap (typed arrays and Buffers), so they show
// up in `external`/`arrayBuffers`, not in heap used; the policy reserves address space beyond its
// data (see policy/typed-memory.ts), so compare its figure with RSS, not with `external`.
//
// No label carries a domain or an address; with --workers every gauge is summed over the processes.
import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/**
 * Resident bytes backed by files (Linux `RssFile`: the node binary's code and read-only data,
 * shared libraries): part of RSS that no setting of fraudwall changes. 0 where /proc is missing.
 */
function residentFileBytes(): number {
  try {
    const match = /^RssFile:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Readers for fraudwall's own structures; each may be left out (or set later) and then reads 0. */
export interface MemorySources {
  /** Bytes of the policy in effect (matcher tables and the lists' packed storage). */
  policyBytes?: () => number;
  /** Memory the response cache has taken: segments allocated plus its index (≤ --cache-max-bytes). */
  responseCacheBytes?: () => number;
  /** Bytes of the verdict cache's arrays. */
  verdictCacheBytes?: () => number;
}

/**
 * Registers the fraudwall_process_* gauges and the per-structure memory gauges on `registry`.
 * `sources` is read at every scrape, so its fields can be filled in after registration.
 */
export function watchProcessMemory(registry: Registry, sources: MemorySources = {}): void {
  const registers = [registry];
  let sample: NodeJS.MemoryUsage | undefined;
  let sampledAt = -Infinity;
  // One process.memoryUsage() per scrape, shared by the gauges below (it walks the heap spaces).
  const usage = (): NodeJS.MemoryUsage => {
    const now = performance.now();
    if (sample === undefined || now - sampledAt > 100) {
      sample = process.memoryUsage();
      sampledAt = now;
    }
    return sample;
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge('fraudwall_process_resident_memory_bytes', 'Resident set size of this process (with --workers: summed over the processes).', () => process.memoryUsage.rss());
  gauge(
    'fraudwall_process_peak_resident_memory_bytes',
    'Highest resident set size this process has had (getrusage maxrss; with --workers: the sum of each process’s own peak).',
    () => process.resourceUsage().maxRSS * 1024,
  );
  gauge(
    'fraudwall_process_resident_file_bytes',
    'Part of the resident set backed by files: the node binary’s code and data and shared libraries (RSS minus this is the process’s own memory).',
    residentFileBytes,
  );
  gauge('fraudwall_process_heap_used_bytes', 'V8 heap in use by JS objects (the caches keep their entries outside it).', () => usage().heapUsed);
  gauge('fraudwall_process_heap_total_bytes', 'V8 heap reserved (used plus free space the collector keeps).', () => usage().heapTotal);
  gauge(
    'fraudwall_process_external_memory_bytes',
    'Memory outside the V8 heap owned by JS objects: Buffers and typed arrays (policy, caches, sockets).',
    () => usage().external,
  );
  gauge('fraudwall_process_array_buffers_bytes', 'Part of external memory held by ArrayBuffers and Buffers.', () => usage().arrayBuffers);
  gauge('fraudwall_policy_memory_bytes', 'Bytes of the policy in effect: matcher tables plus the lists’ packed names.', () => sources.policyBytes?.() ?? 0);
  gauge('fraudwall_cache_memory_bytes', 'Memory the response cache has taken (segments allocated plus index), bounded by --cache-max-bytes.', () => sources.responseCacheBytes?.() ?? 0);
  gauge('fraudwall_verdict_cache_memory_bytes', 'Bytes of the verdict cache’s arrays (fixed by --verdict-cache-size).', () => sources.verdictCacheBytes?.() ?? 0);
}
