import { HEADER_SIZE } from './wire.js';

export const TYPE_SOA = 6;
export const TYPE_OPT = 41;
/** EDNS(0) padding option (RFC 7830). */
export const OPTION_PADDING = 12;

/** One resource record of a message, located without decoding it. */
export interface RecordLocation {
  /** 0 answer, 1 authority, 2 additional. */
  readonly section: 0 | 1 | 2;
  readonly type: number;
  readonly ttl: number;
  /** Offset of the record's owner name, of its RDLENGTH field, and of its RDATA. */
  readonly start: number;
  readonly rdlengthOffset: number;
  readonly rdataOffset: number;
  readonly rdlength: number;
}

/** Offset after a (possibly compressed) name at `offset`, or -1 when it runs past the end or is malformed. */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  for (let labels = 0; labels < 128; labels++) {
    if (pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1;
    if (len > 63) return -1;
    pos += len + 1;
  }
  return -1;
}

/**
 * The records of a whole message, in order, or undefined when the message is malformed. Only the
 * encrypted transports call this (Cache-Control, padding): the plain UDP/TCP path never walks an answer.
 */
export function listRecords(message: Buffer): RecordLocation[] | undefined {
  if (message.length < HEADER_SIZE) return undefined;
  const qdcount = message.readUInt16BE(4);
  const counts = [message.readUInt16BE(6), message.readUInt16BE(8), message.readUInt16BE(10)] as const;
  let pos = HEADER_SIZE;
  for (let i = 0; i < qdcount; i++) {
    pos = skipName(message, pos);
    if (pos < 0 || pos + 4 > message.length) return undefined;
    pos += 4;
  }
  const records: RecordLocation[] = [];
  for (let section = 0; section < 3; section++) {
    for (let i = 0; i < counts[section]!; i++) {
      const start = pos;
      pos = skipName(message, pos);
      if (pos < 0 || pos + 10 > message.length) return undefined;
      const rdlength = message.readUInt16BE(pos + 8);
      if (pos + 10 + rdlength > message.length) return undefined;
      records.push({
        section: section as 0 | 1 | 2,
        type: message.readUInt16BE(pos),
        ttl: message.readUInt32BE(pos + 4),
        start,
        rdlengthOffset: pos + 8,
        rdataOffset: pos + 10,
        rdlength,
      });
      pos += 10 + rdlength;
    }
  }
  return records;
}
