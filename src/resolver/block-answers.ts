import type { BlockMode } from '../config/options.js';
import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import { LRUCache } from 'lru-cache';
import { EDE_BLOCKED, encodeRecord, QUESTION_NAME_POINTER, writeResponse, type EncodedRecord } from '../dns/response-writer.js';
import { blockSoaRdata, negativeSoa, type Synthesizer } from '../dns/synthesizer.js';
import { HEADER_SIZE, QType, Rcode, type ParsedQuery } from '../dns/wire.js';
import type { Rule } from '../query/rule.js';


export const BLOCK_SOA_MNAME = 'fraudwall.invalid';
export const BLOCK_SOA_RNAME = 'blocked.fraudwall.invalid';

/**
 * Encoded SOAs kept, by the blocking rule's domain, for the rare question names the pointer form
 * cannot serve (see soaFor). Bounded; a hit saves one small encode.
 */
const SOA_CACHE_SIZE = 1024;
/** A compression pointer holds 14 bits of offset; a question name ends well before 512. */
const MAX_POINTER_OFFSET = 512;

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
  /** SOA records owned by a pointer to offset i of the message, built on first use. */
  private readonly soaAtOffset: (EncodedRecord | undefined)[] = [];
  private readonly soaRdata: Buffer;
  /** Fallback: per blocking domain, the SOA with its owner name written out. */
  private readonly soaByDomain = new LRUCache<string, EncodedRecord>({ max: SOA_CACHE_SIZE });
  /**
   * The OPT record with EDE 15 per list, for DO=0 and DO=1, so a blocked answer costs no encode.
   * Lists come from configuration, so this stays small; a list whose category changed is re-encoded.
   */
  private readonly edeOpts = new Map<string, { category: string; opts: readonly [Buffer, Buffer] }>();
  /** The OPT records of lookalike blocks, by EDE text (one per protected domain and test; bounded). */
  private readonly edeOptsByText = new LRUCache<string, readonly [Buffer, Buffer]>({ max: SOA_CACHE_SIZE });

  constructor(
    private readonly mode: BlockMode,
    private readonly ttl: number,
    private readonly synthesizer: Synthesizer,
  ) {
    this.nullA = encodeRecord(QUESTION_NAME_POINTER, QType.A, ttl, ipv4Bytes('0.0.0.0'));
    this.nullAAAA = encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, ttl, ipv6Bytes('::'));
    this.soaRdata = blockSoaRdata(ttl, BLOCK_SOA_MNAME, BLOCK_SOA_RNAME);
  }

  /** `edeText` replaces the list's EDE text (a lookalike block names the domain it imitates). */
  answer(packet: Buffer, query: ParsedQuery, rule: Rule, edeText?: string): Buffer {
    const opts = query.edns ? (edeText === undefined ? this.edeOptsFor(rule) : this.edeOptsWithText(edeText)) : undefined;
    const opt = opts?.[query.edns!.dnssecOk ? 1 : 0];
    const questionEnd = query.questionEnd;
    if (this.mode === 'refused') return writeResponse(packet, questionEnd, { rcode: Rcode.REFUSED, opt });
    if (this.mode === 'null' && query.type === QType.A) {
      return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [this.nullA], opt });
    }
    if (this.mode === 'null' && query.type === QType.AAAA) {
      return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [this.nullAAAA], opt });
    }
    const rcode = this.mode === 'null' ? Rcode.NOERROR : Rcode.NXDOMAIN;
    return writeResponse(packet, questionEnd, { rcode, authoritative: true, authorities: [this.soaFor(query, rule)], opt });
  }

  /**
   * The SOA owned by the blocking rule's domain. That domain is a suffix of the question name (it
   * matched as one), so the owner is written as a compression pointer to where that suffix starts
   * inside the question (RFC 1035 §4.1.4): one prebuilt record per offset, nothing encoded per query.
   */
  private soaFor(query: ParsedQuery, rule: Rule): EncodedRecord {
    const nameEnd = query.questionEnd - 4;
    const offset = nameEnd - (rule.domain.length + 2);
    const name = query.name;
    const plainName = name.length + 2 === nameEnd - HEADER_SIZE; // no escaped bytes: text and wire line up
    const suffix = name.length === rule.domain.length || name.charCodeAt(name.length - rule.domain.length - 1) === 46; /* . */
    if (plainName && suffix && offset >= HEADER_SIZE && offset < MAX_POINTER_OFFSET && name.endsWith(rule.domain)) {
      let soa = this.soaAtOffset[offset];
      if (soa === undefined) {
        soa = encodeRecord(Buffer.from([0xc0 | (offset >> 8), offset & 0xff]), QType.SOA, this.ttl, this.soaRdata);
        this.soaAtOffset[offset] = soa;
      }
      return soa;
    }
    let soa = this.soaByDomain.get(rule.domain);
    if (soa === undefined) {
      soa = negativeSoa(rule.domain, this.ttl, BLOCK_SOA_MNAME, BLOCK_SOA_RNAME);
      this.soaByDomain.set(rule.domain, soa);
    }
    return soa;
  }

  private edeOptsWithText(text: string): readonly [Buffer, Buffer] {
    let opts = this.edeOptsByText.get(text);
    if (opts === undefined) {
      const ede = { infoCode: EDE_BLOCKED, text };
      opts = [this.synthesizer.optFor(false, ede), this.synthesizer.optFor(true, ede)] as const;
      this.edeOptsByText.set(text, opts);
    }
    return opts;
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
