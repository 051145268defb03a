// Follows the fleet's change stream and keeps this instance's shared lists at Redis's versions.
import type { ListRecord, ListRegistry } from '../lists/list-registry.js';
import { canonicalEntries } from '../lists/list-service.js';
import type { StateStore } from '../lists/state-store.js';
import type { Logger } from '../log/logger.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { parseList, type ParsedList } from '../policy/parse-list.js';
import type { ListKind } from '../query/rule.js';
import { applyPackedDeltas, type Delta } from '../lists/packed-delta.js';
import { packedCanonicalText } from '../lists/packed-text.js';
import { applyDelta, RECORD_FORMAT, SharedWriteError, type RedisListStore, type StreamChange } from './redis-list-store.js';

/** A put this instance made: its own push is applied from memory instead of read back from Redis. */
export interface OwnPut {
  /** The pushed list with every entry once (as Redis has it). */
  readonly list: ParsedList;
}

/** What a waiting push learns when its version is applied here. */
export interface Applied {
  readonly generation: number;
  readonly added?: number;
  readonly removed?: number;
}

interface Waiter {
  readonly version: number;
  readonly resolve: (applied: Applied | undefined) => void;
}

/** A list's next state inside one batch of changes: a base list and the deltas still to fold in. */
type Working =
  | { readonly deleted: true; readonly version: number }
  | {
      readonly deleted: false;
      version: number;
      readonly base: ParsedList;
      readonly updatedAt: number;
      readonly deltas: (Delta & { readonly version: number })[];
    };

export interface FleetSyncDeps {
  readonly registry: ListRegistry;
  readonly state: StateStore;
  /** Store on the command connection (reads, resync). */
  readonly store: RedisListStore;
  /** Store on the connection that blocks in XREAD. */
  readonly stream: RedisListStore;
  readonly connected: () => boolean;
  readonly logger: Logger;
  readonly metrics: FleetMetrics;
  /** Versions of the lists persisted in the state directory, as loaded at start. */
  readonly persistedVersions: ReadonlyMap<string, number>;
  /** How often to compare every list's version with Redis even when the stream looked complete. */
  readonly checkEveryMs?: number;
  readonly origin: string;
}

const BLOCK_MS = 1000;
const BATCH = 1000;
const RETRY_MS = 200;
/** Delta outcomes kept for the pushes waiting on them (oldest dropped first). */
const RECENT_DELTAS = 256;
/** How long after a change its list is written to the state directory (bursts are written once). */
const SAVE_DELAY_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Applies the change stream in version order. Each list has a version; a stream entry one above
 * the local version is applied as it is (a delta folds its entries in, exactly as Redis's own
 * snapshot would), anything further ahead means a change was missed and the whole list is read
 * from Redis. After every (re)connect — and every `checkEveryMs` — all versions are compared:
 * lists Redis has newer are read, lists this instance has newer (Redis was emptied or restored
 * from an old dump) are written back, the higher version always winning.
 */
export class FleetSync {
  private readonly versions = new Map<string, number>();
  private readonly remote = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly deltaStats = new Map<string, { added: number; removed: number }>();
  private readonly unsaved = new Set<string>();
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  readonly ownPuts = new Map<string, OwnPut>();
  private lastId = '0-0';
  private needResync = true;
  private stopped = false;
  private synced = false;
  private everSynced = false;
  private outage = false;
  private lastCheck = 0;
  private loop: Promise<void> | undefined;
  private readonly firstSync: Promise<void>;
  private markFirstSync!: () => void;

  constructor(private readonly deps: FleetSyncDeps) {
    for (const [name, version] of deps.persistedVersions) this.versions.set(name, version);
    this.firstSync = new Promise((resolve) => (this.markFirstSync = resolve));
  }

  start(): void {
    this.loop = this.run();
  }

  /** Resolves true once the first resync is done, false if `ms` passed first. */
  async waitForFirstSync(ms: number): Promise<boolean> {
    return Promise.race([this.firstSync.then(() => true), sleep(ms).then(() => false)]);
  }

  get isSynced(): boolean {
    return this.synced && this.deps.connected();
  }

  versionOf(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  /** Per list: local and newest known remote version (for metrics). */
  lists(): { name: string; local: number; remote: number }[] {
    const names = new Set([...this.versions.keys(), ...this.remote.keys()]);
    return [...names].sort().map((name) => ({ name, local: this.versionOf(name), remote: Math.max(this.remote.get(name) ?? 0, this.versionOf(name)) }));
  }

  /** Resolves once `version` of `name` (or a later one) serves here, or with undefined after `ms`. */
  waitFor(name: string, version: number, ms: number): Promise<Applied | undefined> {
    if (this.versionOf(name) >= version) return Promise.resolve(this.applied(name, version));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        remove();
        resolve(undefined);
      }, ms);
      const waiter: Waiter = {
        version,
        resolve: (applied) => {
          clearTimeout(timer);
          resolve(applied);
        },
      };
      const list = this.waiters.get(name) ?? [];
      list.push(waiter);
      this.waiters.set(name, list);
      const remove = (): void => {
        const left = (this.waiters.get(name) ?? []).filter((w) => w !== waiter);
        if (left.length === 0) this.waiters.delete(name);
        else this.waiters.set(name, left);
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.flush();
  }

  private async run(): Promise<void> {
    const checkEveryMs = this.deps.checkEveryMs ?? 30_000;
    while (!this.stopped) {
      if (!this.deps.connected()) {
        this.lost('the connection is down');
        await sleep(50);
        continue;
      }
      try {
        if (this.needResync || Date.now() - this.lastCheck > checkEveryMs) {
          await this.resync();
          this.needResync = false;
          this.lastCheck = Date.now();
          if (this.outage) this.deps.logger.info('Redis is reachable again: shared lists caught up', { lists: this.versions.size });
          this.outage = false;
          this.synced = true;
          this.everSynced = true;
          this.markFirstSync();
        }
        const changes = await this.deps.stream.readStream(this.lastId, BLOCK_MS, BATCH);
        if (changes.length > 0) {
          await this.apply(changes, undefined);
          this.lastId = changes[changes.length - 1]!.id;
        }
      } catch (error) {
        if (this.stopped) break;
        this.needResync = true;
        this.deps.metrics.syncErrors.labels(this.deps.connected() ? 'apply' : 'connection').inc();
        this.lost(error instanceof Error ? error.message : String(error));
        await sleep(RETRY_MS);
      }
    }
  }

  private lost(reason: string): void {
    this.synced = false;
    this.needResync = true;
    // Before the first sync the start says what it serves; an outage is news only after one.
    if (this.outage || this.stopped || !this.everSynced) return;
    this.outage = true;
    this.deps.logger.warn('lost the fleet Redis: serving the last lists; list changes answer 503 until it is back', { reason });
  }

  /** Compares every list's version with Redis, writes back what this instance has newer, reads what Redis has newer. */
  private async resync(): Promise<void> {
    const { store, registry, logger } = this.deps;
    // Taken first: whatever is written after it comes through the stream, so nothing falls between.
    const lastId = await store.lastStreamId();
    const remote = await store.versions();
    for (const [name, r] of remote) this.noteRemote(name, r.version);
    const behind: StreamChange[] = [];
    for (const record of registry.all()) {
      // RPZ zones pushed before the fleet stay local: the fleet shares list entries, not zones.
      if (record.source !== 'api' || record.list.packed.rpzActions.length > 0) continue;
      const name = record.list.name;
      const local = Math.max(this.versionOf(name), 1);
      const theirs = remote.get(name);
      if (theirs !== undefined && theirs.version >= local) continue;
      const seeded = await store.seed(name, local, record.list.kind, record.list.category, packedCanonicalText(record.list), record.updatedAt, this.deps.origin);
      if (seeded > 0) {
        logger.info('wrote a list back to Redis (Redis had an older version or none)', { list: name, version: seeded, redisVersion: theirs?.version ?? 0 });
        if (this.versionOf(name) !== seeded) await this.persist(record.list, record.updatedAt, seeded);
        this.versions.set(name, seeded);
        this.noteRemote(name, seeded);
      }
    }
    for (const [name, r] of remote) {
      if (r.version <= this.versionOf(name)) continue;
      if (r.format > RECORD_FORMAT) {
        this.formatTooNew(name, r.format);
        continue;
      }
      behind.push({ id: lastId, list: name, version: r.version, op: r.deleted ? 'delete' : 'put', origin: '', add: [], remove: [], format: r.format });
    }
    if (behind.length > 0) await this.apply(behind, 'resync');
    this.lastId = lastId;
  }

  private noteRemote(name: string, version: number): void {
    if (version > (this.remote.get(name) ?? 0)) this.remote.set(name, version);
  }

  private formatTooNew(name: string, format: number): void {
    this.deps.metrics.syncErrors.labels('format').inc();
    this.deps.logger.error(`E_REDIS_FORMAT: list "${name}" in Redis has record format ${format}, newer than ${RECORD_FORMAT}: upgrade this instance (it keeps its last copy)`);
  }

  /**
   * Applies a batch in one policy swap. `reason` says why whole lists are read (resync), else a
   * put reads the list unless it is this instance's own, and a gap reads it too. Deltas are folded
   * into the packed list once per list and batch (src/lists/packed-delta.ts), and the policy patches
   * its matchers instead of rebuilding them (src/policy/packed-edit.ts).
   */
  private async apply(changes: readonly StreamChange[], reason: 'resync' | undefined): Promise<void> {
    for (const change of changes) this.noteRemote(change.list, change.version);
    if (!changes.some((change) => change.version > this.versionOf(change.list))) return;
    const { registry, store, metrics, logger } = this.deps;
    const work = new Map<string, Working>();
    const versionIn = (name: string): number => work.get(name)?.version ?? this.versionOf(name);
    await registry.update(async (records, generation) => {
      for (const change of changes) {
        const local = versionIn(change.list);
        if (change.version <= local) continue;
        const existing = records.get(change.list);
        if (existing !== undefined && existing.source !== 'api') {
          metrics.syncErrors.labels('name-taken').inc();
          logger.warn(`shared list "${change.list}" not applied: the name is taken here by ${existing.source} (${existing.origin}); rename one`);
          continue;
        }
        if (change.format > RECORD_FORMAT) {
          this.formatTooNew(change.list, change.format);
          continue;
        }
        if (change.op === 'delete') {
          work.set(change.list, { deleted: true, version: change.version });
          metrics.changesApplied.labels('delete').inc();
          continue;
        }
        const current = work.get(change.list);
        if (change.op === 'delta' && reason === undefined && change.version === local + 1 && (current !== undefined || existing !== undefined)) {
          if (current?.deleted === false) {
            current.deltas.push({ add: change.add, remove: change.remove, version: change.version });
            current.version = change.version;
          } else if (current === undefined) {
            work.set(change.list, { deleted: false, version: change.version, base: existing!.list, updatedAt: Date.now(), deltas: [{ add: change.add, remove: change.remove, version: change.version }] });
          }
          // (A delta right after a delete in the same batch cannot be next in version: it is a gap, read below.)
          if (current?.deleted !== true) {
            metrics.changesApplied.labels('delta').inc();
            continue;
          }
        }
        const own = change.op === 'put' ? this.ownPuts.get(change.origin) : undefined;
        if (own !== undefined) {
          this.ownPuts.delete(change.origin);
          // Already without repeated entries, as Redis (and so every other instance) has it.
          work.set(change.list, { deleted: false, version: change.version, base: own.list, updatedAt: Date.now(), deltas: [] });
          metrics.changesApplied.labels('put').inc();
          continue;
        }
        const shared = await store.read(change.list).catch((error: unknown) => {
          if (error instanceof SharedWriteError && error.reason === 'format') return 'format' as const;
          throw error;
        });
        if (shared === 'format') {
          metrics.syncErrors.labels('format').inc();
          continue;
        }
        metrics.snapshotReloads.labels(reason ?? (change.op === 'put' ? 'put' : 'gap')).inc();
        if (shared === undefined) continue;
        this.noteRemote(change.list, shared.version);
        if (shared.deleted) work.set(change.list, { deleted: true, version: shared.version });
        else {
          const text = shared.text ?? [...(shared.entries ?? [])].join('\n');
          const base = parseList(text, { name: change.list, kind: shared.kind, category: shared.category });
          work.set(change.list, { deleted: false, version: shared.version, base, updatedAt: shared.updatedAt, deltas: [] });
        }
        metrics.changesApplied.labels(shared.deleted ? 'delete' : 'put').inc();
      }
      for (const [name, next] of work) {
        const existing = records.get(name);
        if (next.deleted) {
          if (existing?.source === 'api') records.delete(name);
          continue;
        }
        const list = this.fold(name, next);
        records.set(name, { list, source: 'api', origin: 'api', updatedAt: next.updatedAt, generation });
      }
    });
    for (const [name, next] of work) {
      this.versions.set(name, next.version);
      this.unsaved.add(name);
    }
    this.settle(work.keys());
    this.saveSoon();
  }

  /** The base list with the batch's deltas folded in; each delta's outcome is kept for its push. */
  private fold(name: string, next: Extract<Working, { deleted: false }>): ParsedList {
    if (next.deltas.length === 0) return next.base;
    const policy = this.deps.registry.store.current;
    const packed = applyPackedDeltas(next.base, next.deltas, (bytes, start, end, flags) => policy.mayHold(next.base, bytes, start, end, flags));
    if (packed !== undefined) {
      next.deltas.forEach((delta, i) => this.noteDeltaStats(name, delta.version, packed.stats[i]!));
      return packed.list;
    }
    // Lists with entries kept as raw text: the string path (same result, slower).
    const entries = new Set(canonicalEntries(next.base));
    for (const delta of next.deltas) {
      const removed = delta.remove.filter((entry) => entries.has(entry)).length;
      const kept = entries.size - removed;
      applyDelta(entries, delta.add, delta.remove);
      this.noteDeltaStats(name, delta.version, { added: entries.size - kept, removed });
    }
    return parseList([...entries].join('\n'), { name, kind: next.base.kind, category: next.base.category });
  }

  /**
   * Writes changed lists to the state directory shortly after they serve, off the path of the
   * change (Redis holds it; the state directory is what an instance serves when Redis is gone).
   * A burst of changes to one list is written once.
   */
  private saveSoon(): void {
    if (this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saving = this.saving.then(() => this.saveUnsaved());
    }, SAVE_DELAY_MS);
  }

  private async saveUnsaved(): Promise<void> {
    const names = [...this.unsaved];
    this.unsaved.clear();
    for (const name of names) {
      const record = this.deps.registry.get(name);
      try {
        if (record === undefined) await this.deps.state.deleteList(name);
        else if (record.source === 'api') await this.persist(record.list, record.updatedAt, this.versionOf(name));
      } catch (error) {
        this.deps.logger.error('could not save a shared list to the state directory; it serves, but a restart without Redis would not have it: check that --state is writable (saving is tried again with the next change and at shutdown)', { list: name, err: error });
        this.unsaved.add(name);
      }
    }
  }

  /** Writes what is still unsaved now (at shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.saving;
    await this.saveUnsaved();
  }

  /** Remembers what a delta changed, for the push that made it (which may start waiting only after it was applied). */
  private noteDeltaStats(list: string, version: number, stats: { added: number; removed: number }): void {
    this.deltaStats.set(`${list}@${version}`, stats);
    if (this.deltaStats.size > RECENT_DELTAS) this.deltaStats.delete(this.deltaStats.keys().next().value!);
  }

  /** Writes the list to the state directory in slices (a big list never holds the event loop long). */
  private async persist(list: ParsedList, updatedAt: number, version: number): Promise<void> {
    try {
      await this.deps.state.saveParsedList(list, updatedAt, version);
    } catch (error) {
      this.deps.metrics.syncErrors.labels('persist').inc();
      throw error;
    }
  }

  private applied(name: string, version: number, generation = this.deps.registry.generation): Applied {
    const stats = this.deltaStats.get(`${name}@${version}`);
    return stats === undefined ? { generation } : { generation, ...stats };
  }

  private settle(names: Iterable<string>): void {
    const generation = this.deps.registry.generation;
    for (const name of names) {
      const waiting = this.waiters.get(name);
      if (waiting === undefined) continue;
      const version = this.versionOf(name);
      const done = waiting.filter((w) => w.version <= version);
      const left = waiting.filter((w) => w.version > version);
      if (left.length === 0) this.waiters.delete(name);
      else this.waiters.set(name, left);
      for (const w of done) w.resolve(this.applied(name, w.version, generation));
    }
  }
}
