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
//   counts Uint8Array  how many entries name the slot's domain (for patches, see below)
//
// An entry id is global over the lists in the order given (list base + index in the list); the
// domain bytes are read from the lists' own PackedRules, so the key of a slot costs nothing beyond
// the 6 bytes of the slot. At the default load (<= 0.7) that is ~8.6 MB for 1,000,000 entries.
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
//
// A small change to one list (a delta, see packed-edit.ts) does not rebuild the table: `patch` copies
// the arrays (a memcpy), maps the ids that moved, and places or takes out only the entries the delta
// touched. For that every slot also counts the entries naming its domain (`counts`, saturating at
// 255): a removed domain that no other entry names is simply marked DEAD (its tag stays, so probe
// runs through it stay intact; a lookup never matches it); one that others still name has its
// winner recomputed from them. A patched table answers exactly as a fresh build over the same lists
// (tests/policy/rule-index-patch.test.ts checks that on random delta sequences); dead slots and the
// patches' extra load are cleared by the next full build (any non-delta change, or MAX_PATCH_LOAD).
import { FLAG_ADDRESS, FLAG_ALLOW, FLAG_SUBDOMAINS, type PackedRules } from './packed-rules.js';
import type { ParsedList } from './parse-list.js';
import type { Rule } from '../query/rule.js';
import { SUFFIX_HASH_SEED, suffixHashStep } from './suffix-hash.js';
import { region } from './typed-memory.js';
import { RPZ_EXACT } from './rpz-actions.js';
import { EntryRemap, REMOVED, singleEdit, type ListEdit } from './packed-edit.js';

/** How an entry covers its domain: plain `d` (d and below), `*.d` (below only), exact (d only, RPZ). */
type PlaceMode = 0 | 1 | 2;
const PLAIN = 0;
const SUBDOMAINS = 1;
const EXACT = 2;

const DOT = 46;
const NONE = -1;
/** The ref of a slot whose domain no entry names any more (after a patch): never matches. */
const DEAD = -0x8000_0000;
/** Entries counted per slot at most; a saturated count is recounted from the lists when needed. */
const COUNT_MAX = 255;
/** Slots per entry at most 1/LOAD: probe runs stay short, and the tag scan stays in one cache line. */
const MAX_LOAD = 0.7;
/** Patches may fill the table up to this (dead slots included) before a full build is due. */
const MAX_PATCH_LOAD = 0.85;
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
  /** Entries naming each slot's domain (saturating at COUNT_MAX); read by patches only. */
  private readonly counts: Uint8Array;
  private readonly pairs: Int32Array;
  private readonly pairCount: number;
  private readonly capacity: number;
  private readonly hashMask: number;
  /** Slots in use, dead ones included. */
  private readonly used: number;
  /** Label count of the deepest entry; deeper suffixes of a query cannot match anything. */
  private readonly maxLabels: number;
  /** Where in the last name given to matchId the deciding entry's domain sits (its suffix). */
  private matchStart = 0;
  private matchEnd = 0;

  private constructor(built: Table) {
    this.lists = built.lists;
    this.bases = built.bases;
    this.tags = built.tags;
    this.refs = built.refs;
    this.counts = built.counts;
    this.pairs = built.pairs;
    this.pairCount = built.pairCount;
    this.capacity = built.tags.length;
    this.hashMask = built.hashMask;
    this.used = built.used;
    this.maxLabels = built.maxLabels;
    this.ruleCount = built.ruleCount;
  }

  /**
   * Builds the matcher over `lists` in precedence order (earlier list wins a tie between blocks).
   * The lists' packed storage is referenced, not copied.
   */
  static build(lists: readonly (ParsedList | PackedRules)[], options: RuleIndexOptions = {}): RuleIndex {
    const table = Table.empty(lists.map((l) => ('packed' in l ? l.packed : l)), options);
    table.placeAll();
    return new RuleIndex(table);
  }

  /**
   * The matcher over `lists`, made from `previous` (built over the same lists but for one that an
   * edit replaced, see packed-edit.ts) without a rebuild: `previous` itself when nothing changed, a
   * patched copy when one list was edited, undefined when a full build is needed (lists added,
   * removed or reordered, several changed, a list made otherwise, or the table too full).
   * `previous` is not modified: queries still using it are unaffected.
   */
  static patch(previous: RuleIndex, lists: readonly (ParsedList | PackedRules)[]): RuleIndex | undefined {
    const next = lists.map((l) => ('packed' in l ? l.packed : l)).filter((l) => l.size > 0);
    const found = singleEdit(previous.lists, next);
    if (found === undefined) return undefined;
    if (found === 'unchanged') return previous;
    const table = Table.patched(previous, next, found.index, found.edit);
    return table === undefined ? undefined : new RuleIndex(table);
  }

  /** Bytes of the table itself (the lists' storage is counted by the lists). */
  get byteSize(): number {
    return this.tags.byteLength + this.refs.byteLength + this.counts.byteLength + 8 * this.pairCount + this.bases.byteLength;
  }

  /**
   * Whether some entry names the domain bytes[start, end) (canonical, lowercase ASCII): a cheap
   * "certainly not in any list" for a delta's entries.
   */
  namesDomain(bytes: Uint8Array, start: number, end: number): boolean {
    return this.findBytes(suffixHashOf(bytes, start, end), bytes, start, end) !== NONE;
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
    if (ref === DEAD) return false;
    const id = entryOfSlot(ref, this.pairs);
    const li = listIndex(this.bases, id);
    const list = this.lists[li]!;
    const local = id - this.bases[li]!;
    if (list.lengths[local] !== end - start) return false;
    let at = list.start(local);
    const bytes = list.bytes;
    for (let k = start; k < end; k++, at++) if (bytes[at] !== name.charCodeAt(k)) return false;
    return true;
  }

  /** The live slot whose domain is bytes[start, end), or -1 (bytes instead of a string: for patches). */
  private findBytes(hash: number, bytes: Uint8Array, start: number, end: number): number {
    const m = mix(hash) & this.hashMask;
    const tag = (m & 0xff) || 1;
    const { tags, refs, capacity } = this;
    let slot = Math.floor(((m >>> 8) * capacity) / 16_777_216);
    for (;;) {
      const t = tags[slot]!;
      if (t === 0) return NONE;
      if (t === tag && refs[slot] !== DEAD && sameDomain(this.lists, this.bases, entryOfSlot(refs[slot]!, this.pairs), bytes, start, end)) return slot;
      if (++slot === capacity) slot = 0;
    }
  }

  /** @internal The table's arrays and figures, read (never written) by Table.patched. */
  state(): TableState {
    return {
      lists: this.lists,
      bases: this.bases,
      tags: this.tags,
      refs: this.refs,
      counts: this.counts,
      pairs: this.pairs,
      pairCount: this.pairCount,
      hashMask: this.hashMask,
      used: this.used,
      maxLabels: this.maxLabels,
      ruleCount: this.ruleCount,
    };
  }

  /** @internal For Table.patched: the live slot of a domain in this (unmodified) table. */
  slotOf(bytes: Uint8Array, start: number, end: number): number {
    return this.findBytes(suffixHashOf(bytes, start, end), bytes, start, end);
  }
}

/** Any entry of a slot, to compare its domain: `below` of a pair unless only an exact (RPZ) entry is there. */
function entryOfSlot(ref: number, pairs: Int32Array): number {
  if (ref >= 0) return ref;
  const below = pairs[2 * ~ref + 1]!;
  return below !== NONE ? below : pairs[2 * ~ref]!;
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

/** Whether entry `id`'s domain is bytes[start, end). */
function sameDomain(lists: readonly PackedRules[], bases: Int32Array, id: number, bytes: Uint8Array, start: number, end: number): boolean {
  const li = listIndex(bases, id);
  const list = lists[li]!;
  const local = id - bases[li]!;
  if (list.lengths[local] !== end - start) return false;
  let at = list.start(local);
  const other = list.bytes;
  for (let k = start; k < end; k++, at++) if (other[at] !== bytes[k]) return false;
  return true;
}

/** The suffix hash of a whole domain (what lookups carry along when they reach its first byte). */
function suffixHashOf(bytes: Uint8Array, start: number, end: number): number {
  let hash = SUFFIX_HASH_SEED;
  for (let k = end - 1; k >= start; k--) hash = suffixHashStep(hash, bytes[k]!);
  return hash;
}

function labelsOf(bytes: Uint8Array, start: number, end: number): number {
  let labels = 1;
  for (let k = start; k < end; k++) if (bytes[k] === DOT) labels++;
  return labels;
}

/** How entry i of `list` covers its domain. */
function modeOf(list: PackedRules, i: number): PlaceMode {
  if ((list.flags[i]! & FLAG_SUBDOMAINS) !== 0) return SUBDOMAINS;
  return list.rpzActions.length > 0 && (list.rpzActions[i]! & RPZ_EXACT) !== 0 ? EXACT : PLAIN;
}

/** Distinct (domain, scope) entries among entries of one domain with these modes (see Table.merge). */
function distinctOf(modes: readonly PlaceMode[]): number {
  const nameItself = modes.some((mode) => mode !== SUBDOMAINS) ? 1 : 0;
  return nameItself + (modes.some((mode) => mode === SUBDOMAINS) ? 1 : 0);
}

/** What a patch reads of the table it copies. */
type TableState = Readonly<Pick<Table, 'lists' | 'bases' | 'tags' | 'refs' | 'counts' | 'pairs' | 'pairCount' | 'hashMask' | 'used' | 'maxLabels' | 'ruleCount'>>;

/** The table being written: by a full build, or by a patch on a copy of an existing table. */
class Table {
  lists!: readonly PackedRules[];
  bases!: Int32Array;
  tags!: Uint8Array;
  refs!: Int32Array;
  counts!: Uint8Array;
  pairs!: Int32Array;
  pairCount = 0;
  hashMask = 0xffff_ffff;
  used = 0;
  maxLabels = 0;
  ruleCount = 0;

  /** An empty table sized for `all`'s entries. */
  static empty(all: readonly PackedRules[], options: RuleIndexOptions): Table {
    const table = new Table();
    // Empty lists hold no ids; leaving them out keeps listIndex simple.
    table.setLists(all.filter((l) => l.size > 0));
    const total = table.total();
    const capacity = options.capacity ?? Math.max(8, Math.ceil(total / MAX_LOAD) + 1);
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new RangeError(`matcher capacity ${capacity} is out of range (1..${MAX_CAPACITY})`);
    }
    table.allocate(capacity);
    table.pairs = new Int32Array(64);
    table.hashMask = options.hashMask ?? 0xffff_ffff;
    return table;
  }

  /**
   * `previous` with list `changed` replaced by its edit `edit`: a copy of the arrays, ids mapped, the
   * removed entries taken out and the appended ones placed. Undefined when the table would be too full.
   */
  static patched(previous: RuleIndex, lists: PackedRules[], changed: number, edit: ListEdit): Table | undefined {
    const old = previous.state();
    const capacity = old.tags.length;
    const before = old.lists[changed]!;
    const after = lists[changed]!;
    const appended = after.size - edit.appendedFrom;
    if (old.used + appended > capacity * MAX_PATCH_LOAD) return undefined;
    // The slots of the removed entries, found while the old table still names them.
    const removedAt = new Map<number, number[]>();
    for (const j of edit.removed) {
      if ((before.flags[j]! & FLAG_ADDRESS) !== 0) continue;
      const start = before.start(j);
      const slot = previous.slotOf(before.bytes, start, start + before.lengths[j]!);
      // Every entry has a slot; if not, this table is not what it claims to be: build afresh.
      if (slot === NONE) return undefined;
      const at = removedAt.get(slot);
      if (at) at.push(j);
      else removedAt.set(slot, [j]);
    }
    const table = new Table();
    table.setLists(lists);
    table.allocate(capacity);
    new Uint8Array(table.refs.buffer, 0, 6 * capacity).set(new Uint8Array(old.refs.buffer, old.refs.byteOffset, 6 * capacity));
    table.pairs = new Int32Array(Math.max(64, 2 * old.pairCount + 2 * Math.min(appended + removedAt.size, 1 << 16)));
    table.pairs.set(old.pairs.subarray(0, 2 * old.pairCount));
    Object.assign(table, { pairCount: old.pairCount, hashMask: old.hashMask, used: old.used, maxLabels: old.maxLabels, ruleCount: old.ruleCount });
    const remap = new EntryRemap(old.bases[changed]!, edit, after.size);
    if (edit.removed.length > 0 || (changed < lists.length - 1 && after.size !== before.size)) table.remapAll(remap);
    const recount: number[] = [];
    for (const [slot, locals] of removedAt) {
      const count = table.counts[slot]!;
      if (count === locals.length) {
        // Only the removed entries named it.
        table.ruleCount -= distinctOf(locals.map((j) => modeOf(before, j)));
        table.kill(slot);
      } else {
        recount.push(slot);
      }
    }
    if (recount.length > 0) table.recount(recount, removedAt, before, changed, edit.appendedFrom);
    const base = table.bases[changed]!;
    for (let i = edit.appendedFrom; i < after.size; i++) {
      if ((after.flags[i]! & FLAG_ADDRESS) !== 0) continue;
      const start = after.start(i);
      table.placeEntry(after, i, start, start + after.lengths[i]!, base + i);
    }
    return table;
  }

  private setLists(lists: readonly PackedRules[]): void {
    this.lists = lists;
    this.bases = new Int32Array(Math.max(1, lists.length));
    let total = 0;
    lists.forEach((list, i) => {
      this.bases[i] = total;
      total += list.size;
    });
    if (total > 0x7fff_ffff) throw new RangeError(`too many list entries (${total}); the matcher holds at most 2^31-1`);
  }

  private total(): number {
    const last = this.lists.length - 1;
    return last < 0 ? 0 : this.bases[last]! + this.lists[last]!.size;
  }

  private allocate(capacity: number): void {
    // One region for all three: they live and die together (see typed-memory.ts).
    const buffer = region(6 * capacity);
    this.refs = new Int32Array(buffer, 0, capacity);
    this.tags = new Uint8Array(buffer, 4 * capacity, capacity);
    this.counts = new Uint8Array(buffer, 5 * capacity, capacity);
  }

  placeAll(): void {
    const { lists, bases } = this;
    for (let li = 0; li < lists.length; li++) {
      const list = lists[li]!;
      const { lengths, flags, size } = list;
      const base = bases[li]!;
      // Entries are walked in order, so each one's offset is the running sum of the lengths.
      let end = 0;
      for (let i = 0; i < size; i++) {
        const start = end;
        end += lengths[i]!;
        // Answer-IP rules live in the IpIndex; their prefix text is no name.
        if ((flags[i]! & FLAG_ADDRESS) !== 0) continue;
        this.placeEntry(list, i, start, end, base + i);
      }
    }
    this.pairs = this.pairs.slice(0, 2 * this.pairCount);
  }

  placeEntry(list: PackedRules, i: number, start: number, end: number, id: number): void {
    const bytes = list.bytes;
    const labels = labelsOf(bytes, start, end);
    if (labels > this.maxLabels) this.maxLabels = labels;
    this.ruleCount += this.place(suffixHashOf(bytes, start, end), bytes, start, end, id, modeOf(list, i));
  }

  /** Every id in the table through `remap`; slots of removed entries are resolved by the caller. */
  private remapAll(remap: EntryRemap): void {
    const { tags, refs, pairs } = this;
    for (let slot = 0; slot < tags.length; slot++) {
      if (tags[slot] === 0) continue;
      const ref = refs[slot]!;
      if (ref === DEAD) continue;
      if (ref >= 0) {
        const id = remap.map(ref);
        refs[slot] = id === REMOVED ? DEAD : id;
        continue;
      }
      const at = 2 * ~ref;
      for (const k of [at, at + 1]) {
        const id = pairs[k]!;
        if (id === NONE) continue;
        const mapped = remap.map(id);
        pairs[k] = mapped === REMOVED ? NONE : mapped;
      }
    }
  }

  private kill(slot: number): void {
    this.refs[slot] = DEAD;
    this.counts[slot] = 0;
  }

  /**
   * Recomputes the slots whose domains lost entries but are still named by others: one pass over
   * every list's entries of the lengths concerned (the appended entries of the edited list are left
   * out: they are placed afterwards).
   */
  private recount(slots: readonly number[], removedAt: ReadonlyMap<number, number[]>, before: PackedRules, changed: number, appendedFrom: number): void {
    interface Wanted {
      readonly slot: number;
      readonly start: number;
      readonly end: number;
      readonly found: { id: number; mode: PlaceMode }[];
    }
    const byHash = new Map<number, Wanted[]>();
    const lengths = new Uint8Array(256);
    const wanted: Wanted[] = [];
    for (const slot of slots) {
      const j = removedAt.get(slot)![0]!;
      const start = before.start(j);
      const item: Wanted = { slot, start, end: start + before.lengths[j]!, found: [] };
      const hash = suffixHashOf(before.bytes, item.start, item.end);
      byHash.set(hash, [...(byHash.get(hash) ?? []), item]);
      lengths[before.lengths[j]!] = 1;
      wanted.push(item);
    }
    this.lists.forEach((list, li) => {
      const stop = li === changed ? appendedFrom : list.size;
      let end = 0;
      for (let i = 0; i < stop; i++) {
        const start = end;
        const n = list.lengths[i]!;
        end += n;
        if (lengths[n] === 0 || (list.flags[i]! & FLAG_ADDRESS) !== 0) continue;
        const bucket = byHash.get(suffixHashOf(list.bytes, start, end));
        if (bucket === undefined) continue;
        for (const item of bucket) {
          if (n !== item.end - item.start) continue;
          let same = true;
          for (let k = 0; k < n && same; k++) same = list.bytes[start + k] === before.bytes[item.start + k];
          if (same) item.found.push({ id: this.bases[li]! + i, mode: modeOf(list, i) });
        }
      }
    });
    for (const { slot, found } of wanted) {
      const removedModes = removedAt.get(slot)!.map((j) => modeOf(before, j));
      const foundModes = found.map((f) => f.mode);
      this.ruleCount += distinctOf(foundModes) - distinctOf([...foundModes, ...removedModes]);
      if (found.length === 0) {
        this.kill(slot);
        continue;
      }
      let self = NONE;
      let below = NONE;
      for (const { id, mode } of found) {
        if (mode !== SUBDOMAINS) self = this.pick(self, id);
        if (mode !== EXACT) below = this.pick(below, id);
      }
      this.refs[slot] = foundModes.every((mode) => mode === PLAIN) ? self : this.newPair(self, below);
      this.counts[slot] = Math.min(COUNT_MAX, found.length);
    }
  }

  /** Adds entry `id`; returns 1 when it created a new distinct (domain, scope) entry, 0 when it merged. */
  private place(hash: number, bytes: Uint8Array, start: number, end: number, id: number, mode: PlaceMode): number {
    const m = mix(hash) & this.hashMask;
    const tag = (m & 0xff) || 1;
    const { tags, refs, counts } = this;
    const capacity = tags.length;
    let slot = Math.floor(((m >>> 8) * capacity) / 16_777_216);
    for (;;) {
      const t = tags[slot]!;
      if (t === 0) break;
      if (t === tag && refs[slot] !== DEAD && sameDomain(this.lists, this.bases, entryOfSlot(refs[slot]!, this.pairs), bytes, start, end)) {
        if (counts[slot]! < COUNT_MAX) counts[slot]!++;
        return this.merge(slot, id, mode);
      }
      if (++slot === capacity) slot = 0;
    }
    // A new domain. One slot always stays empty, so every probe run ends.
    if (++this.used >= capacity) throw new RangeError(`matcher capacity ${capacity} is too small for the distinct entries`);
    tags[slot] = tag;
    counts[slot] = 1;
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
   * Precedence inside one node (same depth): allow beats block; otherwise the entry with the lower
   * id (earlier list, then earlier line) wins, so the result does not depend on the order entries
   * are placed in (a build places them in id order; a patch places appended ones last).
   */
  private pick(existing: number, incoming: number): number {
    if (existing === NONE) return incoming;
    const allowExisting = this.isAllow(existing);
    if (allowExisting !== this.isAllow(incoming)) return allowExisting ? existing : incoming;
    return incoming < existing ? incoming : existing;
  }

  private isAllow(id: number): boolean {
    const li = listIndex(this.bases, id);
    return (this.lists[li]!.flags[id - this.bases[li]!]! & FLAG_ALLOW) !== 0;
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
}
