import type { Config } from '../../config/options.js';

/**
 * The limits that bound memory or upstream load are totals: each worker gets its share. Per-client
 * limits (rate limit, TCP connections per client) stay per worker: the kernel does not spread one
 * client's packets evenly, and halving them could throttle a legitimate client.
 */
export function workerConfig(config: Config): Config {
  const share = (total: number): number => (total === 0 ? 0 : Math.max(1, Math.ceil(total / config.workers)));
  return {
    ...config,
    cacheSize: share(config.cacheSize),
    cacheMaxBytes: share(config.cacheMaxBytes),
    verdictCacheSize: share(config.verdictCacheSize),
    maxInFlight: share(config.maxInFlight),
    tcpMaxConnections: share(config.tcpMaxConnections),
  };
}
