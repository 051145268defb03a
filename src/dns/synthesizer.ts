import {
  encodeOpt,
  encodeName,
  encodeRecord,
  soaRdata,
  writeResponse,
  writeTruncated,
  type EncodedRecord,
  type ExtendedError,
} from './response-writer.js';
import { QType, Rcode, type EdnsInfo } from './wire.js';

/**
 * Everything fraudwall answers on its own goes through here, so that one rule holds for all of it:
 * a client that sent EDNS gets an OPT record back (RFC 6891 §6.1.1) advertising our own UDP size,
 * with its DO bit echoed (RFC 3225) and, where there is a reason worth telling, an Extended DNS Error.
 */
export class Synthesizer {
  private readonly plainOpt: readonly [Buffer, Buffer];

  constructor(readonly ednsUdpSize: number) {
    this.plainOpt = [
      encodeOpt({ udpSize: ednsUdpSize, dnssecOk: false }),
      encodeOpt({ udpSize: ednsUdpSize, dnssecOk: true }),
    ];
  }

  /** The OPT record for a reply to a query with `edns`, or undefined when the query had none. */
  opt(edns: EdnsInfo | undefined, ede?: ExtendedError): Buffer | undefined {
    if (edns === undefined) return undefined;
    return this.optFor(edns.dnssecOk, ede);
  }

  /** Our OPT record for a client with the given DO bit; callers may keep it (it is never mutated). */
  optFor(dnssecOk: boolean, ede?: ExtendedError): Buffer {
    if (ede === undefined) return this.plainOpt[dnssecOk ? 1 : 0];
    return encodeOpt({ udpSize: this.ednsUdpSize, dnssecOk, ede });
  }

  error(packet: Buffer, questionEnd: number, edns: EdnsInfo | undefined, rcode: number, ede?: ExtendedError): Buffer {
    return writeResponse(packet, questionEnd, { rcode, opt: this.opt(edns, ede) });
  }

  /** RFC 6891 §6.1.3: a query with an EDNS version we do not speak gets BADVERS and version 0. */
  badVersion(packet: Buffer, questionEnd: number, edns: EdnsInfo): Buffer {
    const opt = encodeOpt({
      udpSize: this.ednsUdpSize,
      dnssecOk: edns.dnssecOk,
      extendedRcode: Rcode.BADVERS >> 4,
    });
    return writeResponse(packet, questionEnd, { rcode: Rcode.BADVERS & 0xf, opt });
  }

  truncated(answer: Buffer, questionEnd: number, edns: EdnsInfo | undefined): Buffer {
    return writeTruncated(answer, questionEnd, this.opt(edns));
  }
}

/** The SOA rdata of synthesized negative answers: MINIMUM is the TTL negative caches keep them (RFC 2308 §5). */
export function blockSoaRdata(ttl: number, mname: string, rname: string): Buffer {
  return soaRdata({ mname, rname, serial: 1, refresh: 3600, retry: 1200, expire: 604800, minimum: ttl });
}

/** A SOA record for synthesized negative answers, owned by `zone` (RFC 2308 §3). */
export function negativeSoa(zone: string, ttl: number, mname: string, rname: string): EncodedRecord {
  return encodeRecord(encodeName(zone), QType.SOA, ttl, blockSoaRdata(ttl, mname, rname));
}
