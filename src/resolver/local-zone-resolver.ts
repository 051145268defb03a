import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import {
  EDE_FILTERED,
  encodeName,
  encodeRecord,
  QUESTION_NAME_POINTER,
  writeResponse,
  type EncodedRecord,
} from '../dns/response-writer.js';
import { negativeSoa, type Synthesizer } from '../dns/synthesizer.js';
import { QType, Rcode } from '../dns/wire.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';
import { LocalZoneTable, LOOPBACK_PTR_NAMES, type LocalZone, type LocalZoneOptions } from '../policy/local-zones.js';

interface AnsweredZone extends LocalZone {
  readonly soa: EncodedRecord;
}

const LOCAL_TTL = 3600;
const CANARY_TTL = 300;

/**
 * Answers names that belong to this network or to nobody (RFC 6761, RFC 6303) so that they never
 * leak upstream, and the DoH canaries so browsers keep their queries on the filtering resolver.
 */
export class LocalZoneResolver implements Resolver {
  private readonly zones: LocalZoneTable<AnsweredZone>;
  private readonly loopbackA = encodeRecord(QUESTION_NAME_POINTER, QType.A, LOCAL_TTL, ipv4Bytes('127.0.0.1'));
  private readonly loopbackAAAA = encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, LOCAL_TTL, ipv6Bytes('::1'));
  private readonly loopbackPtr = encodeRecord(QUESTION_NAME_POINTER, QType.PTR, LOCAL_TTL, encodeName('localhost'));

  constructor(
    options: LocalZoneOptions,
    private readonly synthesizer: Synthesizer,
    private readonly next: Resolver,
  ) {
    // RFC 6303 §3: SOA "@ nobody.invalid." with the apex as MNAME.
    this.zones = new LocalZoneTable(options, (apex, kind) => ({
      apex,
      kind,
      soa: negativeSoa(apex, kind === 'canary' ? CANARY_TTL : LOCAL_TTL, apex, 'nobody.invalid'),
    }));
  }

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const zone = this.zones.find(ctx.query.name);
    if (zone === undefined) return this.next.resolve(ctx);
    return { bytes: this.answer(ctx, zone), source: 'local' };
  }

  private answer(ctx: QueryContext, zone: AnsweredZone): Buffer {
    const { packet, query } = ctx;
    const atApex = query.name === zone.apex;
    if (zone.kind === 'canary') {
      const opt = this.synthesizer.opt(query.edns, { infoCode: EDE_FILTERED, text: 'fraudwall keeps DNS filtering on: DoH canary' });
      return writeResponse(packet, query.questionEnd, { rcode: Rcode.NXDOMAIN, authoritative: true, authorities: [zone.soa], opt });
    }
    const opt = this.synthesizer.opt(query.edns);
    const positive = (record: EncodedRecord): Buffer =>
      writeResponse(packet, query.questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [record], opt });

    if (query.type === QType.SOA && atApex) return positive(zone.soa);
    if (zone.kind === 'loopback') {
      if (query.type === QType.A) return positive(this.loopbackA);
      if (query.type === QType.AAAA) return positive(this.loopbackAAAA);
    } else if (LOOPBACK_PTR_NAMES.has(query.name)) {
      if (query.type === QType.PTR) return positive(this.loopbackPtr);
    } else if (!atApex) {
      return writeResponse(packet, query.questionEnd, { rcode: Rcode.NXDOMAIN, authoritative: true, authorities: [zone.soa], opt });
    }
    return writeResponse(packet, query.questionEnd, { rcode: Rcode.NOERROR, authoritative: true, authorities: [zone.soa], opt });
  }
}
