import type { Answer, QueryContext, Resolver, Transport } from '../resolver/resolver.js';
import { EDE_PROHIBITED } from './response-writer.js';
import type { Synthesizer } from './synthesizer.js';
import { MIN_UDP_PAYLOAD, parseQuery, QClass, QType, Rcode, type MalformedReason } from './wire.js';

/** Told about packets that never reached the chain; the metrics layer implements it. */
export interface QueryHandlerObserver {
  malformed(reason: MalformedReason): void;
  /** The chain threw or rejected: a bug, answered with SERVFAIL so the client is not left hanging. */
  internalError(error: unknown): void;
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
  ) {}

  handle(packet: Buffer, transport: Transport, clientAddress: string): Buffer | Promise<Buffer> | undefined {
    const parsed = parseQuery(packet);
    if (!parsed.ok) {
      this.observer.malformed(parsed.reason);
      if (parsed.rcode === undefined) return undefined;
      return this.synthesizer.error(packet, parsed.questionEnd, parsed.edns, parsed.rcode);
    }
    const query = parsed.query;
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
      receivedAt,
      deadline: receivedAt + this.options.queryTimeoutMs,
    };
    let result: Answer | Promise<Answer>;
    try {
      result = this.chain.resolve(ctx);
    } catch (error) {
      return this.failed(ctx, error);
    }
    if (result instanceof Promise) {
      return result.then(
        (answer) => this.fit(ctx, answer),
        (error: unknown) => this.failed(ctx, error),
      );
    }
    return this.fit(ctx, result);
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
