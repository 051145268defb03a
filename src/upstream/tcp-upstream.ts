import net from 'node:net';
import type tls from 'node:tls';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { FLAG_QR, HEADER_SIZE, sameQuestion } from '../dns/wire.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { MessageIdSource } from './message-id.js';
import { UpstreamError } from './upstream-error.js';

export interface TcpUpstreamOptions {
  /** Close a connection after this long with nothing in flight (default 10 s). */
  readonly idleTimeoutMs?: number;
  /** Persistent connections kept to the upstream at most (default 4). */
  readonly maxConnections?: number;
  /** Queries pipelined on one connection at once (default 64); beyond all of them, queries wait in a queue. */
  readonly maxInFlightPerConnection?: number;
  /**
   * DNS over TLS (RFC 7858): opens the TLS connection instead of a plain TCP one; the connection is
   * usable on 'secureConnect', and a failure after the TCP connect but before it is a TLS failure.
   */
  readonly connectTls?: () => tls.TLSSocket;
  /** How logs and metrics name the upstream (default: its address). */
  readonly label?: string;
}

/** Counters an operator can read, like UdpUpstreamStats. */
export interface TcpUpstreamStats {
  /** Answers for a query we wait for, but with no QR bit or a different question. */
  mismatched: number;
  /** Answers whose ID nobody on that connection waits for (late, after a timeout, or bogus). */
  late: number;
  /** Connections opened. */
  opened: number;
  /** Queries sent a second time because their connection died before answering them. */
  retried: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CONNECTIONS = 4;
const DEFAULT_MAX_IN_FLIGHT = 64;
/** Queries waiting for a free slot, as a multiple of all slots; beyond that they fail at once. */
const QUEUE_FACTOR = 16;
/** A retry needs at least this much of the deadline left to be worth a fresh handshake. */
const MIN_RETRY_MS = 1;

/** One query, from query() until it is answered, fails or times out. */
interface Pending {
  /** The ID on the wire of the current attempt. */
  id: number;
  /** 2-byte length prefix + our private copy of the message (the ID at offset 2 is rewritten per attempt). */
  readonly frame: Buffer;
  /** `frame` without the prefix: the question an answer must repeat. */
  readonly message: Buffer;
  readonly questionEnd: number;
  readonly timeoutMs: number;
  readonly deadline: number;
  readonly resolve: (answer: Buffer) => void;
  readonly reject: (error: UpstreamError) => void;
  /** Its place in the upstream's deadline queue (one timer for all queries), -1 once finished. */
  slot: number;
  /** The connection it was written on; undefined while queued. */
  conn: Connection | undefined;
  /** When the current attempt was written (performance.now()). */
  sentAt: number;
  /** 1, or 2 once retried. */
  attempts: number;
  done: boolean;
}

class Connection {
  /** In-flight queries by wire ID: at most maxInFlightPerConnection, so IDs never run out. */
  readonly pending = new Map<number, Pending>();
  readonly idleTimer: NodeJS.Timeout;
  connected = false;
  /** In the pool, taking new queries. False once retired (suspected dead) or dropped. */
  usable = true;
  dead = false;
  /** When the server last sent us anything (performance.now()). */
  lastDataAt = 0;
  /** Stream reassembly: unparsed bytes, their total, and the size of the frame they start (0: unknown yet). */
  readonly chunks: Buffer[] = [];
  buffered = 0;
  needed = 0;

  constructor(
    readonly socket: net.Socket,
    owner: TcpUpstream,
    idleTimeoutMs: number,
  ) {
    // Armed now, re-armed (refresh) each time the connection goes idle; it may fire while busy, and then does nothing.
    this.idleTimer = setTimeout(onIdleTimeout, idleTimeoutMs, owner, this);
    this.idleTimer.unref();
  }
}

/**
 * Sends queries to one upstream over TCP (RFC 7766 framing), for TCP clients (a UDP client that got
 * TC=1 retries over TCP itself and so lands here).
 *
 * Connections are reused and pipelined (RFC 7766 §6.2.1): a handshake per query costs a round trip
 * and a socket per query, and a busy resolver would otherwise churn thousands of sockets. A small
 * pool of connections carries up to `maxInFlightPerConnection` queries each; frames are written as
 * queries come (pipelining, §6.2.1.1), and answers, which may come in any order (§7), are matched
 * by message ID, unique among the queries in flight on one connection. The contract per query is
 * unchanged: a fresh random ID, an answer accepted only with QR=1, that ID and the same question,
 * and the per-query timeout always wins.
 *
 * Servers close idle connections whenever they like (§6.2.3; Unbound's tcp-idle-timeout, or a lower
 * edns-tcp-keepalive under load), and our write can cross their FIN. A query that was on a connection
 * when it died, without an answer, is therefore sent once more on a fresh connection within its
 * deadline: the failure says nothing about the upstream's health. Only once: a server that closes
 * every connection on a query is broken, and retrying forever would hide it.
 */
export class TcpUpstream {
  readonly label: string;
  readonly stats: TcpUpstreamStats = { mismatched: 0, late: 0, opened: 0, retried: 0 };
  private readonly idleTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  /** Usable connections, oldest first: new queries fill the oldest, so the newest go idle and close. */
  private readonly pool: Connection[] = [];
  /** Every open connection, including retired ones still draining; for close(). */
  private readonly connections = new Set<Connection>();
  /** Queries waiting for a slot when every connection is full and the pool is at its cap (FIFO). */
  private readonly queue = new Set<Pending>();
  private closed = false;
  /** Every query's deadline, retry included (the deadline never moves); queries by slot. */
  private readonly deadlines: DeadlineQueue;
  private readonly slotPending: (Pending | undefined)[] = [];

  private readonly connectTls: (() => tls.TLSSocket) | undefined;

  constructor(
    readonly address: Pick<HostPort, 'host' | 'port'> & { readonly family?: 4 | 6 },
    private readonly ids: MessageIdSource,
    options: TcpUpstreamOptions = {},
  ) {
    this.label = options.label ?? formatHostPort(address);
    this.connectTls = options.connectTls;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxConnections = Math.max(1, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    // Capped well below the 65,536 IDs so that picking a free one never takes long.
    this.maxInFlight = Math.min(4096, Math.max(1, options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT));
    this.maxQueued = QUEUE_FACTOR * this.maxConnections * this.maxInFlight;
    // A query is in flight on a connection or queued: never more than that many at once.
    this.deadlines = new DeadlineQueue(this.maxConnections * this.maxInFlight + this.maxQueued, (slot) => {
      const pending = this.slotPending[slot]!;
      this.slotPending[slot] = undefined;
      pending.slot = -1;
      this.timedOut(pending);
    });
  }

  /** `message` is a private copy: its ID is overwritten with a fresh random one. */
  query(message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError('network', this.label, 'client closed'));
    if (message.length > 0xffff) return Promise.reject(new UpstreamError('network', this.label, 'message too large for TCP'));
    const id = this.ids.take();
    message.writeUInt16BE(id, 0);
    const frame = Buffer.allocUnsafe(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    return new Promise<Buffer>((resolve, reject) => {
      const now = performance.now();
      const pending: Pending = {
        id,
        frame,
        message: frame.subarray(2),
        questionEnd,
        timeoutMs,
        deadline: now + timeoutMs,
        resolve,
        reject,
        slot: -1,
        conn: undefined,
        sentAt: now,
        attempts: 1,
        done: false,
      };
      // One deadline for the whole query, retry included: it never moves.
      pending.slot = this.deadlines.add(pending.deadline);
      if (pending.slot < 0) {
        pending.done = true;
        reject(new UpstreamError('network', this.label, `more than ${this.deadlines.capacity} TCP queries in flight or waiting`));
        return;
      }
      this.slotPending[pending.slot] = pending;
      const conn = this.pick();
      if (conn === undefined) this.enqueue(pending);
      else this.send(pending, conn);
    });
  }

  /** Destroys every connection and fails the queries in flight or queued with 'network'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new UpstreamError('network', this.label, 'client closed');
    for (const pending of this.queue) this.finish(pending, error);
    this.queue.clear();
    for (const conn of [...this.connections]) this.drop(conn, error);
  }

  /** A pooled connection with a free slot, else a new one if the pool has room, else undefined. */
  private pick(): Connection | undefined {
    for (const conn of this.pool) if (conn.pending.size < this.maxInFlight) return conn;
    return this.pool.length < this.maxConnections ? this.open() : undefined;
  }

  private enqueue(pending: Pending): void {
    if (this.queue.size >= this.maxQueued) {
      this.finish(pending, new UpstreamError('network', this.label, `more than ${this.maxQueued} TCP queries waiting for a connection`));
    } else {
      this.queue.add(pending);
    }
  }

  private drainQueue(): void {
    for (const pending of this.queue) {
      const conn = this.pick();
      if (conn === undefined) return;
      this.queue.delete(pending);
      this.send(pending, conn);
    }
  }

  private send(pending: Pending, conn: Connection): void {
    while (conn.pending.has(pending.id)) pending.id = this.ids.take();
    pending.frame.writeUInt16BE(pending.id, 2);
    conn.pending.set(pending.id, pending);
    pending.conn = conn;
    pending.sentAt = performance.now();
    // Before 'connect' the socket buffers the write. When write() returns false we still write:
    // the backlog is bounded by maxInFlight frames of at most 64 KiB per connection.
    conn.socket.write(pending.frame);
  }

  private open(): Connection {
    this.stats.opened++;
    // Nagle would hold each pipelined frame back until the previous one is acknowledged.
    const socket = this.connectTls ? this.connectTls() : net.connect({ host: this.address.host, port: this.address.port, noDelay: true });
    // Queries in flight keep the process alive through their timers; an idle pooled connection must not.
    socket.unref();
    const conn = new Connection(socket, this, this.idleTimeoutMs);
    this.pool.push(conn);
    this.connections.add(conn);
    let tcpConnected = false;
    socket.on('connect', () => {
      tcpConnected = true;
      if (this.connectTls === undefined) conn.connected = true;
    });
    if (this.connectTls !== undefined) {
      socket.on('secureConnect', () => {
        conn.connected = true;
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    // The server closed its side (idle timeout, keepalive, restart): nothing more will come.
    socket.on('end', () => this.drop(conn, undefined));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Before the handshake completed the upstream is unreachable: retrying would not help. After
      // it (ECONNRESET, EPIPE), it is the "server closed the connection" case: retry.
      if (conn.connected) this.drop(conn, undefined);
      else if (this.connectTls !== undefined && (tcpConnected || isTlsError(error))) {
        // The TCP connection stood, TLS did not: certificate not trusted, wrong name, no TLS there.
        this.drop(conn, new UpstreamError('tls', this.label, `TLS handshake failed: ${error.message}${error.code ? ` (${error.code})` : ''}`));
      } else {
        const reason = error.code === 'ECONNREFUSED' ? 'connection-refused' : 'network';
        this.drop(conn, new UpstreamError(reason, this.label, `${error.code ?? error.message} on ${this.connectTls ? 'TLS' : 'TCP'} connect`));
      }
    });
    socket.on('close', () =>
      this.drop(conn, conn.connected ? undefined : new UpstreamError('network', this.label, 'TCP connection closed before it was established')),
    );
    return conn;
  }

  /**
   * Splits the stream into frames. A frame split over chunks is kept as a list of chunks and
   * concatenated once, when it is complete, so a frame that trickles in byte by byte still costs
   * one copy, not one per chunk; frames wholly inside a chunk are not copied at all.
   */
  private onData(conn: Connection, chunk: Buffer): void {
    conn.lastDataAt = performance.now();
    let buffer: Buffer;
    if (conn.buffered === 0) {
      buffer = chunk;
    } else {
      conn.chunks.push(chunk);
      conn.buffered += chunk.length;
      if (conn.needed === 0) {
        if (conn.buffered < 2) return;
        // Only a 1-byte remainder leaves the length unknown: its second byte opens the next chunk.
        conn.needed = 2 + ((conn.chunks[0]![0]! << 8) | conn.chunks[1]![0]!);
      }
      if (conn.buffered < conn.needed) return;
      buffer = Buffer.concat(conn.chunks, conn.buffered);
      conn.chunks.length = 0;
      conn.buffered = 0;
      conn.needed = 0;
    }
    let offset = 0;
    while (buffer.length - offset >= 2) {
      const end = offset + 2 + buffer.readUInt16BE(offset);
      if (end > buffer.length) break;
      this.onAnswer(conn, buffer.subarray(offset + 2, end));
      if (conn.dead) return;
      offset = end;
    }
    if (offset < buffer.length) {
      const rest = offset === 0 ? buffer : buffer.subarray(offset);
      conn.chunks.push(rest);
      conn.buffered = rest.length;
      conn.needed = rest.length >= 2 ? 2 + rest.readUInt16BE(0) : 0;
    }
  }

  private onAnswer(conn: Connection, answer: Buffer): void {
    if (answer.length < HEADER_SIZE) {
      this.stats.late++;
      return;
    }
    const pending = conn.pending.get(answer.readUInt16BE(0));
    if (pending === undefined) {
      // Nobody waits for this ID (its query timed out, or the server is confused): ignore it, the
      // real answers may still come.
      this.stats.late++;
      return;
    }
    if ((answer.readUInt16BE(2) & FLAG_QR) === 0 || !sameQuestion(pending.message, pending.questionEnd, answer)) {
      this.stats.mismatched++;
      conn.pending.delete(pending.id);
      pending.conn = undefined;
      this.finish(pending, new UpstreamError('mismatch', this.label, 'TCP answer for a different question, or without QR'));
      // A stream that answers the wrong question may be out of step: close it; the other queries
      // on it are retried on a fresh connection.
      this.drop(conn, undefined);
      return;
    }
    this.settle(conn, pending, answer);
  }

  private settle(conn: Connection, pending: Pending, outcome: Buffer | UpstreamError): void {
    conn.pending.delete(pending.id);
    pending.conn = undefined;
    this.finish(pending, outcome);
    this.afterRemoval(conn);
  }

  /** Called by the deadline queue. */
  private timedOut(pending: Pending): void {
    const conn = pending.conn;
    if (conn === undefined) {
      this.queue.delete(pending);
    } else {
      conn.pending.delete(pending.id);
      pending.conn = undefined;
      // Nothing from the server since this query was written (or no handshake yet): the connection
      // may be silently dead (a NAT or firewall forgot it), so it takes no new queries.
      if (conn.usable && (!conn.connected || conn.lastDataAt < pending.sentAt)) this.retire(conn);
    }
    this.finish(pending, new UpstreamError('timeout', this.label, `no TCP answer within ${pending.timeoutMs} ms`));
    if (conn !== undefined) this.afterRemoval(conn);
  }

  /** Called by a connection's idle timer; it may fire while busy, and is re-armed when the connection goes idle. */
  private idle(conn: Connection): void {
    if (!conn.dead && conn.pending.size === 0) this.drop(conn, undefined);
  }

  private afterRemoval(conn: Connection): void {
    if (conn.dead) return;
    if (conn.pending.size === 0) {
      if (!conn.usable || !conn.connected) {
        this.drop(conn, undefined);
        return;
      }
      conn.idleTimer.refresh();
    }
    if (this.queue.size > 0) this.drainQueue();
  }

  /** Takes the connection out of the pool; it closes once its queries are answered or timed out. */
  private retire(conn: Connection): void {
    conn.usable = false;
    const index = this.pool.indexOf(conn);
    if (index >= 0) this.pool.splice(index, 1);
  }

  /**
   * Closes the connection. Its queries fail with `failure` when given (connect failed, close());
   * without one the connection died after the handshake, and each query is retried once, on a
   * fresh connection (another pooled one may be just as stale), if its deadline allows.
   */
  private drop(conn: Connection, failure: UpstreamError | undefined): void {
    if (conn.dead) return;
    conn.dead = true;
    this.retire(conn);
    this.connections.delete(conn);
    clearTimeout(conn.idleTimer);
    conn.socket.destroy();
    conn.chunks.length = 0;
    if (conn.pending.size === 0) {
      if (this.queue.size > 0 && !this.closed) this.drainQueue();
      return;
    }
    const victims = [...conn.pending.values()];
    conn.pending.clear();
    const now = performance.now();
    let fresh: Connection | undefined;
    for (const pending of victims) {
      pending.conn = undefined;
      if (failure === undefined && !this.closed && pending.attempts === 1 && pending.deadline - now >= MIN_RETRY_MS) {
        pending.attempts++;
        this.stats.retried++;
        pending.id = this.ids.take();
        if (fresh === undefined || fresh.pending.size >= this.maxInFlight) {
          fresh = this.pool.length < this.maxConnections ? this.open() : this.pick();
        }
        if (fresh === undefined) this.enqueue(pending);
        else this.send(pending, fresh);
      } else {
        this.finish(pending, failure ?? new UpstreamError('network', this.label, 'TCP connection closed before an answer'));
      }
    }
    if (this.queue.size > 0 && !this.closed) this.drainQueue();
  }

  private finish(pending: Pending, outcome: Buffer | UpstreamError): void {
    if (pending.done) return;
    pending.done = true;
    if (pending.slot >= 0) {
      this.deadlines.cancel(pending.slot);
      this.slotPending[pending.slot] = undefined;
      pending.slot = -1;
    }
    if (outcome instanceof UpstreamError) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}

/** Certificate verification errors (OpenSSL's names) and Node's TLS errors. */
export function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? '';
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code);
}

// A module-level timer callback, so a connection costs no closure for its idle timer (bracket
// access reaches the private method).
function onIdleTimeout(upstream: TcpUpstream, conn: Connection): void {
  upstream['idle'](conn);
}
