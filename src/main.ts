// The composition root. One process (--workers 1) runs the control plane and the data plane side by
// side on one PolicyStore; with --workers N the primary runs the control plane and N cluster workers
// run the data plane (src/cluster/).
import type { Health } from './admin/http-server.js';
import { startCluster } from './cluster/primary.js';
import type { Config } from './config/load-config.js';
import { startControlPlane } from './control-plane.js';
import { startDataPlane, warnIfOpenResolver, type DataPlane } from './data-plane.js';
import type { Logger } from './log/logger.js';
import { Metrics } from './metrics/metrics.js';
import { logReady, type RunningServer } from './running-server.js';
import { VERSION } from './version.js';

export { StartupError } from './startup-error.js';
export type { RunningServer } from './running-server.js';

/**
 * Config → lists → policy → chain → transports. The HTTP endpoint comes up first so /readyz can say
 * "loading"; DNS listeners open only once the initial policy is loaded. Teardown runs in reverse.
 */
export async function startServer(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  if (config.workers > 1) return startCluster(config, logger, env);
  const health: Health = { ready: false };
  const metrics = new Metrics(VERSION);
  const control = await startControlPlane(config, logger, env, metrics, health, {
    verdictCacheSize: config.verdictCacheSize,
    renderMetrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
  });
  let data: DataPlane;
  try {
    warnIfOpenResolver(config, logger);
    data = await startDataPlane(config, logger, metrics, { store: control.registry.store, verdictCache: control.verdictCache });
  } catch (error) {
    await control.close();
    throw error;
  }
  health.ready = true;
  metrics.workersReady.set(1);
  const http = { host: control.http.host, port: control.http.port };
  logReady(logger, config, { listeners: data.listeners, http, adminEnabled: control.adminEnabled });
  return {
    listeners: data.listeners,
    http,
    registry: control.registry,
    metrics,
    reload: control.reload,
    async close() {
      health.ready = false;
      await data.close();
      await control.close();
    },
  };
}
