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
import { editOf, editPacked } from '../policy/packed-edit.js';

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

/**
 * A list sent as an edit of the version the other process already holds (a delta): the indices of
 * the removed entries and the appended entries. A 100-entry delta on a 1M-entry list is then a few
 * KiB over IPC instead of a ~25 MB file, and the other side patches its policy as this one did.
 */
export interface EncodedEdit {
  readonly name: string;
  /** Entries of the list after the edit (checked on arrival). */
  readonly size: number;
  readonly removed: readonly number[];
  readonly appended: readonly { readonly domain: string; readonly flags: number }[];
}

/** Edits larger than this travel as whole lists (a file) instead. */
const MAX_EDIT_ENTRIES = 20_000;

/** `list` as an edit of `held` (the version the other process has), or undefined when it is not one. */
export function encodeEdit(list: ParsedList, held: ParsedList | undefined): EncodedEdit | undefined {
  const edit = editOf(list.packed);
  if (edit === undefined || held === undefined || edit.before.deref() !== held.packed) return undefined;
  if (edit.removed.length + list.size - edit.appendedFrom > MAX_EDIT_ENTRIES) return undefined;
  const appended: { domain: string; flags: number }[] = [];
  for (let i = edit.appendedFrom; i < list.size; i++) appended.push({ domain: list.packed.domain(i), flags: list.packed.flags[i]! });
  return { name: list.name, size: list.size, removed: [...edit.removed], appended };
}

/** The list `encodeEdit` described, made from `held` (the same version the sender edited). */
export function applyEdit(held: ParsedList, encoded: EncodedEdit): ParsedList {
  const appended = encoded.appended.map((entry) => ({ bytes: Buffer.from(entry.domain, 'latin1'), flags: entry.flags }));
  const packed = editPacked(held.packed, Int32Array.from(encoded.removed), appended);
  if (packed.size !== encoded.size) throw new Error(`list "${encoded.name}": the edit gives ${packed.size} entries, the sender has ${encoded.size}`);
  return listFromPacked(packed, held.skipped);
}
