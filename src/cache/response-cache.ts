import { FLAG_CD, FLAG_RD, FLAG_TC, HEADER_SIZE, Rcode, type ParsedQuery } from '../dns/wire.js';
import { layoutOf } from './answer-layout.js';
import type { Config } from '../config/options.js';
import { hashFinish, hashStart, hashStep, seededHash } from '../seeded-hash.js';

/**
 * The cache's section of the settings: cache-size, cache-max-bytes, the TTL clamps cache-min-ttl,
 * cache-max-ttl and cache-max-negative-ttl, and serve-stale-seconds (0 disables serve-stale).
 */
export type ResponseCacheOptions = Pick<
  Config,
  'cacheSize' | 'cacheMaxBytes' | 'cacheMinTtl' | 'cacheMaxTtl' | 'cacheMaxNegativeTtl' | 'serveStaleSeconds'
>;

/** For tests: a hash to force collisions, a segment size to make eviction visible with few entries. */
export interface ResponseCacheInternals {
  readonly hash?: (key: string) => number;
  readonly segmentBytes?: number;
}

/**
 * One cached answer as found by `lookup`: where its bytes are and what is needed to render it.
 * A fresh lookup points into the cache's own memory and is valid until the next `store` (render it
 * at once); a stale one carries a private copy, so it can be rendered after waiting for an upstream.
 */
export interface CacheLookup {
  /** Whole seconds since the entry was stored. */
  readonly age: number;
  readonly fresh: boolean;
  /** Seconds the entry is fresh. */
  readonly ttl: number;
  /** Fresh hits of the entry so far (including this one). */
  readonly hits: number;
  /** Holds the message without OPT at [start, start + length), then 6 bytes per TTL field (offset u16, TTL u32). */
  readonly buf: Buffer;
  readonly start: number;
  readonly length: number;
  readonly ttlFields: number;
  readonly arcountWithoutOpt: number;
  /** Policy generation the answer was last judged under by answer inspection (0: never). */
  readonly judged: number;
  /** Offset of the record in `buf` for a fresh lookup (see markJudged); -1 for a stale copy. */
  readonly record: number;
}

/** TTL of a stale answer (RFC 8767 §4 recommends 30 s). */
export const STALE_TTL = 30;

export interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
  prefetches: number;
  inserts: number;
}

const TTL_FIELD_BYTES = 6;

// A record in a segment: a 32-byte header, the key (Latin-1), the message without OPT, its TTL fields.
const R_SIZE = 0; // u32 whole record
const R_HASH = 4; // u32
const R_FLAGS = 8; // u8
const R_KEYLEN = 10; // u16
const R_DATALEN = 12; // u16
const R_TTLFIELDS = 14; // u16
const R_ARCOUNT = 16; // u16
const R_HITS = 18; // u16, saturating
const R_TTL = 20; // u32
const R_STORED = 24; // f64, ms on the clock of the caller of store() and lookup()
const R_JUDGED = 32; // u32, policy generation answer inspection last judged the answer under (0 = never)
const R_HEADER = 36;
/** Character codes after the name in a key (see ResponseCache.key). */
const KEY_TRAILER = 6;
const LIVE = 1;
const REFERENCED = 2;

/** Segments an arena is cut into: eviction frees (or compacts) one at a time. */
const SEGMENTS = 64;
const MIN_SEGMENT = 16 * 1024;
/** Entries one sweep of the entry bound frees at most (see makeRoom). */
const EVICTION_BATCH = 64;
/** Index slots per entry at most 0.7 full; a bound of bytes per entry keeps the index a fraction of cacheMaxBytes. */
const MAX_LOAD = 0.7;
const MIN_BYTES_PER_ENTRY = 128;
const INDEX_BYTES_PER_SLOT = 12;

/** The DO and CD bits of a query: answers differ with them, so they are part of the key. */
function keyBits(query: ParsedQuery): number {
  return (query.edns?.dnssecOk ? 1 : 0) | ((query.flags & FLAG_CD) !== 0 ? 2 : 0);
}

/**
 * seededHash(ResponseCache.key(query)), computed without the string: the question's identity for
 * the cache and for the questions in flight (resolver/in-flight-questions.ts).
 */
export function questionHash(query: ParsedQuery): number {
  const name = query.name;
  let h = hashStart(name.length + KEY_TRAILER);
  for (let i = 0; i < name.length; i++) h = hashStep(h, name.charCodeAt(i));
  const { type, qclass } = query;
  h = hashStep(hashStep(hashStep(h, 0), type >>> 8), type & 0xff);
  h = hashStep(hashStep(h, qclass >>> 8), qclass & 0xff);
  return hashFinish(hashStep(h, keyBits(query)));
}

/**
 * The response cache: upstream answers keyed by name, type, class and the DO and CD bits, bounded
 * by entries and by bytes. A hit is rendered by copying the stored bytes and patching them in
 * place — client ID, client question (its 0x20 case), RD bit, TTLs decremented by age — and
 * appending the client's own OPT record, never the cached one (NSID, COOKIE, padding and EDE are
 * per hop; a client without EDNS gets none).
 *
 * Memory: nothing per entry lives on the JS heap. Answers sit in up to 64 preallocated segments
 * (Buffers allocated when first needed) as records written back to back; an open-addressing index
 * in typed arrays maps the key's hash to a record, and a hit compares the whole key, so a hash
 * collision is only a longer probe. Index and segments together never exceed cacheMaxBytes, so
 * --cache-max-bytes bounds real memory. Eviction is FIFO by segment with a second chance: when a
 * segment is reused, records hit since it was last reused (and not expired) are compacted to its
 * front and stay; the rest are dropped.
 */
export class ResponseCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, stale: 0, prefetches: 0, inserts: 0 };
  private readonly hash: (key: string) => number;
  private readonly maxCount: number;
  private readonly mask: number;
  /** Segment + 1 of the record a slot points to; 0 = empty (so the index is not written before use). */
  private readonly slotSeg: Int32Array;
  private readonly slotOff: Uint32Array;
  private readonly slotHash: Uint32Array;
  private readonly segmentBytes: number;
  private readonly segments: (Buffer | undefined)[];
  private readonly used: Uint32Array;
  /** Where the next sweep of a segment starts: records before it survived the sweep in progress. */
  private readonly sweepFrom: Uint32Array;
  /** In-use segments, oldest first (a ring). */
  private readonly order: Int32Array;
  private orderHead = 0;
  private orderLength = 0;
  private readonly free: Int32Array;
  private freeCount = 0;
  private write = -1;
  private count = 0;
  private liveBytes = 0;
  private readonly indexBytes: number;

  constructor(private readonly options: ResponseCacheOptions, internals: ResponseCacheInternals = {}) {
    this.hash = internals.hash ?? seededHash;
    this.maxCount = Math.max(1, Math.min(options.cacheSize, Math.floor(options.cacheMaxBytes / MIN_BYTES_PER_ENTRY)));
    let slots = 8;
    while (slots * MAX_LOAD < this.maxCount) slots *= 2;
    this.mask = slots - 1;
    this.slotSeg = new Int32Array(slots);
    this.slotOff = new Uint32Array(slots);
    this.slotHash = new Uint32Array(slots);
    this.indexBytes = slots * INDEX_BYTES_PER_SLOT;
    // Segments of at least MIN_SEGMENT, unless the whole bound is smaller: the bound always wins
    // (an answer larger than a segment is simply not cached).
    const arena = Math.max(0, options.cacheMaxBytes - this.indexBytes);
    this.segmentBytes = internals.segmentBytes ?? Math.max(Math.min(MIN_SEGMENT, arena), Math.floor(arena / SEGMENTS));
    const segmentCount = this.segmentBytes > 0 ? Math.max(1, Math.floor(arena / this.segmentBytes)) : 1;
    this.segments = new Array<Buffer | undefined>(segmentCount).fill(undefined);
    this.used = new Uint32Array(segmentCount);
    this.sweepFrom = new Uint32Array(segmentCount);
    this.order = new Int32Array(segmentCount);
    this.free = new Int32Array(segmentCount);
    for (let s = segmentCount - 1; s >= 0; s--) this.free[this.freeCount++] = s;
  }

  /** Answers held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the answers held (their records) plus the index. */
  get bytes(): number {
    return this.liveBytes + this.indexBytes;
  }

  /** Memory the cache has taken so far: the segments allocated and the index (never more than cacheMaxBytes). */
  get reservedBytes(): number {
    let allocated = 0;
    for (const segment of this.segments) if (segment !== undefined) allocated += segment.length;
    return allocated + this.indexBytes;
  }

  /**
   * The key a record stores: the name (Latin-1: wire.ts reads names byte for byte), then a fixed
   * trailer of KEY_TRAILER character codes: 0, type, class (two bytes each), the DO and CD bits.
   * `lookupQuery` finds a record by the same bytes and hash without building this string.
   */
  static key(query: ParsedQuery): string {
    const { type, qclass } = query;
    return query.name + String.fromCharCode(0, type >>> 8, type & 0xff, qclass >>> 8, qclass & 0xff, keyBits(query));
  }

  /**
   * `lookup(ResponseCache.key(query), now)` without the key string: a hit, which is most queries,
   * allocates nothing to find its record.
   */
  lookupQuery(query: ParsedQuery, now: number): CacheLookup | undefined {
    if (this.hash !== seededHash) return this.lookup(ResponseCache.key(query), now);
    return this.found(this.findQuery(query, questionHash(query)), now);
  }

  lookup(key: string, now: number): CacheLookup | undefined {
    const hash = this.hash(key);
    return this.found(hash < 0 ? -1 : this.find(key, hash >>> 0), now);
  }

  /** The entry at index `slot` (-1: none) as a lookup result; counts the hit or miss. */
  private found(slot: number, now: number): CacheLookup | undefined {
    if (slot < 0) {
      this.stats.misses++;
      return undefined;
    }
    const off = this.slotOff[slot]!;
    const buf = this.segments[this.slotSeg[slot]! - 1]!;
    const ttl = buf.readUInt32LE(off + R_TTL);
    const age = Math.floor((now - buf.readDoubleLE(off + R_STORED)) / 1000);
    if (age >= ttl + this.options.serveStaleSeconds) {
      this.removeSlot(slot);
      this.stats.misses++;
      return undefined;
    }
    const start = off + R_HEADER + buf.readUInt16LE(off + R_KEYLEN);
    const length = buf.readUInt16LE(off + R_DATALEN);
    const ttlFields = buf.readUInt16LE(off + R_TTLFIELDS);
    const arcountWithoutOpt = buf.readUInt16LE(off + R_ARCOUNT);
    let hits = buf.readUInt16LE(off + R_HITS);
    if (age < ttl) {
      this.stats.hits++;
      if (hits < 0xffff) buf.writeUInt16LE(++hits, off + R_HITS);
      buf[off + R_FLAGS] = LIVE | REFERENCED;
      const judged = buf.readUInt32LE(off + R_JUDGED);
      return { age, fresh: true, ttl, hits, buf, start, length, ttlFields, arcountWithoutOpt, judged, record: off };
    }
    this.stats.misses++;
    // Stale: the caller may wait for an upstream before rendering it, while stores move records.
    const copy = Buffer.from(buf.subarray(start, start + length + ttlFields * TTL_FIELD_BYTES));
    const judged = buf.readUInt32LE(off + R_JUDGED);
    return { age, fresh: false, ttl, hits, buf: copy, start: 0, length, ttlFields, arcountWithoutOpt, judged, record: -1 };
  }

  /**
   * Records that the entry of a fresh `lookup` (made just now: no store since) was judged clean
   * under policy `generation`, so hits under that generation skip inspection.
   */
  markJudged(lookup: CacheLookup, generation: number): void {
    if (lookup.record >= 0) lookup.buf.writeUInt32LE(generation >>> 0, lookup.record + R_JUDGED);
  }

  /**
   * Stores an upstream answer if it is cacheable; returns whether it was stored. `judged`: the
   * policy generation answer inspection judged it under (read before it was asked for; 0 = never).
   */
  store(key: string, answer: Buffer, now: number, judged = 0): boolean {
    if (answer.length < HEADER_SIZE) return false;
    const flags = answer.readUInt16BE(2);
    const rcode = flags & 0xf;
    if ((flags & FLAG_TC) !== 0 || (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN)) return false;
    const hash = this.hash(key);
    if (hash < 0 || key.length > 0xffff) return false;
    const layout = layoutOf(answer);
    if (layout === undefined) return false;
    let ttl: number;
    if (rcode === Rcode.NOERROR && layout.answerCount > 0 && layout.minAnswerTtl !== undefined) {
      ttl = Math.min(Math.max(layout.minAnswerTtl, this.options.cacheMinTtl), this.options.cacheMaxTtl);
    } else if (layout.negativeTtl !== undefined) {
      // NXDOMAIN or NODATA: RFC 2308 §5, bounded by our own ceiling for negative answers.
      ttl = Math.min(Math.max(layout.negativeTtl, this.options.cacheMinTtl), this.options.cacheMaxNegativeTtl);
    } else {
      return false; // a negative answer without SOA says nothing about how long it holds
    }
    if (ttl <= 0) return false;

    const [optStart, optEnd] = layout.opt ?? [answer.length, answer.length];
    const length = answer.length - (optEnd - optStart);
    const ttlFields = layout.ttlOffsets.length;
    const size = R_HEADER + key.length + length + ttlFields * TTL_FIELD_BYTES;
    if (size > this.segmentBytes || length > 0xffff || ttlFields > 0xffff) return false;

    const existing = this.find(key, hash >>> 0);
    if (existing >= 0) this.removeSlot(existing);
    if (!this.makeRoom(size, now)) return false;

    const seg = this.write;
    const buf = this.segments[seg]!;
    const off = this.used[seg]!;
    this.used[seg] = off + size;
    buf.writeUInt32LE(size, off + R_SIZE);
    buf.writeUInt32LE(hash >>> 0, off + R_HASH);
    buf[off + R_FLAGS] = LIVE;
    buf.writeUInt16LE(key.length, off + R_KEYLEN);
    buf.writeUInt16LE(length, off + R_DATALEN);
    buf.writeUInt16LE(ttlFields, off + R_TTLFIELDS);
    buf.writeUInt16LE(answer.readUInt16BE(10) - (layout.opt ? 1 : 0), off + R_ARCOUNT);
    buf.writeUInt16LE(0, off + R_HITS);
    buf.writeUInt32LE(ttl, off + R_TTL);
    buf.writeDoubleLE(now, off + R_STORED);
    buf.writeUInt32LE(judged >>> 0, off + R_JUDGED);
    let at = off + R_HEADER;
    for (let i = 0; i < key.length; i++) buf[at++] = key.charCodeAt(i);
    const data = at;
    answer.copy(buf, at, 0, optStart);
    at += optStart;
    answer.copy(buf, at, optEnd);
    at = data + length;
    for (const offset of layout.ttlOffsets) {
      const shifted = offset > optStart ? offset - (optEnd - optStart) : offset;
      buf.writeUInt16BE(shifted, at);
      buf.writeUInt32BE(buf.readUInt32BE(data + shifted), at + 2);
      at += TTL_FIELD_BYTES;
    }
    this.insertSlot(hash >>> 0, seg, off);
    this.count++;
    this.liveBytes += size;
    this.stats.inserts++;
    return true;
  }

  /**
   * The answer for `query` from `lookup`, in the client's terms. `opt` is the OPT record for the
   * client (undefined when it sent no EDNS); `stale` renders every TTL as STALE_TTL.
   */
  render(lookup: CacheLookup, packet: Buffer, query: ParsedQuery, opt: Buffer | undefined, stale: boolean): Buffer {
    const { buf, start, length, age } = lookup;
    const out = Buffer.allocUnsafe(length + (opt?.length ?? 0));
    buf.copy(out, 0, start, start + length);
    out.writeUInt16BE(query.id, 0);
    out.writeUInt16BE((out.readUInt16BE(2) & ~FLAG_RD) | (query.flags & FLAG_RD), 2);
    packet.copy(out, HEADER_SIZE, HEADER_SIZE, query.questionEnd);
    const end = start + length + lookup.ttlFields * TTL_FIELD_BYTES;
    for (let at = start + length; at < end; at += TTL_FIELD_BYTES) {
      const offset = buf.readUInt16BE(at);
      const remaining = Math.min(buf.readUInt32BE(at + 2), lookup.ttl) - age;
      out.writeUInt32BE(stale ? STALE_TTL : remaining > 0 ? remaining : 0, offset);
    }
    out.writeUInt16BE(lookup.arcountWithoutOpt + (opt ? 1 : 0), 10);
    if (opt) opt.copy(out, length);
    return out;
  }

  /** Seconds of freshness left, for prefetch decisions. */
  remaining(lookup: CacheLookup): number {
    return lookup.ttl - lookup.age;
  }

  // ---- index: open addressing, linear probing, backward-shift deletion ----

  private find(key: string, hash: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const seg = this.slotSeg[slot]!;
      if (seg === 0) return -1;
      if (this.slotHash[slot] === hash && this.keyEquals(this.segments[seg - 1]!, this.slotOff[slot]!, key)) return slot;
    }
  }

  /** find() for the key of `query`, compared byte by byte against the stored key. */
  private findQuery(query: ParsedQuery, hash: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const seg = this.slotSeg[slot]!;
      if (seg === 0) return -1;
      if (this.slotHash[slot] === hash && this.queryKeyEquals(this.segments[seg - 1]!, this.slotOff[slot]!, query)) return slot;
    }
  }

  private queryKeyEquals(buf: Buffer, off: number, query: ParsedQuery): boolean {
    const name = query.name;
    if (buf.readUInt16LE(off + R_KEYLEN) !== name.length + KEY_TRAILER) return false;
    let at = off + R_HEADER;
    for (let i = 0; i < name.length; i++) if (buf[at++] !== name.charCodeAt(i)) return false;
    const { type, qclass } = query;
    return buf[at] === 0 && buf[at + 1] === type >>> 8 && buf[at + 2] === (type & 0xff) && buf[at + 3] === qclass >>> 8 && buf[at + 4] === (qclass & 0xff) && buf[at + 5] === keyBits(query);
  }

  private keyEquals(buf: Buffer, off: number, key: string): boolean {
    if (buf.readUInt16LE(off + R_KEYLEN) !== key.length) return false;
    const at = off + R_HEADER;
    for (let i = 0; i < key.length; i++) if (buf[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** The slot pointing at the record at (seg, off), which must be indexed. */
  private slotOf(hash: number, seg: number, off: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      if (this.slotSeg[slot] === seg + 1 && this.slotOff[slot] === off) return slot;
      if (this.slotSeg[slot] === 0) throw new Error('response cache index lost a record (bug)');
    }
  }

  private insertSlot(hash: number, seg: number, off: number): void {
    const mask = this.mask;
    let slot = hash & mask;
    while (this.slotSeg[slot] !== 0) slot = (slot + 1) & mask;
    this.slotSeg[slot] = seg + 1;
    this.slotOff[slot] = off;
    this.slotHash[slot] = hash;
  }

  /** Drops the record a slot points to: marked dead in its segment, its slot emptied. */
  private removeSlot(slot: number): void {
    const off = this.slotOff[slot]!;
    const buf = this.segments[this.slotSeg[slot]! - 1]!;
    buf[off + R_FLAGS] = 0;
    this.count--;
    this.liveBytes -= buf.readUInt32LE(off + R_SIZE);
    this.unlink(slot);
  }

  private unlink(slot: number): void {
    const mask = this.mask;
    let hole = slot;
    for (let j = (hole + 1) & mask; this.slotSeg[j] !== 0; j = (j + 1) & mask) {
      const home = this.slotHash[j]! & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.slotSeg[hole] = this.slotSeg[j]!;
      this.slotOff[hole] = this.slotOff[j]!;
      this.slotHash[hole] = this.slotHash[j]!;
      hole = j;
    }
    this.slotSeg[hole] = 0;
  }

  // ---- segments ----

  /** Makes the write segment able to take `size` more bytes and the count one more entry; `now` as in store(). */
  private makeRoom(size: number, now: number): boolean {
    const segmentCount = this.segments.length;
    // Over the entry bound: sweep the oldest segment, freeing a small batch of entries at a time.
    // Small, because a sweep runs inside one query's store(): a batch of maxCount/32 (3,125 at the
    // defaults) walked and moved ~1 MB, 1-6 ms every few thousand cold queries (issue #16, tails).
    const batch = Math.max(1, Math.min(EVICTION_BATCH, Math.ceil(this.maxCount / 32)));
    for (let guard = 0; this.count >= this.maxCount && guard <= 2 * segmentCount; guard++) {
      const oldest = this.order[this.orderHead]!;
      const swept = this.compact(oldest, batch, now);
      if (!swept) continue; // it still holds records not looked at: it stays the oldest
      this.orderHead = (this.orderHead + 1) % segmentCount;
      this.orderLength--;
      // A segment left at most half full goes to the free list with its survivors at its front, and
      // new answers are written after them: without this, when the entry bound binds first (small
      // answers), every swept segment kept a few hit survivors, stayed in use, and new segments
      // were allocated until the arena reached cacheMaxBytes whatever the entries needed (a soak
      // held 16 MB of answers in 64 MB).
      if (oldest !== this.write && this.used[oldest]! <= this.segmentBytes / 2) this.free[this.freeCount++] = oldest;
      else this.pushOrder(oldest);
    }
    if (this.count >= this.maxCount) return false;
    if (this.write >= 0 && this.used[this.write]! + size <= this.segmentBytes) return true;
    for (let guard = 0; guard <= 2 * segmentCount; guard++) {
      let seg: number;
      if (this.freeCount > 0) {
        // The most recently freed first: a segment with survivors is written after them; a
        // segment never used yet is allocated only when no freed one is left.
        seg = this.free[--this.freeCount]!;
        if (this.segments[seg] === undefined) {
          this.segments[seg] = Buffer.allocUnsafeSlow(this.segmentBytes);
          this.used[seg] = 0;
        }
        this.sweepFrom[seg] = 0;
      } else {
        seg = this.order[this.orderHead]!;
        this.orderHead = (this.orderHead + 1) % segmentCount;
        this.orderLength--;
        this.compact(seg, Infinity, now);
      }
      this.pushOrder(seg);
      this.write = seg;
      if (this.used[seg]! + size <= this.segmentBytes) return true;
    }
    return false;
  }

  private pushOrder(seg: number): void {
    this.order[(this.orderHead + this.orderLength) % this.segments.length] = seg;
    this.orderLength++;
  }

  /**
   * Sweeps a segment with a second chance, from where its last partial sweep stopped: a live record
   * hit since the last sweep, and not expired, moves down to the survivors (its REFERENCED bit
   * cleared); others leave the index, until `limit` have left (expired ones leave regardless).
   * There the sweep stops: the space between the survivors and the first record not looked at yet
   * becomes one dead filler record, and the next sweep starts after it, so a sweep costs what it
   * frees, not a walk of the whole segment. Returns whether the sweep reached the segment's end.
   */
  private compact(seg: number, limit: number, now: number): boolean {
    const buf = this.segments[seg]!;
    const end = this.used[seg]!;
    const stale = this.options.serveStaleSeconds;
    let evicted = 0;
    let to = this.sweepFrom[seg]!;
    for (let off = to; off < end; ) {
      const size = buf.readUInt32LE(off + R_SIZE);
      const flags = buf[off + R_FLAGS]!;
      if ((flags & LIVE) !== 0) {
        if (evicted >= limit) {
          // Done for now: what was freed so far becomes a filler the next full sweep reclaims.
          if (to !== off) this.writeFiller(buf, to, off - to);
          this.sweepFrom[seg] = off;
          return false;
        }
        const hash = buf.readUInt32LE(off + R_HASH);
        const slot = this.slotOf(hash, seg, off);
        const expired = (now - buf.readDoubleLE(off + R_STORED)) / 1000 >= buf.readUInt32LE(off + R_TTL) + stale;
        if (expired || (flags & REFERENCED) === 0) {
          this.removeSlot(slot);
          evicted++;
        } else {
          if (to !== off) buf.copyWithin(to, off, off + size);
          buf[to + R_FLAGS] = LIVE;
          this.slotOff[slot] = to;
          to += size;
        }
      }
      off += size;
    }
    // The end: records before where this walk started are the survivors and fillers of the partial
    // sweeps before it; packing them (a step per record, a filler is one) frees the segment whole.
    this.used[seg] = this.sweepFrom[seg] === 0 ? to : this.pack(seg, to);
    this.sweepFrom[seg] = 0;
    return true;
  }

  /** Moves the live records of `seg` below `end` to its front, in order; returns where they end. */
  private pack(seg: number, end: number): number {
    const buf = this.segments[seg]!;
    let to = 0;
    for (let off = 0; off < end; ) {
      const size = buf.readUInt32LE(off + R_SIZE);
      if ((buf[off + R_FLAGS]! & LIVE) !== 0) {
        const slot = this.slotOf(buf.readUInt32LE(off + R_HASH), seg, off);
        if (to !== off) buf.copyWithin(to, off, off + size);
        this.slotOff[slot] = to;
        to += size;
      }
      off += size;
    }
    return to;
  }

  /** A dead record of `size` bytes at `at` (size and flags are all a walk reads of a dead record). */
  private writeFiller(buf: Buffer, at: number, size: number): void {
    buf.writeUInt32LE(size, at + R_SIZE);
    buf[at + R_FLAGS] = 0;
  }
}
