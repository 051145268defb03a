// Turns on the fleet's shared list state (--redis): two Redis connections (commands, and one that
// blocks reading the change stream), the follower, and the admin API's shared list changes.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from '../config/options.js';
import { FraudwallError } from '../errors.js';
import type { ListRegistry } from '../lists/list-registry.js';
import type { StateStore } from '../lists/state-store.js';
import type { Logger } from '../log/logger.js';
import { FleetMetrics } from '../metrics/fleet-metrics.js';
import type { Registry } from 'prom-client';
import { FleetSync } from './fleet-sync.js';
import { RedisListStore, type RedisCommands } from './redis-list-store.js';
import { SharedListService } from './shared-list-service.js';
import { RedisUrlListShare } from './url-list-share.js';
import type { UrlListShare } from '../lists/url-list.js';

export type FleetSettings = Pick<Config, 'redis' | 'redisFile' | 'redisKeyPrefix' | 'redisShareUrlLists' | 'adminMaxEntries' | 'state'>;

/** The Redis URL is missing, unreadable or not redis:// / rediss://. */
export class RedisConfigError extends FraudwallError {
  constructor(message: string) {
    super('E_REDIS_CONFIG', message);
  }
}

/** Reconnect quickly at first, never waiting more than a second between attempts. */
export const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 1000);

/** How long the start waits for the first sync before serving the persisted lists. */
const FIRST_SYNC_WAIT_MS = 3000;

/** The URL from --redis / FRAUDWALL_REDIS or from --redis-file; undefined when the fleet is off. */
export async function readRedisUrl(settings: Pick<Config, 'redis' | 'redisFile'>): Promise<string | undefined> {
  if (settings.redis !== 'off' && settings.redisFile !== 'off') {
    throw new RedisConfigError('give the Redis URL once: --redis (or FRAUDWALL_REDIS) or --redis-file, not both');
  }
  let url = settings.redis === 'off' ? undefined : settings.redis;
  if (settings.redisFile !== 'off') {
    try {
      url = (await readFile(settings.redisFile, 'utf8')).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new RedisConfigError(`cannot read the Redis URL file ${settings.redisFile} (${code}); fix --redis-file`);
    }
  }
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisConfigError(`the Redis URL is not a URL; write it as redis://[user:password@]host:port/db or rediss://… for TLS`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisConfigError(`the Redis URL must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  }
  return url;
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export interface Fleet {
  /** This instance's id in the fleet (host, pid and a random part). */
  readonly instanceId: string;
  readonly lists: SharedListService;
  readonly sync: FleetSync;
  /** With --redis-share-url-lists: one download per fleet for each URL list. */
  readonly urlShare: UrlListShare | undefined;
  close(): Promise<void>;
}

export interface FleetDeps {
  readonly registry: ListRegistry;
  readonly state: StateStore;
  readonly logger: Logger;
  readonly metricsRegistry: Registry;
  readonly persistedVersions: ReadonlyMap<string, number>;
  readonly onChange?: (result: 'accepted' | 'rejected') => void;
}

/**
 * Connects in the background: with Redis down the instance still starts, serves the lists from its
 * state directory and says so; it catches up once Redis answers.
 */
export async function startFleet(url: string, settings: FleetSettings, deps: FleetDeps): Promise<Fleet> {
  const { logger } = deps;
  const options = {
    url,
    // A command while disconnected fails at once instead of waiting in a queue: a push answers 503
    // now, not a silent local-only change later.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 1000 },
  };
  // Loaded only when --redis is on: a lone instance never pays for the client.
  const { createClient } = await import('redis');
  const commands = createClient(options);
  const blocking = createClient(options);
  let lastError = '';
  for (const client of [commands, blocking]) {
    // node-redis reports every failed reconnect here; the follower logs the outage once.
    client.on('error', (error: Error) => {
      if (error.message !== lastError) logger.debug('redis connection problem', { err: error.message });
      lastError = error.message;
    });
  }
  const connected = (): boolean => commands.isReady && blocking.isReady;
  const asCommands = (client: typeof commands): RedisCommands => ({ sendCommand: (args) => client.sendCommand(args) });
  const store = new RedisListStore(asCommands(commands), settings.redisKeyPrefix);
  const stream = new RedisListStore(asCommands(blocking), settings.redisKeyPrefix);
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  let sync: FleetSync | undefined;
  const metrics = new FleetMetrics(deps.metricsRegistry, () => ({ connected: connected(), lists: sync?.lists() ?? [] }));
  sync = new FleetSync({
    registry: deps.registry,
    state: deps.state,
    store,
    stream,
    connected,
    logger,
    metrics,
    persistedVersions: deps.persistedVersions,
    origin: instanceId,
  });
  for (const client of [commands, blocking]) client.connect().catch(() => undefined);
  sync.start();
  const where = redactUrl(url);
  if (await sync.waitForFirstSync(FIRST_SYNC_WAIT_MS)) {
    logger.info('fleet: shared lists in sync with Redis', { redis: where, lists: sync.lists().length });
  } else {
    const apiLists = deps.registry.all().filter((record) => record.source === 'api').length;
    logger.warn(
      `fleet: Redis at ${where} is not reachable: serving the ${apiLists} shared list(s) persisted in ${settings.state}; ` +
        'list changes answer 503 until it is back, then this instance catches up',
    );
  }
  const lists = new SharedListService(deps.registry, store, sync, logger, {
    adminMaxEntries: settings.adminMaxEntries,
    instanceId,
    redisTimeoutMs: 1500,
    applyWaitMs: 10_000,
    compactAfter: 64,
    connected,
    ...(deps.onChange ? { onChange: deps.onChange } : {}),
  });
  return {
    instanceId,
    lists,
    sync,
    urlShare: settings.redisShareUrlLists ? new RedisUrlListShare(asCommands(commands), settings.redisKeyPrefix, instanceId, connected) : undefined,
    async close() {
      const stopping = sync.stop();
      for (const client of [commands, blocking]) client.destroy();
      await stopping;
    },
  };
}
