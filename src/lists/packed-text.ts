// A list's entries in canonical text form, made from its packed bytes (no string per entry): for
// the state directory, Redis snapshots and compaction. A million entries take ~100 ms as one piece;
// `canonicalChunks` gives the same text in slices so a writer can let the event loop run (DNS
// answers, the next change) between them instead of blocking it for the whole list.
import { FLAG_ALLOW, FLAG_SUBDOMAINS } from '../policy/packed-rules.js';
import type { ParsedList } from '../policy/parse-list.js';

/** Bytes per slice: a few milliseconds of work each. */
const SLICE_BYTES = 256 * 1024;
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CARET = 0x5e;

/**
 * The entries as canonical text pieces, in list order: `form` 'lines' gives `e1\ne2…` (no final
 * newline), 'json' gives `"e1","e2"…` (the inside of a JSON array: canonical entries are ASCII
 * letters, digits and `-_.*@|^:/`, none of which JSON escapes). Duplicates are kept.
 */
export function* canonicalChunks(list: ParsedList, form: 'lines' | 'json', sliceBytes = SLICE_BYTES): Generator<Buffer> {
  const storage = list.packed.storage();
  const listAllows = list.kind === 'allow';
  const json = form === 'json';
  let out = Buffer.allocUnsafe(sliceBytes + 512);
  let at = 0;
  let offset = 0;
  for (let i = 0; i < storage.size; i++) {
    const n = storage.lengths[i]!;
    const flags = storage.flags[i]!;
    const allows = (flags & FLAG_ALLOW) !== 0;
    if (i > 0) out[at++] = json ? COMMA : NEWLINE;
    if (json) out[at++] = QUOTE;
    if (allows !== listAllows) at += out.write('@@||', at, 'latin1');
    else if ((flags & FLAG_SUBDOMAINS) !== 0) at += out.write('*.', at, 'latin1');
    out.set(storage.bytes.subarray(offset, offset + n), at);
    at += n;
    if (allows !== listAllows) out[at++] = CARET;
    if (json) out[at++] = QUOTE;
    offset += n;
    if (at >= sliceBytes) {
      yield out.subarray(0, at);
      out = Buffer.allocUnsafe(sliceBytes + 512);
      at = 0;
    }
  }
  if (at > 0) yield out.subarray(0, at);
}

/**
 * The list's entries in canonical text form, one a line, in list order — what `canonicalEntries`
 * gives, built byte by byte instead of one string per entry (a million-entry list in milliseconds).
 * Duplicates are kept: lists that came through the fleet have none.
 */
export function packedCanonicalText(list: ParsedList): string {
  return Buffer.concat([...canonicalChunks(list, 'lines')]).toString('latin1');
}

/**
 * `packedCanonicalText`, made one slice per event-loop turn: for work off a change's path (the fleet's
 * snapshot compaction) that must not hold DNS answers for the ~100 ms a 1M-entry list takes in one go.
 */
export async function packedCanonicalTextInSlices(list: ParsedList): Promise<string> {
  const pieces: Buffer[] = [];
  for (const piece of canonicalChunks(list, 'lines')) {
    pieces.push(piece);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return Buffer.concat(pieces).toString('latin1');
}
