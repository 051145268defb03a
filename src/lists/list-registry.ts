import type { Logger } from '../log/logger.js';
import type { ParsedList } from '../policy/parse-list.js';
import { Policy } from '../policy/policy.js';
import { PolicyStore } from '../policy/policy-store.js';
import type { VerdictCache } from '../policy/verdict-cache.js';
import { LOOKALIKES_OFF, type LookalikeSettings } from '../policy/lookalike-verdict.js';

export type ListSource = 'file' | 'api' | 'url';

/** One named list in effect, with where it came from. */
export interface ListRecord {
  readonly list: ParsedList;
  readonly source: ListSource;
  /** File path, URL, or "api". */
  readonly origin: string;
  /** Unix milliseconds of the last accepted change to this list. */
  readonly updatedAt: number;
  /** Policy generation in which this list last changed. */
  readonly generation: number;
}

/** What the admin API and `fraudwall lists` show for a list. */
export interface ListInfo {
  readonly name: string;
  readonly kind: string;
  readonly category: string;
  readonly entries: number;
  readonly skipped: number;
  readonly source: ListSource;
  readonly origin: string;
  readonly generation: number;
  readonly updatedAt: string;
}

/** Receives the list set after every swap (metrics gauges, for instance). */
export type ListsObserver = (records: readonly ListRecord[], generation: number) => void;

/** Carries a new policy to other copies of it (cluster workers); must not throw. */
export type PolicyPropagator = (records: readonly ListRecord[], generation: number) => Promise<void>;

/**
 * Lists are combined in name order, so precedence between equal-depth blocks never depends on load order.
 * Only the array is new: the Policy built from it references each list's packed entries, so lists that
 * did not change are shared by the live and the next policy, never copied.
 */
function sortedLists(records: ReadonlyMap<string, ListRecord>): ParsedList[] {
  return [...records.values()].sort((a, b) => (a.list.name < b.list.name ? -1 : 1)).map((record) => record.list);
}

/**
 * The set of named lists behind the live policy. Every change — an API push, a file reload, a URL
 * refresh — goes through `update`, which runs one at a time: it builds a complete new Policy off to
 * the side from the changed set and swaps one reference in the PolicyStore. Queries keep using the
 * policy they started with; nothing is ever half-built, and at most one new policy exists beside the
 * live one (bounded memory during a swap).
 */
export class ListRegistry {
  readonly store: PolicyStore;
  private records: ReadonlyMap<string, ListRecord>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly observers: ListsObserver[] = [];
  private readonly propagators: PolicyPropagator[] = [];

  constructor(
    initial: readonly ListRecord[],
    cache: VerdictCache,
    private readonly logger: Logger,
    lookalikeSettings: LookalikeSettings = LOOKALIKES_OFF,
  ) {
    this.records = new Map(initial.map((record) => [record.list.name, record]));
    this.store = new PolicyStore(new Policy(sortedLists(this.records), 1), cache, lookalikeSettings);
  }

  get generation(): number {
    return this.store.current.generation;
  }

  get(name: string): ListRecord | undefined {
    return this.records.get(name);
  }

  all(): readonly ListRecord[] {
    return [...this.records.values()].sort((a, b) => (a.list.name < b.list.name ? -1 : 1));
  }

  info(record: ListRecord): ListInfo {
    return {
      name: record.list.name,
      kind: record.list.kind,
      category: record.list.category,
      entries: record.list.size,
      skipped: record.list.skipped.length,
      source: record.source,
      origin: record.origin,
      generation: record.generation,
      updatedAt: new Date(record.updatedAt).toISOString(),
    };
  }

  onChange(observer: ListsObserver): void {
    this.observers.push(observer);
    observer(this.all(), this.generation);
  }

  /**
   * `propagate` runs inside each update, after the swap: the update (and so the admin API's answer)
   * completes only once every copy of the policy is current, and the next update waits for it, so
   * no copy ever holds more than the old and the new policy.
   */
  afterSwap(propagate: PolicyPropagator): void {
    this.propagators.push(propagate);
  }

  /**
   * Applies `change` to a copy of the list set and swaps in a policy built from the result.
   * `change` gets the generation the new policy will have (to stamp changed records) and may throw
   * to reject the update, leaving everything as it was. Updates are serialized.
   */
  update<T>(change: (records: Map<string, ListRecord>, nextGeneration: number) => Promise<T> | T): Promise<{ result: T; generation: number }> {
    const run = async (): Promise<{ result: T; generation: number }> => {
      const nextGeneration = this.store.current.generation + 1;
      const next = new Map(this.records);
      const result = await change(next, nextGeneration);
      const started = performance.now();
      const policy = new Policy(sortedLists(next), nextGeneration);
      this.store.swap(policy);
      this.records = next;
      this.logger.debug('policy swapped', { generation: nextGeneration, buildMs: Math.round(performance.now() - started) });
      const all = this.all();
      for (const observer of this.observers) observer(all, nextGeneration);
      for (const propagate of this.propagators) await propagate(all, nextGeneration);
      return { result, generation: nextGeneration };
    };
    const done = this.queue.then(run, run);
    this.queue = done.catch(() => undefined);
    return done;
  }
}
