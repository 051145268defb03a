// Bounded LRU of verdicts per query name. Each entry carries the policy generation it was computed
// under, so a reload invalidates the whole cache in O(1) (no clear, no sweep) and can never serve a
// verdict from an older policy.
//
// Memory: the entries live in typed arrays, not in JS objects: an open-addressing index keyed by a
// (seeded) hash of the name, the name's bytes in a fixed slot per entry (a hit compares the whole
// name, so a hash collision can never return another name's verdict), the generation, and the LRU
// order as two arrays of entry numbers. The only JS references are the Verdict objects themselves
// (mostly the policy's one shared "not listed" verdict) and the rare name too long for its slot.
import type { Verdict } from '../query/rule.js';
import { seededHash } from '../seeded-hash.js';
import { PolicyError } from './policy-error.js';

export interface VerdictCacheOptions {
  /** verdict-cache-size: most names kept; default 100_000. */
  readonly verdictCacheSize?: number;
}

/** For tests: a hash to force collisions. */
export interface VerdictCacheInternals {
  readonly hash?: (name: string) => number;
}

/** Bytes of name kept inline per entry; longer names (rare) are kept as strings on the side. */
const NAME_BYTES = 64;
const LONG = 0xffff;
const MAX_LOAD = 0.7;

export class VerdictCache {
  hits = 0;
  misses = 0;
  private readonly max: number;
  private readonly hash: (name: string) => number;
  private readonly mask: number;
  /** Index slot → entry number + 1, 0 when empty (so the index is not written before use). */
  private readonly slots: Int32Array;
  private readonly hashes: Uint32Array;
  private readonly generations: Float64Array;
  private readonly lengths: Uint16Array;
  /** The client group each verdict is for (client-groups.ts): a key part, 0 without groups. */
  private readonly groups: Uint8Array;
  private readonly names: Uint8Array;
  private readonly longNames = new Map<number, string>();
  private readonly verdicts: (Verdict | undefined)[];
  /** LRU order: prev is towards the most recently used (head), next towards the least (tail). */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** The key of the last miss and its hash, for the set() that follows it. */
  private missedName: string | undefined = undefined;
  private missedGroup = 0;
  private missedHash = 0;
  private head = -1;
  private tail = -1;
  private count = 0;

  constructor(options: VerdictCacheOptions = {}, internals: VerdictCacheInternals = {}) {
    const max = options.verdictCacheSize ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new PolicyError('E_CACHE_SIZE', `verdict cache size must be a positive integer, got ${max}: fix the cache size setting`);
    }
    this.max = max;
    this.hash = internals.hash ?? seededHash;
    let slots = 8;
    while (slots * MAX_LOAD < max) slots *= 2;
    this.mask = slots - 1;
    this.slots = new Int32Array(slots);
    this.hashes = new Uint32Array(max);
    this.generations = new Float64Array(max);
    this.lengths = new Uint16Array(max);
    this.groups = new Uint8Array(max);
    this.names = new Uint8Array(max * NAME_BYTES);
    this.verdicts = new Array<Verdict | undefined>(max).fill(undefined);
    this.prev = new Int32Array(max);
    this.next = new Int32Array(max);
  }

  get size(): number {
    return this.count;
  }

  /** Memory held by the cache's arrays (the Verdict objects are the policy's). */
  get bytes(): number {
    return this.slots.byteLength + this.hashes.byteLength + this.generations.byteLength + this.lengths.byteLength + this.groups.byteLength + this.names.byteLength + this.prev.byteLength + this.next.byteLength + this.max * 8;
  }

  /** The verdict cached for `name` (for client group `group`) under exactly this generation; anything else is a miss. */
  get(name: string, generation: number, group = 0): Verdict | undefined {
    const hash = this.keyHash(name, group);
    const entry = this.find(name, hash, group);
    if (entry < 0 || this.generations[entry] !== generation) {
      this.misses++;
      // The caller computes the verdict and stores it next (PolicyStore.verdict): keep the hash.
      this.missedName = name;
      this.missedGroup = group;
      this.missedHash = hash;
      return undefined;
    }
    this.hits++;
    this.touch(entry);
    return this.verdicts[entry];
  }

  set(name: string, generation: number, verdict: Verdict, group = 0): void {
    const hash = name === this.missedName && group === this.missedGroup ? this.missedHash : this.keyHash(name, group);
    const existing = this.find(name, hash, group);
    if (existing >= 0) {
      // A caller that computed its verdict before a reload must not overwrite the newer one.
      if (this.generations[existing]! > generation) return;
      this.generations[existing] = generation;
      this.verdicts[existing] = verdict;
      this.touch(existing);
      return;
    }
    let entry: number;
    if (this.count < this.max) {
      entry = this.count++;
    } else {
      entry = this.tail;
      this.unlinkSlot(this.slotOf(entry));
      this.unlinkLru(entry);
      this.longNames.delete(entry);
    }
    this.hashes[entry] = hash;
    this.groups[entry] = group;
    this.generations[entry] = generation;
    this.verdicts[entry] = verdict;
    this.writeName(entry, name);
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = entry + 1;
    this.linkHead(entry);
  }

  private writeName(entry: number, name: string): void {
    const at = entry * NAME_BYTES;
    if (name.length <= NAME_BYTES) {
      let fits = true;
      for (let i = 0; i < name.length; i++) {
        const c = name.charCodeAt(i);
        if (c > 0xff) {
          fits = false;
          break;
        }
        this.names[at + i] = c;
      }
      if (fits) {
        this.lengths[entry] = name.length;
        return;
      }
    }
    this.lengths[entry] = LONG;
    this.longNames.set(entry, name);
  }

  private nameEquals(entry: number, name: string): boolean {
    const length = this.lengths[entry]!;
    if (length === LONG) return this.longNames.get(entry) === name;
    if (length !== name.length) return false;
    const names = this.names;
    const at = entry * NAME_BYTES;
    for (let i = 0; i < length; i++) if (names[at + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /** The name's hash, mixed with the group so one name's verdicts for several groups spread out. */
  private keyHash(name: string, group: number): number {
    const hash = this.hash(name) >>> 0;
    return group === 0 ? hash : (hash ^ Math.imul(group, 0x9e3779b1)) >>> 0;
  }

  private find(name: string, hash: number, group: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]! - 1;
      if (entry < 0) return -1;
      if (this.hashes[entry] === hash && this.groups[entry] === group && this.nameEquals(entry, name)) return entry;
    }
  }

  private slotOf(entry: number): number {
    const mask = this.mask;
    for (let slot = this.hashes[entry]! & mask; ; slot = (slot + 1) & mask) {
      const found = this.slots[slot]!;
      if (found === entry + 1) return slot;
      if (found === 0) throw new Error('verdict cache index lost an entry (bug)');
    }
  }

  /** Empties a slot, shifting later entries of its probe run back (linear probing, no tombstones). */
  private unlinkSlot(slot: number): void {
    const mask = this.mask;
    let hole = slot;
    for (let j = (hole + 1) & mask; this.slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashes[this.slots[j]! - 1]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.slots[hole] = this.slots[j]!;
      hole = j;
    }
    this.slots[hole] = 0;
  }

  private touch(entry: number): void {
    if (this.head === entry) return;
    this.unlinkLru(entry);
    this.linkHead(entry);
  }

  private unlinkLru(entry: number): void {
    const p = this.prev[entry]!;
    const n = this.next[entry]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  private linkHead(entry: number): void {
    this.prev[entry] = -1;
    this.next[entry] = this.head;
    if (this.head >= 0) this.prev[this.head] = entry;
    this.head = entry;
    if (this.tail < 0) this.tail = entry;
  }
}
