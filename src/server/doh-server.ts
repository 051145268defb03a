import http2 from 'node:http2';
import type net from 'node:net';
import type { HostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import { cacheLifetimeSeconds } from '../dns/cache-lifetime.js';
import { padResponse, queryAsksForPadding } from '../dns/padding.js';
import { HEADER_SIZE } from '../dns/wire.js';
import { ClientConnections } from '../net/client-connections.js';
import { listen } from '../net/listen.js';
import { clientNameFromPath } from './client-name.js';
import type { QueryHandler } from './query-handler.js';
import type { TlsCertificates } from './tls-certificates.js';

/** This component's section of the settings (see config/options.ts). */
export type DohServerOptions = Pick<
  Config,
  'dohPath' | 'tlsHandshakeTimeoutMs' | 'tcpIdleTimeoutMs' | 'tcpMaxConnections' | 'tcpMaxConnectionsPerClient' | 'tcpMaxInFlight'
>;

/** RFC 8484 §6: the media type of DNS messages over HTTP. */
const DNS_MESSAGE = 'application/dns-message';
/** A DNS message is at most 65,535 bytes; a body beyond that is refused with 413. */
const MAX_MESSAGE = 65_535;
/** base64url of at most MAX_MESSAGE bytes. */
const MAX_GET_PARAM = Math.ceil((MAX_MESSAGE * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const CLOSE_GRACE_MS = 250;

export interface DohObserver {
  /** A request that got an HTTP error status instead of a DNS answer (a metric label: the status). */
  rejected?(status: number): void;
  handshakeFailure?(): void;
}

type Request = http2.Http2ServerRequest;
type Response = http2.Http2ServerResponse;

function sendStatus(res: Response, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  // HTTP/2 has no Connection header (RFC 9113 §8.2.2); there a refused stream just ends.
  if (res.req.httpVersionMajor === 2) delete headers['connection'];
  const body = `${text}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * DNS over HTTPS (RFC 8484) on one address: HTTP/2 and HTTP/1.1 on one port (ALPN), GET with
 * `?dns=` base64url and POST with an application/dns-message body, on `doh-path` and on
 * `doh-path/NAME`, where NAME names the client (for logs and groups). Every query goes to the same
 * QueryHandler as UDP and TCP, with the TCP peer's address. Bad requests get their HTTP status
 * (400, 404, 405, 413, 415), never an exception.
 */
export class DohServer {
  private readonly connections: ClientConnections;

  private constructor(
    private readonly server: http2.Http2SecureServer,
    readonly port: number,
    maxConnectionsPerClient: number,
  ) {
    this.connections = new ClientConnections(maxConnectionsPerClient);
  }

  static async bind(address: HostPort, handler: QueryHandler, certificates: TlsCertificates, options: DohServerOptions, observer: DohObserver = {}): Promise<DohServer> {
    const server = http2.createSecureServer({
      ...certificates.current,
      allowHTTP1: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.tlsHandshakeTimeoutMs,
      settings: { maxConcurrentStreams: options.tcpMaxInFlight },
    });
    server.maxConnections = options.tcpMaxConnections;
    // An idle connection (HTTP/1.1 keep-alive or an HTTP/2 session without streams) is closed like an idle TCP one.
    server.setTimeout(options.tcpIdleTimeoutMs);
    const stopWatching = certificates.onChange((pair) => server.setSecureContext({ ...pair, minVersion: 'TLSv1.2' }));
    server.on('close', stopWatching);
    server.on('tlsClientError', () => observer.handshakeFailure?.());
    server.on('sessionError', () => {});
    server.on('session', (session) => session.on('error', () => {}));
    let instance: DohServer | undefined;
    server.on('connection', (socket: net.Socket) => {
      if (instance === undefined) socket.destroy();
      else instance.accept(socket);
    });
    const handle = new RequestHandler(handler, options.dohPath, observer);
    server.on('request', (req: Request, res: Response) => handle.request(req, res));
    const port = await listen(server, { port: address.port, host: address.host, ipv6Only: address.family === 6 });
    server.on('error', () => {});
    instance = new DohServer(server, port, options.tcpMaxConnectionsPerClient);
    return instance;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => socket.destroy());
    if (!this.connections.admit(socket)) socket.destroy();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.connections.sockets) socket.end();
      setTimeout(() => {
        for (const socket of this.connections.sockets) socket.destroy();
      }, CLOSE_GRACE_MS).unref();
    });
  }
}

/** One request → one DNS message → one answer; every path ends in exactly one response. */
class RequestHandler {
  constructor(
    private readonly handler: QueryHandler,
    private readonly path: string,
    private readonly observer: DohObserver,
  ) {}

  request(req: Request, res: Response): void {
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      this.route(req, res);
    } catch {
      this.reject(res, 400, 'bad request');
    }
  }

  private reject(res: Response, status: number, text: string, headers?: Record<string, string>): void {
    this.observer.rejected?.(status);
    sendStatus(res, status, text, headers);
  }

  private route(req: Request, res: Response): void {
    const url = req.url ?? '';
    const question = url.indexOf('?');
    const pathname = question < 0 ? url : url.slice(0, question);
    let clientName: string | undefined;
    if (pathname !== this.path) {
      const suffix = pathname.startsWith(`${this.path}/`) ? pathname.slice(this.path.length + 1) : undefined;
      clientName = suffix === undefined ? undefined : clientNameFromPath(suffix);
      if (clientName === undefined) {
        this.reject(res, 404, `not found: DNS queries go to ${this.path} (or ${this.path}/CLIENT-NAME)`);
        return;
      }
    }
    if (req.method === 'GET') {
      const params = new URLSearchParams(question < 0 ? '' : url.slice(question + 1));
      const dns = params.get('dns');
      if (dns === null || dns === '') {
        this.reject(res, 400, 'a GET needs the query as ?dns=BASE64URL (RFC 8484 §4.1)');
        return;
      }
      if (dns.length > MAX_GET_PARAM) {
        this.reject(res, 414, 'the dns parameter is longer than any DNS message');
        return;
      }
      if (!BASE64URL.test(dns) || dns.length % 4 === 1) {
        this.reject(res, 400, 'the dns parameter is not base64url without padding (RFC 4648 §5)');
        return;
      }
      this.answer(req, res, Buffer.from(dns, 'base64url'), clientName);
      return;
    }
    if (req.method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== DNS_MESSAGE) {
        this.reject(res, 415, `a POST body must be ${DNS_MESSAGE}`);
        return;
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_MESSAGE) {
        this.reject(res, 413, `a DNS message is at most ${MAX_MESSAGE} bytes`, { connection: 'close' });
        return;
      }
      this.readBody(req, res, (body) => this.answer(req, res, body, clientName));
      return;
    }
    this.reject(res, 405, 'DoH takes GET and POST', { allow: 'GET, POST' });
  }

  private readBody(req: Request, res: Response, done: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_MESSAGE) {
        over = true;
        chunks.length = 0;
        this.reject(res, 413, `a DNS message is at most ${MAX_MESSAGE} bytes`, { connection: 'close' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) done(Buffer.concat(chunks, size));
    });
  }

  private answer(req: Request, res: Response, message: Buffer, clientName: string | undefined): void {
    const socket = req.socket;
    const reply = this.handler.handle(
      message,
      'doh',
      socket.remoteAddress ?? '',
      socket.remotePort ?? 0,
      socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
      clientName,
    );
    const pad = queryAsksForPadding(message);
    if (reply === undefined) {
      // The handler drops (and counts) what has no DNS answer; over HTTP the request still needs a status.
      if (message.length < HEADER_SIZE || (message[2]! & 0x80) !== 0) this.reject(res, 400, 'the message is not a DNS query');
      else if (this.handler.draining) this.reject(res, 503, 'shutting down');
      else this.reject(res, 403, 'this client is not served (see --allow-clients)');
      return;
    }
    if (reply instanceof Promise) void reply.then((bytes) => this.send(res, bytes, pad));
    else this.send(res, reply, pad);
  }

  private send(res: Response, reply: Buffer, pad: boolean): void {
    if (res.writableEnded || res.destroyed) return;
    const body = pad ? padResponse(reply) : reply;
    const lifetime = cacheLifetimeSeconds(body);
    res.writeHead(200, {
      'content-type': DNS_MESSAGE,
      'content-length': String(body.length),
      'cache-control': lifetime === undefined ? 'no-store' : `max-age=${lifetime}`,
    });
    res.end(body);
  }
}
