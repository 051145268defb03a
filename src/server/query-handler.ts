import type { Answer, QueryContext, Resolver, Transport } from '../query/resolver.js';
import type { ClientGate, GateDecision } from '../admission/client-gate.js';
import type { ClientGroups } from '../policy/client-groups.js';
import { EDE_PROHIBITED, writeResponse } from '../dns/response-writer.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { MIN_UDP_PAYLOAD, parseQuery, QClass, QType, Rcode, type MalformedReason } from '../dns/wire.js';

/** Told about packets that never reached the chain; the metrics layer implements it. */
export interface QueryHandlerObserver {
  malformed(reason: MalformedReason): void;
  /** The chain threw or rejected: a bug, answered with SERVFAIL so the client is not left hanging. */
  internalError(error: unknown): void;
  /** The client gate refused, dropped or rate-limited a packet. */
  gated?(decision: Exclude<GateDecision, 'pass'>): void;
}

export interface QueryHandlerOptions {
  /** Every query is answered (at worst SERVFAIL) within this many milliseconds. */
  readonly queryTimeoutMs: number;
}

const NOOP_OBSERVER: QueryHandlerObserver = { malformed() {}, internalError() {} };

/**
 * What both transports do with one message: parse, refuse what must not reach the policy or an
 * upstream, run the chain, and fit the answer to a UDP client's size. Never throws.
 * Returns the reply bytes, a promise of them, or undefined when the packet is dropped silently.
 */
export class QueryHandler {
  constructor(
    private readonly chain: Resolver,
    private readonly synthesizer: Synthesizer,
    private readonly options: QueryHandlerOptions,
    private readonly observer: QueryHandlerObserver = NOOP_OBSERVER,
    private readonly gate?: ClientGate,
    /** Per-client policy groups, when configured: the group is chosen here, once per query. */
    private readonly groups?: ClientGroups,
  ) {}

  /** In-flight queries (waiting for an upstream); graceful shutdown waits for this to reach 0. */
  inFlight = 0;
  /** While draining, new packets are dropped so that shutdown can finish what is in flight. */
  draining = false;

  handle(
    packet: Buffer,
    transport: Transport,
    clientAddress: string,
    clientPort = 0,
    family: 'IPv4' | 'IPv6' = 'IPv4',
    clientName?: string,
  ): Buffer | Promise<Buffer> | undefined {
    if (this.draining) return undefined;
    const decision = this.gate ? this.gate.check(clientAddress, clientPort, family, transport) : 'pass';
    if (decision === 'drop') {
      this.observer.gated?.(decision);
      return undefined;
    }
    const parsed = parseQuery(packet);
    if (!parsed.ok) {
      this.observer.malformed(parsed.reason);
      if (parsed.rcode === undefined || decision !== 'pass') return undefined;
      return this.synthesizer.error(packet, parsed.questionEnd, parsed.edns, parsed.rcode);
    }
    const query = parsed.query;
    if (decision === 'refuse') {
      this.observer.gated?.(decision);
      return this.synthesizer.error(packet, query.questionEnd, query.edns, Rcode.REFUSED, {
        infoCode: EDE_PROHIBITED,
        text: 'fraudwall does not serve this client (see --allow-clients)',
      });
    }
    if (decision === 'truncate') {
      // Like RRL's slip: a real client retries over TCP, a spoofed victim gets a tiny packet.
      this.observer.gated?.(decision);
      return writeResponse(packet, query.questionEnd, { rcode: Rcode.NOERROR, truncated: true, opt: this.synthesizer.opt(query.edns) });
    }
    if (query.edns !== undefined && query.edns.version > 0) {
      return this.synthesizer.badVersion(packet, query.questionEnd, query.edns);
    }
    if (query.qclass !== QClass.IN && query.qclass !== QClass.ANY) {
      return this.synthesizer.error(packet, query.questionEnd, query.edns, Rcode.REFUSED, {
        infoCode: EDE_PROHIBITED,
        text: 'fraudwall serves class IN only',
      });
    }
    if (query.type === QType.AXFR || query.type === QType.IXFR) {
      return this.synthesizer.error(packet, query.questionEnd, query.edns, Rcode.REFUSED, {
        infoCode: EDE_PROHIBITED,
        text: 'zone transfers are not served by a forwarder',
      });
    }
    if (query.type === QType.MAILA || query.type === QType.MAILB) {
      return this.synthesizer.error(packet, query.questionEnd, query.edns, Rcode.NOTIMP);
    }

    const receivedAt = performance.now();
    const ctx: QueryContext = {
      packet,
      query,
      transport,
      clientAddress,
      clientName,
      group: this.groups === undefined ? 0 : this.groups.select(clientAddress, clientName),
      receivedAt,
      deadline: receivedAt + this.options.queryTimeoutMs,
    };
    let result: Answer | Promise<Answer>;
    try {
      result = this.chain.resolve(ctx);
    } catch (error) {
      return this.failed(ctx, error);
    }
    if (result instanceof Promise) return this.whenAnswered(ctx, result);
    return this.fit(ctx, result);
  }

  /**
   * The continuation of a query waiting for an upstream, in its own method: closures in handle()
   * would make V8 allocate a context for `ctx` on every query, synchronous answers included.
   */
  private whenAnswered(ctx: QueryContext, result: Promise<Answer>): Promise<Buffer> {
    this.inFlight++;
    return result.then(
      (answer) => {
        this.inFlight--;
        return this.fit(ctx, answer);
      },
      (error: unknown) => {
        this.inFlight--;
        return this.failed(ctx, error);
      },
    );
  }

  /** A UDP answer larger than the client can take becomes header + question + OPT with TC=1. */
  private fit(ctx: QueryContext, answer: Answer): Buffer {
    if (ctx.transport !== 'udp') return answer.bytes;
    const limit = ctx.query.edns === undefined ? MIN_UDP_PAYLOAD : ctx.query.edns.udpSize;
    if (answer.bytes.length <= limit) return answer.bytes;
    return this.synthesizer.truncated(answer.bytes, ctx.query.questionEnd, ctx.query.edns);
  }

  private failed(ctx: QueryContext, error: unknown): Buffer {
    this.observer.internalError(error);
    return this.synthesizer.error(ctx.packet, ctx.query.questionEnd, ctx.query.edns, Rcode.SERVFAIL);
  }
}
