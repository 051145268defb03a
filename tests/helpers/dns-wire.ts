/**
 * Minimal, careful DNS wire-format reader/writer for the test helpers (RFC 1035, RFC 6891 OPT, RFC 8914 EDE).
 * Independent of the code under test and of dns2, so a bug in either cannot hide behind the same bug here.
 * Every read is bounds-checked; malformed input throws a WireError, never reads past the buffer or loops.
 */
import { isIPv4, isIPv6 } from 'node:net';

export class WireError extends Error {
  override name = 'WireError';
}

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DS: 43,
  OPT: 41,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  HTTPS: 65,
  SVCB: 64,
  CAA: 257,
  ANY: 255,
  AXFR: 252,
  IXFR: 251,
} as const;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/** RFC 8914 option code and the info codes the resolver uses. */
export const EDNS_OPTION_EDE = 15;
export const EdeCode = { OTHER: 0, NOT_READY: 14, BLOCKED: 15, CENSORED: 16, FILTERED: 17, PROHIBITED: 18 } as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));

/** 'A' | 'aaaa' | 'TYPE65' | 28 → numeric type. Throws on an unknown name. */
export function typeCode(type: string | number): number {
  if (typeof type === 'number') {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new WireError(`bad RR type ${type}`);
    return type;
  }
  const upper = type.toUpperCase();
  const known = (RRType as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m?.[1] !== undefined && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new WireError(`unknown RR type '${type}'`);
}

/** 28 → 'AAAA', 999 → 'TYPE999'. */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Encodes a name without compression. '' and '.' are the root. Trailing dot optional. Labels must be 1..63 bytes. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new WireError(`label '${label}' in '${name}' must be 1..63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeIPv4(addr: string): Buffer {
  if (!isIPv4(addr)) throw new WireError(`not an IPv4 address: ${addr}`);
  return Buffer.from(addr.split('.').map(Number));
}

export function encodeIPv6(addr: string): Buffer {
  if (!isIPv6(addr)) throw new WireError(`not an IPv6 address: ${addr}`);
  let text = addr;
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const b = encodeIPv4(v4[1]);
    text = text.slice(0, -v4[1].length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...new Array<string>(fill).fill('0'), ...tailParts];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** One EDNS option (code, length, data) in wire form, for `buildQuery({ edns: { options } })`. */
export function ednsOption(code: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** An Extended DNS Error option (RFC 8914) in wire form. */
export function edeOption(infoCode: number, text = ''): Buffer {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(infoCode, 0);
  return ednsOption(EDNS_OPTION_EDE, Buffer.concat([data, Buffer.from(text, 'utf8')]));
}

export interface OptSpec {
  udpSize?: number;
  do?: boolean;
  version?: number;
  /** Upper 8 bits of a 12-bit extended rcode. */
  extendedRcode?: number;
  /** Already-encoded options (see ednsOption / edeOption). */
  options?: Buffer;
}

/** An OPT pseudo-record: owner root, type 41, CLASS = UDP payload size, TTL = ext-rcode | version | DO<<15 | Z. */
export function encodeOpt(spec: OptSpec = {}): Buffer {
  const options = spec.options ?? Buffer.alloc(0);
  const rr = Buffer.alloc(11);
  rr.writeUInt8(0, 0); // root name
  rr.writeUInt16BE(RRType.OPT, 1);
  rr.writeUInt16BE(spec.udpSize ?? 1232, 3);
  rr.writeUInt8((spec.extendedRcode ?? 0) & 0xff, 5);
  rr.writeUInt8((spec.version ?? 0) & 0xff, 6);
  rr.writeUInt16BE(spec.do === true ? 0x8000 : 0, 7);
  rr.writeUInt16BE(options.length, 9);
  return Buffer.concat([rr, options]);
}

/** A resource record in wire form. `name` may be an already-encoded name (e.g. a pointer 0xC00C). */
export function encodeRecord(name: string | Buffer, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const owner = typeof name === 'string' ? encodeName(name) : name;
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

export function soaRdata(soa: SoaData): Buffer {
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(soa.serial >>> 0, 0);
  nums.writeUInt32BE(soa.refresh >>> 0, 4);
  nums.writeUInt32BE(soa.retry >>> 0, 8);
  nums.writeUInt32BE(soa.expire >>> 0, 12);
  nums.writeUInt32BE(soa.minimum >>> 0, 16);
  return Buffer.concat([encodeName(soa.mname), encodeName(soa.rname), nums]);
}

export function txtRdata(strings: string[]): Buffer {
  return Buffer.concat(
    strings.map((s) => {
      const b = Buffer.from(s, 'utf8');
      if (b.length > 255) throw new WireError('TXT character-string longer than 255 bytes');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );
}

export interface HeaderSpec {
  id: number;
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
}

export function encodeHeader(h: HeaderSpec): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(h.id & 0xffff, 0);
  let flags = 0;
  if (h.qr === true) flags |= 0x8000;
  flags |= ((h.opcode ?? 0) & 0xf) << 11;
  if (h.aa === true) flags |= 0x0400;
  if (h.tc === true) flags |= 0x0200;
  if (h.rd === true) flags |= 0x0100;
  if (h.ra === true) flags |= 0x0080;
  if (h.ad === true) flags |= 0x0020;
  if (h.cd === true) flags |= 0x0010;
  flags |= (h.rcode ?? 0) & 0xf;
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(h.qdcount ?? 0, 4);
  buf.writeUInt16BE(h.ancount ?? 0, 6);
  buf.writeUInt16BE(h.nscount ?? 0, 8);
  buf.writeUInt16BE(h.arcount ?? 0, 10);
  return buf;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface MxData {
  preference: number;
  exchange: string;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/**
 * A/AAAA: address text; CNAME/NS/PTR: target name (no trailing dot); TXT: the character-strings joined with '';
 * SOA/MX/SRV: objects; anything else: the raw RDATA bytes.
 */
export type RecordData = string | SoaData | MxData | SrvData | Buffer;

export interface DecodedQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DecodedRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RecordData;
  /** For TXT: the individual character-strings. */
  strings?: string[];
  /** The RDATA bytes as on the wire (names inside may be compressed). */
  rdata: Buffer;
}

export interface DecodedOption {
  code: number;
  data: Buffer;
}

export interface DecodedOpt {
  udpSize: number;
  do: boolean;
  version: number;
  /** Upper 8 bits of the extended rcode (full rcode = extendedRcode << 4 | header rcode). */
  extendedRcode: number;
  options: DecodedOption[];
  /** The first Extended DNS Error option, if any (RFC 8914). */
  ede?: { infoCode: number; text: string };
}

export interface DecodedMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The Z bit (must be 0). */
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** The 4-bit header RCODE. */
  rcode: number;
  questions: DecodedQuestion[];
  answers: DecodedRecord[];
  authorities: DecodedRecord[];
  /** Additional records except the OPT pseudo-record, which is decoded into `opt`. */
  additionals: DecodedRecord[];
  opt?: DecodedOpt;
  /** Header counts as sent (arcount includes OPT). */
  counts: { qd: number; an: number; ns: number; ar: number };
}

export class WireReader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) {
      throw new WireError(`truncated message: need ${n} byte(s) for ${what} at offset ${this.offset}, have ${this.buf.length - this.offset}`);
    }
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf.readUInt8(this.offset++);
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  /** A possibly compressed name; returns it without the trailing dot ('' for the root). */
  name(): string {
    const { name, end } = readName(this.buf, this.offset);
    this.offset = end;
    return name;
  }
}

/** Reads a name at `offset`, following compression pointers (backwards only, bounded). */
export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  let wireLength = 1;
  for (;;) {
    if (pos >= buf.length) throw new WireError(`name runs past the end of the message (offset ${pos})`);
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= pos || ++jumps > 64) throw new WireError(`bad compression pointer to ${target} at ${pos}`);
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError(`unsupported label type 0x${len.toString(16)} at ${pos}`);
    if (pos + 1 + len > buf.length) throw new WireError(`label runs past the end of the message (offset ${pos})`);
    wireLength += len + 1;
    if (wireLength > 255) throw new WireError('name longer than 255 bytes');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), end };
}

function formatIPv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // Longest run of zero groups (length >= 2) becomes '::' (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function readRecord(r: WireReader): DecodedRecord {
  const name = r.name();
  const type = r.u16('type');
  const klass = r.u16('class');
  const ttl = r.u32('ttl');
  const rdlength = r.u16('rdlength');
  const start = r.offset;
  const rdata = r.bytes(rdlength, 'rdata');
  const end = start + rdlength;
  const record: DecodedRecord = { name, type, class: klass, ttl, data: rdata, rdata };
  const nameInRdata = (at: number): { name: string; end: number } => {
    const res = readName(r.buf, at);
    if (res.end > end) throw new WireError(`name in ${typeName(type)} rdata runs past rdlength`);
    return res;
  };
  switch (type) {
    case RRType.A:
      if (rdlength !== 4) throw new WireError(`A rdata must be 4 bytes, got ${rdlength}`);
      record.data = Array.from(rdata).join('.');
      break;
    case RRType.AAAA:
      if (rdlength !== 16) throw new WireError(`AAAA rdata must be 16 bytes, got ${rdlength}`);
      record.data = formatIPv6(rdata);
      break;
    case RRType.CNAME:
    case RRType.NS:
    case RRType.PTR:
      record.data = nameInRdata(start).name;
      break;
    case RRType.MX: {
      if (rdlength < 3) throw new WireError('MX rdata too short');
      record.data = { preference: rdata.readUInt16BE(0), exchange: nameInRdata(start + 2).name };
      break;
    }
    case RRType.SRV: {
      if (rdlength < 7) throw new WireError('SRV rdata too short');
      record.data = {
        priority: rdata.readUInt16BE(0),
        weight: rdata.readUInt16BE(2),
        port: rdata.readUInt16BE(4),
        target: nameInRdata(start + 6).name,
      };
      break;
    }
    case RRType.SOA: {
      const m = nameInRdata(start);
      const rn = nameInRdata(m.end);
      if (rn.end + 20 !== end) throw new WireError('SOA rdata has the wrong length');
      const nums = r.buf.subarray(rn.end, end);
      record.data = {
        mname: m.name,
        rname: rn.name,
        serial: nums.readUInt32BE(0),
        refresh: nums.readUInt32BE(4),
        retry: nums.readUInt32BE(8),
        expire: nums.readUInt32BE(12),
        minimum: nums.readUInt32BE(16),
      };
      break;
    }
    case RRType.TXT: {
      const strings: string[] = [];
      let p = 0;
      while (p < rdata.length) {
        const len = rdata[p]!;
        if (p + 1 + len > rdata.length) throw new WireError('TXT character-string runs past rdlength');
        strings.push(rdata.toString('utf8', p + 1, p + 1 + len));
        p += 1 + len;
      }
      record.strings = strings;
      record.data = strings.join('');
      break;
    }
    default:
      break;
  }
  return record;
}

function decodeOpt(rec: DecodedRecord): DecodedOpt {
  const options: DecodedOption[] = [];
  const data = rec.rdata;
  let p = 0;
  while (p < data.length) {
    if (p + 4 > data.length) throw new WireError('truncated EDNS option header');
    const code = data.readUInt16BE(p);
    const len = data.readUInt16BE(p + 2);
    if (p + 4 + len > data.length) throw new WireError(`EDNS option ${code} runs past the OPT rdata`);
    options.push({ code, data: Buffer.from(data.subarray(p + 4, p + 4 + len)) });
    p += 4 + len;
  }
  const opt: DecodedOpt = {
    udpSize: rec.class,
    do: (rec.ttl & 0x8000) !== 0,
    version: (rec.ttl >>> 16) & 0xff,
    extendedRcode: (rec.ttl >>> 24) & 0xff,
    options,
  };
  const ede = options.find((o) => o.code === EDNS_OPTION_EDE);
  if (ede !== undefined) {
    if (ede.data.length < 2) throw new WireError('EDE option shorter than 2 bytes');
    opt.ede = { infoCode: ede.data.readUInt16BE(0), text: ede.data.toString('utf8', 2) };
  }
  return opt;
}

/** Decodes a whole message. Throws WireError on anything malformed (including trailing garbage after the counts). */
export function decodeMessage(buf: Buffer, opts: { allowTrailing?: boolean } = {}): DecodedMessage {
  const r = new WireReader(buf);
  const id = r.u16('id');
  const flags = r.u16('flags');
  const qd = r.u16('qdcount');
  const an = r.u16('ancount');
  const ns = r.u16('nscount');
  const ar = r.u16('arcount');
  const questions: DecodedQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    questions.push({ name, type: r.u16('qtype'), class: r.u16('qclass') });
  }
  const answers: DecodedRecord[] = [];
  for (let i = 0; i < an; i++) answers.push(readRecord(r));
  const authorities: DecodedRecord[] = [];
  for (let i = 0; i < ns; i++) authorities.push(readRecord(r));
  const additionals: DecodedRecord[] = [];
  let opt: DecodedOpt | undefined;
  for (let i = 0; i < ar; i++) {
    const rec = readRecord(r);
    if (rec.type === RRType.OPT) {
      if (opt !== undefined) throw new WireError('more than one OPT record');
      if (rec.name !== '') throw new WireError('OPT owner name must be the root');
      opt = decodeOpt(rec);
    } else {
      additionals.push(rec);
    }
  }
  if (opts.allowTrailing !== true && r.offset !== buf.length) {
    throw new WireError(`${buf.length - r.offset} trailing byte(s) after the last record`);
  }
  const msg: DecodedMessage = {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
    authorities,
    additionals,
    counts: { qd, an, ns, ar },
  };
  if (opt !== undefined) msg.opt = opt;
  return msg;
}

/**
 * Where the question section ends, for a message with exactly one uncompressed question; null when the
 * header or question cannot be read. Used by the fake upstream to echo question bytes exactly.
 */
export function questionEnd(buf: Buffer): number | null {
  if (buf.length < 12 || buf.readUInt16BE(4) < 1) return null;
  try {
    const { end } = readName(buf, 12);
    return end + 4 <= buf.length ? end + 4 : null;
  } catch {
    return null;
  }
}
