// Response-policy zones (RPZ, draft-vixie-dnsop-dns-rpz): the zone-file format threat-intel feeds and
// ISPs exchange, read into the same packed rules as any list, plus a side table of RPZ actions and
// local data. Semantics (as BIND and Unbound apply them):
//   - QNAME trigger `name` covers that exact name only; `*.name` covers names below it (a plain list
//     line covers the name and everything below); the deeper trigger wins, so exact beats wildcard;
//   - `CNAME .` NXDOMAIN, `CNAME *.` NODATA, `CNAME rpz-passthru.` allow, `CNAME rpz-drop.` the
//     configured block answer, `CNAME rpz-tcp-only.` TC=1 over UDP; any other data (A, AAAA, TXT,
//     CNAME to a real name) is local data served as written;
//   - `rpz-ip` triggers (`24.0.113.0.203.rpz-ip` = 203.0.113.0/24, IPv6 with `zz` for `::`) become
//     answer-IP rules; passthru allows, every other action blocks the answer.
// Zone-file syntax: $ORIGIN, $TTL, relative and absolute owners, `@`, a blank owner continuing the
// previous one, optional TTL and class in either order, `;` comments, parentheses across lines,
// quoted strings. SOA and NS records are the zone's own. $INCLUDE and $GENERATE are never followed,
// and rpz-nsdname / rpz-nsip / rpz-client-ip triggers are skipped: both are reported with their line,
// never fatal. A `# category: NAME` (or `; category: NAME`) line sets the category as in other lists.
import { encodeName } from '../dns/response-writer.js';
import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import { formatIpPrefix, parseIpPrefix } from './ip-prefix.js';
import { normalizeListDomain } from './normalize-domain.js';
import { FLAG_ADDRESS, FLAG_ALLOW, FLAG_SUBDOMAINS, PackedRulesBuilder } from './packed-rules.js';
import { isExplicitPublicSuffix, PUBLIC_SUFFIX_REASON } from './public-suffix.js';
import { listFromPacked, type ParsedList, type ParseListOptions, type SkippedLine } from './parse-list.js';
import { rpzActionCode } from './rpz-actions.js';
import { isValidName, type RpzAction } from '../query/rule.js';

const TYPE_CODES: Readonly<Record<string, number>> = { A: 1, CNAME: 5, TXT: 16, AAAA: 28 };
const CLASSES = new Set(['IN', 'CH', 'HS', 'ANY']);
const UNSUPPORTED_TRIGGERS = ['rpz-nsdname', 'rpz-nsip', 'rpz-client-ip'];
const CATEGORY = /^[#;][\s#;]*category\s*:\s*(.*)$/i;
const DEFAULT_TTL = 3600;

interface Trigger {
  readonly key: string;
  readonly domain: string;
  readonly kind: 'name' | 'ip';
  readonly wildcard: boolean;
  readonly line: number;
  readonly text: string;
  action: RpzAction | undefined;
  readonly local: Buffer[];
}

/** Parses RPZ zone text into a list (named and categorised like any list). */
export function parseRpz(text: string | Uint8Array, opts: ParseListOptions): ParsedList {
  const source = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  return new RpzParser(opts).parse(source);
}

class RpzParser {
  private category: string;
  private readonly skipped: SkippedLine[] = [];
  private readonly triggers = new Map<string, Trigger>();
  private origin: string | undefined;
  private ttl = DEFAULT_TTL;
  private lastOwner: string | undefined;

  constructor(private readonly opts: ParseListOptions) {
    this.category = opts.category ?? 'uncategorized';
  }

  parse(source: string): ParsedList {
    for (const record of logicalRecords(source)) this.record(record.tokens, record.line, record.text, record.leadingSpace);
    return this.build();
  }

  private skip(line: number, text: string, reason: string): void {
    this.skipped.push({ line, text, reason });
  }

  private record(tokens: string[], line: number, text: string, leadingSpace: boolean): void {
    if (tokens.length === 0) {
      const header = CATEGORY.exec(text);
      if (header !== null) this.setCategory((header[1] ?? '').trim().toLowerCase(), line, text);
      return;
    }
    const first = tokens[0]!;
    if (first.startsWith('$')) return this.directive(first.toUpperCase(), tokens, line, text);
    let owner: string | undefined;
    let rest = tokens;
    if (leadingSpace) owner = this.lastOwner;
    else {
      owner = this.absolute(first);
      rest = tokens.slice(1);
    }
    if (owner === undefined) return this.skip(line, text, 'record without an owner name');
    this.lastOwner = owner;
    // [ttl] [class] type rdata, TTL and class in either order.
    let ttl = this.ttl;
    while (rest.length > 0 && (/^\d+$/.test(rest[0]!) || CLASSES.has(rest[0]!.toUpperCase()))) {
      if (/^\d+$/.test(rest[0]!)) ttl = Number(rest[0]);
      rest = rest.slice(1);
    }
    const type = rest[0]?.toUpperCase();
    const rdata = rest.slice(1);
    if (type === undefined) return this.skip(line, text, 'record without a type');
    if (type === 'SOA' || type === 'NS') {
      // The zone's own records; the first SOA names the zone when no $ORIGIN did.
      if (type === 'SOA' && this.origin === undefined) this.origin = owner;
      return;
    }
    const trigger = this.trigger(owner, line, text);
    if (trigger === undefined) return;
    if (type === 'CNAME') {
      const target = (rdata[0] ?? '').toLowerCase();
      const action = cnameAction(target);
      if (action !== undefined) return this.setAction(trigger, action, line, text);
      const absolute = this.absolute(rdata[0] ?? '');
      if (absolute === undefined) return this.skip(line, text, 'CNAME without a target');
      if (trigger.kind === 'ip') return this.skip(line, text, 'local data for an rpz-ip trigger (only actions are supported there)');
      return this.addLocal(trigger, TYPE_CODES['CNAME']!, ttl, encodeName(absolute), line, text);
    }
    const code = TYPE_CODES[type];
    if (code === undefined) return this.skip(line, text, `local data of type ${type} is not supported (A, AAAA, TXT, CNAME are)`);
    if (trigger.kind === 'ip') return this.skip(line, text, 'local data for an rpz-ip trigger (only actions are supported there)');
    const encoded = encodeRdata(type, rdata);
    if (typeof encoded === 'string') return this.skip(line, text, encoded);
    this.addLocal(trigger, code, ttl, encoded, line, text);
  }

  private directive(name: string, tokens: string[], line: number, text: string): void {
    if (name === '$ORIGIN') {
      const origin = tokens[1];
      if (origin === undefined || !origin.endsWith('.')) return this.skip(line, text, '$ORIGIN needs an absolute name (ending in a dot)');
      this.origin = origin.toLowerCase();
      return;
    }
    if (name === '$TTL') {
      const ttl = Number(tokens[1]);
      if (!Number.isInteger(ttl) || ttl < 0) return this.skip(line, text, '$TTL needs a number of seconds');
      this.ttl = ttl;
      return;
    }
    if (name === '$INCLUDE' || name === '$GENERATE') return this.skip(line, text, `${name} is never followed (put the records in the file itself)`);
    this.skip(line, text, `unknown directive ${name}`);
  }

  private setCategory(value: string, line: number, text: string): void {
    if (this.triggers.size > 0) this.skip(line, text, 'category header after the first rule (move it to the top of the file)');
    else if (!isValidName(value)) this.skip(line, text, `invalid category name '${value}' (use a-z, 0-9, '-', '_')`);
    else this.category = value;
  }

  /** An owner or target made absolute (lowercase, trailing dot); undefined for an empty token. */
  private absolute(token: string): string | undefined {
    if (token === '') return undefined;
    const origin = this.origin ?? '';
    if (token === '@') return origin === '' ? '.' : origin;
    const lower = token.toLowerCase();
    if (lower.endsWith('.')) return lower;
    return origin === '' || origin === '.' ? `${lower}.` : `${lower}.${origin}`;
  }

  /** The trigger an owner names, made once per owner; undefined (reported) when it is none we use. */
  private trigger(owner: string, line: number, text: string): Trigger | undefined {
    const existing = this.triggers.get(owner);
    if (existing !== undefined) return existing;
    const origin = this.origin ?? '';
    let relative: string;
    if (origin !== '' && origin !== '.') {
      if (owner === origin) return undefined; // zone apex data other than SOA/NS: nothing to trigger on
      if (!owner.endsWith(`.${origin}`)) {
        this.skip(line, text, `owner ${owner} is outside the zone ${origin}`);
        return undefined;
      }
      relative = owner.slice(0, owner.length - origin.length - 1);
    } else {
      relative = owner.slice(0, -1);
    }
    const lastLabel = relative.slice(relative.lastIndexOf('.') + 1);
    if (UNSUPPORTED_TRIGGERS.includes(lastLabel)) {
      this.skip(line, text, `${lastLabel} triggers are not supported (skipped)`);
      return undefined;
    }
    let trigger: Trigger;
    if (lastLabel === 'rpz-ip') {
      const prefix = rpzIpPrefix(relative.slice(0, -'.rpz-ip'.length));
      if ('error' in prefix) {
        this.skip(line, text, prefix.error);
        return undefined;
      }
      trigger = { key: owner, domain: prefix.prefix, kind: 'ip', wildcard: false, line, text, action: undefined, local: [] };
    } else {
      const wildcard = relative.startsWith('*.');
      const domain = normalizeListDomain(wildcard ? relative.slice(2) : relative);
      if (typeof domain !== 'string') {
        this.skip(line, text, domain.error);
        return undefined;
      }
      if (isExplicitPublicSuffix(domain)) {
        this.skip(line, text, PUBLIC_SUFFIX_REASON);
        return undefined;
      }
      trigger = { key: owner, domain, kind: 'name', wildcard, line, text, action: undefined, local: [] };
    }
    this.triggers.set(owner, trigger);
    return trigger;
  }

  private setAction(trigger: Trigger, action: RpzAction, line: number, text: string): void {
    if (trigger.action !== undefined) return this.skip(line, text, `a second action for ${trigger.key} (the first, ${trigger.action}, stays)`);
    trigger.action = action;
  }

  private addLocal(trigger: Trigger, type: number, ttl: number, rdata: Buffer, line: number, text: string): void {
    if (trigger.action !== undefined && trigger.action !== 'local') return this.skip(line, text, `local data for ${trigger.key}, which already has the action ${trigger.action}`);
    trigger.action = 'local';
    const head = Buffer.alloc(8);
    head.writeUInt16BE(type, 0);
    head.writeUInt32BE(ttl >>> 0, 2);
    head.writeUInt16BE(rdata.length, 6);
    trigger.local.push(head, rdata);
  }

  private build(): ParsedList {
    const builder = new PackedRulesBuilder();
    const actions: number[] = [];
    const offsets: number[] = [0];
    const local: Buffer[] = [];
    let localLength = 0;
    for (const t of this.triggers.values()) {
      if (t.action === undefined) continue;
      const allow = t.action === 'passthru';
      let flags = allow ? FLAG_ALLOW : 0;
      if (t.kind === 'ip') flags |= FLAG_ADDRESS;
      else if (t.wildcard) flags |= FLAG_SUBDOMAINS;
      builder.addString(t.domain, flags, t.line, t.text);
      actions.push(rpzActionCode(t.action, t.kind === 'name' && !t.wildcard));
      for (const part of t.local) {
        local.push(part);
        localLength += part.length;
      }
      offsets.push(localLength);
    }
    const packed = builder.finish(this.opts.name, this.opts.kind, this.category, {
      rpzActions: Uint8Array.from(actions),
      localOffsets: Uint32Array.from(offsets),
      localBytes: new Uint8Array(Buffer.concat(local)),
    });
    this.skipped.sort((a, b) => a.line - b.line);
    return listFromPacked(packed, this.skipped);
  }
}

function cnameAction(target: string): RpzAction | undefined {
  if (target === '.') return 'nxdomain';
  if (target === '*.') return 'nodata';
  if (target === 'rpz-passthru.') return 'passthru';
  if (target === 'rpz-drop.') return 'drop';
  if (target === 'rpz-tcp-only.') return 'tcp-only';
  return undefined;
}

/** `24.0.113.0.203` → `203.0.113.0/24`; `48.zz.bad.db8.2001` → `2001:db8:bad::/48` (canonical prefix text), or why not. */
function rpzIpPrefix(labels: string): { prefix: string } | { error: string } {
  const parts = labels.split('.');
  const length = parts.shift();
  if (length === undefined || !/^\d{1,3}$/.test(length)) return { error: `rpz-ip trigger without a prefix length: ${labels}` };
  const groups = parts.reverse();
  let address: string;
  if (groups.length === 4 && groups.every((p) => /^\d{1,3}$/.test(p))) {
    address = groups.join('.');
  } else {
    // IPv6: 16-bit groups in hex, `zz` standing for the `::` run.
    address = groups.map((g) => (g === 'zz' ? '' : g)).join(':');
    if (address.startsWith(':')) address = `:${address}`;
    if (address.endsWith(':')) address = `${address}:`;
  }
  const parsed = parseIpPrefix(`${address}/${length}`);
  if (parsed === undefined) return { error: `rpz-ip trigger that is not an address: ${labels}` };
  if ('error' in parsed) return parsed;
  return { prefix: formatIpPrefix(parsed) };
}

/** RDATA of local data in wire form, or why not. */
function encodeRdata(type: string, rdata: string[]): Buffer | string {
  try {
    if (type === 'A') return ipv4Bytes(rdata[0] ?? '');
    if (type === 'AAAA') return ipv6Bytes(rdata[0] ?? '');
    // TXT: each (quoted) string as a character-string.
    const strings = rdata.map((s) => Buffer.from(s.startsWith('"') ? s.slice(1, -1) : s, 'utf8'));
    if (strings.some((s) => s.length > 255)) return 'TXT string longer than 255 bytes';
    return Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s]));
  } catch (error) {
    return `bad ${type} data: ${(error as Error).message}`;
  }
}

interface LogicalRecord {
  readonly tokens: string[];
  /** Line of the record's first token. */
  readonly line: number;
  /** The record as written (lines joined), for reports. */
  readonly text: string;
  readonly leadingSpace: boolean;
}

/** Splits zone text into records: comments removed, parentheses joined, quotes kept as one token. */
function* logicalRecords(source: string): Generator<LogicalRecord> {
  const lines = source.split('\n');
  let tokens: string[] = [];
  let depth = 0;
  let startLine = 0;
  let text = '';
  let leadingSpace = false;
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!.replace(/\r$/, '');
    if (i === 0) raw = raw.replace(/^\uFEFF/, '');
    if (depth === 0) {
      const trimmed = raw.trim();
      if (trimmed === '') continue;
      if (trimmed.startsWith('#') || trimmed.startsWith(';')) {
        yield { tokens: [], line: i + 1, text: trimmed, leadingSpace: false };
        continue;
      }
      tokens = [];
      startLine = i + 1;
      text = trimmed;
      leadingSpace = /^[ \t]/.test(raw);
    } else {
      text += ` ${raw.trim()}`;
    }
    let k = 0;
    while (k < raw.length) {
      const c = raw[k]!;
      if (c === ';') break;
      if (c === ' ' || c === '\t') {
        k++;
      } else if (c === '(') {
        depth++;
        k++;
      } else if (c === ')') {
        depth = Math.max(0, depth - 1);
        k++;
      } else if (c === '"') {
        let end = k + 1;
        while (end < raw.length && raw[end] !== '"') end += raw[end] === '\\' ? 2 : 1;
        tokens.push(raw.slice(k, end + 1));
        k = end + 1;
      } else {
        let end = k;
        while (end < raw.length && !' \t;()"'.includes(raw[end]!)) end++;
        tokens.push(raw.slice(k, end));
        k = end;
      }
    }
    if (depth === 0) yield { tokens, line: startLine, text: text.replace(/\s*;.*$/, ''), leadingSpace };
  }
  if (depth > 0) yield { tokens, line: startLine, text, leadingSpace };
}
