import type { ParsedQuery } from '../dns/wire.js';
import type { Verdict } from './rule.js';

/** How the client reached us: plain UDP or TCP, DNS over TLS (RFC 7858) or over HTTPS (RFC 8484). */
export type Transport = 'udp' | 'tcp' | 'dot' | 'doh';

/** Where an answer came from; a metric label value, so the set is closed. */
export type AnswerSource = 'blocked' | 'local' | 'cache' | 'upstream' | 'error' | 'refused';

/** One client query on its way through the chain. Built once by the transport, never mutated. */
export interface QueryContext {
  /** The client's bytes, exactly as received. */
  readonly packet: Buffer;
  readonly query: ParsedQuery;
  readonly transport: Transport;
  readonly clientAddress: string;
  /** The name a DoT client gave in its SNI or a DoH client in its URL path, if any (not verified: for logs and groups). */
  readonly clientName?: string | undefined;
  /** The client's policy group (policy/client-groups.ts), chosen once by the query handler; 0 = `default`. */
  readonly group?: number;
  /** performance.now() at receipt, and the time by which an answer must be on its way. */
  readonly receivedAt: number;
  readonly deadline: number;
}

export interface Answer {
  /** Wire bytes carrying the client's ID, ready to send (the transport still enforces UDP size). */
  readonly bytes: Buffer;
  readonly source: AnswerSource;
  /** The policy verdict that decided the answer, when one was taken. */
  readonly verdict?: Verdict | undefined;
  /**
   * For a block that answer inspection made of an upstream answer: that upstream answer, so the
   * response cache keeps it (judged again on every hit) and the next query for the cloaked name
   * does not go upstream again.
   */
  readonly inspected?: Buffer | undefined;
}

/**
 * One element of the resolver chain; resolver/build-chain.ts is the one place that puts them in
 * order. Synchronous answers (blocks, local zones, cache hits) are returned directly so they cost
 * no promise; only elements that wait for the network return one.
 */
export interface Resolver {
  resolve(ctx: QueryContext): Answer | Promise<Answer>;
}
