// The HTTP server of the warning page: every path, every Host, one page. Hardened like the admin
// API and then some, because it faces whoever reaches the sinkhole address: bounded header size
// and count, absolute header and request deadlines (slowloris), an idle timeout, a connection cap,
// no body ever read, no file ever opened, and nothing from the request written back except a name
// the live policy blocks (see blocked-host.ts), HTML-escaped.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { HostPort } from '../config/host-port.js';
import { ClientConnections } from '../net/client-connections.js';
import { listen } from '../net/listen.js';
import type { Policy } from '../policy/policy.js';
import { pickLanguage } from './accept-language.js';
import { blockedSite } from './blocked-host.js';
import type { PageLanguage, PageTexts } from './page-texts.js';
import { renderPage } from './render-page.js';

/**
 * Exactly what the page needs: its own inline style, nothing else (no script, image, font, frame,
 * form target or connection). A 403 so a browser never takes the page for the site itself, and
 * never stored, so the real site shows once the block is lifted.
 */
export const WARNING_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface WarningPageLimits {
  /** The request line and headers must arrive whole within this long (absolute, not per byte). */
  readonly headersTimeoutMs: number;
  /** The whole request, likewise. */
  readonly requestTimeoutMs: number;
  /** A connection with no traffic at all is closed after this long. */
  readonly idleTimeoutMs: number;
  /** Keep-alive connections wait this long for the next request. */
  readonly keepAliveTimeoutMs: number;
  /** Simultaneous connections; beyond, new ones are closed at once. */
  readonly maxConnections: number;
  /** Simultaneous connections from one client address, so one client cannot take them all. */
  readonly maxConnectionsPerClient: number;
  /** Total size of the request line and headers (Node answers 431 beyond). */
  readonly maxHeaderBytes: number;
}

export const DEFAULT_WARNING_PAGE_LIMITS: WarningPageLimits = {
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  maxConnections: 2000,
  maxConnectionsPerClient: 64,
  maxHeaderBytes: 16 * 1024,
};

/** What a served request was, for the metric: a named page, the generic page, or a refusal. */
export type PageOutcome = 'named' | 'generic' | 'rejected';

export interface WarningPageOptions {
  /** The page's texts, read per request so a reloaded template (SIGHUP) takes effect at once. */
  readonly texts: () => Readonly<Record<PageLanguage, PageTexts>>;
  /** A contact URI (tel:96110) or ''. */
  readonly hotline: string;
  readonly operator: string;
  /** The live policy, read per request so a name unblocked a moment ago is no longer named. */
  readonly policy: () => Policy;
  readonly limits?: Partial<WarningPageLimits>;
  readonly onRequest?: (outcome: PageOutcome) => void;
}

export class WarningPageServer {
  private readonly connections: ClientConnections;

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly port: number,
    maxConnectionsPerClient: number,
  ) {
    this.connections = new ClientConnections(maxConnectionsPerClient);
  }

  static async start(address: HostPort, options: WarningPageOptions): Promise<WarningPageServer> {
    const limits = { ...DEFAULT_WARNING_PAGE_LIMITS, ...options.limits };
    const server = http.createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // How often Node checks the two deadlines above (its default, 30 s, would let a slow client stay that long).
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
        requireHostHeader: false,
      },
      (req, res) => serve(req, res, options),
    );
    server.maxHeadersCount = 64;
    server.maxConnections = limits.maxConnections;
    server.timeout = limits.idleTimeoutMs;
    // A malformed request, an oversized header block or a timeout: a fixed answer, never the input.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      options.onRequest?.('rejected');
      if (socket.writable && !socket.destroyed) {
        const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
    const port = await listen(server, { port: address.port, host: address.host });
    const instance = new WarningPageServer(server, address.host, port, limits.maxConnectionsPerClient);
    server.on('connection', (socket: Socket) => {
      if (instance.connections.admit(socket)) return;
      options.onRequest?.('rejected');
      socket.destroy();
    });
    return instance;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.connections.sockets) socket.destroy();
    });
  }
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, options: WarningPageOptions): void {
  // A request body is never read: the connection closes after the answer instead.
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  const close = hasBody ? { connection: 'close' } : {};
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    options.onRequest?.('rejected');
    res.writeHead(405, { ...WARNING_PAGE_HEADERS, ...close, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const site = blockedSite(req.headers.host, options.policy());
  const language = pickLanguage(req.headers['accept-language']);
  const texts = options.texts()[language];
  const body = Buffer.from(renderPage(texts, { blocked: site, hotline: options.hotline, operator: options.operator }), 'utf8');
  options.onRequest?.(site ? 'named' : 'generic');
  res.writeHead(403, {
    ...WARNING_PAGE_HEADERS,
    ...close,
    'content-type': 'text/html; charset=utf-8',
    'content-language': texts.htmlLang,
    'content-length': String(body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
