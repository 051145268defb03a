// Copies a parsed list to another process (a cluster worker) without parsing it again: the packed
// arrays travel back to back in one byte array and are rebuilt as views on the other side.
//
// Why not send the typed arrays as they are: structured clone copies a view's whole ArrayBuffer, and
// the big arrays sit in 32 MiB regions (see typed-memory.ts), so a 1M-entry list would cost ~100 MB
// of IPC instead of ~20.
import { PackedRules, type PackedStorage } from './packed-rules.js';
import { listFromPacked, type ParsedList, type SkippedLine } from './parse-list.js';
import type { RuleKind } from './rule.js';
import { region } from './typed-memory.js';

export interface EncodedList {
  readonly name: string;
  readonly kind: RuleKind;
  readonly category: string;
  readonly skipped: readonly SkippedLine[];
  readonly size: number;
  /** Whether line numbers are a plain array (else runs). */
  readonly plainLines: boolean;
  /** Every array of the storage, in FIELDS order, each starting at a multiple of 4. */
  readonly data: Uint8Array;
  /** Byte offset and byte length of each array in `data`. */
  readonly layout: readonly number[];
}

type ArrayKind = 'u8' | 'u32' | 'i32';
const FIELDS: readonly { readonly kind: ArrayKind; readonly read: (s: PackedStorage) => Uint8Array | Uint32Array | Int32Array }[] = [
  { kind: 'u8', read: (s) => s.bytes },
  { kind: 'u8', read: (s) => s.lengths },
  { kind: 'u32', read: (s) => s.blocks },
  { kind: 'u8', read: (s) => s.flags },
  { kind: 'u32', read: (s) => s.lines.runStart },
  { kind: 'i32', read: (s) => s.lines.runDelta },
  { kind: 'u32', read: (s) => s.lines.plain ?? new Uint32Array(0) },
  { kind: 'u32', read: (s) => s.rawIndex },
  { kind: 'u32', read: (s) => s.rawOffsets },
  { kind: 'u8', read: (s) => s.rawBytes },
];

const align4 = (n: number): number => (n + 3) & ~3;

export function encodeList(list: ParsedList): EncodedList {
  const storage = list.packed.storage();
  const arrays = FIELDS.map((field) => field.read(storage));
  const layout: number[] = [];
  let total = 0;
  for (const array of arrays) {
    layout.push(total, array.byteLength);
    total = align4(total + array.byteLength);
  }
  const data = new Uint8Array(total);
  arrays.forEach((array, i) => data.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), layout[2 * i]!));
  return {
    name: list.name,
    kind: list.kind,
    category: list.category,
    skipped: list.skipped,
    size: list.size,
    plainLines: storage.lines.plain !== undefined,
    data,
    layout,
  };
}

export function decodeList(encoded: EncodedList): ParsedList {
  // One copy into our own region: the IPC buffer is freed, and a big list gets an mmap'd region.
  const memory = new Uint8Array(region(encoded.data.byteLength), 0, encoded.data.byteLength);
  memory.set(encoded.data);
  const arrays = FIELDS.map((field, i) => {
    const offset = encoded.layout[2 * i]!;
    const bytes = encoded.layout[2 * i + 1]!;
    if (field.kind === 'u8') return new Uint8Array(memory.buffer, offset, bytes);
    if (field.kind === 'u32') return new Uint32Array(memory.buffer, offset, bytes / 4);
    return new Int32Array(memory.buffer, offset, bytes / 4);
  });
  const [bytes, lengths, blocks, flags, runStart, runDelta, plain, rawIndex, rawOffsets, rawBytes] = arrays as [
    Uint8Array,
    Uint8Array,
    Uint32Array,
    Uint8Array,
    Uint32Array,
    Int32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint8Array,
  ];
  const storage: PackedStorage = {
    size: encoded.size,
    bytes,
    lengths,
    blocks,
    flags,
    lines: { runStart, runDelta, plain: encoded.plainLines ? plain : undefined },
    rawIndex,
    rawOffsets,
    rawBytes,
  };
  return listFromPacked(new PackedRules(encoded.name, encoded.kind, encoded.category, storage), encoded.skipped);
}
