import net from 'node:net';
import tls from 'node:tls';
import type { HostPort } from '../config/host-port.js';
import { padResponse, queryAsksForPadding } from '../dns/padding.js';
import { ClientConnections } from '../net/client-connections.js';
import { listen } from '../net/listen.js';
import type { QueryHandler } from './query-handler.js';
import type { Config } from '../config/options.js';
import type { TlsCertificates } from './tls-certificates.js';

/** This component's section of the settings (see config/options.ts for what each means). */
export type TcpServerOptions = Pick<
  Config,
  'tcpIdleTimeoutMs' | 'tcpMaxConnections' | 'tcpMaxConnectionsPerClient' | 'tcpMaxInFlight' | 'tcpQueryReadTimeoutMs'
>;

const MAX_FRAME = 65535;
const MAX_QUERIES_PER_TURN = 256;
/** On close, connections get this long to flush their answers before they are destroyed. */
const CLOSE_GRACE_MS = 250;

/** What turns the TCP listener into a DoT one (RFC 7858): the certificate and the handshake deadline. */
export interface DotServing {
  readonly certificates: TlsCertificates;
  readonly tlsHandshakeTimeoutMs: number;
  /** A client failed its TLS handshake (wrong version, untrusted certificate, timeout); for a metric. */
  readonly onHandshakeFailure?: () => void;
}

/**
 * One client connection: 2-byte length framing, several pipelined queries answered as they
 * complete (RFC 7766 §6.2.1.1 allows out-of-order replies), reading paused while the client does
 * not read its answers or has too many queries in flight.
 */
class TcpConnection {
  private pending: Buffer | undefined;
  private inFlight = 0;
  private writeBlocked = false;
  /** Complete queries are waiting for the next turn (see drainFrames). */
  private backlogged = false;
  private clientEnded = false;
  private readDeadline: NodeJS.Timeout | undefined;
  private readonly encrypted: boolean;
  /** DoT: the client's name from its SNI, if it gave one. */
  private readonly clientName: string | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: QueryHandler,
    private readonly options: TcpServerOptions,
    certificates?: TlsCertificates,
  ) {
    this.encrypted = certificates !== undefined;
    this.clientName = certificates?.clientNameFromSni((socket as tls.TLSSocket).servername);
    socket.setNoDelay(true);
    socket.setTimeout(options.tcpIdleTimeoutMs);
    socket.on('timeout', () => {
      if (this.inFlight === 0 && !this.backlogged) socket.end();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The client may half-close after its last query (RFC 7766 §6.2.4 lets it): answer what it
    // sent, then close our side.
    socket.on('end', () => {
      this.clientEnded = true;
      this.finishIfDone();
    });
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    // Resets and aborted clients are routine on TCP; the connection just ends.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clearReadDeadline());
  }

  private clearReadDeadline(): void {
    if (this.readDeadline !== undefined) clearTimeout(this.readDeadline);
    this.readDeadline = undefined;
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.drainFrames();
  }

  /**
   * Answers the complete queries buffered so far, at most MAX_QUERIES_PER_TURN at a time: a client
   * pipelining thousands of instantly answerable queries must not hold the event loop (and every
   * other client) for the whole burst. The rest waits for the next turn with reading paused.
   */
  private drainFrames(): void {
    let buffer = this.pending;
    let handled = 0;
    while (buffer !== undefined && buffer.length >= 2 && handled < MAX_QUERIES_PER_TURN) {
      const length = buffer.readUInt16BE(0);
      if (buffer.length < 2 + length) break;
      const message = buffer.subarray(2, 2 + length);
      buffer = buffer.subarray(2 + length);
      this.clearReadDeadline();
      this.dispatch(message);
      handled++;
    }
    this.pending = buffer !== undefined && buffer.length > 0 ? buffer : undefined;
    this.backlogged = this.pending !== undefined && handled === MAX_QUERIES_PER_TURN && this.pending.length >= 2;
    if (this.backlogged) {
      setImmediate(() => {
        if (!this.socket.destroyed) this.drainFrames();
      });
    }
    this.updateFlow();
    this.finishIfDone();
  }

  private finishIfDone(): void {
    if (this.clientEnded && !this.backlogged && this.inFlight === 0 && !this.socket.destroyed) this.socket.end();
  }

  /** A partial query runs the absolute read deadline, but only while we are actually reading. */
  private armReadDeadline(): void {
    if (this.pending === undefined || this.socket.isPaused() || this.backlogged) {
      this.clearReadDeadline();
    } else if (this.readDeadline === undefined) {
      this.readDeadline = setTimeout(() => this.socket.destroy(), this.options.tcpQueryReadTimeoutMs);
    }
  }

  private dispatch(message: Buffer): void {
    const socket = this.socket;
    const family = socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4';
    const reply = this.handler.handle(message, this.encrypted ? 'dot' : 'tcp', socket.remoteAddress ?? '', socket.remotePort ?? 0, family, this.clientName);
    if (reply === undefined) return;
    // RFC 8467: over an encrypted transport, answer a padded query with a padded response.
    const pad = this.encrypted && queryAsksForPadding(message);
    if (!(reply instanceof Promise)) {
      this.write(pad ? padResponse(reply) : reply);
      return;
    }
    this.inFlight++;
    void reply.then((bytes) => {
      this.inFlight--;
      this.write(pad ? padResponse(bytes) : bytes);
      this.updateFlow();
      this.finishIfDone();
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
    if (this.writeBlocked || this.backlogged || this.inFlight >= this.options.tcpMaxInFlight) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
    this.armReadDeadline();
  }
}

/**
 * DNS over TCP, or over TLS (DoT, RFC 7858), on one address, with a cap on connections in total and
 * per client address. DoT is the same framing, pipelining, limits and idle timeouts inside TLS 1.2+.
 */
export class TcpServer {
  /** DoT: the TCP connections under TLS, from accept until they close (the handshake included). */
  private readonly handshaking = new Set<net.Socket>();
  private readonly connections: ClientConnections;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    maxConnectionsPerClient: number,
  ) {
    this.connections = new ClientConnections(maxConnectionsPerClient);
  }

  private accept(socket: net.Socket, handler: QueryHandler, options: TcpServerOptions, certificates: TlsCertificates | undefined): void {
    if (!this.connections.admit(socket)) {
      socket.destroy();
      return;
    }
    new TcpConnection(socket, handler, options, certificates);
  }

  static async bind(address: HostPort, handler: QueryHandler, options: TcpServerOptions, dot?: DotServing): Promise<TcpServer> {
    let instance: TcpServer | undefined;
    const onSocket = (socket: net.Socket): void => {
      if (instance) instance.accept(socket, handler, options, dot?.certificates);
      else socket.destroy();
    };
    let server: net.Server;
    if (dot === undefined) {
      server = net.createServer({ noDelay: true, allowHalfOpen: true }, onSocket);
    } else {
      const tlsServer = tls.createServer(
        {
          ...dot.certificates.current,
          minVersion: 'TLSv1.2',
          ALPNProtocols: ['dot'],
          handshakeTimeout: dot.tlsHandshakeTimeoutMs,
          // Not half-open: a TLS server socket whose client vanishes mid-handshake would stay open
          // (and hold close() up) until the handshake deadline. DoT clients end with close_notify anyway.
          allowHalfOpen: false,
          noDelay: true,
        },
        onSocket,
      );
      // A renewed certificate goes to new connections; open ones keep theirs.
      const stopWatching = dot.certificates.onChange((pair) => tlsServer.setSecureContext({ ...pair, minVersion: 'TLSv1.2' }));
      tlsServer.on('close', stopWatching);
      // Without a listener the socket is destroyed anyway; this one only counts.
      tlsServer.on('tlsClientError', () => dot.onHandshakeFailure?.());
      // Connections still in their handshake are not in `sockets` yet; close() must be able to end them too.
      tlsServer.on('connection', (raw: net.Socket) => {
        if (instance === undefined) return;
        instance.handshaking.add(raw);
        raw.on('close', () => instance?.handshaking.delete(raw));
      });
      server = tlsServer;
    }
    server.maxConnections = options.tcpMaxConnections;
    const port = await listen(server, { port: address.port, host: address.host, ipv6Only: address.family === 6 });
    server.on('error', () => {});
    instance = new TcpServer(server, port, options.tcpMaxConnectionsPerClient);
    return instance;
  }

  /** Stops accepting; open connections flush briefly, then a client that does not read is cut off. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.connections.sockets) socket.end();
      setTimeout(() => {
        for (const socket of this.connections.sockets) socket.destroy();
        for (const socket of this.handshaking) socket.destroy();
      }, CLOSE_GRACE_MS).unref();
    });
  }
}
