import { LRUCache } from 'lru-cache';
import { EDE_BLOCKED, encodeRecord, ipv4Rdata, ipv6Rdata, QUESTION_NAME_POINTER, writeResponse, type EncodedRecord } from '../dns/response-writer.js';
import { negativeSoa, type Synthesizer } from '../dns/synthesizer.js';
import { QType, Rcode, type ParsedQuery } from '../dns/wire.js';
import type { Rule } from '../policy/rule.js';

export type BlockMode = 'nxdomain' | 'null' | 'refused';

export const BLOCK_SOA_MNAME = 'fraudwall.invalid';
export const BLOCK_SOA_RNAME = 'blocked.fraudwall.invalid';

/**
 * Encoded SOAs kept, by the blocking rule's domain. Rules are materialised per lookup (the lists are
 * packed), so the same domain arrives as many Rule objects: the cache is keyed by the domain and
 * bounded. A hit saves one small encode; the hot blocked domains of a busy resolver fit easily.
 */
const SOA_CACHE_SIZE = 4096;

/**
 * Builds the answer for a blocked name:
 *  - nxdomain: NXDOMAIN with a SOA owned by the blocking rule's domain, so clients cache the
 *    negative answer for the block TTL (RFC 2308);
 *  - null: 0.0.0.0 / :: for A / AAAA, NOERROR without data (and the SOA) for other types;
 *  - refused: REFUSED.
 * Every variant carries EDE 15 "Blocked" naming the list when the client sent EDNS (RFC 8914).
 */
export class BlockAnswers {
  private readonly nullA: EncodedRecord;
  private readonly nullAAAA: EncodedRecord;
  /** Per blocking domain, built on first use (the SOA depends only on it and the fixed TTL). */
  private readonly soaByDomain = new LRUCache<string, EncodedRecord>({ max: SOA_CACHE_SIZE });
  /**
   * The OPT record with EDE 15 per list, for DO=0 and DO=1, so a blocked answer costs no encode.
   * Lists come from configuration, so this stays small; a list whose category changed is re-encoded.
   */
  private readonly edeOpts = new Map<string, { category: string; opts: readonly [Buffer, Buffer] }>();

  constructor(
    private readonly mode: BlockMode,
    private readonly ttl: number,
    private readonly synthesizer: Synthesizer,
  ) {
    this.nullA = encodeRecord(QUESTION_NAME_POINTER, QType.A, ttl, ipv4Rdata('0.0.0.0'));
    this.nullAAAA = encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, ttl, ipv6Rdata('::'));
  }

  answer(packet: Buffer, query: ParsedQuery, rule: Rule): Buffer {
    const opt = query.edns ? this.edeOptsFor(rule)[query.edns.dnssecOk ? 1 : 0] : undefined;
    const questionEnd = query.questionEnd;
    if (this.mode === 'refused') return writeResponse(packet, questionEnd, { rcode: Rcode.REFUSED, opt });
    if (this.mode === 'null' && query.type === QType.A) {
      return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [this.nullA], opt });
    }
    if (this.mode === 'null' && query.type === QType.AAAA) {
      return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [this.nullAAAA], opt });
    }
    const rcode = this.mode === 'null' ? Rcode.NOERROR : Rcode.NXDOMAIN;
    return writeResponse(packet, questionEnd, { rcode, authoritative: true, authorities: [this.soaFor(rule)], opt });
  }

  private soaFor(rule: Rule): EncodedRecord {
    let soa = this.soaByDomain.get(rule.domain);
    if (soa === undefined) {
      soa = negativeSoa(rule.domain, this.ttl, BLOCK_SOA_MNAME, BLOCK_SOA_RNAME);
      this.soaByDomain.set(rule.domain, soa);
    }
    return soa;
  }

  private edeOptsFor(rule: Rule): readonly [Buffer, Buffer] {
    const cached = this.edeOpts.get(rule.list);
    if (cached !== undefined && cached.category === rule.category) return cached.opts;
    const ede = { infoCode: EDE_BLOCKED, text: `blocked by fraudwall list ${rule.list} (${rule.category})` };
    const opts = [this.synthesizer.optFor(false, ede), this.synthesizer.optFor(true, ede)] as const;
    if (this.edeOpts.size >= 10_000) this.edeOpts.clear(); // bounded even if lists churn
    this.edeOpts.set(rule.list, { category: rule.category, opts });
    return opts;
  }
}
