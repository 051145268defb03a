// A list after a small change (a delta: some entries removed, some appended), made from the list
// before it by copying its arrays in a few large pieces, and remembered as an edit of that list so
// the next policy can patch its matchers instead of rebuilding them (rule-index.ts, ip-index.ts).
//
// Why a dense copy and not tombstones in place: every reader of a list (matchers, explain, the admin
// API, persistence, the cluster transfer) walks entries 0..size-1; a list with holes would need each
// of them to skip the holes. Copying the arrays of a 1M-entry list is a few memcpy's (~5 ms), while
// what made a delta slow was per-entry work (hashing and re-adding every entry, rebuilding the index).
// The ids of kept entries shift by the number of removed entries before them, which a matcher patch
// maps in one pass over its table (EntryRemap below).
import { BLOCK_SHIFT, PackedRules, type PackedStorage } from './packed-rules.js';
import { region, u32WithRoom, u8WithRoom } from './typed-memory.js';

/** One appended entry: its canonical domain bytes and full flags. */
export interface AppendedEntry {
  readonly bytes: Uint8Array;
  readonly flags: number;
}

/** How a list was made from the one before it. */
export interface ListEdit {
  /** The list before (held weakly: an edit must not keep every earlier version of a list alive). */
  readonly before: WeakRef<PackedRules>;
  readonly beforeSize: number;
  /** Indices in `before` of the entries left out, ascending; the others keep their order. */
  readonly removed: Int32Array;
  /** Entries from this index of the new list on were appended. */
  readonly appendedFrom: number;
}

const edits = new WeakMap<PackedRules, ListEdit>();

/** The edit that made `list`, if it was made by editPacked. */
export function editOf(list: PackedRules): ListEdit | undefined {
  return edits.get(list);
}

/**
 * How a matcher built over `previous` can follow `next` (the same lists, non-empty, in order):
 * 'unchanged' when every list is the same object; the one list that an edit replaced, with that
 * edit, when exactly one differs and was made by editPacked from the very list it replaces;
 * undefined otherwise (lists added, removed or reordered, several changed, a list made from text):
 * the matcher is rebuilt. The one test RuleIndex.patch and IpIndex.patch both start with.
 */
export function singleEdit(previous: readonly PackedRules[], next: readonly PackedRules[]): 'unchanged' | { readonly index: number; readonly edit: ListEdit } | undefined {
  if (next.length !== previous.length) return undefined;
  let changed = -1;
  for (let k = 0; k < next.length; k++) {
    if (next[k] === previous[k]) continue;
    if (changed >= 0) return undefined;
    changed = k;
  }
  if (changed < 0) return 'unchanged';
  const edit = editOf(next[changed]!);
  if (edit === undefined || edit.before.deref() !== previous[changed]) return undefined;
  return { index: changed, edit };
}

const EMPTY_U32 = new Uint32Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const BLOCK_MASK = (1 << BLOCK_SHIFT) - 1;

/**
 * The arrays an edit wrote, with room to grow, shared by the successive versions of a list that
 * only appended to them. `tip` is the newest version: only it may append in place (writing past its
 * own length, which no earlier version reads); any other version is copied first.
 */
interface Growable {
  tip: PackedRules;
  /** Whole arrays, capacity included; each version views a prefix of them. */
  readonly bytes: Uint8Array;
  readonly lengths: Uint8Array;
  readonly flags: Uint8Array;
  readonly blocks: Uint32Array;
}

const growables = new WeakMap<PackedRules, Growable>();

/**
 * `before` without the entries at `removed` (ascending, distinct) and with `appended` at the end.
 * Line numbers become positions (1, 2, 3…), as in the list's canonical text. Lists carrying raw
 * text or RPZ data cannot be edited so (the caller rebuilds them from text).
 *
 * When nothing is removed and `before` is the newest version of arrays an earlier edit made, the
 * entries are appended in place: the cost is the delta's, not the list's. Otherwise the arrays are
 * copied (in a few memcpy's) into new ones with room to grow.
 */
export function editPacked(before: PackedRules, removed: Int32Array, appended: readonly AppendedEntry[]): PackedRules {
  const base = before.storage();
  if (base.rawIndex.length > 0 || base.rpzActions.length > 0) throw new Error(`list "${before.name}" has raw-text or RPZ entries: it cannot be edited in place`);
  const kept = base.size - removed.length;
  const size = kept + appended.length;
  let removedBytes = 0;
  for (const i of removed) removedBytes += base.lengths[i]!;
  let appendedBytes = 0;
  for (const entry of appended) appendedBytes += entry.bytes.length;
  const byteLength = base.bytes.length - removedBytes + appendedBytes;
  const blockCount = ((size + BLOCK_MASK) >>> BLOCK_SHIFT) || 1;
  const grown = growables.get(before);
  const inPlace =
    grown !== undefined && grown.tip === before && removed.length === 0 && byteLength <= grown.bytes.length && size <= grown.lengths.length && blockCount <= grown.blocks.length;
  const arrays = inPlace ? grown : allocate(byteLength, size, blockCount, before);
  const bytes = arrays.bytes.subarray(0, byteLength);
  const lengths = arrays.lengths.subarray(0, size);
  const flags = arrays.flags.subarray(0, size);
  const blocks = arrays.blocks.subarray(0, blockCount);
  let to = kept;
  let toByte = base.bytes.length - removedBytes;
  if (!inPlace) {
    // The kept entries, in runs between removed ones: one copy per run.
    let from = 0;
    let fromByte = 0;
    to = 0;
    toByte = 0;
    const copyRun = (end: number): void => {
      // The run's bytes end where entry `end` starts (or with the data).
      const endByte = end < base.size ? before.start(end) : base.bytes.length;
      bytes.set(base.bytes.subarray(fromByte, endByte), toByte);
      lengths.set(base.lengths.subarray(from, end), to);
      flags.set(base.flags.subarray(from, end), to);
      toByte += endByte - fromByte;
      to += end - from;
    };
    for (const r of removed) {
      copyRun(r);
      from = r + 1;
      fromByte = before.start(r) + base.lengths[r]!;
    }
    copyRun(base.size);
  }
  for (const entry of appended) {
    bytes.set(entry.bytes, toByte);
    lengths[to] = entry.bytes.length;
    flags[to] = entry.flags;
    toByte += entry.bytes.length;
    to++;
  }
  // Offsets of every 32nd entry: a block starting at or before the first removal keeps its offset
  // (only entries before it count); the later ones are recounted from the last kept block.
  const firstChanged = removed.length > 0 ? removed[0]! : base.size;
  const sameBlocks = Math.max(1, Math.min(blockCount, (firstChanged >>> BLOCK_SHIFT) + 1, base.blocks.length));
  if (!inPlace) blocks.set(base.blocks.subarray(0, sameBlocks));
  let offset = blocks[sameBlocks - 1]!;
  for (let i = (sameBlocks - 1) << BLOCK_SHIFT; i < size; i++) {
    if ((i & BLOCK_MASK) === 0) blocks[i >>> BLOCK_SHIFT] = offset;
    offset += lengths[i]!;
  }
  const storage: PackedStorage = {
    size,
    bytes: byteLength > 0 ? bytes : EMPTY_U8,
    lengths,
    blocks,
    flags,
    lines: { runStart: new Uint32Array([0]), runDelta: new Int32Array([1]), plain: undefined },
    rawIndex: EMPTY_U32,
    rawOffsets: new Uint32Array(1),
    rawBytes: EMPTY_U8,
    rpzActions: EMPTY_U8,
    localOffsets: EMPTY_U32,
    localBytes: EMPTY_U8,
  };
  const after = new PackedRules(before.name, before.kind, before.category, storage);
  arrays.tip = after;
  growables.set(after, arrays);
  edits.set(after, { before: new WeakRef(before), beforeSize: base.size, removed: removed.length > 0 ? removed : EMPTY_I32, appendedFrom: kept });
  return after;
}

/** New arrays for at least the given sizes, with room for appends (1/8 more, and at least a few KiB). */
function allocate(byteLength: number, size: number, blockCount: number, tip: PackedRules): Growable {
  const room = (n: number): number => n + Math.max(4096, n >>> 3);
  const bytes = u8WithRoom(room(byteLength));
  // lengths and flags share one region (they grow and die together), each half of it.
  const entries = region(2 * room(size));
  const half = entries.byteLength >>> 1;
  return {
    tip,
    bytes,
    lengths: new Uint8Array(entries, 0, half),
    flags: new Uint8Array(entries, half, half),
    blocks: u32WithRoom(room(blockCount)),
  };
}

/** Marks an id whose entry was removed. */
export const REMOVED = -2;

/**
 * Maps the global entry ids of a matcher built over lists where list `index` (first id `base`) was
 * `before` to the ids over the same lists with it replaced by its edit: ids of earlier lists stay,
 * ids of later lists shift by the change in size, kept ids of the list shift down by the removed
 * entries before them; removed ids map to REMOVED.
 */
export class EntryRemap {
  private readonly end: number;
  private readonly shift: number;
  /** Removed entries before each run of RANK_STEP local indices: a lookup then walks a handful. */
  private readonly rankAt: Int32Array;

  constructor(
    private readonly base: number,
    private readonly edit: ListEdit,
    afterSize: number,
  ) {
    this.end = base + edit.beforeSize;
    this.shift = afterSize - edit.beforeSize;
    const removed = edit.removed;
    this.rankAt = new Int32Array(removed.length > 0 ? (edit.beforeSize >>> RANK_SHIFT) + 1 : 0);
    for (let b = 0, r = 0; b < this.rankAt.length; b++) {
      while (r < removed.length && removed[r]! < b << RANK_SHIFT) r++;
      this.rankAt[b] = r;
    }
  }

  map(id: number): number {
    if (id < this.base) return id;
    if (id >= this.end) return id + this.shift;
    const removed = this.edit.removed;
    if (removed.length === 0) return id;
    const local = id - this.base;
    // Removed entries before `local`, counted from the start of its run.
    let r = this.rankAt[local >>> RANK_SHIFT]!;
    while (r < removed.length && removed[r]! < local) r++;
    if (r < removed.length && removed[r] === local) return REMOVED;
    return id - r;
  }
}

const RANK_SHIFT = 8;
