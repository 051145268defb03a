import net from 'node:net';
import type { HostPort } from '../config/host-port.js';
import type { QueryHandler } from './query-handler.js';

export interface TcpServerOptions {
  /** A connection with no query in flight and no bytes for this long is closed (RFC 7766 §6.2.3). */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Reading pauses while this many queries of one connection are unanswered. */
  readonly maxInFlightPerConnection: number;
}

const MAX_FRAME = 65535;

/**
 * One client connection: 2-byte length framing, several pipelined queries answered as they
 * complete (RFC 7766 §6.2.1.1 allows out-of-order replies), reading paused while the client does
 * not read its answers or has too many queries in flight.
 */
class TcpConnection {
  private pending: Buffer | undefined;
  private inFlight = 0;
  private writeBlocked = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: QueryHandler,
    private readonly options: TcpServerOptions,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on('timeout', () => {
      if (this.inFlight === 0) socket.end();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    // Resets and aborted clients are routine on TCP; the connection just ends.
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    let buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    while (buffer.length >= 2) {
      const length = buffer.readUInt16BE(0);
      if (buffer.length < 2 + length) break;
      const message = buffer.subarray(2, 2 + length);
      buffer = buffer.subarray(2 + length);
      this.dispatch(message);
    }
    this.pending = buffer.length > 0 ? buffer : undefined;
    this.updateFlow();
  }

  private dispatch(message: Buffer): void {
    const reply = this.handler.handle(message, 'tcp', this.socket.remoteAddress ?? '');
    if (reply === undefined) return;
    if (!(reply instanceof Promise)) {
      this.write(reply);
      return;
    }
    this.inFlight++;
    void reply.then((bytes) => {
      this.inFlight--;
      this.write(bytes);
      this.updateFlow();
    });
  }

  private write(reply: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable || reply.length > MAX_FRAME) return;
    const frame = Buffer.allocUnsafe(2 + reply.length);
    frame.writeUInt16BE(reply.length, 0);
    reply.copy(frame, 2);
    if (!this.socket.write(frame)) this.writeBlocked = true;
  }

  private updateFlow(): void {
    if (this.writeBlocked || this.inFlight >= this.options.maxInFlightPerConnection) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
  }
}

/** DNS over TCP on one address. */
export class TcpServer {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static bind(address: HostPort, handler: QueryHandler, options: TcpServerOptions): Promise<TcpServer> {
    const server = net.createServer({ noDelay: true }, (socket) => new TcpConnection(socket, handler, options));
    server.maxConnections = options.maxConnections;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: address.port, host: address.host, ipv6Only: address.family === 6 }, () => {
        server.off('error', reject);
        server.on('error', () => {});
        const bound = server.address();
        resolve(new TcpServer(server, typeof bound === 'object' && bound ? bound.port : address.port));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.end();
    });
  }
}
