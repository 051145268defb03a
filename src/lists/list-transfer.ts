// Copies a parsed list to another process (a cluster worker) without parsing it again: the packed
// arrays are written back to back to a file, and the other side reads that file into one region and
// rebuilds the arrays as views on it. Only a small description travels over IPC.
//
// Why a file and not the IPC channel: a list of 10M entries is ~200 MB of arrays. Over IPC it was
// serialized once per worker in the primary, arrived in 64 KiB chunks that were joined and then
// deserialized in the worker (three copies, the small chunks fragmenting the heap): measured with
// --workers 2 and 10M domains, 939 + 617 + 617 MB RSS just after start and still 288 + 450 + 450 MB
// once collected, against 297 MB for one process. From a file the worker reads straight into the
// region that keeps the list. (Structured clone of the arrays themselves is no better: it copies each
// view's whole ArrayBuffer, and the big arrays sit in 32 MiB regions, see typed-memory.ts.)
import { open } from 'node:fs/promises';
import { PackedRules, type PackedStorage } from '../policy/packed-rules.js';
import { listFromPacked, type ParsedList, type SkippedLine } from '../policy/parse-list.js';
import type { ListKind } from '../query/rule.js';
import { region } from '../policy/typed-memory.js';

export interface EncodedList {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;
  readonly skipped: readonly SkippedLine[];
  readonly size: number;
  /** Whether line numbers are a plain array (else runs). */
  readonly plainLines: boolean;
  /** The file holding every array of the storage, in FIELDS order, each starting at a multiple of 4. */
  readonly file: string;
  readonly byteLength: number;
  /** Byte offset and byte length of each array in the file. */
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
  { kind: 'u8', read: (s) => s.rpzActions },
  { kind: 'u32', read: (s) => s.localOffsets },
  { kind: 'u8', read: (s) => s.localBytes },
];

const align4 = (n: number): number => (n + 3) & ~3;

/** Writes `list`'s arrays to `file` (created, must not exist) and describes them. */
export async function writeListFile(list: ParsedList, file: string): Promise<EncodedList> {
  const storage = list.packed.storage();
  const arrays = FIELDS.map((field) => field.read(storage));
  const layout: number[] = [];
  let total = 0;
  for (const array of arrays) {
    layout.push(total, array.byteLength);
    total = align4(total + array.byteLength);
  }
  const handle = await open(file, 'wx', 0o600);
  try {
    for (let i = 0; i < arrays.length; i++) {
      const array = arrays[i]!;
      if (array.byteLength > 0) await handle.write(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 0, array.byteLength, layout[2 * i]!);
    }
    await handle.truncate(total); // the padding after the last array, so the reader finds every byte
  } finally {
    await handle.close();
  }
  return {
    name: list.name,
    kind: list.kind,
    category: list.category,
    skipped: list.skipped,
    size: list.size,
    plainLines: storage.lines.plain !== undefined,
    file,
    byteLength: total,
    layout,
  };
}

/** The list `writeListFile` described, read into one region of this process. */
export async function readListFile(encoded: EncodedList): Promise<ParsedList> {
  const memory = new Uint8Array(region(encoded.byteLength), 0, encoded.byteLength);
  const handle = await open(encoded.file, 'r');
  try {
    for (let at = 0; at < encoded.byteLength; ) {
      const { bytesRead } = await handle.read(memory, at, encoded.byteLength - at, at);
      if (bytesRead === 0) throw new Error(`list file ${encoded.file} ends at byte ${at} of ${encoded.byteLength}`);
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const arrays = FIELDS.map((field, i) => {
    const offset = encoded.layout[2 * i]!;
    const bytes = encoded.layout[2 * i + 1]!;
    if (field.kind === 'u8') return new Uint8Array(memory.buffer, offset, bytes);
    if (field.kind === 'u32') return new Uint32Array(memory.buffer, offset, bytes / 4);
    return new Int32Array(memory.buffer, offset, bytes / 4);
  });
  const [bytes, lengths, blocks, flags, runStart, runDelta, plain, rawIndex, rawOffsets, rawBytes, rpzActions, localOffsets, localBytes] = arrays as [
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
    Uint8Array,
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
    rpzActions,
    localOffsets,
    localBytes,
  };
  return listFromPacked(new PackedRules(encoded.name, encoded.kind, encoded.category, storage), encoded.skipped);
}
