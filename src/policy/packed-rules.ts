// The entries of one parsed list, packed into a few typed arrays instead of one Rule object each.
//
// Why: a Rule object costs ~80 bytes of heap plus its strings (and, when the strings were sliced
// from the file text, it pins the whole text). A list of 1,000,000 entries held that way is
// ~160 MB of heap. Packed, the same list is the bytes of its names plus ~2 bytes an entry, outside
// the V8 heap (no GC work):
//
//   bytes    Uint8Array   every normalised domain, ASCII, back to back (punycode keeps them ASCII)
//   lengths  Uint8Array   length of each domain (a name is at most 253 characters)
//   blocks   Uint32Array  offset in `bytes` of every BLOCK-th entry; the offset of entry i is
//                        blocks[i / BLOCK] + the lengths before i in its block (at most BLOCK-1
//                        adds in one cache line). 4 bytes per BLOCK entries instead of 4 per entry.
//   flags    Uint8Array   scope, kind, and how the entry was written (see below)
//   lines    runs         line = i + delta, with delta changing only where the line numbers do not
//                        simply count up (comments, blank or skipped lines, several names on one
//                        hosts line): a real list needs a handful of runs, not 4 bytes an entry.
//                        A list where that does not pay (blank line between every entry) gets a
//                        plain Uint32Array instead.
//   raw*                 the written text of the rare entries whose text is not derivable from
//                        the domain and the flags (uppercase, trailing dot, IDN, odd modifiers)
//
// A Rule is materialised only when something asks for one (a match, explain, the admin API), and
// the verdict LRU in front of the policy keeps the few that queries need. Instances are immutable
// after `PackedRulesBuilder.finish`: policies share them across swaps instead of copying.
import type { ListKind, Rule, RuleKind, RuleScope } from '../query/rule.js';
import { region, u32WithRoom, u8WithRoom } from './typed-memory.js';
import { RPZ_EXACT, rpzActionName } from './rpz-actions.js';

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_U32 = new Uint32Array(0);

/** Entry is `*.d` (subdomains only). */
export const FLAG_SUBDOMAINS = 0x01;
/** Entry is an allow rule (an allowlist entry, or an `@@||d^` exception inside a block list). */
export const FLAG_ALLOW = 0x02;
/** Written text = prefix + domain + suffix; prefix in bits 2-3, suffix in bits 4-5. */
const PREFIX_SHIFT = 2;
const SUFFIX_SHIFT = 4;
/** The written text is in the raw store (prefix/suffix bits unused). */
export const FLAG_RAW_TEXT = 0x40;
/** Entry is an answer-IP rule: its "domain" is the canonical prefix text (`203.0.113.0/24`), see ip-prefix.ts. */
export const FLAG_ADDRESS = 0x80;

export const TEXT_PREFIXES = ['', '*.', '||', '@@||'] as const;
export const TEXT_SUFFIXES = ['', '^', '^$important', '^$all'] as const;
export type TextPrefix = 0 | 1 | 2 | 3;
export type TextSuffix = 0 | 1 | 2 | 3;

export function textFlags(prefix: TextPrefix, suffix: TextSuffix): number {
  return (prefix << PREFIX_SHIFT) | (suffix << SUFFIX_SHIFT);
}

/** Entries per offset checkpoint (a power of two). */
export const BLOCK_SHIFT = 5;
const BLOCK = 1 << BLOCK_SHIFT;
const BLOCK_MASK = BLOCK - 1;
/** Offsets are Uint32: this many bytes of domains per list at most (~290M entries). */
const MAX_BYTES = 0xffff_ffff;
/** Longest name stored (DNS limit); lengths are bytes. */
const MAX_DOMAIN_LENGTH = 253;

/** Line numbers: either runs (`runStart` sorted entry indices, `runDelta` line - index from there) or plain. */
interface LineTable {
  readonly runStart: Uint32Array;
  readonly runDelta: Int32Array;
  /** Set when runs would not pay; then `runStart`/`runDelta` are empty. */
  readonly plain: Uint32Array | undefined;
}

export interface PackedStorage {
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly lengths: Uint8Array;
  readonly blocks: Uint32Array;
  readonly flags: Uint8Array;
  readonly lines: LineTable;
  readonly rawIndex: Uint32Array;
  readonly rawOffsets: Uint32Array;
  readonly rawBytes: Uint8Array;
  /** RPZ lists only (empty otherwise): per entry RPZ_* action code | RPZ_EXACT, see rpz-actions.ts. */
  readonly rpzActions: Uint8Array;
  /** RPZ local data: entry i's records are localBytes[localOffsets[i], localOffsets[i + 1]) (empty arrays when none). */
  readonly localOffsets: Uint32Array;
  readonly localBytes: Uint8Array;
}

export class PackedRules {
  /** Number of entries. */
  readonly size: number;

  /** @internal Storage, read directly by the matcher's hot loops. Never mutate. */
  readonly bytes: Uint8Array;
  /** @internal */
  readonly lengths: Uint8Array;
  /** @internal */
  readonly blocks: Uint32Array;
  /** @internal */
  readonly flags: Uint8Array;
  private readonly lines: LineTable;
  private readonly rawIndex: Uint32Array;
  private readonly rawOffsets: Uint32Array;
  private readonly rawBytes: Buffer;
  /** @internal RPZ action per entry (empty for plain lists). */
  readonly rpzActions: Uint8Array;
  private readonly localOffsets: Uint32Array;
  private readonly localBytes: Uint8Array;
  /** `bytes` as a Buffer, for native Latin-1 decoding. */
  private readonly view: Buffer;

  /** @internal Use PackedRulesBuilder. */
  constructor(
    readonly name: string,
    readonly kind: ListKind,
    readonly category: string,
    storage: PackedStorage,
  ) {
    this.size = storage.size;
    this.bytes = storage.bytes;
    this.lengths = storage.lengths;
    this.blocks = storage.blocks;
    this.flags = storage.flags;
    this.lines = storage.lines;
    this.rawIndex = storage.rawIndex;
    this.rawOffsets = storage.rawOffsets;
    this.rawBytes = Buffer.from(storage.rawBytes.buffer, storage.rawBytes.byteOffset, storage.rawBytes.byteLength);
    this.rpzActions = storage.rpzActions;
    this.localOffsets = storage.localOffsets;
    this.localBytes = storage.localBytes;
    this.view = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    Object.freeze(this);
  }

  /** @internal The arrays themselves (immutable), for copying a list to a cluster worker. */
  storage(): PackedStorage {
    return {
      size: this.size,
      bytes: this.bytes,
      lengths: this.lengths,
      blocks: this.blocks,
      flags: this.flags,
      lines: this.lines,
      rawIndex: this.rawIndex,
      rawOffsets: this.rawOffsets,
      rawBytes: this.rawBytes,
      rpzActions: this.rpzActions,
      localOffsets: this.localOffsets,
      localBytes: this.localBytes,
    };
  }

  /** @internal Offset of entry i's domain in `bytes` (no range check: hot path). */
  start(i: number): number {
    const lengths = this.lengths;
    let offset = this.blocks[i >>> BLOCK_SHIFT]!;
    for (let j = i & ~BLOCK_MASK; j < i; j++) offset += lengths[j]!;
    return offset;
  }

  domain(i: number): string {
    this.check(i);
    return this.domainAt(i);
  }

  scope(i: number): RuleScope {
    this.check(i);
    return this.scopeAt(i);
  }

  private scopeAt(i: number): RuleScope {
    if ((this.flags[i]! & FLAG_SUBDOMAINS) !== 0) return 'subdomains';
    return this.rpzActions.length > 0 && (this.rpzActions[i]! & RPZ_EXACT) !== 0 ? 'exact' : 'domain';
  }

  ruleKind(i: number): RuleKind {
    this.check(i);
    return (this.flags[i]! & FLAG_ALLOW) !== 0 ? 'allow' : 'block';
  }

  /** 1-based line of entry i in its source (0 when not from text). */
  line(i: number): number {
    this.check(i);
    return this.lineAt(i);
  }

  /** The entry as written in its source line (trimmed). */
  text(i: number): string {
    this.check(i);
    return this.textAt(i, this.domainAt(i));
  }

  /** Entry i as a fresh Rule object. */
  rule(i: number): Rule {
    this.check(i);
    return this.ruleWithDomain(i, this.domainAt(i));
  }

  /**
   * @internal Entry i as a Rule, with its domain supplied by the caller (the matcher has it as the
   * matched suffix of the query, verified byte for byte): saves decoding it from `bytes`.
   */
  ruleWithDomain(i: number, domain: string): Rule {
    this.check(i);
    const flags = this.flags[i]!;
    // Same property order as every other Rule literal: one hidden class.
    const rpz = this.rpzActions.length > 0 ? rpzActionName(this.rpzActions[i]!) : undefined;
    return {
      domain,
      scope: this.scopeAt(i),
      kind: (flags & FLAG_ALLOW) !== 0 ? 'allow' : 'block',
      list: this.name,
      category: this.category,
      line: this.lineAt(i),
      text: this.textAt(i, domain),
      rpz,
      localData: rpz === 'local' ? this.localBytes.subarray(this.localOffsets[i]!, this.localOffsets[i + 1]!) : undefined,
    };
  }

  private domainAt(i: number): string {
    const start = this.start(i);
    return this.view.toString('latin1', start, start + this.lengths[i]!);
  }

  private lineAt(i: number): number {
    const { plain, runStart, runDelta } = this.lines;
    if (plain !== undefined) return plain[i]!;
    // The last run starting at or before i (run 0 starts at entry 0).
    let lo = 0;
    let hi = runStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (runStart[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return i + runDelta[lo]!;
  }

  private textAt(i: number, domain: string): string {
    const flags = this.flags[i]!;
    if ((flags & FLAG_RAW_TEXT) !== 0) return this.rawText(i);
    const prefix = TEXT_PREFIXES[(flags >>> PREFIX_SHIFT) & 3]!;
    const suffix = TEXT_SUFFIXES[(flags >>> SUFFIX_SHIFT) & 3]!;
    return prefix === '' && suffix === '' ? domain : prefix + domain + suffix;
  }

  /** Bytes held outside the JS heap (for measurements and tests). */
  get byteSize(): number {
    const lines = this.lines;
    return (
      this.bytes.byteLength +
      this.lengths.byteLength +
      this.blocks.byteLength +
      this.flags.byteLength +
      lines.runStart.byteLength +
      lines.runDelta.byteLength +
      (lines.plain?.byteLength ?? 0) +
      this.rawIndex.byteLength +
      this.rawOffsets.byteLength +
      this.rawBytes.byteLength +
      this.rpzActions.byteLength +
      this.localOffsets.byteLength +
      this.localBytes.byteLength
    );
  }

  private rawText(i: number): string {
    // Binary search: raw entries are recorded in entry order.
    const index = this.rawIndex;
    let lo = 0;
    let hi = index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = index[mid]!;
      if (v === i) return this.rawBytes.toString('utf8', this.rawOffsets[mid]!, this.rawOffsets[mid + 1]!);
      if (v < i) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`packed rules of list "${this.name}": entry ${i} has no raw text (corrupt flags)`);
  }

  private check(i: number): void {
    if (!(i >= 0 && i < this.size && Number.isInteger(i))) {
      throw new RangeError(`rule index ${i} is outside list "${this.name}" (${this.size} entries)`);
    }
  }
}

/**
 * Appends entries in order; `finish` trims the arrays and freezes the result into a PackedRules.
 * Growth is by 1.5x; the big `bytes` array is sized from a hint up front, so a file list is
 * normally parsed without ever reallocating it.
 */
export class PackedRulesBuilder {
  private bytes: Uint8Array;
  private byteLength = 0;
  private lengths: Uint8Array;
  private flags: Uint8Array;
  private blocks: Uint32Array;
  private count = 0;
  private runStart: Uint32Array = new Uint32Array(16);
  private runDelta: Int32Array = new Int32Array(16);
  private runCount = 0;
  private plainLines: Uint32Array | undefined;
  private lastLine = -1;
  /** Raw texts: entry index, end offset in rawBytes (UTF-8), back to back; growable like the rest. */
  private rawIndex: Uint32Array = new Uint32Array(0);
  private rawOffsets: Uint32Array = new Uint32Array(1);
  private rawBytes: Buffer = Buffer.alloc(0);
  private rawCount = 0;

  /** `sizeHint`: about how many bytes of list text will be parsed (an upper bound for the domains). */
  constructor(sizeHint = 0) {
    // Domains are at most the text they came from (ASCII lines), so the hint bounds `bytes`.
    // Entries are at most one per 2 bytes ("a\n"), but a typical line is 10-30 bytes: start at
    // 1/12 and grow.
    const hint = Math.max(0, Math.min(sizeHint, MAX_BYTES));
    this.bytes = u8WithRoom(Math.max(256, hint));
    [this.lengths, this.flags] = entryArrays(Math.max(64, Math.ceil(hint / 12)));
    // Sized for the estimate, not for the padded capacity above: it grows on its own.
    this.blocks = u32WithRoom((Math.ceil(hint / 12) >>> BLOCK_SHIFT) + 1);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Room for `n` more name bytes: the array to write them to, at `pendingOffset`. Nothing is stored
   * until `commit`, so a caller can copy and validate in one pass and drop the bytes if invalid.
   */
  reserve(n: number): Uint8Array {
    this.reserveBytes(n);
    return this.bytes;
  }

  get pendingOffset(): number {
    return this.byteLength;
  }

  /** Stores the `n` bytes written at `pendingOffset` as the next entry. */
  commit(n: number, flags: number, line: number): void {
    this.push(n, flags, line);
  }

  /** Adds a canonical domain given as a string (ASCII by construction: lowercase or punycode). */
  addString(domain: string, flags: number, line: number, rawText?: string): void {
    const n = domain.length;
    this.reserveBytes(n);
    const bytes = this.bytes;
    const at = this.byteLength;
    for (let k = 0; k < n; k++) bytes[at + k] = domain.charCodeAt(k);
    if (rawText !== undefined) {
      this.addRawText(rawText);
      flags |= FLAG_RAW_TEXT;
    }
    this.push(n, flags, line);
  }

  /** `rpz`: the RPZ side table (one action per entry, local data), for lists parsed from a zone. */
  finish(name: string, kind: ListKind, category: string, rpz?: Pick<PackedStorage, 'rpzActions' | 'localOffsets' | 'localBytes'>): PackedRules {
    const size = this.count;
    const storage: PackedStorage = {
      size,
      bytes: fit(this.bytes, this.byteLength),
      lengths: fit(this.lengths, size),
      blocks: fit(this.blocks, ((size + BLOCK_MASK) >>> BLOCK_SHIFT) || 1),
      flags: fit(this.flags, size),
      lines:
        this.plainLines !== undefined
          ? { runStart: new Uint32Array(0), runDelta: new Int32Array(0), plain: fit(this.plainLines, size) }
          : { runStart: this.runStart.slice(0, this.runCount), runDelta: this.runDelta.slice(0, this.runCount), plain: undefined },
      rawIndex: this.rawIndex.slice(0, this.rawCount),
      rawOffsets: this.rawOffsets.slice(0, this.rawCount + 1),
      // A copy (Buffer#slice would be a view): drops the spare capacity.
      rawBytes: new Uint8Array(this.rawBytes.subarray(0, this.rawOffsets[this.rawCount]!)),
      rpzActions: rpz?.rpzActions ?? EMPTY_U8,
      localOffsets: rpz?.localOffsets ?? EMPTY_U32,
      localBytes: rpz?.localBytes ?? EMPTY_U8,
    };
    // The builder must not be reused: its arrays now back (or were copied into) the result.
    this.bytes = new Uint8Array(0);
    this.lengths = new Uint8Array(0);
    this.flags = new Uint8Array(0);
    this.blocks = new Uint32Array(0);
    this.plainLines = undefined;
    this.rawBytes = Buffer.alloc(0);
    return new PackedRules(name, kind, category, storage);
  }

  private addRawText(text: string): void {
    const k = this.rawCount;
    if (k === this.rawIndex.length) {
      this.rawIndex = growU32(this.rawIndex, k * 2 + 16);
      this.rawOffsets = growU32(this.rawOffsets, k * 2 + 17);
    }
    const at = this.rawOffsets[k]!;
    const need = at + Buffer.byteLength(text, 'utf8');
    if (need > this.rawBytes.length) {
      const grown = Buffer.alloc(Math.max(need, this.rawBytes.length * 2, 256));
      this.rawBytes.copy(grown, 0, 0, at);
      this.rawBytes = grown;
    }
    this.rawBytes.write(text, at, 'utf8');
    this.rawIndex[k] = this.count;
    this.rawOffsets[k + 1] = need;
    this.rawCount = k + 1;
  }

  private push(n: number, flags: number, line: number): void {
    if (n === 0 || n > MAX_DOMAIN_LENGTH) throw new RangeError(`domain length ${n} is outside 1..${MAX_DOMAIN_LENGTH}`);
    const i = this.count;
    if (i === this.flags.length) this.growEntries();
    if ((i & BLOCK_MASK) === 0) {
      const block = i >>> BLOCK_SHIFT;
      if (block === this.blocks.length) this.blocks = growU32(this.blocks, Math.ceil(block * 1.5) + 16);
      this.blocks[block] = this.byteLength;
    }
    this.byteLength += n;
    this.lengths[i] = n;
    this.flags[i] = flags;
    this.addLine(i, line);
    this.count = i + 1;
  }

  private addLine(i: number, line: number): void {
    const plain = this.plainLines;
    if (plain !== undefined) {
      plain[i] = line;
    } else if (line !== this.lastLine + 1 || i === 0) {
      // A new run. When runs stop paying (8 bytes each against 4 per entry), switch to plain.
      if (this.runCount >= 64 && this.runCount * 2 > i) {
        this.toPlainLines(i, line);
      } else {
        if (this.runCount === this.runStart.length) {
          this.runStart = growU32(this.runStart, this.runCount * 2);
          const delta = new Int32Array(this.runCount * 2);
          delta.set(this.runDelta);
          this.runDelta = delta;
        }
        this.runStart[this.runCount] = i;
        this.runDelta[this.runCount] = line - i;
        this.runCount++;
      }
    }
    this.lastLine = line;
  }

  private toPlainLines(i: number, line: number): void {
    const plain = u32WithRoom(this.flags.length);
    let run = 0;
    for (let j = 0; j < i; j++) {
      while (run + 1 < this.runCount && this.runStart[run + 1]! <= j) run++;
      plain[j] = j + this.runDelta[run]!;
    }
    plain[i] = line;
    this.plainLines = plain;
    this.runStart = new Uint32Array(0);
    this.runDelta = new Int32Array(0);
    this.runCount = 0;
  }

  private reserveBytes(n: number): void {
    const need = this.byteLength + n;
    if (need <= this.bytes.length) return;
    if (need > MAX_BYTES) throw new RangeError(`list too large: more than ${MAX_BYTES} bytes of domain names`);
    const grown = u8WithRoom(Math.min(MAX_BYTES, Math.max(need, Math.ceil(this.bytes.length * 1.5))));
    grown.set(this.bytes.subarray(0, this.byteLength));
    this.bytes = grown;
  }

  private growEntries(): void {
    const [lengths, flags] = entryArrays(Math.ceil(this.flags.length * 1.5) + 64);
    lengths.set(this.lengths);
    flags.set(this.flags);
    this.lengths = lengths;
    this.flags = flags;
    if (this.plainLines !== undefined) this.plainLines = growU32(this.plainLines, flags.length);
  }
}

/**
 * `lengths` and `flags` for at least `capacity` entries, in one region (they grow and die together):
 * always the same capacity, padding included.
 */
function entryArrays(capacity: number): [Uint8Array, Uint8Array] {
  const buffer = region(2 * capacity);
  const room = buffer.byteLength >>> 1;
  return [new Uint8Array(buffer, 0, room), new Uint8Array(buffer, room, room)];
}

function growU32(array: Uint32Array, capacity: number): Uint32Array {
  const grown = u32WithRoom(capacity);
  grown.set(array);
  return grown;
}

/**
 * `array` cut to `length` elements, as a view: never a copy. Everything past `length` was never
 * written, and the large arrays are mmap'd zero pages (see typed-memory.ts), so the spare is address
 * space, not RSS; copying would add the whole array to the peak of every load instead (~150 MB for
 * the names of a 10M-entry list). The arrays under typed-memory's threshold spare under 256 KiB.
 */
function fit<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
  return array.length === length ? array : (array.subarray(0, length) as T);
}
