import type { Config } from '../config/options.js';
import { DEFAULT_HOTLINE_SUFFIX, edeTextTemplate, renderEdeText } from '../config/ede-text.js';
import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import { LRUCache } from 'lru-cache';
import { EDE_BLOCKED, encodeRecord, QUESTION_NAME_POINTER, writeResponse, type EncodedRecord } from '../dns/response-writer.js';
import { blockSoaRdata, negativeSoa, type Synthesizer } from '../dns/synthesizer.js';
import { HEADER_SIZE, hasEdnsOption, MIN_UDP_PAYLOAD, QType, Rcode, type ParsedQuery } from '../dns/wire.js';
import type { QueryContext } from '../query/resolver.js';
import type { Rule, VerdictReason } from '../query/rule.js';
import { structuredErrorTexts, subErrorFor } from './structured-dns-error.js';

export const BLOCK_SOA_MNAME = 'fraudwall.invalid';
export const BLOCK_SOA_RNAME = 'blocked.fraudwall.invalid';

/**
 * Why a name was blocked (the shared VerdictReason of src/query/rule.ts: its own name, a CNAME
 * target or an answer address, …). Shown through the {reason} placeholder of the EDE text.
 */
export type BlockReason = VerdictReason;

export type BlockAnswerSettings = Pick<
  Config,
  'blockMode' | 'blockTtl' | 'sinkholeIpv4' | 'sinkholeIpv6' | 'edeText' | 'hotline' | 'operator' | 'sdeOptionCode'
>;

/**
 * Encoded SOAs kept, by the blocking rule's domain, for the rare question names the pointer form
 * cannot serve (see soaFor). Bounded; a hit saves one small encode.
 */
const SOA_CACHE_SIZE = 1024;
/** A compression pointer holds 14 bits of offset; a question name ends well before 512. */
const MAX_POINTER_OFFSET = 512;
/** Most bytes a DNS message may have (TCP's 2-byte length). */
const MAX_MESSAGE_SIZE = 65535;
/** Lists and categories come from configuration; bounded all the same in case they churn. */
const MAX_TEXT_ENTRIES = 10_000;

/** The OPT records of one (list, category, reason): [DO=0, DO=1] each, encoded once. */
interface BlockOpts {
  readonly ede: readonly [Buffer, Buffer];
  /** Structured DNS Error variants, largest first (see structuredErrorTexts); empty when SDE is off. */
  readonly sde: readonly (readonly [Buffer, Buffer])[];
}

/**
 * Builds the answer for a blocked name:
 *  - nxdomain: NXDOMAIN with a SOA owned by the blocking rule's domain, so clients cache the
 *    negative answer for the block TTL (RFC 2308);
 *  - null: 0.0.0.0 / :: for A / AAAA, NOERROR without data (and the SOA) for other types;
 *  - sinkhole: the configured sinkhole address for A / AAAA (where the warning page is served);
 *    NOERROR without data (and the SOA) for other types and for a family with no address;
 *  - refused: REFUSED.
 * Every variant carries EDE 15 "Blocked" when the client sent EDNS (RFC 8914): the `--ede-text`
 * text, or, when the query carries the SDE option, the Structured DNS Error JSON. A lookalike block
 * (#13) says what the name imitates: its rule's text, `lookalike of paypal.com (edit distance 1)`,
 * is the whole built-in text and the {reason} of a custom one.
 */
export class BlockAnswers {
  private readonly addressA: EncodedRecord | undefined;
  private readonly addressAAAA: EncodedRecord | undefined;
  /** SOA records owned by a pointer to offset i of the message, built on first use. */
  private readonly soaAtOffset: (EncodedRecord | undefined)[] = [];
  private readonly soaRdata: Buffer;
  /** Fallback: per blocking domain, the SOA with its owner name written out. */
  private readonly soaByDomain = new LRUCache<string, EncodedRecord>({ max: SOA_CACHE_SIZE });
  /** Per list: its category (a list whose category changed is re-encoded) and the opts by reason. */
  private readonly opts = new Map<string, { category: string; byReason: Map<string, BlockOpts> }>();
  private readonly edeTemplate: string;
  private readonly mode: BlockAnswerSettings['blockMode'];
  private readonly ttl: number;

  constructor(
    private readonly settings: BlockAnswerSettings,
    private readonly synthesizer: Synthesizer,
  ) {
    this.mode = settings.blockMode;
    this.ttl = settings.blockTtl;
    const [ipv4, ipv6] = this.mode === 'sinkhole' ? [settings.sinkholeIpv4, settings.sinkholeIpv6] : ['0.0.0.0', '::'];
    this.addressA = ipv4 === '' ? undefined : encodeRecord(QUESTION_NAME_POINTER, QType.A, this.ttl, ipv4Bytes(ipv4));
    this.addressAAAA = ipv6 === '' ? undefined : encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, this.ttl, ipv6Bytes(ipv6));
    this.soaRdata = blockSoaRdata(this.ttl, BLOCK_SOA_MNAME, BLOCK_SOA_RNAME);
    this.edeTemplate = edeTextTemplate(settings);
  }

  answer(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, rule: Rule, reason: BlockReason = 'name'): Buffer {
    const { packet, query } = ctx;
    const questionEnd = query.questionEnd;
    if (this.mode === 'refused') return writeResponse(packet, questionEnd, { rcode: Rcode.REFUSED, opt: this.optFor(ctx, rule, reason, 0) });
    if (this.mode === 'null' || this.mode === 'sinkhole') {
      const address = query.type === QType.A ? this.addressA : query.type === QType.AAAA ? this.addressAAAA : undefined;
      if (address !== undefined) {
        const opt = this.optFor(ctx, rule, reason, address.bytes.length);
        return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [address], opt });
      }
    }
    const rcode = this.mode === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR;
    const soa = this.soaFor(query, rule);
    return writeResponse(packet, questionEnd, { rcode, authoritative: true, authorities: [soa], opt: this.optFor(ctx, rule, reason, soa.bytes.length) });
  }

  /**
   * The block answer for a name whose upstream answer matched a rule elsewhere (answer inspection):
   * same mode and TTL, but a SOA is owned by the question name itself (the matched target is
   * another name, never a parent of the question), and the EDE text says how it matched, e.g.
   * `blocked by fraudwall list fraud (phishing) via CNAME www.0xproject.io`. The text is encoded
   * per call: this runs only for answers blocked this way.
   */
  answerVia(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, rule: Rule, reason: BlockReason, via: string): Buffer {
    const { packet, query } = ctx;
    const questionEnd = query.questionEnd;
    const opt = (recordBytes: number): Buffer | undefined => this.optVia(ctx, rule, reason, via, recordBytes);
    if (this.mode === 'refused') return writeResponse(packet, questionEnd, { rcode: Rcode.REFUSED, opt: opt(0) });
    if (this.mode === 'null' || this.mode === 'sinkhole') {
      const address = query.type === QType.A ? this.addressA : query.type === QType.AAAA ? this.addressAAAA : undefined;
      if (address !== undefined) {
        return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [address], opt: opt(address.bytes.length) });
      }
    }
    const rcode = this.mode === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR;
    const soa = this.soaAt(HEADER_SIZE);
    return writeResponse(packet, questionEnd, { rcode, authoritative: true, authorities: [soa], opt: opt(soa.bytes.length) });
  }

  /**
   * The answer an RPZ rule asks for (see policy/parse-rpz.ts): NXDOMAIN or NODATA with a SOA owned
   * by the question name, TC=1 over UDP for tcp-only, local data as written (records of the
   * question's type, or a CNAME; NODATA when there are none), the configured block answer for drop.
   * Undefined when the query is to be resolved normally (tcp-only over TCP, DoT or DoH).
   */
  rpzAnswer(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, rule: Rule): Buffer | undefined {
    const action = rule.rpz;
    if (action === undefined || action === 'drop' || action === 'passthru') return this.answer(ctx, rule);
    const { packet, query } = ctx;
    const questionEnd = query.questionEnd;
    if (action === 'tcp-only') {
      // Only UDP can be told to retry over TCP; TCP, DoT and DoH are already on a stream.
      return ctx.transport !== 'udp' ? undefined : writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, truncated: true, opt: this.optFor(ctx, rule, 'name', 0) });
    }
    if (action === 'local') {
      const answers = localAnswers(rule.localData, query.type);
      if (answers.length > 0) {
        const bytes = answers.reduce((sum, a) => sum + a.bytes.length, 0);
        return writeResponse(packet, questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers, opt: this.optFor(ctx, rule, 'name', bytes) });
      }
    }
    const rcode = action === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR;
    const soa = this.soaAt(HEADER_SIZE);
    return writeResponse(packet, questionEnd, { rcode, authoritative: true, authorities: [soa], opt: this.optFor(ctx, rule, 'name', soa.bytes.length) });
  }

  /** The OPT of an answer blocked by inspection: the EDE text with " via …" (SDE, when asked for, as for any block). */
  private optVia(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, rule: Rule, reason: BlockReason, via: string, recordBytes: number): Buffer | undefined {
    const edns = ctx.query.edns;
    if (edns === undefined) return undefined;
    if (this.settings.sdeOptionCode !== 0 && hasEdnsOption(ctx.packet, edns, this.settings.sdeOptionCode)) return this.optFor(ctx, rule, reason, recordBytes);
    const text = `${renderEdeText(this.edeTemplate, { list: rule.list, category: rule.category, reason, hotline: this.settings.hotline })} via ${via}`;
    return this.synthesizer.optFor(edns.dnssecOk, { infoCode: EDE_BLOCKED, text });
  }

  /** A SOA owned by a pointer to offset `offset` of the message (built once per offset). */
  private soaAt(offset: number): EncodedRecord {
    let soa = this.soaAtOffset[offset];
    if (soa === undefined) {
      soa = encodeRecord(Buffer.from([0xc0 | (offset >> 8), offset & 0xff]), QType.SOA, this.ttl, this.soaRdata);
      this.soaAtOffset[offset] = soa;
    }
    return soa;
  }

  /**
   * The OPT record for this answer, or undefined without EDNS. With the SDE option in the query,
   * the largest Structured DNS Error variant that keeps a UDP answer within the client's size;
   * if none fits, the plain EDE text (which the transport would otherwise truncate).
   */
  private optFor(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, rule: Rule, reason: string, recordBytes: number): Buffer | undefined {
    const edns = ctx.query.edns;
    if (edns === undefined) return undefined;
    const opts = this.optsFor(rule, reason);
    const doBit = edns.dnssecOk ? 1 : 0;
    if (opts.sde.length > 0 && hasEdnsOption(ctx.packet, edns, this.settings.sdeOptionCode)) {
      const limit = ctx.transport === 'udp' ? Math.max(edns.udpSize, MIN_UDP_PAYLOAD) : MAX_MESSAGE_SIZE;
      const fixed = ctx.query.questionEnd + recordBytes;
      for (const variant of opts.sde) {
        if (fixed + variant[doBit].length <= limit) return variant[doBit];
      }
    }
    return opts.ede[doBit];
  }

  private optsFor(rule: Rule, reason: string): BlockOpts {
    let perList = this.opts.get(rule.list);
    if (perList === undefined || perList.category !== rule.category) {
      if (this.opts.size >= MAX_TEXT_ENTRIES) this.opts.clear();
      perList = { category: rule.category, byReason: new Map() };
      this.opts.set(rule.list, perList);
    }
    // Lookalike texts differ per protected domain and test: keyed by the text, bounded all the same.
    const key = reason === 'lookalike' ? `lookalike ${rule.text}` : reason;
    let opts = perList.byReason.get(key);
    if (opts === undefined) {
      if (perList.byReason.size >= MAX_TEXT_ENTRIES) perList.byReason.clear();
      opts = this.encodeOpts(rule, reason);
      perList.byReason.set(key, opts);
    }
    return opts;
  }

  private encodeOpts(rule: Rule, reason: string): BlockOpts {
    const both = (text: string, maxTextBytes?: number): readonly [Buffer, Buffer] => {
      const ede = { infoCode: EDE_BLOCKED, text, maxTextBytes };
      return [this.synthesizer.optFor(false, ede), this.synthesizer.optFor(true, ede)];
    };
    const lookalike = reason === 'lookalike';
    const template = lookalike && this.settings.edeText === '' ? rule.text.replace(/[{}]/g, '') + (this.settings.hotline === '' ? '' : DEFAULT_HOTLINE_SUFFIX) : this.edeTemplate;
    const shownReason = lookalike ? rule.text : reason;
    const text = renderEdeText(template, { list: rule.list, category: rule.category, reason: shownReason, hotline: this.settings.hotline });
    if (this.settings.sdeOptionCode === 0) return { ede: both(text), sde: [] };
    const variants = structuredErrorTexts({
      contact: this.settings.hotline,
      justification: `blocked by fraudwall list ${rule.list} (${rule.category}, ${shownReason})`,
      subError: subErrorFor(rule.category),
      organization: this.settings.operator,
      language: 'en',
    });
    return { ede: both(text), sde: variants.map((json) => both(json, MAX_MESSAGE_SIZE)) };
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
      return this.soaAt(offset);
    }
    let soa = this.soaByDomain.get(rule.domain);
    if (soa === undefined) {
      soa = negativeSoa(rule.domain, this.ttl, BLOCK_SOA_MNAME, BLOCK_SOA_RNAME);
      this.soaByDomain.set(rule.domain, soa);
    }
    return soa;
  }
}

const CNAME = 5;

/** RPZ local data records (see Rule.localData) that answer `qtype`: those of that type, else a CNAME. */
function localAnswers(data: Uint8Array | undefined, qtype: number): EncodedRecord[] {
  if (data === undefined) return [];
  const ofType: EncodedRecord[] = [];
  const cnames: EncodedRecord[] = [];
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at + 8 <= view.length; ) {
    const type = view.readUInt16BE(at);
    const ttl = view.readUInt32BE(at + 2);
    const length = view.readUInt16BE(at + 6);
    const rdata = view.subarray(at + 8, at + 8 + length);
    if (type === qtype || qtype === QType.ANY) ofType.push(encodeRecord(QUESTION_NAME_POINTER, type, ttl, rdata));
    else if (type === CNAME) cnames.push(encodeRecord(QUESTION_NAME_POINTER, type, ttl, rdata));
    at += 8 + length;
  }
  return ofType.length > 0 ? ofType : cnames;
}
