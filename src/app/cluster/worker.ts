// A cluster worker: runs the data plane on the listen sockets it shares with its siblings, on a
// policy the primary sends it. It never reads lists, config files or the admin API itself: the
// primary is the one source of truth, so every worker serves exactly the generation it was given.
import { isErrorCode } from '../../errors.js';
import { startDataPlane, type DataPlane } from '../data-plane.js';
import { reopenFiles } from '../../log/reopen-hooks.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { Metrics } from '../../metrics/metrics.js';
import { applyEdit, readListFile } from '../../lists/list-transfer.js';
import type { ParsedList } from '../../policy/parse-list.js';
import { Policy } from '../../policy/policy.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { VerdictCache } from '../../policy/verdict-cache.js';
import { ClientGroups } from '../../policy/client-groups.js';
import { VERSION } from '../../version.js';
import { isToWorker, type FromWorker, type PolicyUpdate, type ToWorker } from './messages.js';

/** Long enough for a sibling's "I saw your probe" to come round through the primary. */
const LOOP_PROBE_SETTLE_MS = 100;
/**
 * Foreign probe names relayed to the primary per second at most. Real probes are a handful a
 * minute (one per upstream per worker); anyone can send queries for probe names, and each relay
 * costs every worker an IPC message, so a flood of them must not become a flood of messages.
 */
const PROBE_RELAYS_PER_SECOND = 20;

/** Lets through at most `perSecond` calls in each second. */
export function perSecondLimit(perSecond: number): () => boolean {
  let second = 0;
  let used = 0;
  return () => {
    const now = Math.floor(performance.now() / 1000);
    if (now !== second) {
      second = now;
      used = 0;
    }
    return ++used <= perSecond;
  };
}

function send(message: FromWorker): void {
  process.send?.(message);
}

/** The lists a worker holds, by name; an update brings only the lists that changed. */
class WorkerLists {
  private lists = new Map<string, ParsedList>();
  /** Per-client policy groups from the start config (a change needs a restart, as in one process). */
  groups: ClientGroups | undefined;

  async apply(update: PolicyUpdate, previous?: Policy): Promise<Policy> {
    const next = new Map<string, ParsedList>();
    for (const encoded of update.lists) next.set(encoded.name, await readListFile(encoded));
    for (const edit of update.edits) {
      const held = this.lists.get(edit.name);
      if (held === undefined) throw new Error(`policy ${update.generation} edits list "${edit.name}" that this worker never received`);
      next.set(edit.name, applyEdit(held, edit));
    }
    const ordered = update.order.map((name) => {
      const list = next.get(name) ?? this.lists.get(name);
      if (list === undefined) throw new Error(`policy ${update.generation} names list "${name}" that this worker never received`);
      next.set(name, list);
      return list;
    });
    const policy = new Policy(ordered, update.generation, this.groups, previous);
    this.lists = next;
    return policy;
  }
}

class Worker {
  private data: DataPlane | undefined;
  private store: PolicyStore | undefined;
  private readonly lists = new WorkerLists();
  private metrics: Metrics | undefined;
  private logger: Logger = createLogger('info');
  private stopping = false;
  /** Start and policy updates read files: they run one after another, in the order they came. */
  private policyQueue: Promise<void> = Promise.resolve();

  async handle(message: ToWorker): Promise<void> {
    switch (message.type) {
      case 'start':
        return this.inOrder(() => this.start(message.index, message));
      case 'policy':
        return this.inOrder(() => this.applyPolicy(message.policy));
      case 'metrics':
        send({ type: 'metrics', id: message.id, metrics: this.metrics ? await this.metrics.registry.getMetricsAsJSON() : [] });
        return;
      case 'probe-seen':
        this.data?.loopGuard.noteProbeSeenElsewhere(message.name);
        return;
      case 'reopen':
        for (const result of await reopenFiles()) {
          if (result.error) this.logger.error(`${result.name} could not be reopened; writing on to the old file`, { err: result.error });
          else this.logger.info(`${result.name} reopened`);
        }
        return;
      case 'stop':
        return this.stop();
    }
  }

  private inOrder(task: () => Promise<void>): Promise<void> {
    const run = this.policyQueue.then(task);
    this.policyQueue = run.catch(() => undefined);
    return run;
  }

  private async start(index: number, { config, policy }: Extract<ToWorker, { type: 'start' }>): Promise<void> {
    process.title = `fraudwall worker ${index}`;
    this.logger = createLogger(config.logLevel, undefined, { worker: index });
    const metrics = new Metrics(VERSION);
    this.metrics = metrics;
    const verdictCache = new VerdictCache({ verdictCacheSize: config.verdictCacheSize });
    const mayRelay = perSecondLimit(PROBE_RELAYS_PER_SECOND);
    try {
      this.lists.groups = new ClientGroups(config.groups);
      this.store = new PolicyStore(await this.lists.apply(policy), verdictCache, {
        lookalike: config.lookalike,
        protectTldSwaps: config.protectTldSwaps,
        protectEmbedded: config.protectEmbedded,
      });
      metrics.generation.set(policy.generation);
      this.data = await startDataPlane(config, this.logger, metrics, { store: this.store, verdictCache }, {
        onForeignProbe: (name) => {
          if (mayRelay()) send({ type: 'probe-seen', name });
        },
        loopProbeSettleMs: LOOP_PROBE_SETTLE_MS,
        relayEvents: config.eventsUrl === 'off' ? undefined : (lookup) => send({ type: 'blocked', lookup }),
      });
      send({ type: 'ready', listeners: this.data.listeners });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      send({ type: 'start-failed', code: isErrorCode(code) ? code : 'E_WORKER_START', message: (error as Error).message });
      process.exitCode = 1;
      process.disconnect?.();
    }
  }

  private async applyPolicy(update: PolicyUpdate): Promise<void> {
    try {
      if (this.store === undefined) throw new Error('policy update before start');
      this.store.swap(await this.lists.apply(update, this.store.current));
      this.metrics?.generation.set(update.generation);
      send({ type: 'policy-applied', generation: update.generation });
    } catch (error) {
      this.logger.error('could not apply a policy update from the primary; this worker keeps the previous policy', { err: error });
      send({ type: 'policy-failed', generation: update.generation, message: (error as Error).message });
    }
  }

  /** Drains like a single process does on SIGTERM, then leaves. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.data?.close();
    process.exit(); // with process.exitCode: 1 after a failed start, else 0
  }
}

export function runWorker(): void {
  const worker = new Worker();
  process.on('message', (message: unknown) => {
    if (!isToWorker(message)) return;
    worker.handle(message).catch((error: unknown) => {
      process.stderr.write(`fraudwall worker: ${(error as Error).stack ?? String(error)}\n`);
    });
  });
  // The primary decides when workers stop (a terminal's Ctrl-C reaches the whole process group);
  // if the primary dies, the IPC channel closes and the worker drains and leaves on its own.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  // SIGHUP to the process group (a closed terminal) must not kill a worker: the primary relays reloads.
  process.on('SIGHUP', () => undefined);
  process.on('disconnect', () => void worker.stop());
  send({ type: 'waiting' });
}
