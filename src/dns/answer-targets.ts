// What an upstream answer points a client to, found by one walk over the answer section's bytes:
// the names it redirects to (CNAME and DNAME targets, SVCB/HTTPS TargetName) and where its
// addresses sit (A, AAAA, SVCB/HTTPS ipv4hint/ipv6hint). Nothing else is decoded: owner names are
// skipped, only target names are read into strings (lowercase, no trailing dot), and addresses are
// left in place as offsets. Answer inspection judges the result; the bytes pass through unchanged.
import { HEADER_SIZE, QType } from './wire.js';

const DNAME = 39;
const SVC_PARAM_IPV4HINT = 4;
const SVC_PARAM_IPV6HINT = 6;

/** Which record a target name came from, for the EDE text (`… via CNAME x`). */
export type TargetRecord = 'CNAME' | 'DNAME' | 'SVCB' | 'HTTPS';

export interface AnswerTargets {
  /** Target names in answer order (at most `maxNames`). */
  readonly names: string[];
  readonly records: TargetRecord[];
  /** Offsets of addresses in the message, with their lengths (4 or 16). */
  readonly addressOffsets: number[];
  readonly addressLengths: number[];
  /** More target names than `maxNames`: the rest were not read. */
  chainLimitHit: boolean;
}

/** Skips a possibly compressed name; the offset after it, or -1 when malformed. */
function skipName(buf: Uint8Array, offset: number, end: number): number {
  let pos = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (pos >= end) return -1;
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= end ? pos + 2 : -1;
    if (len > 63) return -1;
    pos += len + 1;
  }
  return -1;
}

/**
 * The name at `offset`, following compression pointers (backwards only, so no loop), lowercased
 * ASCII without the trailing dot ('' for the root); undefined when malformed.
 */
export function readName(buf: Uint8Array, offset: number, end: number): string | undefined {
  let pos = offset;
  let out = '';
  let limit = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (pos >= end) return undefined;
    const len = buf[pos]!;
    if (len === 0) return out;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= end) return undefined;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= limit) return undefined; // pointers must point back: no loops
      limit = target;
      pos = target;
      continue;
    }
    if (len > 63 || pos + 1 + len > end) return undefined;
    if (out.length > 0) out += '.';
    // Char by char: for labels of DNS length this beats a TextDecoder or Buffer#toString call.
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!;
      out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
    }
    if (out.length > 253) return undefined;
    pos += len + 1;
  }
  return undefined;
}

export function emptyTargets(): AnswerTargets {
  return { names: [], records: [], addressOffsets: [], addressLengths: [], chainLimitHit: false };
}

/** Empties `targets` for reuse (one object per inspector: no arrays allocated per answer). */
export function resetTargets(targets: AnswerTargets): void {
  targets.names.length = 0;
  targets.records.length = 0;
  targets.addressOffsets.length = 0;
  targets.addressLengths.length = 0;
  targets.chainLimitHit = false;
}

/**
 * Walks `buf[0, length)` (a whole DNS message, or a cached one without its OPT record) and
 * collects into `out`. Returns false when the answer section is malformed (the caller lets such
 * an answer through unjudged, as the cache does not store it).
 */
export function collectAnswerTargets(buf: Uint8Array, length: number, maxNames: number, out: AnswerTargets): boolean {
  if (length < HEADER_SIZE) return false;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  const ancount = (buf[6]! << 8) | buf[7]!;
  if (qdcount !== 1) return false;
  let pos = skipName(buf, HEADER_SIZE, length);
  if (pos < 0 || pos + 4 > length) return false;
  pos += 4;
  for (let i = 0; i < ancount; i++) {
    pos = skipName(buf, pos, length);
    if (pos < 0 || pos + 10 > length) return false;
    const type = (buf[pos]! << 8) | buf[pos + 1]!;
    const rdLength = (buf[pos + 8]! << 8) | buf[pos + 9]!;
    const rdata = pos + 10;
    const end = rdata + rdLength;
    if (end > length) return false;
    if (type === QType.A && rdLength === 4) {
      out.addressOffsets.push(rdata);
      out.addressLengths.push(4);
    } else if (type === QType.AAAA && rdLength === 16) {
      out.addressOffsets.push(rdata);
      out.addressLengths.push(16);
    } else if (type === QType.CNAME || type === DNAME) {
      if (!addName(buf, rdata, end, type === DNAME ? 'DNAME' : 'CNAME', maxNames, out)) return false;
    } else if (type === QType.SVCB || type === QType.HTTPS) {
      if (!svcb(buf, rdata, end, type === QType.HTTPS ? 'HTTPS' : 'SVCB', maxNames, out)) return false;
    }
    pos = end;
  }
  return true;
}

function addName(buf: Uint8Array, at: number, end: number, record: TargetRecord, maxNames: number, out: AnswerTargets): boolean {
  if (out.names.length >= maxNames) {
    out.chainLimitHit = true;
    return true;
  }
  // Compression may point anywhere before; the name itself must start inside the rdata.
  const name = readName(buf, at, end);
  if (name === undefined) return false;
  if (name !== '') {
    out.names.push(name);
    out.records.push(record);
  }
  return true;
}

/** SVCB/HTTPS (RFC 9460): priority, TargetName ("." = the owner), then key/length/value params. */
function svcb(buf: Uint8Array, rdata: number, end: number, record: TargetRecord, maxNames: number, out: AnswerTargets): boolean {
  if (rdata + 3 > end) return false;
  const targetAt = rdata + 2;
  if (!addName(buf, targetAt, end, record, maxNames, out)) return false;
  let pos = skipName(buf, targetAt, end);
  if (pos < 0) return false;
  while (pos + 4 <= end) {
    const key = (buf[pos]! << 8) | buf[pos + 1]!;
    const valueLength = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    const value = pos + 4;
    if (value + valueLength > end) return false;
    const size = key === SVC_PARAM_IPV4HINT ? 4 : key === SVC_PARAM_IPV6HINT ? 16 : 0;
    if (size > 0) {
      for (let a = value; a + size <= value + valueLength; a += size) {
        out.addressOffsets.push(a);
        out.addressLengths.push(size);
      }
    }
    pos = value + valueLength;
  }
  return pos === end;
}

