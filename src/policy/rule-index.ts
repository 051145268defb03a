// The matcher over every list entry, built once per policy generation and never mutated afterwards,
// so lookups need no locking and a reload simply builds a new one. It indexes the domains that carry
// an entry by their full name, and answers "which entry decides this name" by probing each suffix.
//
// Layout: an open-addressing hash table (linear probing) in two typed arrays, one slot per distinct
// entry domain, with no per-entry JS object and no copy of the names:
//
//   tags  Uint8Array   0 = empty slot, else 8 bits of the domain's hash (never 0)
//   refs  Int32Array   >= 0: id of the winning entry of a plain `d` (it decides d and everything
//                      below it, which is what almost every slot is); < 0: ~k, index of a pair in
//   pairs Int32Array   [self, below] for domains that also have a `*.d` entry: the winner for d
//                      itself (-1 if only `*.d`), and the winner for names strictly below.
//
// An entry id is global over the lists in the order given (list base + index in the list); the
// domain bytes are read from the lists' own PackedRules, so the key of a slot costs nothing beyond
// the 5 bytes of the slot. At the default load (<= 0.7) that is ~7 MB for 1,000,000 entries.
//
// Lookup walks the query from the right, like a trie walk: the FNV-1a hash of the suffix seen so far
// is carried along (the same hash the build computed over each domain's bytes from the end), and at
// every label boundary the suffix is probed. A probe reads the tag bytes (one cache line for a whole
// probe run); only a slot whose tag matches has its domain compared byte for byte with the query
// (1 in 255 for a different name). Unlisted names therefore touch just the tag array, and no string
// is made at all; a Rule object is materialised only for the entry that decides, and the verdict
// LRU in front keeps it. Deeper matches override shallower ones; the walk stops after the label
// count of the deepest entry.
//
// Why a hash table rather than a sorted array or a Map with a Bloom filter in front, and why load
// 0.7: the README's design notes compare the measured alternatives.
import { FLAG_ADDRESS, FLAG_ALLOW, FLAG_SUBDOMAINS, type PackedRules } from './packed-rules.js';
import type { ParsedList } from './parse-list.js';
import type { Rule } from '../query/rule.js';
import { SUFFIX_HASH_SEED, suffixHashStep } from './suffix-hash.js';
import { region } from './typed-memory.js';
import { RPZ_EXACT } from './rpz-actions.js';

/** How an entry covers its domain: plain `d` (d and below), `*.d` (below only), exact (d only, RPZ). */
type PlaceMode = 0 | 1 | 2;
const PLAIN = 0;
const SUBDOMAINS = 1;
const EXACT = 2;

const DOT = 46;
const NONE = -1;
/** Slots per entry at most 1/LOAD: probe runs stay short, and the tag scan stays in one cache line. */
const MAX_LOAD = 0.7;
/** Keeps (hash >>> 8) * capacity below 2^53, so the slot index is computed exactly. */
const MAX_CAPACITY = 2 ** 29;

export interface RuleIndexOptions {
  /** @internal For tests: number of slots (more than the distinct entries); forces long probe runs. */
  readonly capacity?: number;
  /** @internal For tests: ANDed with every hash; 0 sends every name to one slot with one tag. */
  readonly hashMask?: number;
}

/** murmur3 finaliser: FNV's low bits alone are not well enough mixed to index a table. */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class RuleIndex {
  /** Distinct entries in effect: each (domain, scope) pair counts once, however many lists name it. */
  readonly ruleCount: number;
  private readonly lists: readonly PackedRules[];
  /** bases[i]: id of the first entry of lists[i]. */
  private readonly bases: Int32Array;
  private readonly tags: Uint8Array;
  private readonly refs: Int32Array;
  private readonly pairs: Int32Array;
  private readonly capacity: number;
  private readonly hashMask: number;
  /** Label count of the deepest entry; deeper suffixes of a query cannot match anything. */
  private readonly maxLabels: number;
  /** Where in the last name given to matchId the deciding entry's domain sits (its suffix). */
  private matchStart = 0;
  private matchEnd = 0;

  private constructor(built: Built) {
    this.lists = built.lists;
    this.bases = built.bases;
    this.tags = built.tags;
    this.refs = built.refs;
    this.pairs = built.pairs;
    this.capacity = built.tags.length;
    this.hashMask = built.hashMask;
    this.maxLabels = built.maxLabels;
    this.ruleCount = built.ruleCount;
  }

  /**
   * Builds the matcher over `lists` in precedence order (earlier list wins a tie between blocks).
   * The lists' packed storage is referenced, not copied.
   */
  static build(lists: readonly (ParsedList | PackedRules)[], options: RuleIndexOptions = {}): RuleIndex {
    return new RuleIndex(new Builder(lists.map((l) => ('packed' in l ? l.packed : l)), options).run());
  }

  /** Bytes of the table itself (the lists' storage is counted by the lists). */
  get byteSize(): number {
    return this.tags.byteLength + this.refs.byteLength + this.pairs.byteLength + this.bases.byteLength;
  }

  /**
   * The rule deciding `name` (lowercase ASCII, no trailing dot; one trailing dot is tolerated), or
   * undefined. The deepest matching entry wins; at equal depth allow beats block.
   */
  match(name: string): Rule | undefined {
    const id = this.matchId(name);
    if (id === NONE) return undefined;
    // The entry's domain is the matched suffix of the query, byte for byte (keyEquals checked it):
    // take it from there instead of decoding it from the list's bytes.
    const { matchStart, matchEnd } = this;
    const domain = matchStart === 0 && matchEnd === name.length ? name : name.slice(matchStart, matchEnd);
    const li = listIndex(this.bases, id);
    return this.lists[li]!.ruleWithDomain(id - this.bases[li]!, domain);
  }

  /** The id of the deciding entry, or -1. Per-query hot path: no allocation at all. */
  matchId(name: string): number {
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === DOT) end--;
    if (end === 0) return NONE;
    const maxLabels = this.maxLabels;
    let best = NONE;
    let labels = 0;
    let hash = SUFFIX_HASH_SEED;
    // i = -1 is the start of the name: a label boundary like a dot.
    for (let i = end - 1; i >= -1; i--) {
      const c = i >= 0 ? name.charCodeAt(i) : DOT;
      if (c === DOT) {
        // name[i+1, end) is a complete suffix: a candidate node.
        if (i + 1 < end) {
          const slot = this.find(hash, name, i + 1, end);
          if (slot !== NONE) {
            const ref = this.refs[slot]!;
            // A plain entry covers the name itself and everything below; a pair has a winner for
            // each. Deeper beats shallower: a later (deeper) hit replaces `best`.
            const id = ref >= 0 ? ref : this.pairs[2 * ~ref + (i < 0 ? 0 : 1)]!;
            if (id !== NONE) {
              best = id;
              this.matchStart = i + 1;
              this.matchEnd = end;
            }
          }
        }
        if (++labels >= maxLabels) break;
      }
      hash = suffixHashStep(hash, c);
    }
    return best;
  }

  /** Entry `id` (as returned by matchId) as a Rule. */
  rule(id: number): Rule {
    const li = listIndex(this.bases, id);
    return this.lists[li]!.rule(id - this.bases[li]!);
  }

  /** The slot holding name[start, end) (whose suffix hash is `hash`), or -1. */
  private find(hash: number, name: string, start: number, end: number): number {
    const m = mix(hash) & this.hashMask;
    const tag = (m & 0xff) || 1;
    const tags = this.tags;
    const capacity = this.capacity;
    let slot = Math.floor(((m >>> 8) * capacity) / 16_777_216);
    for (;;) {
      const t = tags[slot]!;
      if (t === 0) return NONE;
      if (t === tag && this.keyEquals(this.refs[slot]!, name, start, end)) return slot;
      if (++slot === capacity) slot = 0;
    }
  }

  /** Whether the domain of the slot with `ref` is name[start, end). */
  private keyEquals(ref: number, name: string, start: number, end: number): boolean {
    // Any entry of the slot names its domain: `below` of a pair unless only an exact (RPZ) entry is there.
    const id = ref >= 0 ? ref : this.pairs[2 * ~ref + 1]! !== NONE ? this.pairs[2 * ~ref + 1]! : this.pairs[2 * ~ref]!;
    const li = listIndex(this.bases, id);
    const list = this.lists[li]!;
    const local = id - this.bases[li]!;
    if (list.lengths[local] !== end - start) return false;
    let at = list.start(local);
    const bytes = list.bytes;
    for (let k = start; k < end; k++, at++) if (bytes[at] !== name.charCodeAt(k)) return false;
    return true;
  }
}

/** The index of the list holding entry `id`: the last list whose base is <= id. */
function listIndex(bases: Int32Array, id: number): number {
  let lo = 0;
  let hi = bases.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bases[mid]! <= id) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

interface Built {
  lists: PackedRules[];
  bases: Int32Array;
  tags: Uint8Array;
  refs: Int32Array;
  pairs: Int32Array;
  hashMask: number;
  maxLabels: number;
  ruleCount: number;
}

class Builder {
  private readonly lists: PackedRules[];
  private readonly bases: Int32Array;
  private readonly tags: Uint8Array;
  private readonly refs: Int32Array;
  private pairs = new Int32Array(64);
  private pairCount = 0;
  private used = 0;
  private readonly hashMask: number;

  constructor(all: readonly PackedRules[], options: RuleIndexOptions) {
    // Empty lists hold no ids; leaving them out keeps listIndex simple.
    this.lists = all.filter((l) => l.size > 0);
    this.bases = new Int32Array(Math.max(1, this.lists.length));
    let total = 0;
    this.lists.forEach((list, i) => {
      this.bases[i] = total;
      total += list.size;
    });
    if (total > 0x7fff_ffff) throw new RangeError(`too many list entries (${total}); the matcher holds at most 2^31-1`);
    const capacity = options.capacity ?? Math.max(8, Math.ceil(total / MAX_LOAD) + 1);
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new RangeError(`matcher capacity ${capacity} is out of range (1..${MAX_CAPACITY})`);
    }
    // One region for both: they live and die together (see typed-memory.ts).
    const buffer = region(5 * capacity);
    this.refs = new Int32Array(buffer, 0, capacity);
    this.tags = new Uint8Array(buffer, 4 * capacity, capacity);
    this.hashMask = options.hashMask ?? 0xffff_ffff;
  }

  run(): Built {
    let ruleCount = 0;
    let maxLabels = 0;
    const { lists, bases } = this;
    for (let li = 0; li < lists.length; li++) {
      const { bytes, lengths, flags, size, rpzActions } = lists[li]!;
      const rpz = rpzActions.length > 0;
      const base = bases[li]!;
      // Entries are walked in order, so each one's offset is the running sum of the lengths.
      let end = 0;
      for (let i = 0; i < size; i++) {
        const start = end;
        end += lengths[i]!;
        // Answer-IP rules live in the IpIndex; their prefix text is no name.
        if ((flags[i]! & FLAG_ADDRESS) !== 0) continue;
        let hash = SUFFIX_HASH_SEED;
        let labels = 1;
        for (let k = end - 1; k >= start; k--) {
          const c = bytes[k]!;
          if (c === DOT) labels++;
          hash = suffixHashStep(hash, c);
        }
        if (labels > maxLabels) maxLabels = labels;
        const mode = (flags[i]! & FLAG_SUBDOMAINS) !== 0 ? SUBDOMAINS : rpz && (rpzActions[i]! & RPZ_EXACT) !== 0 ? EXACT : PLAIN;
        ruleCount += this.place(hash, bytes, start, end, base + i, mode);
      }
    }
    return {
      lists,
      bases: this.bases,
      tags: this.tags,
      refs: this.refs,
      pairs: this.pairs.slice(0, 2 * this.pairCount),
      hashMask: this.hashMask,
      maxLabels,
      ruleCount,
    };
  }

  /** Adds entry `id`; returns 1 when it created a new distinct (domain, scope) entry, 0 when it merged. */
  private place(hash: number, bytes: Uint8Array, start: number, end: number, id: number, mode: PlaceMode): number {
    const m = mix(hash) & this.hashMask;
    const tag = (m & 0xff) || 1;
    const { tags, refs } = this;
    const capacity = tags.length;
    let slot = Math.floor(((m >>> 8) * capacity) / 16_777_216);
    for (;;) {
      const t = tags[slot]!;
      if (t === 0) break;
      if (t === tag && this.sameDomain(refs[slot]!, bytes, start, end)) return this.merge(slot, id, mode);
      if (++slot === capacity) slot = 0;
    }
    // A new domain. One slot always stays empty, so every probe run ends.
    if (++this.used >= capacity) throw new RangeError(`matcher capacity ${capacity} is too small for the distinct entries`);
    tags[slot] = tag;
    refs[slot] = mode === SUBDOMAINS ? this.newPair(NONE, id) : mode === EXACT ? this.newPair(id, NONE) : id;
    return 1;
  }

  private merge(slot: number, id: number, mode: PlaceMode): number {
    const refs = this.refs;
    const ref = refs[slot]!;
    if (ref >= 0) {
      // A plain entry is already here.
      if (mode === PLAIN) {
        refs[slot] = this.pick(ref, id);
        return 0;
      }
      refs[slot] = mode === SUBDOMAINS ? this.newPair(ref, this.pick(ref, id)) : this.newPair(this.pick(ref, id), ref);
      return 1;
    }
    // A pair exists: a `*.d` or an exact (RPZ) entry is already here.
    const pairs = this.pairs;
    const at = 2 * ~ref;
    let added = 0;
    if (mode !== SUBDOMAINS) {
      if (pairs[at] === NONE) added = 1;
      pairs[at] = this.pick(pairs[at]!, id);
    }
    // Plain and `*.d` entries apply to every name below, so `below` is the running winner of both;
    // an exact entry covers the name only.
    if (mode !== EXACT) pairs[at + 1] = this.pick(pairs[at + 1]!, id);
    return added;
  }

  /**
   * Precedence inside one node (same depth): allow beats block; otherwise the entry placed first
   * wins. Entries are placed in list order, then line order, so "first" is deterministic.
   */
  private pick(existing: number, incoming: number): number {
    if (existing === NONE) return incoming;
    return !this.isAllow(existing) && this.isAllow(incoming) ? incoming : existing;
  }

  private isAllow(id: number): boolean {
    const li = listIndex(this.bases, id);
    return (this.lists[li]!.flags[id - this.bases[li]!]! & FLAG_ALLOW) !== 0;
  }

  /** An entry of a slot, to compare its domain: `below` of a pair unless only an exact entry is there. */
  private slotEntry(ref: number): number {
    if (ref >= 0) return ref;
    const below = this.pairs[2 * ~ref + 1]!;
    return below !== NONE ? below : this.pairs[2 * ~ref]!;
  }

  private newPair(self: number, below: number): number {
    if (2 * this.pairCount + 2 > this.pairs.length) {
      const grown = new Int32Array(this.pairs.length * 2);
      grown.set(this.pairs);
      this.pairs = grown;
    }
    const k = this.pairCount++;
    this.pairs[2 * k] = self;
    this.pairs[2 * k + 1] = below;
    return ~k;
  }

  private sameDomain(ref: number, bytes: Uint8Array, start: number, end: number): boolean {
    const id = this.slotEntry(ref);
    const li = listIndex(this.bases, id);
    const list = this.lists[li]!;
    const local = id - this.bases[li]!;
    if (list.lengths[local] !== end - start) return false;
    let at = list.start(local);
    const other = list.bytes;
    for (let k = start; k < end; k++, at++) if (other[at] !== bytes[k]) return false;
    return true;
  }
}
