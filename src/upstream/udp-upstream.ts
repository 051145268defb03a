import dgram from 'node:dgram';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { FLAG_QR, HEADER_SIZE, sameQuestion } from '../dns/wire.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { MessageIdSource } from './message-id.js';
import { UpstreamError } from './upstream-error.js';

/**
 * Queries in flight to one upstream at most (all its sockets together); beyond, a query fails at
 * once with 'network'. Each socket holds at most 30,000 (it rotates beyond), retired ones drain.
 */
const MAX_IN_FLIGHT = 65_536;

/** One connected UDP socket: the kernel drops datagrams from any other address or port. */
interface UpstreamSocket {
  readonly socket: dgram.Socket;
  readonly ready: Promise<void>;
  /** Wire ID -> slot of the query in flight (see UdpUpstream's slot arrays). */
  readonly pending: Map<number, number>;
  connected: boolean;
  sent: number;
  retired: boolean;
  closed: boolean;
}

export interface UdpUpstreamOptions {
  /**
   * Queries sent on one socket before a fresh one (with a fresh random source port) takes over,
   * so that an off-path attacker has to guess the port as well as the ID (RFC 5452 §9.2).
   */
  readonly queriesPerSocket: number;
}

/** Counters an operator can read; the metrics issue exports them. */
export interface UdpUpstreamStats {
  mismatched: number;
  late: number;
}

/**
 * Sends queries to one upstream over UDP. An answer is accepted only on the socket connected to
 * that upstream, with QR=1, the ID we chose, and the same question; anything else is counted and
 * ignored (the real answer may still come).
 */
export class UdpUpstream {
  readonly label: string;
  readonly stats: UdpUpstreamStats = { mismatched: 0, late: 0 };
  private current: UpstreamSocket | undefined;
  private closed = false;
  /**
   * A query in flight is a slot: its deadline in the shared queue (one timer for all), and its
   * state in these arrays indexed by slot, so that a query costs no Timeout, timer closure or
   * record object of its own; only its promise.
   */
  private readonly deadlines = new DeadlineQueue(MAX_IN_FLIGHT, (slot) => this.timedOut(slot));
  private readonly slotSocket: (UpstreamSocket | undefined)[] = [];
  private readonly slotMessage: (Buffer | undefined)[] = [];
  private readonly slotResolve: (((answer: Buffer) => void) | undefined)[] = [];
  private readonly slotReject: (((error: UpstreamError) => void) | undefined)[] = [];
  private readonly slotQuestionEnd: number[] = [];
  private readonly slotId: number[] = [];
  private readonly slotTimeoutMs: number[] = [];

  constructor(
    readonly address: HostPort,
    private readonly ids: MessageIdSource,
    private readonly options: UdpUpstreamOptions = { queriesPerSocket: 1000 },
  ) {
    this.label = formatHostPort(address);
  }

  /** `message` is a private copy: its ID is overwritten with a fresh random one. */
  query(message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError('network', this.label, 'client closed'));
    if (this.deadlines.size >= MAX_IN_FLIGHT) {
      return Promise.reject(new UpstreamError('network', this.label, `more than ${MAX_IN_FLIGHT} UDP queries in flight`));
    }
    const upstreamSocket = this.socketForQuery();
    let id = this.ids.take();
    while (upstreamSocket.pending.has(id)) id = this.ids.take();
    message.writeUInt16BE(id, 0);
    // Cannot be -1: checked above, and nothing in between takes a slot.
    const slot = this.deadlines.add(performance.now() + timeoutMs);
    const { promise, resolve, reject } = Promise.withResolvers<Buffer>();
    this.slotSocket[slot] = upstreamSocket;
    this.slotMessage[slot] = message;
    this.slotResolve[slot] = resolve;
    this.slotReject[slot] = reject;
    this.slotQuestionEnd[slot] = questionEnd;
    this.slotId[slot] = id;
    this.slotTimeoutMs[slot] = timeoutMs;
    upstreamSocket.pending.set(id, slot);
    if (upstreamSocket.connected) this.send(upstreamSocket, slot, id, message);
    else void upstreamSocket.ready.then(() => this.send(upstreamSocket, slot, id, message));
    return promise;
  }

  private send(upstreamSocket: UpstreamSocket, slot: number, id: number, message: Buffer): void {
    if (upstreamSocket.closed || upstreamSocket.pending.get(id) !== slot) return;
    upstreamSocket.socket.send(message, (error) => {
      if (error && upstreamSocket.pending.get(id) === slot) this.settle(slot, new UpstreamError('network', this.label, error.message));
    });
  }

  /** Called by the deadline queue; the slot is already out of it. */
  private timedOut(slot: number): void {
    const upstreamSocket = this.slotSocket[slot]!;
    upstreamSocket.pending.delete(this.slotId[slot]!);
    const reject = this.slotReject[slot]!;
    const timeoutMs = this.slotTimeoutMs[slot]!;
    this.release(slot);
    this.closeIfDrained(upstreamSocket);
    reject(new UpstreamError('timeout', this.label, `no answer within ${timeoutMs} ms`));
  }

  /** Drops the slot's references, so a settled query's buffers and promise can be collected. */
  private release(slot: number): void {
    this.slotSocket[slot] = undefined;
    this.slotMessage[slot] = undefined;
    this.slotResolve[slot] = undefined;
    this.slotReject[slot] = undefined;
  }

  close(): void {
    this.closed = true;
    // Queries still waiting keep their timeout (as before): the queue's timer fails them on time.
    if (this.current) this.retire(this.current);
    this.current = undefined;
  }

  private socketForQuery(): UpstreamSocket {
    let current = this.current;
    // 65,536 IDs per socket; rotate well before the ID space gets crowded.
    if (current === undefined || current.sent >= this.options.queriesPerSocket || current.pending.size > 30_000) {
      if (current) this.retire(current);
      current = this.openSocket();
      this.current = current;
    }
    current.sent++;
    return current;
  }

  private openSocket(): UpstreamSocket {
    // A burst of answers must not overflow the kernel's default ~200 KB receive buffer.
    const socket = dgram.createSocket({ type: this.address.family === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    const pending = new Map<number, number>();
    let upstreamSocket: UpstreamSocket | undefined = undefined;
    const ready = new Promise<void>((resolve) =>
      socket.connect(this.address.port, this.address.host, () => {
        if (upstreamSocket) upstreamSocket.connected = true;
        resolve();
      }),
    );
    upstreamSocket = { socket, ready, pending, connected: false, sent: 0, retired: false, closed: false };
    const self: UpstreamSocket = upstreamSocket;
    socket.on('message', (answer) => this.onAnswer(self, answer));
    // A connected socket reports ICMP port-unreachable as ECONNREFUSED: the upstream is down, so
    // every query waiting on this socket fails now instead of at its timeout.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ECONNREFUSED' ? 'connection-refused' : 'network';
      for (const slot of [...pending.values()]) {
        this.settle(slot, new UpstreamError(reason, this.label, `${error.code ?? error.message} on UDP`));
      }
    });
    return self;
  }

  private onAnswer(upstreamSocket: UpstreamSocket, answer: Buffer): void {
    if (answer.length < HEADER_SIZE || (answer.readUInt16BE(2) & FLAG_QR) === 0) {
      this.stats.mismatched++;
      return;
    }
    const slot = upstreamSocket.pending.get(answer.readUInt16BE(0));
    if (slot === undefined) {
      this.stats.late++;
      return;
    }
    if (!sameQuestion(this.slotMessage[slot]!, this.slotQuestionEnd[slot]!, answer)) {
      this.stats.mismatched++;
      return;
    }
    this.settle(slot, answer);
  }

  /** Ends a query in flight (answered, or failed before its deadline). */
  private settle(slot: number, outcome: Buffer | UpstreamError): void {
    const upstreamSocket = this.slotSocket[slot];
    if (upstreamSocket === undefined) return;
    upstreamSocket.pending.delete(this.slotId[slot]!);
    this.deadlines.cancel(slot);
    const resolve = this.slotResolve[slot]!;
    const reject = this.slotReject[slot]!;
    this.release(slot);
    if (outcome instanceof UpstreamError) reject(outcome);
    else resolve(outcome);
    this.closeIfDrained(upstreamSocket);
  }

  private retire(upstreamSocket: UpstreamSocket): void {
    upstreamSocket.retired = true;
    this.closeIfDrained(upstreamSocket);
  }

  private closeIfDrained(upstreamSocket: UpstreamSocket): void {
    if (upstreamSocket.retired && !upstreamSocket.closed && upstreamSocket.pending.size === 0) {
      upstreamSocket.closed = true;
      upstreamSocket.socket.removeAllListeners('message');
      upstreamSocket.socket.close();
    }
  }
}
