import { Counter, Gauge, type Registry } from 'prom-client';

/** How a follower brought a list up to date. */
export const SYNC_APPLY_OPS = ['put', 'delta', 'delete'] as const;
/** Why a list was read whole from Redis instead of applying a stream entry. */
export const SNAPSHOT_REASONS = ['put', 'gap', 'resync'] as const;
/** What went wrong while following Redis. */
export const SYNC_ERROR_REASONS = ['connection', 'format', 'name-taken', 'apply', 'persist'] as const;

/** The fleet's shared list state (--redis): connection, per-list version and lag, what was applied. */
export interface FleetState {
  readonly connected: boolean;
  /** Per list: the version this instance serves and the newest version Redis is known to have. */
  readonly lists: readonly { readonly name: string; readonly local: number; readonly remote: number }[];
}

/**
 * Metrics of the Redis-shared list state, registered on the process registry. Labels carry list
 * names (configuration, bounded by what operators push) and fixed reasons, never a domain.
 */
export class FleetMetrics {
  readonly changesApplied: Counter<'op'>;
  readonly snapshotReloads: Counter<'reason'>;
  readonly syncErrors: Counter<'reason'>;

  constructor(registry: Registry, state: () => FleetState) {
    new Gauge({
      name: 'fraudwall_redis_connected',
      help: '1 while this instance is connected to the fleet Redis (--redis), else 0',
      registers: [registry],
      collect() {
        this.set(state().connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fraudwall_redis_list_version',
      help: 'version of each shared list this instance serves',
      labelNames: ['list'],
      registers: [registry],
      collect() {
        this.reset();
        for (const list of state().lists) this.labels(list.name).set(list.local);
      },
    });
    new Gauge({
      name: 'fraudwall_redis_list_lag_versions',
      help: 'versions of each shared list that Redis has and this instance has not applied yet',
      labelNames: ['list'],
      registers: [registry],
      collect() {
        this.reset();
        for (const list of state().lists) this.labels(list.name).set(Math.max(0, list.remote - list.local));
      },
    });
    this.changesApplied = new Counter({
      name: 'fraudwall_redis_changes_applied_total',
      help: 'list changes from the fleet change stream applied to this instance, by operation',
      labelNames: ['op'],
      registers: [registry],
    });
    this.snapshotReloads = new Counter({
      name: 'fraudwall_redis_snapshot_reloads_total',
      help: 'shared lists read whole from Redis: put (a replace), gap (a missed change), resync (after (re)connecting)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.syncErrors = new Counter({
      name: 'fraudwall_redis_sync_errors_total',
      help: 'problems following the fleet Redis, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const op of SYNC_APPLY_OPS) this.changesApplied.labels(op).inc(0);
    for (const reason of SNAPSHOT_REASONS) this.snapshotReloads.labels(reason).inc(0);
    for (const reason of SYNC_ERROR_REASONS) this.syncErrors.labels(reason).inc(0);
  }
}
