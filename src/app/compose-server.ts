// What starting fraudwall gives back, and the one way it is put together, whichever way it runs
// (one process, or a cluster primary whose data side is its workers).
import type { Health } from '../admin/http-server.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { warnIfOpenResolver } from './data-plane.js';
import type { ListRegistry } from '../lists/list-registry.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { reopenFiles, type ReopenResult } from '../log/reopen-hooks.js';

export interface RunningServer {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  /** DoT/DoH addresses with their bound ports (single process; with --workers, the configured ones). */
  readonly encrypted: { readonly dot: readonly { host: string; port: number }[]; readonly doh: readonly { host: string; port: number }[] };
  readonly http: { readonly host: string; readonly port: number };
  /** The warning page's address (--warning-page), if it is served. */
  readonly warningPage: { readonly host: string; readonly port: number } | undefined;
  readonly registry: ListRegistry;
  readonly metrics: Metrics;
  /** Re-reads list files and URL lists (SIGHUP, POST /v1/reload). */
  reload(): Promise<{ generation: number; warnings: readonly string[] }>;
  /** Re-reads the admin token file (SIGHUP); one line saying what happened, or a rejection saying what to fix. */
  reloadAdminToken(): Promise<string>;
  /** Re-reads the warning page template (SIGHUP); undefined when no warning page is served. */
  reloadWarningPageTemplate(): Promise<string | undefined>;
  /** Reopens every file registered with onReopen in this process, and has the workers do the same (SIGHUP). */
  reopenFiles(): Promise<{ readonly results: readonly ReopenResult[]; readonly workers?: string }>;
  close(): Promise<void>;
}

/** What serves DNS: this process's data plane, or the cluster's workers. */
export interface DataSide {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  /** DoT/DoH addresses with their bound ports, when this process knows them (not from a cluster primary). */
  readonly encrypted?: { readonly dot: readonly { host: string; port: number }[]; readonly doh: readonly { host: string; port: number }[] };
  close(): Promise<void>;
  /** Cluster workers: passes a reopen on to them; says what was done. */
  reopenFiles?(): string;
}

/**
 * Control plane first (the HTTP endpoint comes up before the lists load, so /readyz can say
 * "loading"), then the data side; ready only once DNS is served. Teardown runs in reverse, and a
 * data side that fails to start takes the control plane down with it.
 */
export async function composeServer(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  metrics: Metrics,
  options: ControlPlaneOptions,
  startData: (control: ControlPlane) => Promise<DataSide>,
): Promise<RunningServer> {
  const health: Health = { ready: false };
  const control = await startControlPlane(config, logger, env, metrics, health, options);
  let data: DataSide;
  try {
    warnIfOpenResolver(config, logger);
    data = await startData(control);
  } catch (error) {
    await control.close();
    throw error;
  }
  health.ready = true;
  const http = { host: control.http.host, port: control.http.port };
  logger.info('fraudwall ready', {
    dns: data.listeners.map((listener) => formatHostPort(listener)),
    ...(config.dot.length > 0 && { dot: (data.encrypted?.dot ?? config.dot).map((listener) => formatHostPort(listener)) }),
    ...(config.doh.length > 0 && { doh: (data.encrypted?.doh ?? config.doh).map((listener) => formatHostPort(listener)) }),
    http: formatHostPort(http),
    ...(control.warningPage ? { warningPage: formatHostPort(control.warningPage) } : {}),
    upstream: config.upstream.map((upstream) => upstream.label),
    blockMode: config.blockMode,
    admin: control.adminEnabled ? 'enabled' : 'read-only',
    state: config.state,
    workers: config.workers,
    pid: process.pid,
  });
  return {
    listeners: data.listeners,
    encrypted: data.encrypted ?? { dot: config.dot, doh: config.doh },
    http,
    warningPage: control.warningPage,
    registry: control.registry,
    metrics,
    reload: control.reload,
    reloadAdminToken: control.reloadAdminToken,
    reloadWarningPageTemplate: control.reloadWarningPageTemplate,
    async reopenFiles() {
      const results = await reopenFiles();
      const workers = data.reopenFiles?.();
      return workers === undefined ? { results } : { results, workers };
    },
    async close() {
      health.ready = false;
      await data.close();
      await control.close();
    },
  };
}
