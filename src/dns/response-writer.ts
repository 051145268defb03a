/**
 * Builds the responses fraudwall synthesizes itself (blocks, local zones, errors, truncation):
 * header + the client's own question bytes (its 0x20 case kept) + prebuilt resource records.
 * Records are encoded once, off the hot path (see `encodeRecord`), so a block answer is a few
 * buffer copies. dns2 is used by the tests to decode and check every shape written here.
 */
import {
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  HEADER_SIZE,
  OPCODE_MASK,
  QType,
} from './wire.js';

/** A record ready to be copied: owner name, type, class, TTL, rdata already in wire form. */
export interface EncodedRecord {
  readonly bytes: Buffer;
}

/** Owner name written as a compression pointer to the question name at offset 12. */
export const QUESTION_NAME_POINTER = Buffer.from([0xc0, HEADER_SIZE]);

/** Wire form of a presentation name ('' or '.' is the root). Throws on labels over 63 octets. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const labels = trimmed.split('.');
  const out = Buffer.alloc(trimmed.length + 2);
  let pos = 0;
  for (const label of labels) {
    const length = Buffer.byteLength(label, 'latin1');
    if (length === 0 || length > 63) throw new Error(`invalid DNS label "${label}" in "${name}"`);
    out[pos++] = length;
    pos += out.write(label, pos, 'latin1');
  }
  out[pos++] = 0;
  return out.subarray(0, pos);
}

export function encodeRecord(owner: Buffer, type: number, ttl: number, rdata: Buffer): EncodedRecord {
  const bytes = Buffer.alloc(owner.length + 10 + rdata.length);
  owner.copy(bytes, 0);
  let pos = owner.length;
  pos = bytes.writeUInt16BE(type, pos);
  pos = bytes.writeUInt16BE(1, pos); // class IN
  pos = bytes.writeUInt32BE(ttl >>> 0, pos);
  pos = bytes.writeUInt16BE(rdata.length, pos);
  rdata.copy(bytes, pos);
  return { bytes };
}

export interface SoaFields {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export function soaRdata(soa: SoaFields): Buffer {
  const mname = encodeName(soa.mname);
  const rname = encodeName(soa.rname);
  const out = Buffer.alloc(mname.length + rname.length + 20);
  mname.copy(out, 0);
  rname.copy(out, mname.length);
  let pos = mname.length + rname.length;
  for (const value of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) {
    pos = out.writeUInt32BE(value >>> 0, pos);
  }
  return out;
}

/** An RFC 8914 Extended DNS Error option to put in the OPT record. */
export interface ExtendedError {
  readonly infoCode: number;
  readonly text: string;
  /**
   * Longest EXTRA-TEXT kept, in bytes (default 200). Structured DNS Errors carry JSON, which must
   * not be cut; their builder sizes it to the answer and raises this.
   */
  readonly maxTextBytes?: number;
}

export const EDE_OTHER = 0;
export const EDE_BLOCKED = 15;
export const EDE_FILTERED = 17;
export const EDE_PROHIBITED = 18;
export const EDE_NOT_READY = 14;
export const EDE_NETWORK_ERROR = 23;
export const EDE_NO_REACHABLE_AUTHORITY = 22;

const EDNS_OPTION_EDE = 15;
/** Keep EDE text short: it rides in every blocked answer and must not push it past 512 bytes. */
const EDE_MAX_TEXT_BYTES = 200;

export interface OptSpec {
  readonly udpSize: number;
  readonly dnssecOk: boolean;
  /** Upper 8 bits of a 12-bit rcode (RFC 6891 §6.1.3), e.g. 1 for BADVERS. */
  readonly extendedRcode?: number;
  readonly ede?: ExtendedError | undefined;
}

/** UTF-8 bytes of `text`, cut to at most `max` bytes without splitting a character. */
function utf8Prefix(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end);
}

export function encodeOpt(opt: OptSpec): Buffer {
  const text = opt.ede ? utf8Prefix(opt.ede.text, opt.ede.maxTextBytes ?? EDE_MAX_TEXT_BYTES) : undefined;
  const rdLength = opt.ede && text ? 6 + text.length : 0;
  const out = Buffer.alloc(11 + rdLength);
  out[0] = 0; // root owner
  out.writeUInt16BE(QType.OPT, 1);
  out.writeUInt16BE(opt.udpSize, 3);
  out[5] = opt.extendedRcode ?? 0;
  out[6] = 0; // version
  out.writeUInt16BE(opt.dnssecOk ? 0x8000 : 0, 7);
  out.writeUInt16BE(rdLength, 9);
  if (opt.ede && text) {
    out.writeUInt16BE(EDNS_OPTION_EDE, 11);
    out.writeUInt16BE(2 + text.length, 13);
    out.writeUInt16BE(opt.ede.infoCode, 15);
    text.copy(out, 17);
  }
  return out;
}

export interface ResponseSpec {
  readonly rcode: number;
  readonly authoritative?: boolean;
  readonly truncated?: boolean;
  readonly answers?: readonly EncodedRecord[];
  readonly authorities?: readonly EncodedRecord[];
  /** The OPT record to append, already encoded; absent when the client sent no EDNS. */
  readonly opt?: Buffer | undefined;
}

/**
 * A response to `query`, echoing its ID, opcode, RD and CD bits (RFC 6840 §5.9) and its question
 * bytes [12, questionEnd). RA is set because fraudwall offers recursion; AD never is.
 * questionEnd = 0 writes no question (for packets whose question could not be read).
 */
export function writeResponse(query: Buffer, questionEnd: number, spec: ResponseSpec): Buffer {
  const answers = spec.answers ?? [];
  const authorities = spec.authorities ?? [];
  const questionLength = questionEnd > HEADER_SIZE ? questionEnd - HEADER_SIZE : 0;
  let size = HEADER_SIZE + questionLength + (spec.opt?.length ?? 0);
  for (const record of answers) size += record.bytes.length;
  for (const record of authorities) size += record.bytes.length;

  const out = Buffer.allocUnsafe(size);
  const queryFlags = query.length >= 4 ? query.readUInt16BE(2) : 0;
  let flags = FLAG_QR | FLAG_RA | (queryFlags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | (spec.rcode & 0xf);
  if (spec.authoritative) flags |= FLAG_AA;
  if (spec.truncated) flags |= FLAG_TC;
  out.writeUInt16BE(query.length >= 2 ? query.readUInt16BE(0) : 0, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(questionLength > 0 ? 1 : 0, 4);
  out.writeUInt16BE(answers.length, 6);
  out.writeUInt16BE(authorities.length, 8);
  out.writeUInt16BE(spec.opt ? 1 : 0, 10);
  let pos = HEADER_SIZE;
  if (questionLength > 0) pos += query.copy(out, pos, HEADER_SIZE, questionEnd);
  for (const record of answers) pos += record.bytes.copy(out, pos);
  for (const record of authorities) pos += record.bytes.copy(out, pos);
  if (spec.opt) spec.opt.copy(out, pos);
  return out;
}

/**
 * The reply for an answer too large for the client's UDP size (RFC 1035 §4.2.1, RFC 6891 §7):
 * the answer's header with TC=1 and empty sections, the question, and our OPT when the client sent one.
 */
export function writeTruncated(answer: Buffer, questionEnd: number, opt: Buffer | undefined): Buffer {
  const questionLength = questionEnd - HEADER_SIZE;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + (opt?.length ?? 0));
  answer.copy(out, 0, 0, 4);
  out.writeUInt16BE(out.readUInt16BE(2) | FLAG_TC, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6); // ancount, nscount
  out.writeUInt16BE(opt ? 1 : 0, 10);
  answer.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd);
  if (opt) opt.copy(out, questionEnd);
  return out;
}
