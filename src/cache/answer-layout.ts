import { HEADER_SIZE, QType } from '../dns/wire.js';

/**
 * Where the records of an upstream answer sit, found by one walk over its bytes (names are
 * skipped, never decoded): the offset of every TTL field, the OPT record's span, and the TTLs
 * that decide how long the answer may be cached. Used once per cache insert, never per hit.
 */
export interface AnswerLayout {
  readonly questionEnd: number;
  /** Offsets of the 32-bit TTL fields of every record except OPT. */
  readonly ttlOffsets: readonly number[];
  /** The OPT record's [start, end), or undefined when the answer has none. */
  readonly opt: readonly [number, number] | undefined;
  /** Smallest TTL among answer-section records (undefined when the section is empty). */
  readonly minAnswerTtl: number | undefined;
  /** min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section (RFC 2308 §5). */
  readonly negativeTtl: number | undefined;
  readonly answerCount: number;
}

/** Skips a possibly compressed name; returns the offset after it, or -1 when malformed. */
function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1; // a pointer ends the name here
    if (len > 63) return -1;
    pos += len + 1;
  }
  return -1;
}

/** Returns undefined for anything malformed: such an answer is passed through but never cached. */
export function layoutOf(buf: Buffer): AnswerLayout | undefined {
  if (buf.length < HEADER_SIZE || buf.readUInt16BE(4) !== 1) return undefined;
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let pos = skipName(buf, HEADER_SIZE);
  if (pos < 0 || pos + 4 > buf.length) return undefined;
  const questionEnd = pos + 4;
  pos = questionEnd;
  const ttlOffsets: number[] = [];
  let opt: [number, number] | undefined;
  let minAnswerTtl: number | undefined;
  let negativeTtl: number | undefined;
  for (let section = 0; section < 3; section++) {
    for (let i = 0; i < counts[section]!; i++) {
      const start = pos;
      pos = skipName(buf, pos);
      if (pos < 0 || pos + 10 > buf.length) return undefined;
      const type = buf.readUInt16BE(pos);
      const ttl = buf.readUInt32BE(pos + 4);
      const rdLength = buf.readUInt16BE(pos + 8);
      const rdata = pos + 10;
      const end = rdata + rdLength;
      if (end > buf.length) return undefined;
      if (type === QType.OPT) {
        if (section !== 2 || opt !== undefined) return undefined;
        opt = [start, end];
      } else {
        ttlOffsets.push(pos + 4);
        if (section === 0) minAnswerTtl = minAnswerTtl === undefined ? ttl : Math.min(minAnswerTtl, ttl);
        if (section === 1 && type === QType.SOA && negativeTtl === undefined) {
          // SOA MINIMUM is the last 32 bits of the rdata.
          negativeTtl = rdLength >= 22 ? Math.min(ttl, buf.readUInt32BE(end - 4)) : ttl;
        }
      }
      pos = end;
    }
  }
  if (pos !== buf.length) return undefined;
  return { questionEnd, ttlOffsets, opt, minAnswerTtl, negativeTtl, answerCount: counts[0] };
}
