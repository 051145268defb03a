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
import type { Config } from '../config/options.js';

/** How a locally served zone answers names at or below its apex. */
type ZoneKind =
  /** RFC 6761 §6.3: localhost and every name below it are the loopback host. */
  | 'loopback'
  /** RFC 6303 / RFC 8375 / RFC 6762: empty zones; NXDOMAIN below the apex, NODATA at it. */
  | 'empty'
  /** Browser DoH canaries: NXDOMAIN tells the browser to keep using this (filtering) resolver. */
  | 'canary';

interface LocalZone {
  readonly apex: string;
  readonly kind: ZoneKind;
  readonly soa: EncodedRecord;
}

const LOCAL_TTL = 3600;
const CANARY_TTL = 300;

const IPV6_LOOPBACK_REVERSE = `1${'.0'.repeat(31)}.ip6.arpa`;
const IPV6_UNSPECIFIED_REVERSE = `0${'.0'.repeat(31)}.ip6.arpa`;

/** RFC 6303 §4 (plus RFC 6598 shared address space via RFC 7793): reverse zones of addresses that never route publicly. */
export const PRIVATE_REVERSE_ZONES: readonly string[] = [
  '0.in-addr.arpa',
  '127.in-addr.arpa',
  '10.in-addr.arpa',
  ...Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`),
  '168.192.in-addr.arpa',
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
  '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa',
  '100.51.198.in-addr.arpa',
  '113.0.203.in-addr.arpa',
  '255.255.255.255.in-addr.arpa',
  IPV6_UNSPECIFIED_REVERSE,
  IPV6_LOOPBACK_REVERSE,
  'd.f.ip6.arpa',
  '8.e.f.ip6.arpa',
  '9.e.f.ip6.arpa',
  'a.e.f.ip6.arpa',
  'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
];

/**
 * Special-use names that must never be sent to an upstream resolver: home.arpa (RFC 8375), local
 * (mDNS, RFC 6762), invalid (RFC 6761 §6.4) and onion (RFC 7686). `test` is left to the upstream:
 * labs run real zones under it.
 */
export const SPECIAL_USE_ZONES: readonly string[] = ['home.arpa', 'local', 'invalid', 'onion'];

/** Names browsers probe to decide whether to bypass the local resolver with their own DoH. */
export const DOH_CANARIES: readonly string[] = ['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com'];

const LOOPBACK_PTR_NAMES = new Set(['1.0.0.127.in-addr.arpa', IPV6_LOOPBACK_REVERSE]);

export type LocalZoneOptions = Pick<Config, 'localZones' | 'blockDohCanaries'>;

/**
 * Answers names that belong to this network or to nobody (RFC 6761, RFC 6303) so that they never
 * leak upstream, and the DoH canaries so browsers keep their queries on the filtering resolver.
 */
export class LocalZoneResolver implements Resolver {
  private readonly zones = new Map<string, LocalZone>();
  private readonly loopbackA = encodeRecord(QUESTION_NAME_POINTER, QType.A, LOCAL_TTL, ipv4Bytes('127.0.0.1'));
  private readonly loopbackAAAA = encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, LOCAL_TTL, ipv6Bytes('::1'));
  private readonly loopbackPtr = encodeRecord(QUESTION_NAME_POINTER, QType.PTR, LOCAL_TTL, encodeName('localhost'));
  /** Longest apex in labels: suffixes longer than this cannot be zones, so they are not looked up. */
  private readonly maxApexLabels: number;
  /** Top-level labels under which some zone lives; any other name is passed on after one lookup. */
  private readonly topLabels = new Set<string>();

  constructor(
    options: LocalZoneOptions,
    private readonly synthesizer: Synthesizer,
    private readonly next: Resolver,
  ) {
    if (options.localZones) {
      this.add('localhost', 'loopback', LOCAL_TTL);
      for (const apex of [...PRIVATE_REVERSE_ZONES, ...SPECIAL_USE_ZONES]) this.add(apex, 'empty', LOCAL_TTL);
    }
    if (options.blockDohCanaries) for (const apex of DOH_CANARIES) this.add(apex, 'canary', CANARY_TTL);
    let maxLabels = 0;
    for (const apex of this.zones.keys()) {
      maxLabels = Math.max(maxLabels, apex.split('.').length);
      this.topLabels.add(apex.slice(apex.lastIndexOf('.') + 1));
    }
    this.maxApexLabels = maxLabels;
  }

  private add(apex: string, kind: ZoneKind, ttl: number): void {
    // RFC 6303 §3: SOA "@ nobody.invalid." with the apex as MNAME.
    this.zones.set(apex, { apex, kind, soa: negativeSoa(apex, ttl, apex, 'nobody.invalid') });
  }

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const zone = this.findZone(ctx.query.name);
    if (zone === undefined) return this.next.resolve(ctx);
    return { bytes: this.answer(ctx, zone), source: 'local' };
  }

  private findZone(name: string): LocalZone | undefined {
    if (this.zones.size === 0 || name === '') return undefined;
    if (!this.topLabels.has(name.slice(name.lastIndexOf('.') + 1))) return undefined;
    // Walk suffixes from the shortest (the TLD) to the longest allowed; most names miss at the TLD.
    let labels = 0;
    let start = name.length;
    while (start > 0 && labels < this.maxApexLabels) {
      const dot = name.lastIndexOf('.', start - 1);
      start = dot + 1;
      labels++;
      const zone = this.zones.get(start === 0 ? name : name.slice(start));
      if (zone !== undefined) return zone;
      if (dot < 0) break;
      start = dot;
    }
    return undefined;
  }

  private answer(ctx: QueryContext, zone: LocalZone): Buffer {
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
