/**
 * Hand parser for the parts of a DNS message the hot path needs: the header, the single question and
 * the OPT record (RFC 1035 §4.1, RFC 6891). It never decodes answers and never follows compression
 * pointers, so a hostile packet costs at most one linear scan of its bytes.
 */

export const HEADER_SIZE = 12;
export const MAX_UDP_QUERY_SIZE = 4096;
/** RFC 6891 §6.2.5: a requestor size below 512 is treated as 512. */
export const MIN_UDP_PAYLOAD = 512;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891 §9): carried as 1 in the OPT TTL's high byte. */
  BADVERS: 16,
} as const;

export const QType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const QClass = { IN: 1, CH: 3, ANY: 255 } as const;

// Header flag bits (second 16-bit word).
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
export const OPCODE_MASK = 0x7800;
export const RCODE_MASK = 0x000f;

/** What the OPT pseudo-record of a query said. */
export interface EdnsInfo {
  /** Advertised UDP payload size, already raised to at least 512. */
  readonly udpSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
  /** Offset of the OPT record inside the packet (its root owner name byte). */
  readonly offset: number;
}

export interface ParsedQuery {
  readonly id: number;
  readonly flags: number;
  /** Lowercase presentation form without the trailing dot; '' is the root. */
  readonly name: string;
  readonly type: number;
  readonly qclass: number;
  /** Offset just past the question: bytes [12, questionEnd) are the question as the client sent it. */
  readonly questionEnd: number;
  readonly edns: EdnsInfo | undefined;
}

/** Why a packet was not accepted as a query; names are metric label values, so the set is fixed. */
export type MalformedReason =
  | 'short-header'
  | 'response'
  | 'opcode'
  | 'qdcount'
  | 'sections'
  | 'bad-name'
  | 'truncated-question'
  | 'bad-opt'
  | 'trailing-bytes'
  | 'oversized';

export type ParseOutcome =
  | { readonly ok: true; readonly query: ParsedQuery }
  | {
      readonly ok: false;
      readonly reason: MalformedReason;
      /** The rcode to answer with, or undefined when the packet must be dropped silently. */
      readonly rcode: number | undefined;
      /** Offset past a readable question to echo in the error reply; 0 when there is none. */
      readonly questionEnd: number;
      readonly edns: EdnsInfo | undefined;
    };

function reject(
  reason: MalformedReason,
  rcode: number | undefined,
  questionEnd = 0,
  edns: EdnsInfo | undefined = undefined,
): ParseOutcome {
  return { ok: false, reason, rcode, questionEnd, edns };
}

/**
 * Reads a question name at `offset` without compression. Returns the offset after the name,
 * or -1 when the name is malformed (pointer, reserved label type, over 255 octets, runs past the end).
 */
export function skipQuestionName(buf: Buffer, offset: number): number {
  let pos = offset;
  let wireLength = 0;
  for (;;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) return wireLength + 1 > 255 ? -1 : pos + 1;
    if (len > 63) return -1; // 0xC0 pointers and the reserved 0x40/0x80 label types
    wireLength += len + 1;
    if (wireLength > 255) return -1;
    pos += len + 1;
  }
}

/** Scratch space for building a name: one toString per query instead of one per label. */
const nameScratch = Buffer.allocUnsafe(256);

/**
 * Presentation form of an uncompressed wire name, lowercased in ASCII only (DNS case-insensitivity,
 * RFC 4343). Non-ASCII octets are kept as latin1 characters; they never match a list entry.
 */
export function readLowercaseName(buf: Buffer, offset: number, end: number): string {
  let out = 0;
  let pos = offset;
  for (;;) {
    const len = buf[pos]!;
    if (len === 0) break;
    if (out > 0) nameScratch[out++] = 0x2e; // '.'
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!;
      nameScratch[out++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    pos += len + 1;
  }
  return out === 0 || end - offset <= 1 ? '' : nameScratch.toString('latin1', 0, out);
}

/**
 * Parses an OPT record at `offset`. With `last`, it must end exactly at the end of the packet
 * (the only additional record of a valid query); without, it only has to fit (used to find the
 * client's EDNS for an error reply to an otherwise malformed query).
 */
function parseOpt(buf: Buffer, offset: number, last: boolean): EdnsInfo | undefined {
  // root name (1) + type (2) + class (2) + ttl (4) + rdlength (2)
  if (offset + 11 > buf.length || buf[offset] !== 0) return undefined;
  if (buf.readUInt16BE(offset + 1) !== QType.OPT) return undefined;
  const rdLength = buf.readUInt16BE(offset + 9);
  const end = offset + 11 + rdLength;
  if (last ? end !== buf.length : end > buf.length) return undefined;
  // Options must tile the rdata exactly.
  let pos = offset + 11;
  const rdEnd = pos + rdLength;
  while (pos < rdEnd) {
    if (pos + 4 > rdEnd) return undefined;
    pos += 4 + buf.readUInt16BE(pos + 2);
  }
  if (pos !== rdEnd) return undefined;
  const size = buf.readUInt16BE(offset + 3);
  return {
    udpSize: size < MIN_UDP_PAYLOAD ? MIN_UDP_PAYLOAD : size,
    version: buf[offset + 6]!,
    dnssecOk: (buf[offset + 7]! & 0x80) !== 0,
    offset,
  };
}

/**
 * True when the query's OPT record (already validated by parseQuery) carries an option with `code`.
 * Reads only the option headers; used off the common path (block answers, when SDE is configured).
 */
export function hasEdnsOption(packet: Buffer, edns: EdnsInfo, code: number): boolean {
  const rdEnd = edns.offset + 11 + packet.readUInt16BE(edns.offset + 9);
  for (let pos = edns.offset + 11; pos + 4 <= rdEnd; pos += 4 + packet.readUInt16BE(pos + 2)) {
    if (packet.readUInt16BE(pos) === code) return true;
  }
  return false;
}

/**
 * Accepts only what a stub or forwarding client sends: QR=0, opcode QUERY, one question without
 * compression, no answer or authority records, at most one additional record which must be OPT.
 */
export function parseQuery(buf: Buffer): ParseOutcome {
  if (buf.length < HEADER_SIZE) return reject('short-header', undefined);
  const flags = buf.readUInt16BE(2);
  if ((flags & FLAG_QR) !== 0) return reject('response', undefined);
  if (buf.length > MAX_UDP_QUERY_SIZE) return reject('oversized', Rcode.FORMERR);

  const qdcount = buf.readUInt16BE(4);
  const nameEnd = qdcount === 1 ? skipQuestionName(buf, HEADER_SIZE) : -1;
  const questionEnd = nameEnd > 0 && nameEnd + 4 <= buf.length ? nameEnd + 4 : 0;

  if ((flags & OPCODE_MASK) !== 0) {
    const edns = questionEnd > 0 && buf.readUInt16BE(10) > 0 ? parseOpt(buf, questionEnd, false) : undefined;
    return reject('opcode', Rcode.NOTIMP, questionEnd, edns);
  }
  if (qdcount !== 1) return reject('qdcount', Rcode.FORMERR);
  if (nameEnd < 0) return reject('bad-name', Rcode.FORMERR);
  if (questionEnd === 0) return reject('truncated-question', Rcode.FORMERR);
  const arcount = buf.readUInt16BE(10);
  if (buf.readUInt16BE(6) !== 0 || buf.readUInt16BE(8) !== 0) return reject('sections', Rcode.FORMERR, questionEnd);

  let edns: EdnsInfo | undefined;
  if (arcount === 1) {
    edns = parseOpt(buf, questionEnd, true);
    if (edns === undefined) return reject('bad-opt', Rcode.FORMERR, questionEnd);
  } else if (arcount > 1) {
    // RFC 6891 §6.1.1: more than one OPT is FORMERR; still answer with EDNS if the first one is OPT.
    return reject('sections', Rcode.FORMERR, questionEnd, parseOpt(buf, questionEnd, false));
  } else if (buf.length !== questionEnd) {
    return reject('trailing-bytes', Rcode.FORMERR, questionEnd);
  }

  return {
    ok: true,
    query: {
      id: buf.readUInt16BE(0),
      flags,
      name: readLowercaseName(buf, HEADER_SIZE, nameEnd),
      type: buf.readUInt16BE(nameEnd),
      qclass: buf.readUInt16BE(nameEnd + 2),
      questionEnd,
      edns,
    },
  };
}

/**
 * True when `response` carries the same question as `query` (name compared case-insensitively,
 * RFC 4343; type and class exactly). Both must hold exactly one question at offset 12.
 */
export function sameQuestion(query: Buffer, queryQuestionEnd: number, response: Buffer): boolean {
  if (response.length < queryQuestionEnd || response.readUInt16BE(4) !== 1) return false;
  for (let i = HEADER_SIZE; i < queryQuestionEnd; i++) {
    let a = query[i]!;
    let b = response[i]!;
    if (a === b) continue;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}

export function rcodeOf(message: Buffer): number {
  return message.length >= 4 ? message[3]! & RCODE_MASK : Rcode.SERVFAIL;
}
