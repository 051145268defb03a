// --workers N: this process becomes the primary. It runs the control plane (lists, admin API,
// /metrics, persistence) and N node:cluster workers run the data plane on the listen sockets
// node:cluster shares among them (the primary holds each UDP socket and every worker reads from
// it; dgram's reusePort, one socket per worker, measured no cheaper per query: README, Multi-core).
// Each list change reaches every worker before the admin API answers; /metrics adds up every
// worker's series; with --events-url the primary runs the one events pipeline for all workers.
import type { Config } from '../../config/options.js';
import type { Logger } from '../../log/logger.js';
import { Metrics } from '../../metrics/metrics.js';
import { VERSION } from '../../version.js';
import { composeServer, type RunningServer } from '../compose-server.js';
import { startEvents } from '../data-plane.js';
import type { EventsPipeline } from '../../events/events-pipeline.js';
import { WorkerPool } from './worker-pool.js';

/** The primary answers explain requests only: a small verdict cache is plenty. */
const PRIMARY_VERDICT_CACHE = 1000;

/** The primary of `--workers N`: control plane here, data plane in N workers. */
export async function startCluster(config: Config, logger: Logger, env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const metrics = new Metrics(VERSION);
  let pool: WorkerPool | undefined;
  let events: EventsPipeline | undefined;
  const options = {
    verdictCacheSize: PRIMARY_VERDICT_CACHE,
    renderMetrics: async () =>
      pool ? pool.renderMetrics() : { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() },
    events: () => events,
  };
  return composeServer(config, logger, env, metrics, options, async (control) => {
    const registry = control.registry;
    const workers = new WorkerPool(config, logger, metrics, { records: registry.all(), generation: registry.generation });
    pool = workers;
    // Registered before the workers start: a change while they start reaches them after their start message.
    registry.afterSwap((records, generation) => workers.propagate(records, generation));
    try {
      // Events: one pipeline here (one dedupe window across workers, one spool, one delivery order); each
      // worker's gate sends only the lookups it admits.
      events = await startEvents(config, logger, metrics);
      const pipeline = events;
      if (pipeline) workers.onBlocked = (lookup) => pipeline.record(lookup);
      const listeners = await workers.start();
      return {
        listeners,
        close: async () => {
          await workers.stop();
          await pipeline?.close();
        },
        // Each worker reopens its own query log and logs what failed; the primary does not wait.
        reopenFiles: () => {
          for (const member of workers.members()) workers.send(member, { type: 'reopen' });
          return `asked ${workers.members().length} worker(s) to reopen their files`;
        },
      };
    } catch (error) {
      await workers.stop();
      await events?.close();
      throw error;
    }
  });
}
