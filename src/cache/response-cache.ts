import { LRUCache } from 'lru-cache';
import { FLAG_CD, FLAG_RD, FLAG_TC, HEADER_SIZE, Rcode, type ParsedQuery } from '../dns/wire.js';
import { layoutOf } from './answer-layout.js';

export interface ResponseCacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** TTL clamps in seconds: an answer is kept at least minTtl and at most maxTtl. */
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly maxNegativeTtl: number;
  /** How long past expiry an entry may still be served stale (RFC 8767); 0 disables serve-stale. */
  readonly staleSeconds: number;
}

/**
 * A stored answer, packed into one Latin-1 string: the message without its OPT record
 * (`length` bytes), then per TTL field 6 bytes: its offset (16 bits) and the original TTL (32 bits).
 * One string per entry costs a fraction of a Buffer plus a typed array (each a JS object with its
 * own backing store), which is what bounds how many answers fit in --cache-max-bytes honestly.
 */
export interface CacheEntry {
  readonly data: string;
  readonly length: number;
  readonly arcountWithoutOpt: number;
  readonly storedAt: number;
  /** Seconds the entry is fresh. */
  readonly ttl: number;
  hits: number;
  prefetching: boolean;
}

export interface CacheLookup {
  readonly entry: CacheEntry;
  /** Whole seconds since the entry was stored. */
  readonly age: number;
  readonly fresh: boolean;
}

/** TTL of a stale answer (RFC 8767 §4 recommends 30 s). */
export const STALE_TTL = 30;

/**
 * Per-entry overhead counted against maxBytes besides the packed data: the entry object, the
 * string header, the key string and lru-cache's bookkeeping (measured at 300–400 bytes; rounded up).
 */
const ENTRY_OVERHEAD = 400;
const TTL_FIELD_BYTES = 6;

export interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
  prefetches: number;
  inserts: number;
}

/**
 * The response cache: upstream answers keyed by name, type, class and the DO and CD bits, bounded
 * by entries and bytes (lru-cache). A hit is rendered by copying the stored bytes and patching
 * them in place — client ID, client question (its 0x20 case), RD bit, TTLs decremented by age —
 * and appending the client's own OPT record, never the cached one (NSID, COOKIE, padding and EDE
 * are per hop; a client without EDNS gets none).
 */
export class ResponseCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  readonly stats: CacheStats = { hits: 0, misses: 0, stale: 0, prefetches: 0, inserts: 0 };

  constructor(private readonly options: ResponseCacheOptions) {
    this.lru = new LRUCache<string, CacheEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => entry.data.length + ENTRY_OVERHEAD,
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  static key(query: ParsedQuery): string {
    const dnssecOk = query.edns?.dnssecOk ? 1 : 0;
    const checkingDisabled = (query.flags & FLAG_CD) !== 0 ? 1 : 0;
    return `${query.name}\u0000${query.type}\u0000${query.qclass}\u0000${dnssecOk}${checkingDisabled}`;
  }

  lookup(key: string, now: number): CacheLookup | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) {
      this.stats.misses++;
      return undefined;
    }
    const age = Math.floor((now - entry.storedAt) / 1000);
    if (age >= entry.ttl + this.options.staleSeconds) {
      this.lru.delete(key);
      this.stats.misses++;
      return undefined;
    }
    const fresh = age < entry.ttl;
    if (fresh) {
      this.stats.hits++;
      entry.hits++;
    } else {
      this.stats.misses++;
    }
    return { entry, age, fresh };
  }

  /** Stores an upstream answer if it is cacheable; returns whether it was stored. */
  store(key: string, answer: Buffer, now: number): boolean {
    if (answer.length < HEADER_SIZE) return false;
    const flags = answer.readUInt16BE(2);
    const rcode = flags & 0xf;
    if ((flags & FLAG_TC) !== 0 || (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN)) return false;
    const layout = layoutOf(answer);
    if (layout === undefined) return false;
    let ttl: number;
    if (rcode === Rcode.NOERROR && layout.answerCount > 0 && layout.minAnswerTtl !== undefined) {
      ttl = Math.min(Math.max(layout.minAnswerTtl, this.options.minTtl), this.options.maxTtl);
    } else if (layout.negativeTtl !== undefined) {
      // NXDOMAIN or NODATA: RFC 2308 §5, bounded by our own ceiling for negative answers.
      ttl = Math.min(Math.max(layout.negativeTtl, this.options.minTtl), this.options.maxNegativeTtl);
    } else {
      return false; // a negative answer without SOA says nothing about how long it holds
    }
    if (ttl <= 0) return false;

    const [optStart, optEnd] = layout.opt ?? [answer.length, answer.length];
    const length = answer.length - (optEnd - optStart);
    const packed = Buffer.allocUnsafe(length + layout.ttlOffsets.length * TTL_FIELD_BYTES);
    answer.copy(packed, 0, 0, optStart);
    answer.copy(packed, optStart, optEnd);
    let at = length;
    for (const offset of layout.ttlOffsets) {
      const shifted = offset > optStart ? offset - (optEnd - optStart) : offset;
      at = packed.writeUInt16BE(shifted, at);
      at = packed.writeUInt32BE(packed.readUInt32BE(shifted), at);
    }
    const arcount = answer.readUInt16BE(10) - (layout.opt ? 1 : 0);
    const data = packed.toString('latin1');
    this.lru.set(key, { data, length, arcountWithoutOpt: arcount, storedAt: now, ttl, hits: 0, prefetching: false });
    this.stats.inserts++;
    return true;
  }

  /**
   * The answer for `query` from `lookup`, in the client's terms. `opt` is the OPT record for the
   * client (undefined when it sent no EDNS); `stale` renders every TTL as STALE_TTL.
   */
  render(lookup: CacheLookup, packet: Buffer, query: ParsedQuery, opt: Buffer | undefined, stale: boolean): Buffer {
    const { entry, age } = lookup;
    const { data, length } = entry;
    const out = Buffer.allocUnsafe(length + (opt?.length ?? 0));
    out.write(data, 0, length, 'latin1');
    out.writeUInt16BE(query.id, 0);
    out.writeUInt16BE((out.readUInt16BE(2) & ~FLAG_RD) | (query.flags & FLAG_RD), 2);
    packet.copy(out, HEADER_SIZE, HEADER_SIZE, query.questionEnd);
    for (let at = length; at < data.length; at += TTL_FIELD_BYTES) {
      const offset = (data.charCodeAt(at) << 8) | data.charCodeAt(at + 1);
      const original =
        data.charCodeAt(at + 2) * 0x1000000 + ((data.charCodeAt(at + 3) << 16) | (data.charCodeAt(at + 4) << 8) | data.charCodeAt(at + 5));
      const remaining = Math.min(original, entry.ttl) - age;
      out.writeUInt32BE(stale ? STALE_TTL : remaining > 0 ? remaining : 0, offset);
    }
    out.writeUInt16BE(entry.arcountWithoutOpt + (opt ? 1 : 0), 10);
    if (opt) opt.copy(out, length);
    return out;
  }

  /** Seconds of freshness left, for prefetch decisions. */
  remaining(lookup: CacheLookup): number {
    return lookup.entry.ttl - lookup.age;
  }
}
