// Bounded LRU of verdicts per query name. Each entry carries the policy generation it was computed
// under, so a reload invalidates the whole cache in O(1) (no clear, no sweep) and can never serve a
// verdict from an older policy.
import { LRUCache } from 'lru-cache';
import { PolicyError } from './policy-error.js';
import type { Verdict } from '../query/rule.js';

/** Wrapped so the stored value is never undefined (lru-cache cannot store it). */
interface CacheEntry {
  readonly generation: number;
  readonly verdict: Verdict;
}

export interface VerdictCacheOptions {
  /** Maximum number of names kept; default 100_000. */
  max?: number;
}

export class VerdictCache {
  hits = 0;
  misses = 0;
  private readonly lru: LRUCache<string, CacheEntry>;

  constructor(options: VerdictCacheOptions = {}) {
    const max = options.max ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new PolicyError('E_CACHE_SIZE', `verdict cache size must be a positive integer, got ${max}: fix the cache size setting`);
    }
    this.lru = new LRUCache<string, CacheEntry>({ max });
  }

  get size(): number {
    return this.lru.size;
  }

  /** The verdict cached for `name` under exactly this generation; anything else is a miss. */
  get(name: string, generation: number): Verdict | undefined {
    const entry = this.lru.get(name);
    if (entry === undefined || entry.generation !== generation) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.verdict;
  }

  set(name: string, generation: number, verdict: Verdict): void {
    // A caller that computed its verdict before a reload must not overwrite the newer one.
    const current = this.lru.peek(name);
    if (current !== undefined && current.generation > generation) return;
    this.lru.set(name, { generation, verdict });
  }
}
