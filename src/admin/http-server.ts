import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { HostPort } from '../config/host-port.js';
import { FraudwallError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { listen } from '../net/listen.js';

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, params: RouteParams) => void | Promise<void>;

/** Health state shared with the composition root: ready only once the initial policy is loaded. */
export interface Health {
  ready: boolean;
}

/** An error with the HTTP status and JSON body it should produce; anything else becomes a 500. */
export class HttpError extends FraudwallError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(code, message);
  }
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly handler: RouteHandler;
}

/** Headers on every response: nothing here is meant for a browser to render, frame or cache. */
const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * The operator HTTP endpoint: /healthz (the process is alive), /readyz (DNS is served with a loaded
 * policy), /metrics and the /v1 admin API, registered through `route`.
 */
export class HttpServer {
  private readonly routes: Route[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly port: number,
    private readonly logger: Logger,
  ) {}

  /** `logger` gets one line for every 5xx answer (and every failure after an answer began), with its cause. */
  static async start(address: HostPort, health: Health, logger: Logger): Promise<HttpServer> {
    let instance: HttpServer | undefined;
    const server = http.createServer((req, res) => {
      if (instance) instance.dispatch(req, res);
    });
    // /readyz's 503 is its answer while loading, not a failure: it is not logged (probes ask every few seconds).
    // Slow-loris bounds: a client must send its headers and body in reasonable time.
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    server.maxHeadersCount = 100;
    const port = await listen(server, { port: address.port, host: address.host });
    instance = new HttpServer(server, address.host, port, logger);
    instance.route('GET', '/healthz', (_req, res) => sendText(res, 200, 'ok\n'));
    instance.route('GET', '/readyz', (_req, res) =>
      health.ready ? sendText(res, 200, 'ready\n') : sendText(res, 503, 'not ready: loading blocklists\n'),
    );
    return instance;
  }

  /** `path` may contain `{param}` segments matching one path segment each. */
  route(method: string, path: string, handler: RouteHandler): void {
    const paramNames: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        const match = /^\{(\w+)\}$/.exec(segment);
        if (!match) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        paramNames.push(match[1]!);
        return '([^/]+)';
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), paramNames, handler });
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      Promise.resolve()
        .then(() => route.handler(req, res, decodeParams(route.paramNames, match)))
        .catch((error: unknown) => this.fail(req, res, path, error));
      return;
    }
    if (pathMatched) this.fail(req, res, path, new HttpError(405, 'E_METHOD', `method ${req.method} is not allowed on ${path}`));
    else this.fail(req, res, path, new HttpError(404, 'E_NOT_FOUND', `no such endpoint: ${path}`));
  }

  /**
   * Answers an error. A 4xx is the client's to fix and its body says how; a 5xx is the operator's, so
   * it is logged once with its cause (code, errno, syscall, file) and a request id that the body and
   * the x-request-id header carry too, to find the line.
   */
  private fail(req: http.IncomingMessage, res: http.ServerResponse, path: string, error: unknown): void {
    const status = error instanceof HttpError ? error.status : 500;
    if (status < 500 && !res.headersSent) {
      sendError(res, error);
      return;
    }
    const requestId = randomBytes(6).toString('hex');
    this.logger.error(
      res.headersSent
        ? `HTTP ${req.method} ${path} failed after its answer began; the connection was closed`
        : `HTTP ${req.method} ${path} answered ${status}: ${errorMessage(error)}`,
      { requestId, status, ...errorCause(error) },
    );
    sendError(res, error, requestId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Path parameters, percent-decoded; a malformed escape is the client's error (400), never a crash. */
function decodeParams(names: readonly string[], match: RegExpExecArray): Record<string, string> {
  const params: Record<string, string> = {};
  names.forEach((name, i) => {
    try {
      params[name] = decodeURIComponent(match[i + 1] ?? '');
    } catch {
      throw new HttpError(400, 'E_BAD_REQUEST', `path segment "${match[i + 1]}" is not valid percent-encoding`);
    }
  });
  return params;
}

export function sendText(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

export function sendBody(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType });
  res.end(body);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the log says about a failure: the error's code (E_* or errno name), errno, syscall and file. */
function errorCause(error: unknown): Record<string, unknown> {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; name?: unknown };
  const cause: Record<string, unknown> = { error: errorMessage(error) };
  for (const key of ['code', 'errno', 'syscall', 'path'] as const) if (e[key] !== undefined) cause[key === 'path' ? 'file' : key] = e[key];
  if (error instanceof Error && error.name !== 'Error') cause['type'] = error.name;
  return cause;
}

function sendError(res: http.ServerResponse, error: unknown, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const id = requestId === undefined ? {} : { requestId };
  const idHeader: Record<string, string> = requestId === undefined ? {} : { 'x-request-id': requestId };
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: { code: error.code, message: error.message, ...error.details, ...id } }, { ...error.headers, ...idHeader });
  } else {
    // The cause stays in the log: a file path or an internal message is not for API clients.
    const message = `internal error; the server log has the cause under requestId ${requestId}`;
    sendJson(res, 500, { error: { code: 'E_INTERNAL', message, ...id } }, idHeader);
  }
}
