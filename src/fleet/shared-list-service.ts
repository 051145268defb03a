// Admin API list changes with --redis: validated here, once, then written to Redis, which orders
// them; this instance applies its own change the way every other instance does, from the stream.
import type { ListRegistry } from '../lists/list-registry.js';
import {
  canonicalEntries,
  checkCategory,
  checkEntryCount,
  checkListName,
  checkWritable,
  ListChangeError,
  parseEntries,
  trackedChange,
  type ListChangeResult,
  type ListChanges,
} from '../lists/list-service.js';
import type { Logger } from '../log/logger.js';
import type { ListFormat } from '../config/options.js';
import type { ListKind } from '../query/rule.js';
import type { FleetSync } from './fleet-sync.js';
import { distinctEntries } from '../lists/packed-delta.js';
import { packedCanonicalText, packedCanonicalTextInSlices } from '../lists/packed-text.js';
import { SharedWriteError, type RedisListStore } from './redis-list-store.js';

export interface SharedListServiceOptions {
  readonly adminMaxEntries: number;
  /** Unique per process: the stream entries of its writes carry it. */
  readonly instanceId: string;
  /** How long a push waits for Redis before answering 503 (large puts get more, see deadlineFor). */
  readonly redisTimeoutMs: number;
  /** How long a push waits to see its version applied here before answering anyway. */
  readonly applyWaitMs: number;
  /** Deltas kept beside a list's snapshot before they are folded into a new one. */
  readonly compactAfter: number;
  readonly connected: () => boolean;
  readonly onChange?: (result: 'accepted' | 'rejected') => void;
}

function unavailable(detail: string): ListChangeError {
  return new ListChangeError(
    'unavailable',
    `the fleet's Redis ${detail}: the change was NOT made (so no instance diverges); this instance keeps serving its last lists; retry when Redis is back`,
  );
}

function unanswered(ms: number): ListChangeError {
  return new ListChangeError(
    'unavailable',
    `the fleet's Redis did not answer within ${ms} ms: the change may or may not have been made; check GET /v1/lists/NAME (its version) on any instance before sending it again`,
  );
}

/** Large writes get longer: about 10 MB a second on top of the base deadline. */
function deadlineFor(baseMs: number, bytes: number): number {
  return baseMs + Math.ceil(bytes / 10_000);
}

export class SharedListService implements ListChanges {
  private sequence = 0;

  constructor(
    private readonly registry: ListRegistry,
    private readonly store: RedisListStore,
    private readonly sync: FleetSync,
    private readonly logger: Logger,
    private readonly options: SharedListServiceOptions,
  ) {}

  async put(who: string, name: string, kind: ListKind, category: string, text: string, format: ListFormat = 'list'): Promise<ListChangeResult> {
    return this.tracked(async () => {
      checkListName(name);
      checkCategory(category);
      if (format === 'rpz') {
        throw new ListChangeError(
          'invalid',
          'RPZ zones are not shared through Redis (the fleet shares list entries): put the zone in the lists directory of each instance, or push it as list lines',
        );
      }
      const list = parseEntries(name, kind, category, text);
      this.checkSize(list.size);
      const existing = this.registry.get(name);
      checkWritable(name, existing);
      // Distinct canonical entries, in list order: what Redis stores and every instance serves
      // (deduplicated on the packed bytes, written as text from them: no string per entry).
      const distinct = distinctEntries(list);
      const canonical = packedCanonicalText(distinct);
      const origin = this.nextOrigin();
      this.sync.ownPuts.set(origin, { list: distinct });
      let version: number;
      try {
        version = await this.write((store) => store.put(name, list.kind, list.category, canonical, Date.now(), origin), canonical.length);
      } finally {
        // Applied (and removed) by the stream, or never written: either way it is not needed any more.
        setTimeout(() => this.sync.ownPuts.delete(origin), this.options.applyWaitMs * 2).unref();
      }
      const applied = await this.sync.waitFor(name, version, this.options.applyWaitMs);
      this.audit(who, existing === undefined ? 'create' : 'replace', name, { entries: list.size, version });
      return { name, kind: list.kind, category: list.category, entries: list.size, generation: applied?.generation ?? this.registry.generation, created: existing === undefined, version };
    });
  }

  async delta(who: string, name: string, addText: string, removeText: string): Promise<ListChangeResult> {
    return this.tracked(async () => {
      checkListName(name);
      const existing = this.registry.get(name);
      if (existing === undefined) throw new ListChangeError('not-found', `list "${name}" does not exist; create it with PUT /v1/lists/${name}`);
      checkWritable(name, existing);
      const { kind, category } = existing.list;
      const add = canonicalEntries(parseEntries(name, kind, category, addText));
      const remove = canonicalEntries(parseEntries(name, kind, category, removeText));
      // The exact size needs a pass over the list; only lists near the limit pay for it.
      if (existing.list.size + add.length > this.options.adminMaxEntries) {
        const merged = new Set(canonicalEntries(existing.list));
        for (const entry of remove) merged.delete(entry);
        for (const entry of add) merged.add(entry);
        this.checkSize(merged.size);
      }
      const origin = this.nextOrigin();
      const { version, pending } = await this.write((store) => store.delta(name, kind, add, remove, Date.now(), origin));
      const applied = await this.sync.waitFor(name, version, this.options.applyWaitMs);
      if (pending >= this.options.compactAfter && applied !== undefined) void this.compact(name, version);
      const entries = this.registry.get(name)?.list.size ?? existing.list.size;
      this.audit(who, 'delta', name, { added: applied?.added, removed: applied?.removed, entries, version });
      return {
        name,
        kind,
        category,
        entries,
        generation: applied?.generation ?? this.registry.generation,
        ...(applied?.added !== undefined ? { added: applied.added, removed: applied.removed } : {}),
        version,
      };
    });
  }

  async delete(who: string, name: string): Promise<{ name: string; generation: number; version: number }> {
    return this.tracked(async () => {
      checkListName(name);
      const existing = this.registry.get(name);
      if (existing === undefined) throw new ListChangeError('not-found', `list "${name}" does not exist`);
      checkWritable(name, existing);
      const version = await this.write((store) => store.delete(name, Date.now(), this.nextOrigin()));
      const applied = await this.sync.waitFor(name, version, this.options.applyWaitMs);
      this.audit(who, 'delete', name, { version });
      return { name, generation: applied?.generation ?? this.registry.generation, version };
    });
  }

  /** Runs one write with a deadline; refusals and an unreachable Redis become ListChangeErrors. */
  private async write<T>(work: (store: RedisListStore) => Promise<T>, bytes = 0): Promise<T> {
    if (!this.options.connected()) throw unavailable('is not reachable');
    let timer: NodeJS.Timeout | undefined;
    const ms = deadlineFor(this.options.redisTimeoutMs, bytes);
    const deadline = new Promise<never>((_, reject) => {
      // setImmediate: after a long synchronous stretch (a big list being applied) the timer and the
      // reply are due together; the check phase runs after I/O, so a reply that did arrive wins.
      timer = setTimeout(() => setImmediate(() => reject(unanswered(ms))), ms);
    });
    try {
      return await Promise.race([work(this.store), deadline]);
    } catch (error) {
      if (error instanceof ListChangeError) throw error;
      if (error instanceof SharedWriteError) {
        if (error.reason === 'not-found') throw new ListChangeError('not-found', `${error.message}; create it with PUT`);
        if (error.reason === 'kind') throw new ListChangeError('changed', error.message);
        throw new ListChangeError('unavailable', error.message);
      }
      throw unavailable(`failed (${error instanceof Error ? error.message : String(error)})`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Folds the deltas into a fresh snapshot so a reader never replays a long tail. */
  private async compact(name: string, version: number): Promise<void> {
    const record = this.registry.get(name);
    if (record === undefined || this.sync.versionOf(name) !== version) return;
    try {
      // Made in slices: compaction is off the change's path and must not hold DNS answers meanwhile.
      const text = await packedCanonicalTextInSlices(record.list);
      if (this.sync.versionOf(name) !== version) return;
      await this.store.compact(name, version, text);
    } catch (error) {
      this.logger.warn('could not fold the deltas of a shared list into a snapshot; the next change tries again', { list: name, err: error });
    }
  }

  private nextOrigin(): string {
    this.sequence += 1;
    return `${this.options.instanceId}:${this.sequence}`;
  }

  private checkSize(entries: number): void {
    checkEntryCount(entries, this.options.adminMaxEntries);
  }

  private tracked<T>(work: () => Promise<T>): Promise<T> {
    return trackedChange(work, this.options.onChange);
  }

  private audit(who: string, action: string, list: string, fields: Record<string, unknown>): void {
    this.logger.info('audit: list changed', { who, action, list, shared: true, ...fields });
  }
}
