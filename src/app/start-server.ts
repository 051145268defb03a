// The composition root. One process (--workers 1) runs the control plane and the data plane side by
// side on one PolicyStore; with --workers N the primary runs the control plane and N cluster workers
// run the data plane (src/app/cluster/).
import { startCluster } from './cluster/primary.js';
import type { Config } from '../config/options.js';
import { startDataPlane, type DataPlane } from './data-plane.js';
import type { Logger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import { composeServer, type RunningServer } from './compose-server.js';
import { VERSION } from '../version.js';

export { StartupError } from './startup-error.js';
export type { RunningServer } from './compose-server.js';

/** Config → lists → policy → chain → transports; see composeServer for the order and teardown. */
export async function startServer(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  if (config.workers > 1) return startCluster(config, logger, env);
  const metrics = new Metrics(VERSION);
  let data: DataPlane | undefined;
  const options = {
    verdictCacheSize: config.verdictCacheSize,
    renderMetrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    events: () => data?.events,
  };
  return composeServer(config, logger, env, metrics, options, async (control) => {
    data = await startDataPlane(config, logger, metrics, { store: control.registry.store, verdictCache: control.verdictCache });
    metrics.workersReady.set(1);
    return data;
  });
}
