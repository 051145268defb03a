// A list's entries in canonical text form, made from its packed bytes (no string per entry): for
// the state directory, Redis snapshots and compaction. A million entries take ~100 ms as one piece;
// `canonicalChunks` gives the same text in slices so a writer can let the event loop run (DNS
// answers, the next change) between them instead of blocking it for the whole list.
//
// Memory: the slices of one walk share one buffer (each is written before the next is made), and a
// whole text goes into one buffer of its exact size from typed-memory's regions. Many 256 KiB
// buffers per save would land in glibc's heap and keep the process's RSS up after they are freed
// (see typed-memory.ts); a 1M-entry list is saved once a second in a fleet.
import { FLAG_ALLOW, FLAG_SUBDOMAINS } from '../policy/packed-rules.js';
import type { ParsedList } from '../policy/parse-list.js';
import { region } from '../policy/typed-memory.js';

/** Bytes per slice: a few milliseconds of work each. */
const SLICE_BYTES = 256 * 1024;
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CARET = 0x5e;
/** Longest text of one entry: `"@@||` + 253 + `^"` and a separator. */
const ENTRY_MAX = 264;

/**
 * Writes entries from `first` on into out[at…) until `at` reaches `stop` (or the list ends);
 * returns [next entry, next offset in `bytes`, bytes written up to].
 */
function writeEntries(list: ParsedList, json: boolean, out: Uint8Array, at: number, stop: number, first: number, offset: number): [number, number, number] {
  const storage = list.packed.storage();
  const listAllows = list.kind === 'allow';
  let i = first;
  for (; i < storage.size && at < stop; i++) {
    const n = storage.lengths[i]!;
    const flags = storage.flags[i]!;
    const allows = (flags & FLAG_ALLOW) !== 0;
    if (i > 0) out[at++] = json ? COMMA : NEWLINE;
    if (json) out[at++] = QUOTE;
    if (allows !== listAllows) {
      // @@||
      out[at++] = 0x40;
      out[at++] = 0x40;
      out[at++] = 0x7c;
      out[at++] = 0x7c;
    } else if ((flags & FLAG_SUBDOMAINS) !== 0) {
      out[at++] = 0x2a; // *
      out[at++] = 0x2e; // .
    }
    out.set(storage.bytes.subarray(offset, offset + n), at);
    at += n;
    if (allows !== listAllows) out[at++] = CARET;
    if (json) out[at++] = QUOTE;
    offset += n;
  }
  return [i, offset, at];
}

/**
 * The entries as canonical text pieces, in list order: `form` 'lines' gives `e1\ne2…` (no final
 * newline), 'json' gives `"e1","e2"…` (the inside of a JSON array: canonical entries are ASCII
 * letters, digits and `-_.*@|^:/`, none of which JSON escapes). Duplicates are kept. Every piece is
 * a view of one buffer that the next piece overwrites: use each before asking for the next.
 */
export function* canonicalChunks(list: ParsedList, form: 'lines' | 'json', sliceBytes = SLICE_BYTES): Generator<Buffer> {
  const out = Buffer.allocUnsafe(sliceBytes + ENTRY_MAX);
  const size = list.packed.size;
  let next = 0;
  let offset = 0;
  while (next < size) {
    let at: number;
    [next, offset, at] = writeEntries(list, form === 'json', out, 0, sliceBytes, next, offset);
    yield out.subarray(0, at);
  }
}

/** Bytes of the list's canonical text (one a line, no final newline). */
function textLength(list: ParsedList): number {
  const { size, lengths, flags } = list.packed.storage();
  const listAllows = list.kind === 'allow';
  let total = size > 0 ? size - 1 : 0;
  for (let i = 0; i < size; i++) {
    const allows = (flags[i]! & FLAG_ALLOW) !== 0;
    total += lengths[i]! + (allows !== listAllows ? 5 : (flags[i]! & FLAG_SUBDOMAINS) !== 0 ? 2 : 0);
  }
  return total;
}

/** A buffer of the text's exact size, from a region: unmapped as soon as it is collected, whatever glibc's mmap threshold has become. */
function textBuffer(list: ParsedList): Buffer {
  const total = textLength(list);
  return Buffer.from(region(total), 0, total);
}

/**
 * The list's entries in canonical text form, one a line, in list order — what `canonicalEntries`
 * gives, built byte by byte instead of one string per entry (a million-entry list in milliseconds).
 * Duplicates are kept: lists that came through the fleet have none.
 */
export function packedCanonicalText(list: ParsedList): string {
  const out = textBuffer(list);
  const [, , at] = writeEntries(list, false, out, 0, out.length, 0, 0);
  return out.toString('latin1', 0, at);
}

/**
 * `packedCanonicalText`, made one slice per event-loop turn: for work off a change's path (the fleet's
 * snapshot compaction) that must not hold DNS answers for the ~100 ms a 1M-entry list takes in one go.
 */
export async function packedCanonicalTextInSlices(list: ParsedList): Promise<string> {
  const out = textBuffer(list);
  let next = 0;
  let offset = 0;
  let at = 0;
  while (next < list.packed.size) {
    [next, offset, at] = writeEntries(list, false, out, at, at + SLICE_BYTES, next, offset);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out.toString('latin1', 0, at);
}
