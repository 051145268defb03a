import dgram from 'node:dgram';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { FLAG_QR, HEADER_SIZE, sameQuestion } from '../dns/wire.js';
import type { MessageIdSource } from './message-id.js';
import { UpstreamError } from './upstream-error.js';

interface Pending {
  readonly message: Buffer;
  readonly questionEnd: number;
  readonly resolve: (answer: Buffer) => void;
  readonly reject: (error: UpstreamError) => void;
  readonly timer: NodeJS.Timeout;
}

/** One connected UDP socket: the kernel drops datagrams from any other address or port. */
interface UpstreamSocket {
  readonly socket: dgram.Socket;
  readonly ready: Promise<void>;
  readonly pending: Map<number, Pending>;
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
    const upstreamSocket = this.socketForQuery();
    let id = this.ids.take();
    while (upstreamSocket.pending.has(id)) id = this.ids.take();
    message.writeUInt16BE(id, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        upstreamSocket.pending.delete(id);
        this.closeIfDrained(upstreamSocket);
        reject(new UpstreamError('timeout', this.label, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      upstreamSocket.pending.set(id, { message, questionEnd, resolve, reject, timer });
      if (upstreamSocket.connected) this.send(upstreamSocket, id, message);
      else void upstreamSocket.ready.then(() => this.send(upstreamSocket, id, message));
    });
  }

  private send(upstreamSocket: UpstreamSocket, id: number, message: Buffer): void {
    if (upstreamSocket.closed || !upstreamSocket.pending.has(id)) return;
    upstreamSocket.socket.send(message, (error) => {
      if (error) this.settle(upstreamSocket, id, new UpstreamError('network', this.label, error.message));
    });
  }

  close(): void {
    this.closed = true;
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
    const pending = new Map<number, Pending>();
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
      for (const id of [...pending.keys()]) {
        this.settle(self, id, new UpstreamError(reason, this.label, `${error.code ?? error.message} on UDP`));
      }
    });
    return self;
  }

  private onAnswer(upstreamSocket: UpstreamSocket, answer: Buffer): void {
    if (answer.length < HEADER_SIZE || (answer.readUInt16BE(2) & FLAG_QR) === 0) {
      this.stats.mismatched++;
      return;
    }
    const id = answer.readUInt16BE(0);
    const pending = upstreamSocket.pending.get(id);
    if (pending === undefined) {
      this.stats.late++;
      return;
    }
    if (!sameQuestion(pending.message, pending.questionEnd, answer)) {
      this.stats.mismatched++;
      return;
    }
    this.settle(upstreamSocket, id, answer);
  }

  private settle(upstreamSocket: UpstreamSocket, id: number, outcome: Buffer | UpstreamError): void {
    const pending = upstreamSocket.pending.get(id);
    if (pending === undefined) return;
    upstreamSocket.pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof UpstreamError) pending.reject(outcome);
    else pending.resolve(outcome);
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
