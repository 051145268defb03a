// Parses one blocklist/allowlist text into packed rules. Accepts the formats lists are actually
// published in (plain domains, hosts files, the domain subset of Adblock syntax) and reports every
// line it cannot use instead of guessing: a `||host/path^` rule must never turn into a block of the
// whole host.
//
// Lists can have millions of lines, so the parser works on bytes, fed in chunks (a file is streamed,
// never held whole): a line in one of the common canonical shapes — `d`, `*.d`, `||d^`, `@@||d^`,
// `0.0.0.0 d` with d already lowercase ASCII — is validated and copied byte for byte into the
// packed storage, with no string made at all. Every other line (comments, uppercase, IDN, several
// hosts names, anything invalid) is decoded into a string of its own and goes through the string
// path, which decides exactly as before and produces the same skip reasons. No string sliced from
// the list text is kept, so nothing pins the text once parsing is done.
import { isIP } from 'node:net';
import { normalizeListDomain } from './normalize-domain.js';
import { isExplicitPublicSuffix, mayBePublicSuffix, PUBLIC_SUFFIX_REASON, SUFFIX_FILTER_SEED, suffixFilterStep } from './public-suffix.js';
import { formatIpPrefix, parseIpPrefix, scanIpv4Prefix, type IpPrefix } from './ip-prefix.js';
import {
  FLAG_ADDRESS,
  FLAG_ALLOW,
  FLAG_SUBDOMAINS,
  PackedRules,
  PackedRulesBuilder,
  TEXT_PREFIXES,
  TEXT_SUFFIXES,
  textFlags,
  type TextPrefix,
  type TextSuffix,
} from './packed-rules.js';
import { isValidName, type ListKind, type Rule, type RuleKind, type RuleScope } from '../query/rule.js';

export interface SkippedLine {
  line: number;
  text: string;
  reason: string;
}

/** Read-only, array-like view of a list's rules; each access materialises a fresh Rule. */
export interface RuleSequence extends Iterable<Rule> {
  readonly length: number;
  at(index: number): Rule | undefined;
}

export interface ParsedList {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;
  readonly skipped: readonly SkippedLine[];
  /** Number of rules parsed (duplicates included; merging is the matcher's job). */
  readonly size: number;
  /** The immutable packed storage; policies reference it, never copy it. */
  readonly packed: PackedRules;
  /** Rule i (0 <= i < size), materialised on demand. */
  rule(index: number): Rule;
  /**
   * @deprecated Compatibility view for code written against `rules: Rule[]` (`list.rules.length`):
   * use `size` and `rule(i)`. Nothing is materialised until an element is read.
   */
  readonly rules: RuleSequence;
}

export interface ParseListOptions {
  name: string;
  kind: ListKind;
  category?: string;
}

const CATEGORY_HEADER = /^[#!][\s#!]*category\s*:\s*(.*)$/i;
const ADBLOCK_HEADER = /^\[adblock/i;

/** Addresses that hosts-file blocklists map names to. Any other address is a real mapping, not a block. */
const HOSTS_SINK_ADDRESSES = new Set(['0.0.0.0', '127.0.0.1', '::', '::1']);

/** Names every hosts file carries for the machine itself; they are not list entries. */
const HOSTS_SYSTEM_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-allhosts',
  '0.0.0.0',
]);
const LONGEST_SYSTEM_NAME = Math.max(...[...HOSTS_SYSTEM_NAMES].map((s) => s.length));

/** Adblock options that do not narrow a domain rule, so `||d^$important` still means "block d". */
const NEUTRAL_ADBLOCK_OPTIONS = new Set(['', '$important', '$all']);

const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;
const DOT = 46;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Byte class of canonical name characters: 1 = [a-z_-], 2 = [0-9], 3 = '.', 0 = anything else
 * (uppercase, non-ASCII, whitespace, punctuation: the string path decides those).
 */
const NAME_CLASS = new Uint8Array(256);
for (let c = 97; c <= 122; c++) NAME_CLASS[c] = 1;
NAME_CLASS[45] = 1;
NAME_CLASS[95] = 1;
for (let c = 48; c <= 57; c++) NAME_CLASS[c] = 2;
NAME_CLASS[DOT] = 3;

/** `0.0.0.0` and `127.0.0.1`, the sink addresses nearly every hosts-file line uses. */
const HOSTS_FAST_ADDRESSES = [Buffer.from('0.0.0.0'), Buffer.from('127.0.0.1')];
const ADBLOCK_SUFFIX_BYTES = TEXT_SUFFIXES.map((s) => Buffer.from(s));

/** Parses a whole list text (string or UTF-8 bytes). */
export function parseList(text: string | Uint8Array, opts: ParseListOptions): ParsedList {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const parser = new ListParser(opts, bytes.length);
  parser.write(bytes);
  return parser.end();
}

/** A list made of packed storage that was parsed elsewhere (another process of this server). */
export function listFromPacked(packed: PackedRules, skipped: readonly SkippedLine[]): ParsedList {
  return new PackedParsedList(packed, Object.freeze([...skipped]));
}

/**
 * Incremental parser: `write` chunks of UTF-8 as they are read (chunk boundaries may fall anywhere,
 * even inside a character), then `end`. Chunks are not retained; only a partial last line is copied.
 */
export class ListParser {
  private readonly name: string;
  private readonly kind: ListKind;
  private readonly entryKind: RuleKind;
  private category: string;
  private readonly builder: PackedRulesBuilder;
  private readonly skipped: SkippedLine[] = [];
  private lineNo = 0;
  private carry = Buffer.alloc(0);
  private carryLength = 0;
  private ended = false;
  private readonly fastPath: boolean;
  /** [address, prefix] of the IPv4 rule being read. */
  private readonly scratch = new Uint32Array(2);

  /**
   * `sizeHint`: the expected number of bytes (e.g. the file size); only used to size buffers.
   * `internal.fastPath: false` (tests only) sends every line through the string path, the reference
   * the byte path must agree with.
   */
  constructor(opts: ParseListOptions, sizeHint = 0, internal: { fastPath?: boolean } = {}) {
    this.fastPath = internal.fastPath ?? true;
    this.name = opts.name;
    this.kind = opts.kind;
    // A protect list's entries are plain domains; as rules they read like block entries (never matched).
    this.entryKind = opts.kind === 'allow' ? 'allow' : 'block';
    this.category = opts.category ?? 'uncategorized';
    this.builder = new PackedRulesBuilder(sizeHint);
  }

  write(input: Uint8Array): void {
    if (this.ended) throw new Error('ListParser.write after end');
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = chunk.length;
    let pos = 0;
    if (this.carryLength > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.appendCarry(chunk, 0, n);
        return;
      }
      this.appendCarry(chunk, 0, nl);
      this.line(this.carry, 0, this.carryLength);
      this.carryLength = 0;
      pos = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) break;
      this.line(chunk, pos, nl);
      pos = nl + 1;
    }
    if (pos < n) this.appendCarry(chunk, pos, n);
  }

  end(): ParsedList {
    if (this.ended) throw new Error('ListParser.end called twice');
    this.ended = true;
    if (this.carryLength > 0) this.line(this.carry, 0, this.carryLength);
    this.carry = Buffer.alloc(0);
    const packed = this.builder.finish(this.name, this.kind, this.category);
    return new PackedParsedList(packed, Object.freeze(this.skipped));
  }

  private appendCarry(src: Uint8Array, start: number, end: number): void {
    const need = this.carryLength + (end - start);
    if (need > this.carry.length) {
      const grown = Buffer.alloc(Math.max(need, this.carry.length * 2, 256));
      grown.set(this.carry.subarray(0, this.carryLength));
      this.carry = grown;
    }
    this.carry.set(src.subarray(start, end), this.carryLength);
    this.carryLength = need;
  }

  /** One line, bytes buf[pos, end) without its '\n'. */
  private line(buf: Buffer, pos: number, end: number): void {
    const lineNo = ++this.lineNo;
    // A UTF-8 byte order mark starts the text, not the line: only line 1 can carry it.
    if (lineNo === 1 && end - pos >= 3 && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) pos += 3;
    // Trim (this also removes the '\r' of CRLF files).
    let start = pos;
    while (start < end && buf[start]! <= SPACE) start++;
    let stop = end;
    while (stop > start && buf[stop - 1]! <= SPACE) stop--;
    if (start === stop) return;
    if (!this.fastPath || !this.fastLine(buf, start, stop, lineNo)) {
      // A string of this line alone (a copy, not a slice of a larger text).
      this.slowLine(buf.toString('utf8', start, stop), lineNo);
    }
  }

  /**
   * The common shapes with an already canonical name, straight from the bytes. Returns false,
   * having stored nothing, for anything else.
   */
  private fastLine(buf: Buffer, start: number, stop: number, lineNo: number): boolean {
    const c0 = buf[start]!;
    const blockOrAllow = this.kind === 'allow' ? FLAG_ALLOW : 0;
    if (NAME_CLASS[c0] !== 0) {
      return (
        this.addCanonical(buf, start, stop, blockOrAllow, lineNo) ||
        (NAME_CLASS[c0] === 2 && this.fastAddress(buf, start, stop, lineNo)) ||
        this.fastHostsLine(buf, start, stop, lineNo)
      );
    }
    if (c0 === 42 /* * */) {
      return buf[start + 1] === DOT && this.addCanonical(buf, start + 2, stop, blockOrAllow | FLAG_SUBDOMAINS | textFlags(1, 0), lineNo);
    }
    let prefix: TextPrefix;
    let hostStart: number;
    if (c0 === 124 /* | */ && buf[start + 1] === 124) {
      prefix = 2;
      hostStart = start + 2;
    } else if (c0 === 64 /* @ */ && buf[start + 1] === 64 && buf[start + 2] === 124 && buf[start + 3] === 124) {
      prefix = 3;
      hostStart = start + 4;
    } else {
      return false;
    }
    let caret = hostStart;
    while (caret < stop && NAME_CLASS[buf[caret]!] !== 0) caret++;
    if (caret === stop || buf[caret] !== 94 /* ^ */) return false;
    const suffix = adblockSuffix(buf, caret, stop);
    if (suffix < 0) return false;
    const flags = (prefix === 3 ? FLAG_ALLOW : blockOrAllow) | textFlags(prefix, suffix as TextSuffix);
    return this.addCanonical(buf, hostStart, caret, flags, lineNo);
  }

  /** A canonical IPv4 answer-IP rule, `a.b.c.d/n` (stored as written) or `a.b.c.d` (stored as `/32`, text kept). */
  private fastAddress(buf: Buffer, start: number, stop: number, lineNo: number): boolean {
    const shape = scanIpv4Prefix(buf, start, stop, this.scratch);
    if (shape === 0) return false;
    const flags = FLAG_ADDRESS | (this.kind === 'allow' ? FLAG_ALLOW : 0);
    if (shape === 1) {
      const n = stop - start;
      this.builder.reserve(n).set(buf.subarray(start, stop), this.builder.pendingOffset);
      this.builder.commit(n, flags, lineNo);
    } else {
      const text = buf.toString('latin1', start, stop);
      this.builder.addString(`${text}/32`, flags, lineNo, text);
    }
    return true;
  }

  /** `0.0.0.0 d` / `127.0.0.1 d`: one canonical name, nothing after it. */
  private fastHostsLine(buf: Buffer, start: number, stop: number, lineNo: number): boolean {
    let nameStart = -1;
    for (const address of HOSTS_FAST_ADDRESSES) {
      const after = start + address.length;
      if (after >= stop || (buf[after] !== SPACE && buf[after] !== TAB)) continue;
      let k = 0;
      while (k < address.length && buf[start + k] === address[k]) k++;
      if (k === address.length) {
        nameStart = after;
        break;
      }
    }
    if (nameStart < 0) return false;
    while (nameStart < stop && (buf[nameStart] === SPACE || buf[nameStart] === TAB)) nameStart++;
    const c = buf[nameStart];
    // The machine's own names are not entries (nor skipped lines); only names that start like one
    // need a string to be checked.
    const maybeSystem = stop - nameStart <= LONGEST_SYSTEM_NAME && (c === 108 /* l */ || c === 98 /* b */ || c === 105); /* i */
    if (maybeSystem && HOSTS_SYSTEM_NAMES.has(buf.toString('latin1', nameStart, stop))) return true;
    return this.addCanonical(buf, nameStart, stop, this.kind === 'allow' ? FLAG_ALLOW : 0, lineNo);
  }

  /**
   * Stores buf[start, end) as an entry when it is a name normalizeListDomain would return unchanged
   * ([a-z0-9_.-], labels of 1-63, at most 253 characters, a top label that is not all digits, no
   * trailing dot). Validation and the copy into the packed bytes are one pass; false (nothing
   * stored) means "let the string path decide", not necessarily "invalid".
   */
  private addCanonical(buf: Buffer, start: number, end: number, flags: number, lineNo: number): boolean {
    const n = end - start;
    if (n === 0 || n > MAX_NAME_LENGTH) return false;
    const builder = this.builder;
    const dst = builder.reserve(n);
    let at = builder.pendingOffset;
    let labelStart = start;
    let allDigits = true;
    let hash = SUFFIX_FILTER_SEED;
    for (let i = start; i < end; i++, at++) {
      const c = buf[i]!;
      hash = suffixFilterStep(hash, c);
      const cls = NAME_CLASS[c]!;
      if (cls === 1) allDigits = false;
      else if (cls === 3) {
        const length = i - labelStart;
        if (length === 0 || length > MAX_LABEL_LENGTH) return false;
        labelStart = i + 1;
        allDigits = true;
      } else if (cls === 0) return false;
      dst[at] = c;
    }
    const last = end - labelStart;
    if (last === 0 || last > MAX_LABEL_LENGTH || allDigits) return false;
    // A public suffix is never stored: the string path skips it with its reason. The filter rules
    // out nearly every name without making a string.
    if (mayBePublicSuffix(hash) && isExplicitPublicSuffix(buf.toString('latin1', start, end))) return false;
    builder.commit(n, flags, lineNo);
    return true;
  }

  /** The string path: every line shape, with the reasons for skipped lines. */
  private slowLine(trimmed: string, lineNo: number): void {
    const kind = this.entryKind;
    let line = trimmed;
    const c0 = line.charCodeAt(0);

    if (c0 === 35 /* # */ || c0 === 33 /* ! */) {
      const header = CATEGORY_HEADER.exec(line);
      if (header === null) return;
      const value = (header[1] ?? '').trim().toLowerCase();
      if (this.builder.size > 0) this.skip(lineNo, line, 'category header after the first rule (move it to the top of the file)');
      else if (!isValidName(value)) this.skip(lineNo, line, `invalid category name '${value}' (use a-z, 0-9, '-', '_')`);
      else this.category = value;
      return;
    }
    if (c0 === 91 /* [ */ && ADBLOCK_HEADER.test(line)) return;

    // Whitespace inside the line: a trailing "# comment" and/or a hosts-file line.
    let hasWhitespace = line.indexOf(' ') >= 0 || line.indexOf('\t') >= 0;
    if (hasWhitespace) {
      line = stripInlineComment(line);
      hasWhitespace = line.indexOf(' ') >= 0 || line.indexOf('\t') >= 0;
    }

    if (c0 === 124 /* | */ || c0 === 64 /* @ */) {
      const isException = c0 === 64;
      const prefix = isException ? '@@||' : '||';
      if (!line.startsWith(prefix)) {
        this.skip(lineNo, line, isException ? "adblock exception that is not '@@||domain^'" : "adblock address rule ('|'), not a domain");
        return;
      }
      const host = adblockHost(line, prefix.length);
      if (typeof host !== 'string') {
        this.skip(lineNo, line, host.error);
        return;
      }
      const domain = normalizeListDomain(host);
      if (typeof domain === 'string') this.add(domain, 'domain', isException ? 'allow' : kind, lineNo, line);
      else this.skip(lineNo, line, domain.error);
      return;
    }

    if (c0 === 47 /* / */) {
      this.skip(lineNo, line, line.length > 1 && line.endsWith('/') ? 'regular expression rule, not a domain' : 'URL or path, not a domain');
      return;
    }

    if (c0 === 42 /* * */ && line.charCodeAt(1) === 46 /* . */) {
      const domain = normalizeListDomain(line.slice(2));
      if (typeof domain === 'string') this.add(domain, 'subdomains', kind, lineNo, line);
      else this.skip(lineNo, line, domain.error);
      return;
    }

    if (hasWhitespace) {
      this.hostsLine(line, lineNo);
      return;
    }

    const address = parseIpPrefix(line);
    if (address !== undefined) {
      if ('error' in address) this.skip(lineNo, line, address.error);
      else this.addAddress(address, lineNo, line);
      return;
    }

    const domain = normalizeListDomain(line);
    if (typeof domain === 'string') this.add(domain, 'domain', kind, lineNo, line);
    else this.skip(lineNo, line, domain.error);
  }

  /** An answer-IP rule: stored under its canonical prefix text, with the written text when it differs. */
  private addAddress(address: IpPrefix, lineNo: number, entry: string): void {
    const canonical = formatIpPrefix(address);
    const flags = FLAG_ADDRESS | (this.kind === 'allow' ? FLAG_ALLOW : 0);
    if (entry === canonical) this.builder.addString(canonical, flags, lineNo);
    else this.builder.addString(canonical, flags, lineNo, entry);
  }

  /** `ADDRESS name [name...]`. Each name becomes its own rule; its `text` is the name as written. */
  private hostsLine(line: string, lineNo: number): void {
    const n = line.length;
    let i = 0;
    while (i < n && line.charCodeAt(i) > SPACE) i++;
    const address = line.slice(0, i);
    // Set lookup first: isIP is a regex, and nearly every hosts line uses a sink address.
    const sink = HOSTS_SINK_ADDRESSES.has(address);
    if (!sink && isIP(address) === 0) {
      this.skip(lineNo, line, `unexpected whitespace ('${address}' is not a hosts-file address)`);
      return;
    }
    // Tokens are walked in place: no split array per line.
    while (i < n) {
      while (i < n && line.charCodeAt(i) <= SPACE) i++;
      const start = i;
      while (i < n && line.charCodeAt(i) > SPACE) i++;
      if (i === start) break;
      const entry = line.slice(start, i);
      if (HOSTS_SYSTEM_NAMES.has(entry)) continue;
      const domain = normalizeListDomain(entry);
      if (typeof domain === 'string' && HOSTS_SYSTEM_NAMES.has(domain)) continue;
      if (!sink) {
        this.skip(lineNo, line, `hosts entry maps to ${address}, not to a blocking address (0.0.0.0, 127.0.0.1, :: or ::1)`);
        return;
      }
      if (typeof domain === 'string') this.add(domain, 'domain', this.entryKind, lineNo, entry);
      else this.skip(lineNo, line, domain.error);
    }
  }

  private add(domain: string, scope: RuleScope, kind: RuleKind, line: number, entry: string): void {
    if (isExplicitPublicSuffix(domain)) {
      this.skip(line, entry, PUBLIC_SUFFIX_REASON);
      return;
    }
    const flags = (scope === 'subdomains' ? FLAG_SUBDOMAINS : 0) | (kind === 'allow' ? FLAG_ALLOW : 0);
    // The written text is stored only when it cannot be rebuilt from the domain and the flags.
    const shape = textShape(entry, domain);
    if (shape >= 0) this.builder.addString(domain, flags | shape, line);
    else this.builder.addString(domain, flags, line, entry);
  }

  private skip(line: number, text: string, reason: string): void {
    this.skipped.push({ line, text, reason });
  }
}

class PackedParsedList implements ParsedList {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;

  constructor(
    readonly packed: PackedRules,
    readonly skipped: readonly SkippedLine[],
  ) {
    this.name = packed.name;
    this.kind = packed.kind;
    this.category = packed.category;
    Object.freeze(this);
  }

  get size(): number {
    return this.packed.size;
  }

  rule(index: number): Rule {
    return this.packed.rule(index);
  }

  get rules(): RuleSequence {
    return new RuleView(this.packed);
  }
}

class RuleView implements RuleSequence {
  constructor(private readonly packed: PackedRules) {}

  get length(): number {
    return this.packed.size;
  }

  at(index: number): Rule | undefined {
    const i = index < 0 ? index + this.packed.size : index;
    return i >= 0 && i < this.packed.size ? this.packed.rule(i) : undefined;
  }

  *[Symbol.iterator](): Iterator<Rule> {
    for (let i = 0; i < this.packed.size; i++) yield this.packed.rule(i);
  }
}

/** Which neutral suffix buf[caret, stop) is ('^', '^$important', '^$all' exactly), or -1. */
function adblockSuffix(buf: Uint8Array, caret: number, stop: number): number {
  const n = stop - caret;
  for (let s = 1; s < ADBLOCK_SUFFIX_BYTES.length; s++) {
    const suffix = ADBLOCK_SUFFIX_BYTES[s]!;
    if (suffix.length !== n) continue;
    let k = 0;
    while (k < n && buf[caret + k] === suffix[k]) k++;
    if (k === n) return s;
  }
  return -1;
}

/**
 * How `entry` (the text as written) derives from the canonical `domain`: the text flags for
 * prefix + domain + suffix, or -1 when it does not (uppercase, trailing dot, IDN...) and must be
 * stored as is.
 */
function textShape(entry: string, domain: string): number {
  if (entry === domain) return 0;
  for (let p = 0; p < TEXT_PREFIXES.length; p++) {
    const prefix = TEXT_PREFIXES[p]!;
    if (!entry.startsWith(prefix) || !entry.startsWith(domain, prefix.length)) continue;
    const s = (TEXT_SUFFIXES as readonly string[]).indexOf(entry.slice(prefix.length + domain.length));
    if (s >= 0) return textFlags(p as TextPrefix, s as TextSuffix);
  }
  return -1;
}

/** The host of `||host^[$important|$all]`, or why the rule is not a plain domain rule. */
function adblockHost(line: string, from: number): string | { error: string } {
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 94 /* ^ */) {
      const options = line.slice(i + 1).toLowerCase();
      if (!NEUTRAL_ADBLOCK_OPTIONS.has(options)) {
        return {
          error: options.startsWith('$')
            ? `adblock rule with modifier '${options}' (only $important and $all are supported)`
            : "adblock rule with text after '^'",
        };
      }
      return line.slice(from, i);
    }
    if (c === 47 /* / */) return { error: 'adblock rule with a path' };
    if (c === 42 /* * */) return { error: 'adblock rule with a wildcard' };
    if (c === 58 /* : */) return { error: 'adblock rule with a port' };
    if (c === 36 /* $ */) break;
  }
  // Without '^', `||example.com` would also match example.company: not a domain rule.
  return { error: "adblock rule without the '^' separator" };
}

/** Cuts a "# comment" that follows whitespace; '#' glued to text (cosmetic `##` rules) stays. */
function stripInlineComment(line: string): string {
  let hash = line.indexOf('#');
  while (hash > 0) {
    const before = line.charCodeAt(hash - 1);
    if (before === SPACE || before === TAB) {
      let stop = hash;
      while (stop > 0 && line.charCodeAt(stop - 1) <= SPACE) stop--;
      return line.slice(0, stop);
    }
    hash = line.indexOf('#', hash + 1);
  }
  return line;
}
