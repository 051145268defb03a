import { Rcode, type ParsedQuery } from '../dns/wire.js';
import type { Transport } from '../query/resolver.js';
import { UpstreamError, type UpstreamFailure } from './upstream-error.js';
import { UpstreamHealth, type UpstreamHealthObserver, type UpstreamHealthOptions } from './upstream-health.js';
import type { Config } from '../config/options.js';

/** One way of reaching an upstream: UDP, TCP, TLS or HTTPS. */
export interface UpstreamTransport {
  /** `message` is a private copy: its ID may be overwritten. Rejects with an UpstreamError only. */
  query(message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer>;
  close(): void;
  /** Answers that did not match a query in flight, and answers that came too late. */
  readonly stats: { readonly mismatched: number; readonly late: number };
}

/**
 * One configured upstream: what UDP clients' queries go to, and what the others' (TCP, DoT, DoH,
 * and UDP clients retrying after TC=1) go to. A plain upstream has both on the same address; an
 * encrypted one (tls://, https://) uses its one connection for both.
 */
export interface UpstreamServer {
  readonly label: string;
  readonly udp: UpstreamTransport;
  readonly tcp: UpstreamTransport;
}

/**
 * The forwarder's section of the settings: upstream-timeout-ms (always capped by the query
 * deadline), edns-udp-size (forwarded queries never advertise more) and upstream-strategy
 * (failover when absent); health is the circuit breaker's tuning, not a setting.
 */
export type ForwarderOptions = Pick<Config, 'upstreamTimeoutMs' | 'ednsUdpSize'> &
  Partial<Pick<Config, 'upstreamStrategy'>> & { readonly health?: UpstreamHealthOptions };

/** Weight of the newest sample in the smoothed latency (exponentially weighted moving average). */
const LATENCY_SMOOTHING = 0.2;

const DEFAULT_HEALTH: UpstreamHealthOptions = { failureThreshold: 3, baseBackoffMs: 2000, maxBackoffMs: 60_000 };

/** Told about each upstream attempt (the metrics layer) and, optionally, about circuits opening and closing (the log). */
export interface ForwarderObserver {
  attempt(upstream: string, seconds: number, failure: UpstreamFailure | undefined, error?: UpstreamError): void;
  readonly health?: UpstreamHealthObserver;
}

export interface ForwardRequest {
  readonly packet: Buffer;
  readonly query: ParsedQuery;
  readonly transport: Transport;
  readonly deadline: number;
}

/**
 * Forwards the client's own bytes (only the ID, and the EDNS size for UDP, are patched) to the
 * upstreams in failover order and returns the first usable answer with the client's ID restored.
 * SERVFAIL and REFUSED answers make it try the next upstream, but are returned if nothing better
 * comes. Starts from the upstream that answered last, and skips upstreams whose circuit breaker
 * is open (see UpstreamHealth), so a dead upstream costs a few timeouts, not one per query.
 */
export class Forwarder {
  private preferred = 0;
  readonly health: UpstreamHealth;
  /** Smoothed latency per upstream in ms; 0 until the first answer. */
  private readonly latency: Float64Array;

  constructor(
    readonly servers: readonly UpstreamServer[],
    private readonly options: ForwarderOptions,
    private readonly observer?: ForwarderObserver,
  ) {
    if (servers.length === 0) throw new Error('at least one upstream is required');
    this.health = new UpstreamHealth(servers.length, options.health ?? DEFAULT_HEALTH, observer?.health);
    this.latency = new Float64Array(servers.length);
  }

  private order(): readonly number[] {
    const order = this.health.order(this.preferred, performance.now());
    // The health order may be shared (read-only): sort a copy.
    if (this.options.upstreamStrategy === 'fastest') return [...order].sort((a, b) => this.latency[a]! - this.latency[b]!);
    return order;
  }

  private recordLatency(index: number, ms: number): void {
    const previous = this.latency[index]!;
    this.latency[index] = previous === 0 ? ms : previous + LATENCY_SMOOTHING * (ms - previous);
  }

  /**
   * Not `async`: the first attempt, the usual whole story, is a `then` on the upstream's promise, so
   * a query waiting for its upstream holds two small closures instead of a suspended async frame
   * (measured in bench/upstream-cost.mjs); further attempts continue in forwardFrom().
   */
  forward(request: ForwardRequest): Promise<Buffer> {
    try {
      const { packet, query, transport, deadline } = request;
      const message = Buffer.from(packet);
      if (transport === 'udp' && query.edns !== undefined) {
        message.writeUInt16BE(Math.min(query.edns.udpSize, this.options.ednsUdpSize), query.edns.offset + 3);
      }
      const order = this.order();
      if (order.length === 0) {
        throw new UpstreamError('network', 'all upstreams', 'every upstream forwards queries back to fraudwall (forwarding loop); fix --upstream');
      }
      const remaining = deadline - performance.now();
      if (remaining < 1) return this.forwardFrom(request, message, order, 0, undefined, undefined);
      const index = order[0]!;
      const server = this.servers[index]!;
      const timeout = Math.min(this.options.upstreamTimeoutMs, remaining);
      const started = performance.now();
      return this.send(server, transport, message, query.questionEnd, timeout).then(
        (answer) => this.accept(index, server, answer, started, request) ?? this.forwardFrom(request, message, order, 1, answer, undefined),
        (error: unknown) => this.forwardFrom(request, message, order, 1, undefined, this.failed(index, server, error, started, timeout)),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Attempts from order[from] on, after the first (or instead of it when no time is left). */
  private async forwardFrom(
    request: ForwardRequest,
    message: Buffer,
    order: readonly number[],
    from: number,
    fallbackAnswer: Buffer | undefined,
    lastError: UpstreamError | undefined,
  ): Promise<Buffer> {
    const { packet, query, transport, deadline } = request;
    for (let i = from; i < order.length; i++) {
      const index = order[i]!;
      const remaining = deadline - performance.now();
      if (remaining < 1) break;
      const server = this.servers[index]!;
      const timeout = Math.min(this.options.upstreamTimeoutMs, remaining);
      const started = performance.now();
      try {
        const answer = await this.send(server, transport, message, query.questionEnd, timeout);
        const accepted = this.accept(index, server, answer, started, request);
        if (accepted !== undefined) return accepted;
        fallbackAnswer = answer;
      } catch (error) {
        lastError = this.failed(index, server, error, started, timeout);
      }
    }
    if (fallbackAnswer !== undefined) return this.restoreClientHeader(fallbackAnswer, packet, query);
    throw lastError ?? new UpstreamError('timeout', 'all upstreams', 'query deadline passed before any upstream answered');
  }

  private send(server: UpstreamServer, transport: Transport, message: Buffer, questionEnd: number, timeout: number): Promise<Buffer> {
    return transport === 'udp' ? server.udp.query(message, questionEnd, timeout) : server.tcp.query(message, questionEnd, timeout);
  }

  /**
   * Books an answer. Returns it with the client's header when usable; undefined for SERVFAIL and
   * REFUSED (alive, just unhappy with this name): the caller tries the next upstream and keeps this
   * answer as the fallback.
   */
  private accept(index: number, server: UpstreamServer, answer: Buffer, started: number, request: ForwardRequest): Buffer | undefined {
    const rcode = answer[3]! & 0xf;
    if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) {
      const failure = rcode === Rcode.SERVFAIL ? 'servfail' : 'refused';
      this.observer?.attempt(server.label, (performance.now() - started) / 1000, failure);
      this.health.success(index);
      return undefined;
    }
    const elapsed = performance.now() - started;
    this.observer?.attempt(server.label, elapsed / 1000, undefined);
    this.recordLatency(index, elapsed);
    this.health.success(index);
    this.preferred = index;
    return this.restoreClientHeader(answer, request.packet, request.query);
  }

  /** Books a failed attempt and returns its error; anything but an UpstreamError is a bug and is rethrown. */
  private failed(index: number, server: UpstreamServer, error: unknown, started: number, timeout: number): UpstreamError {
    if (!(error instanceof UpstreamError)) throw error;
    this.observer?.attempt(server.label, (performance.now() - started) / 1000, error.reason, error);
    if (error.reason !== 'mismatch') this.health.failure(index, performance.now(), error.reason);
    // A failure counts as a slow answer, so "fastest" moves away from a flaky upstream.
    this.recordLatency(index, Math.max(timeout, performance.now() - started));
    return error;
  }

  /**
   * The client's ID, and its question bytes: the upstream may echo the name in another case, and
   * a client using 0x20 randomisation checks the case it sent.
   */
  private restoreClientHeader(answer: Buffer, packet: Buffer, query: ParsedQuery): Buffer {
    answer.writeUInt16BE(query.id, 0);
    packet.copy(answer, 12, 12, query.questionEnd);
    return answer;
  }

  close(): void {
    for (const server of this.servers) {
      server.udp.close();
      if (server.tcp !== server.udp) server.tcp.close();
    }
  }
}
