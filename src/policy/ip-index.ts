// The matcher for answer-IP rules: longest prefix wins; on the same prefix an allow beats a block
// (as for names). Built once per policy generation from the lists' packed entries that carry
// FLAG_ADDRESS, never mutated.
//
// Layout, per family: the distinct prefixes sorted by (length descending, address ascending), in
// typed arrays (IPv4: one Uint32 key each; IPv6: four), an Int32 entry id each, and one run
// [length, start, end) per prefix length present. A lookup masks the address for each length
// present, longest first, and binary-searches that run: at most 17 runs for IPv4 (/16../32) and a
// few for IPv6 in practice. 8 bytes per IPv4 prefix, 20 per IPv6 prefix, no object per rule; a Rule
// is materialised only for the prefix that decides.
import { FLAG_ADDRESS, FLAG_ALLOW, type PackedRules } from './packed-rules.js';
import { isMappedIpv4, parseIpPrefix, scanIpv4Prefix } from './ip-prefix.js';
import type { Rule } from '../query/rule.js';
import { EntryRemap, REMOVED, singleEdit } from './packed-edit.js';

interface Family {
  /** Words per key: 1 (IPv4) or 4 (IPv6). */
  readonly words: number;
  readonly keys: Uint32Array;
  readonly ids: Int32Array;
  /** Triples [prefix length, start, end) over keys/ids, longest length first. */
  readonly runs: Int32Array;
}

const EMPTY_V4: Family = { words: 1, keys: new Uint32Array(0), ids: new Int32Array(0), runs: new Int32Array(0) };
const EMPTY_V6: Family = { words: 4, keys: new Uint32Array(0), ids: new Int32Array(0), runs: new Int32Array(0) };

export class IpIndex {
  private readonly address = new Uint32Array(4);
  private readonly masked = new Uint32Array(4);

  private constructor(
    private readonly lists: readonly PackedRules[],
    private readonly bases: Int32Array,
    private readonly v4: Family,
    private readonly v6: Family,
  ) {}

  static build(all: readonly PackedRules[]): IpIndex {
    const lists = all.filter((l) => l.size > 0);
    const bases = new Int32Array(Math.max(1, lists.length));
    let total = 0;
    const v4: Collected = { words: 1, keys: [], lengths: [], ids: [] };
    const v6: Collected = { words: 4, keys: [], lengths: [], ids: [] };
    const scratch = new Uint32Array(2);
    lists.forEach((list, li) => {
      bases[li] = total;
      const { flags, size, bytes, lengths } = list;
      for (let i = 0; i < size; i++) {
        if ((flags[i]! & FLAG_ADDRESS) === 0) continue;
        const start = list.start(i);
        // Stored IPv4 prefixes are canonical text: read straight from the bytes, no string.
        if (scanIpv4Prefix(bytes, start, start + lengths[i]!, scratch) === 1) {
          v4.keys.push(scratch[0]!);
          v4.lengths.push(scratch[1]!);
          v4.ids.push(total + i);
          continue;
        }
        const parsed = parseIpPrefix(list.domain(i));
        // Stored entries were checked when parsed; anything else is not a prefix and is ignored.
        if (parsed === undefined || 'error' in parsed) continue;
        const into = parsed.family === 4 ? v4 : v6;
        const b = parsed.bytes;
        for (let w = 0; w < into.words; w++) into.keys.push(((b[4 * w]! << 24) | (b[4 * w + 1]! << 16) | (b[4 * w + 2]! << 8) | b[4 * w + 3]!) >>> 0);
        into.lengths.push(parsed.prefix);
        into.ids.push(total + i);
      }
      total += size;
    });
    const isAllow = (id: number): boolean => {
      const li = listOf(bases, lists.length, id);
      return (lists[li]!.flags[id - bases[li]!]! & FLAG_ALLOW) !== 0;
    };
    return new IpIndex(lists, bases, v4.ids.length ? pack(v4, isAllow) : EMPTY_V4, v6.ids.length ? pack(v6, isAllow) : EMPTY_V6);
  }

  /**
   * The index over `all`, made from `previous` (built over the same lists but for one that an edit
   * replaced, see packed-edit.ts): `previous` itself when nothing changed; when the edit touched no
   * address entry, a copy with the ids mapped (a few arrays of the address entries only); undefined
   * when a build is needed.
   */
  static patch(previous: IpIndex, all: readonly PackedRules[]): IpIndex | undefined {
    const lists = all.filter((l) => l.size > 0);
    const found = singleEdit(previous.lists, lists);
    if (found === undefined) return undefined;
    if (found === 'unchanged') return previous;
    const { index: changed, edit } = found;
    const after = lists[changed]!;
    const before = previous.lists[changed]!;
    for (const j of edit.removed) if ((before.flags[j]! & FLAG_ADDRESS) !== 0) return undefined;
    for (let i = edit.appendedFrom; i < after.size; i++) if ((after.flags[i]! & FLAG_ADDRESS) !== 0) return undefined;
    const bases = new Int32Array(Math.max(1, lists.length));
    lists.forEach((list, i) => (bases[i] = i === 0 ? 0 : bases[i - 1]! + lists[i - 1]!.size));
    const remap = new EntryRemap(previous.bases[changed]!, edit, after.size);
    const mapped = (family: Family): Family => {
      if (family.ids.length === 0) return family;
      const ids = family.ids.map((id) => remap.map(id));
      if (ids.includes(REMOVED)) throw new Error('an address entry was removed but not reported by its edit');
      return { ...family, ids };
    };
    return new IpIndex(lists, bases, mapped(previous.v4), mapped(previous.v6));
  }

  /** Distinct prefixes in effect. */
  get size(): number {
    return this.v4.ids.length + this.v6.ids.length;
  }

  get byteSize(): number {
    return [this.v4, this.v6].reduce((sum, f) => sum + f.keys.byteLength + f.ids.byteLength + f.runs.byteLength, 0);
  }

  /** The rule deciding the address at bytes[offset, offset + length) (4 or 16 bytes); `::ffff:a.b.c.d` is a.b.c.d. */
  match(bytes: Uint8Array, offset: number, length: number): Rule | undefined {
    if (this.size === 0) return undefined;
    if (length === 16 && isMappedIpv4(bytes, offset)) return this.match(bytes, offset + 12, 4);
    if (length === 4) return this.matchV4(((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0);
    const family = this.v6;
    if (family.ids.length === 0) return undefined;
    const words = family.words;
    // Scratch arrays of this index: a match runs to completion, nothing is allocated per answer.
    const address = this.address;
    for (let w = 0; w < words; w++) {
      const o = offset + 4 * w;
      address[w] = ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
    }
    const masked = this.masked;
    const runs = family.runs;
    for (let r = 0; r < runs.length; r += 3) {
      const prefix = runs[r]!;
      for (let w = 0; w < words; w++) {
        const bits = Math.max(0, Math.min(32, prefix - 32 * w));
        masked[w] = bits === 0 ? 0 : bits === 32 ? address[w]! : (address[w]! & (0xffffffff << (32 - bits))) >>> 0;
      }
      const at = search(family, runs[r + 1]!, runs[r + 2]!, masked);
      if (at >= 0) return this.rule(family.ids[at]!);
    }
    return undefined;
  }

  /** IPv4: each prefix length present, longest first, is one mask and one binary search of plain u32 keys. */
  private matchV4(address: number): Rule | undefined {
    const { keys, ids, runs } = this.v4;
    for (let r = 0; r < runs.length; r += 3) {
      const prefix = runs[r]!;
      const key = prefix === 0 ? 0 : (address & (0xffffffff << (32 - prefix))) >>> 0;
      let lo = runs[r + 1]!;
      let hi = runs[r + 2]!;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const k = keys[mid]!;
        if (k === key) return this.rule(ids[mid]!);
        if (k < key) lo = mid + 1;
        else hi = mid;
      }
    }
    return undefined;
  }

  private rule(id: number): Rule {
    const li = listOf(this.bases, this.lists.length, id);
    return this.lists[li]!.rule(id - this.bases[li]!);
  }
}

interface Collected {
  readonly words: number;
  readonly keys: number[];
  readonly lengths: number[];
  readonly ids: number[];
}

function compareKeys(keys: ArrayLike<number>, a: number, b: ArrayLike<number>, bAt: number, words: number): number {
  for (let w = 0; w < words; w++) {
    const x = keys[a * words + w]!;
    const y = b[bAt * words + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Sorts, merges duplicates (allow wins the same prefix, else the first list's), and cuts runs. */
function pack(c: Collected, isAllow: (id: number) => boolean): Family {
  const { words } = c;
  const order = sortedOrder(c);
  const keys: number[] = [];
  const ids: number[] = [];
  const lengths: number[] = [];
  for (const i of order) {
    const n = ids.length;
    if (n > 0 && lengths[n - 1] === c.lengths[i] && compareKeys(keys, n - 1, c.keys, i, words) === 0) {
      if (!isAllow(ids[n - 1]!) && isAllow(c.ids[i]!)) ids[n - 1] = c.ids[i]!;
      continue;
    }
    for (let w = 0; w < words; w++) keys.push(c.keys[i * words + w]!);
    ids.push(c.ids[i]!);
    lengths.push(c.lengths[i]!);
  }
  const runs: number[] = [];
  for (let i = 0; i < lengths.length; i++) {
    if (i === 0 || lengths[i] !== lengths[i - 1]) runs.push(lengths[i]!, i, i + 1);
    else runs[runs.length - 1] = i + 1;
  }
  return { words, keys: Uint32Array.from(keys), ids: Int32Array.from(ids), runs: Int32Array.from(runs) };
}

/**
 * Entry indices by (length descending, key ascending, id ascending). IPv4: a counting sort by
 * length, then each length's run as one Float64Array of key * 2^21 + position (exact below 2^53),
 * sorted natively without comparator calls: 100,000 prefixes in a few ms. IPv6 (and a run over
 * 2^21 entries) uses a comparator.
 */
function sortedOrder(c: Collected): Uint32Array {
  const n = c.ids.length;
  const order = new Uint32Array(n);
  const byComparator = (from: number, to: number): void => {
    order.subarray(from, to).sort((a, b) => c.lengths[b]! - c.lengths[a]! || compareKeys(c.keys, a, c.keys, b, c.words) || c.ids[a]! - c.ids[b]!);
  };
  if (c.words !== 1) {
    for (let i = 0; i < n; i++) order[i] = i;
    byComparator(0, n);
    return order;
  }
  const counts = new Int32Array(33);
  for (let i = 0; i < n; i++) counts[c.lengths[i]!]!++;
  const runStart = new Int32Array(34);
  for (let length = 32, at = 0; length >= 0; length--) {
    runStart[length] = at;
    at += counts[length]!;
  }
  const fill = runStart.slice();
  for (let i = 0; i < n; i++) order[fill[c.lengths[i]!]!++] = i;
  const POSITION = 2 ** 21;
  for (let length = 32; length >= 0; length--) {
    const from = runStart[length]!;
    const size = counts[length]!;
    if (size < 2) continue;
    if (size >= POSITION) {
      byComparator(from, from + size);
      continue;
    }
    const packed = new Float64Array(size);
    for (let k = 0; k < size; k++) packed[k] = c.keys[order[from + k]!]! * POSITION + k;
    packed.sort();
    const run = order.slice(from, from + size);
    for (let k = 0; k < size; k++) order[from + k] = run[packed[k]! % POSITION]!;
  }
  return order;
}

/** Index of `key` in keys[start, end) (sorted), or -1. */
function search(f: Family, start: number, end: number, key: Uint32Array): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(f.keys, mid, key, 0, f.words);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/** The list an entry id belongs to (bases ascending). */
function listOf(bases: Int32Array, count: number, id: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bases[mid]! <= id) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
