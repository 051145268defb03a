// What starting fraudwall gives back, whichever way it runs (one process or a cluster primary).
import { formatHostPort } from './config/host-port.js';
import type { Config } from './config/load-config.js';
import type { ListRegistry } from './lists/list-registry.js';
import type { Logger } from './log/logger.js';
import type { Metrics } from './metrics/metrics.js';

export interface RunningServer {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  readonly http: { readonly host: string; readonly port: number };
  readonly registry: ListRegistry;
  readonly metrics: Metrics;
  /** Re-reads list files and URL lists (SIGHUP, POST /v1/reload). */
  reload(): Promise<{ generation: number; warnings: readonly string[] }>;
  close(): Promise<void>;
}

/** The "fraudwall ready" line operators and scripts wait for. */
export function logReady(
  logger: Logger,
  config: Config,
  served: { readonly listeners: readonly { host: string; port: number }[]; readonly http: { host: string; port: number }; readonly adminEnabled: boolean },
): void {
  logger.info('fraudwall ready', {
    dns: served.listeners.map((listener) => formatHostPort(listener)),
    http: formatHostPort(served.http),
    upstream: config.upstream.map((address) => formatHostPort(address)),
    blockMode: config.blockMode,
    admin: served.adminEnabled ? 'enabled' : 'read-only',
    workers: config.workers,
  });
}

