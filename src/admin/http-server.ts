import http from 'node:http';
import type { HostPort } from '../config/host-port.js';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** Health state shared with the composition root: ready only once the initial policy is loaded. */
export interface Health {
  ready: boolean;
}

/**
 * The operator HTTP endpoint: /healthz (the process is alive) and /readyz (DNS is being served with
 * a loaded policy). Later issues add /metrics and the /v1 admin API through `route`.
 */
export class HttpServer {
  private readonly routes = new Map<string, RouteHandler>();

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(address: HostPort, health: Health): Promise<HttpServer> {
    let instance: HttpServer | undefined;
    const server = http.createServer((req, res) => {
      if (instance) instance.dispatch(req, res);
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: address.port, host: address.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    instance = new HttpServer(server, address.host, typeof bound === 'object' && bound ? bound.port : address.port);
    instance.route('GET /healthz', (_req, res) => sendText(res, 200, 'ok\n'));
    instance.route('GET /readyz', (_req, res) =>
      health.ready ? sendText(res, 200, 'ready\n') : sendText(res, 503, 'not ready: loading blocklists\n'),
    );
    return instance;
  }

  /** `key` is "METHOD /path" (exact path, query string ignored). */
  route(key: string, handler: RouteHandler): void {
    this.routes.set(key, handler);
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const handler = this.routes.get(`${req.method} ${path}`);
    if (handler === undefined) {
      const known = [...this.routes.keys()].some((key) => key.endsWith(` ${path}`));
      sendText(res, known ? 405 : 404, known ? 'method not allowed\n' : 'not found\n');
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(() => {
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export function sendText(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}
