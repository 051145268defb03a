// Applying a delta (entries to remove, entries to add) to a big list without turning it into strings,
// for the admin API's POST /v1/lists/NAME/entries and for every instance of a fleet.
//
// Finding the delta's entries in the list: when the caller can say that no list names an entry's
// domain at all (the live policy's matcher knows: `mayHold`), it is certainly absent, which is the
// common case for additions. Only when some entry may be present is the list walked, hashing just the
// entries whose length and first bytes match a wanted one (no string per entry). The new list is then
// the old one's arrays copied in a few pieces with the removals left out and the additions appended
// (policy/packed-edit.ts), remembered as an edit so the next policy patches its matchers instead of
// rebuilding them. On a million-entry list an addition costs milliseconds, where rebuilding the list
// from a Set of a million strings took seconds.
import { FLAG_ADDRESS, FLAG_ALLOW, FLAG_RAW_TEXT, FLAG_SUBDOMAINS } from '../policy/packed-rules.js';
import { editPacked } from '../policy/packed-edit.js';
import { listFromPacked, parseList, type ParsedList } from '../policy/parse-list.js';
import { packedCanonicalText } from './packed-text.js';

/** Whether the list may hold the entry with canonical domain bytes[start, end) and `flags` (false: certainly not). */
export type MayHold = (bytes: Uint8Array, start: number, end: number, flags: number) => boolean;

/** The bits that make two entries the same rule (the rest only say how the entry was written). */
const IDENTITY = FLAG_SUBDOMAINS | FLAG_ALLOW | FLAG_ADDRESS;

interface Wanted {
  readonly bytes: Buffer;
  readonly identity: number;
  /** The full flags to store an addition with (as parsed from its canonical text). */
  readonly flags: number;
}

/** FNV-1a over bytes[from, to), with the identity bits mixed in. */
function hashOf(bytes: Uint8Array, from: number, to: number, identity: number): number {
  let h = 0x811c9dc5 ^ identity;
  for (let k = from; k < to; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  return h >>> 0;
}

interface WantedSet {
  readonly byHash: Map<number, Wanted[]>;
  /** Distinct entries in the order given (additions are appended in this order, as a Set would). */
  readonly order: Wanted[];
}

/** Canonical entries (as the fleet stores them) as packed entries of a list of `list`'s kind. */
function wanted(list: ParsedList, entries: readonly string[]): WantedSet {
  const byHash = new Map<number, Wanted[]>();
  const order: Wanted[] = [];
  if (entries.length === 0) return { byHash, order };
  const parsed = parseList(entries.join('\n'), { name: list.name, kind: list.kind, category: list.category }).packed;
  const storage = parsed.storage();
  let offset = 0;
  for (let i = 0; i < parsed.size; i++) {
    const n = storage.lengths[i]!;
    const flags = storage.flags[i]!;
    const item: Wanted = { bytes: Buffer.from(storage.bytes.subarray(offset, offset + n)), identity: flags & IDENTITY, flags: flags & ~FLAG_RAW_TEXT };
    if (match(byHash, storage.bytes, offset, offset + n, item.identity) === undefined) {
      const h = hashOf(storage.bytes, offset, offset + n, item.identity);
      const bucket = byHash.get(h);
      if (bucket) bucket.push(item);
      else byHash.set(h, [item]);
      order.push(item);
    }
    offset += n;
  }
  return { byHash, order };
}

function match(byHash: Map<number, Wanted[]>, bytes: Uint8Array, from: number, to: number, identity: number): Wanted | undefined {
  const bucket = byHash.get(hashOf(bytes, from, to, identity));
  if (bucket === undefined) return undefined;
  for (const item of bucket) {
    if (item.identity !== identity || item.bytes.length !== to - from) continue;
    let same = true;
    for (let k = 0; k < item.bytes.length && same; k++) same = item.bytes[k] === bytes[from + k];
    if (same) return item;
  }
  return undefined;
}

/** One delta: removals first, then additions (canonical entries). */
export interface Delta {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

export interface PackedDeltaResult {
  readonly list: ParsedList;
  /** Per delta, in order: entries it added that were absent, entries it removed that were present. */
  readonly stats: readonly { readonly added: number; readonly removed: number }[];
}

interface Touched extends Wanted {
  inBase: boolean;
  present: boolean;
  /** True while the entry sits where the base list has it (never removed since). */
  inPlace: boolean;
  /** Order of its last insertion, for entries appended at the end. */
  insertedAt: number;
}

/**
 * `list` with `deltas` applied in order, with exactly the result of applying each to a Set of the
 * list's canonical entries (entries keep their place unless removed; new ones are appended in the
 * order added). Undefined when the list has entries kept as raw text or is an RPZ zone (the caller
 * then takes the string path). `mayHold` (optional) rules entries out without a pass over the list.
 */
export function applyPackedDeltas(list: ParsedList, deltas: readonly Delta[], mayHold?: MayHold): PackedDeltaResult | undefined {
  const base = list.packed.storage();
  // RPZ zones (per-entry actions) are never changed by deltas; raw-text entries take the string path.
  if (base.rpzActions.length > 0 || base.rawIndex.length > 0) return undefined;
  // Every entry any delta names, once; then each delta as references into that set.
  const universe = wanted(list, deltas.flatMap((d) => [...d.remove, ...d.add]));
  const touched = universe.order.map((item): Touched => Object.assign(item, { inBase: false, present: false, inPlace: false, insertedAt: -1 }));
  const refs = deltas.map((d) => ({
    remove: wanted(list, d.remove).order.map((w) => match(universe.byHash, w.bytes, 0, w.bytes.length, w.identity) as Touched),
    add: wanted(list, d.add).order.map((w) => match(universe.byHash, w.bytes, 0, w.bytes.length, w.identity) as Touched),
  }));
  // Which touched entries the base holds, and where (every copy, should the list repeat one).
  const hits = findInBase(base, touched.filter((t) => mayHold === undefined || mayHold(t.bytes, 0, t.bytes.length, t.flags)));
  for (const hit of hits.values()) hit.inBase = true;
  for (const t of touched) {
    t.present = t.inBase;
    t.inPlace = t.inBase;
  }
  // The deltas, on the touched entries only.
  let sequence = 0;
  const stats = refs.map(({ remove, add }) => {
    let removed = 0;
    let added = 0;
    for (const t of remove) {
      if (!t.present) continue;
      t.present = false;
      t.inPlace = false;
      removed++;
    }
    for (const t of add) {
      if (t.present) continue;
      t.present = true;
      t.insertedAt = sequence++;
      added++;
    }
    return { added, removed };
  });
  // The new list: the base without the entries that left their place, plus what was (re)inserted.
  const removed = Int32Array.from([...hits].filter(([, hit]) => !hit.inPlace).map(([i]) => i)).sort();
  const appended = touched.filter((t) => t.present && !t.inPlace).sort((a, b) => a.insertedAt - b.insertedAt);
  if (removed.length === 0 && appended.length === 0) return { list, stats };
  return { list: listFromPacked(editPacked(list.packed, removed, appended), []), stats };
}

/**
 * A cheap key of an entry's shape in SHAPE_BITS bits: its length and first three bytes (the leftmost
 * labels are what tells domains apart; their endings are shared: `.com`).
 */
const SHAPE_BITS = 20;
function shapeOf(bytes: Uint8Array, start: number, n: number): number {
  const b1 = n > 1 ? bytes[start + 1]! : 0;
  const b2 = n > 2 ? bytes[start + 2]! : 0;
  return Math.imul((n << 24) ^ (bytes[start]! << 16) ^ (b1 << 8) ^ b2, 0x9e3779b1) >>> (32 - SHAPE_BITS);
}

/**
 * Entry index → touched entry, for every entry of the base that is one of `candidates`. Only entries
 * whose shape (length, first bytes) some candidate has are hashed: a bit-table lookup skips nearly
 * all the rest.
 */
function findInBase(base: ReturnType<ParsedList['packed']['storage']>, candidates: readonly Touched[]): Map<number, Touched> {
  const hits = new Map<number, Touched>();
  if (candidates.length === 0) return hits;
  const byHash = new Map<number, Wanted[]>();
  const shape = new Uint8Array(1 << SHAPE_BITS);
  for (const c of candidates) {
    const h = hashOf(c.bytes, 0, c.bytes.length, c.identity);
    byHash.set(h, [...(byHash.get(h) ?? []), c]);
    shape[shapeOf(c.bytes, 0, c.bytes.length)] = 1;
  }
  const { bytes, lengths, flags, size } = base;
  let offset = 0;
  for (let i = 0; i < size; i++) {
    const n = lengths[i]!;
    const end = offset + n;
    if (shape[shapeOf(bytes, offset, n)] === 1) {
      const hit = match(byHash, bytes, offset, end, flags[i]! & IDENTITY) as Touched | undefined;
      if (hit) hits.set(i, hit);
    }
    offset = end;
  }
  return hits;
}

/**
 * `list` with every entry once (the first of each repeated (domain, scope, kind) kept, in order) —
 * what a Set of its canonical entries holds, found by hashing the packed bytes (no string per
 * entry: a Set of a million strings took seconds on a loaded machine). The same object when nothing
 * repeats. Entries kept as raw text are first brought to canonical form (as the fleet stores them).
 */
export function distinctEntries(list: ParsedList): ParsedList {
  if (list.packed.rpzActions.length > 0) throw new Error(`list "${list.name}" is an RPZ zone: its entries are not list lines`);
  const canonical = list.packed.storage().rawIndex.length > 0 ? parseList(packedCanonicalText(list), { name: list.name, kind: list.kind, category: list.category }) : list;
  const { bytes, lengths, flags, size } = canonical.packed.storage();
  let capacity = 16;
  while (capacity < 2 * size) capacity *= 2;
  const table = new Int32Array(capacity).fill(-1);
  const starts = new Uint32Array(size);
  const removed: number[] = [];
  let offset = 0;
  for (let i = 0; i < size; i++) {
    const n = lengths[i]!;
    const identity = flags[i]! & IDENTITY;
    starts[i] = offset;
    let slot = hashOf(bytes, offset, offset + n, identity) & (capacity - 1);
    for (;;) {
      const j = table[slot]!;
      if (j === -1) {
        table[slot] = i;
        break;
      }
      if (lengths[j] === n && (flags[j]! & IDENTITY) === identity && bytesEqual(bytes, starts[j]!, offset, n)) {
        removed.push(i);
        break;
      }
      slot = (slot + 1) & (capacity - 1);
    }
    offset += n;
  }
  if (removed.length === 0) return canonical;
  return listFromPacked(editPacked(canonical.packed, Int32Array.from(removed), []), canonical.skipped);
}

function bytesEqual(bytes: Uint8Array, a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}
