// How --workers shares the limits: totals that bound memory or upstream load are split, per-client
// limits are not (see workerConfig).
import { describe, expect, it } from 'vitest';
import { workerConfig } from '../../../src/app/cluster/worker-config.js';
import { loadConfig } from '../../../src/config/load-config.js';

const configWith = (flags: Record<string, string>) => loadConfig({ flags, env: {} });

describe('workerConfig', () => {
  it('splits cache, verdict-cache, in-flight and TCP connection totals among the workers, rounding up', () => {
    const config = configWith({
      workers: '3',
      'cache-size': '1000',
      'cache-max-bytes': '3000001',
      'verdict-cache-size': '10',
      'max-in-flight': '100',
      'tcp-max-connections': '5',
    });
    const share = workerConfig(config);
    expect(share.cacheSize).toBe(334);
    expect(share.cacheMaxBytes).toBe(1000001);
    expect(share.verdictCacheSize).toBe(4);
    expect(share.maxInFlight).toBe(34);
    expect(share.tcpMaxConnections).toBe(2);
  });

  it('keeps a disabled cache disabled and per-client limits whole', () => {
    const config = configWith({ workers: '4', 'cache-size': '0', 'rate-limit': '500', 'tcp-max-connections-per-client': '8' });
    const share = workerConfig(config);
    expect(share.cacheSize).toBe(0);
    expect(share.rateLimit).toBe(500);
    expect(share.tcpMaxConnectionsPerClient).toBe(8);
    expect(share.workers).toBe(4);
  });

  it('rejects a worker count outside 1..64', () => {
    expect(() => configWith({ workers: '0' })).toThrow(/workers/);
    expect(() => configWith({ workers: '65' })).toThrow(/workers/);
    expect(configWith({}).workers).toBe(1);
  });
});
