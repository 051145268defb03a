// --workers N: this process becomes the primary. It runs the control plane (lists, admin API,
// /metrics, persistence) and N node:cluster workers run the data plane on the listen sockets
// node:cluster shares among them (the primary holds the socket and every worker reads from it;
// dgram's reusePort, one socket per worker, measured no cheaper per query: README, Multi-core).
// Each list change reaches every worker before the admin API answers; /metrics adds up every
// worker's series.
import cluster, { type Worker } from 'node:cluster';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/load-config.js';
import type { ListRecord } from '../lists/list-registry.js';
import type { Logger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import { composeServer, type RunningServer } from '../running-server.js';
import { writeListFile, type EncodedList } from '../policy/list-transfer.js';
import type { ParsedList } from '../policy/parse-list.js';
import { StartupError } from '../startup-error.js';
import { VERSION } from '../version.js';
import { isFromWorker, type FromWorker, type PolicyUpdate, type ToWorker } from './messages.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
/** A worker that has not confirmed a policy by then is restarted (it gets the current one at start). */
const POLICY_ACK_TIMEOUT_MS = 15_000;
const METRICS_TIMEOUT_MS = 2_000;
const START_TIMEOUT_MS = 60_000;
/** Restart delay after a crash doubles up to this; a worker that lived a minute resets it. */
const MAX_RESTART_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 60_000;
/** The primary answers explain requests only: a small verdict cache is plenty. */
const PRIMARY_VERDICT_CACHE = 1000;

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

interface Member {
  readonly index: number;
  readonly process: Worker;
  readonly startedAt: number;
  /** The lists this worker holds, as the primary sent them (identity tells what changed). */
  lists: Map<string, ParsedList>;
  /** The start message (with the policy of that moment) went out; later policies follow it. */
  started: boolean;
  ready: boolean;
  /** Generation of the policy in the start message; 'ready' confirms it. */
  startGeneration: number;
  /** Policy messages for this worker, in order (see deliver). */
  outbox: Promise<void>;
  /** Highest generation the worker confirmed. */
  applied: number;
}

type Snapshot = { readonly records: readonly ListRecord[]; readonly generation: number };

class WorkerPool {
  private readonly members = new Map<number, Member>();
  private snapshot: Snapshot;
  /** Where list files wait for the workers to read them (see list-transfer.ts); removed at stop. */
  private readonly transferDir = openTransferDir();
  private nextFile = 1;
  private stopping = false;
  /** Every worker started once; from now on an exit means a restart. */
  private up = false;
  private restartDelayMs = 1000;
  private nextMetricsId = 1;
  private readonly waiters = new Set<{ check: () => boolean; resolve: () => void }>();
  private readonly metricsReplies = new Map<number, { member: Member; resolve: (metrics: unknown[] | undefined) => void }>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    initial: Snapshot,
  ) {
    this.snapshot = initial;
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], serialization: 'advanced' });
  }

  /** Forks every worker and waits until all serve DNS; the first failure to start is fatal. */
  async start(): Promise<readonly { host: string; port: number }[]> {
    const started = await Promise.all(Array.from({ length: this.config.workers }, (_, index) => this.fork(index)));
    this.up = true;
    return started[0]!;
  }

  private fork(index: number): Promise<readonly { host: string; port: number }[]> {
    const child = cluster.fork();
    const member: Member = { index, process: child, startedAt: Date.now(), lists: new Map(), started: false, ready: false, startGeneration: 0, applied: 0, outbox: Promise.resolve() };
    this.members.set(index, member);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StartupError('E_WORKER_START', `worker ${index} did not start within ${START_TIMEOUT_MS / 1000} s`));
        this.replace(member, 0); // a hung start must not hold a slot forever: its exit brings a new try
      }, START_TIMEOUT_MS);
      timer.unref();
      child.on('message', (message: unknown) => {
        if (!isFromWorker(message)) return;
        if (message.type === 'waiting') {
          this.sendStart(member);
        } else if (message.type === 'ready') {
          clearTimeout(timer);
          member.ready = true;
          member.applied = Math.max(member.applied, member.startGeneration);
          this.wake();
          this.metrics.workersReady.set(this.readyCount());
          resolve(message.listeners);
        } else if (message.type === 'start-failed') {
          clearTimeout(timer);
          reject(new StartupError(message.code, `worker ${index}: ${message.message}`));
        } else {
          this.onMessage(member, message);
        }
      });
      child.on('exit', (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        this.onExit(member, code, signal);
        reject(new StartupError('E_WORKER_START', `worker ${index} exited during start (code ${code}, signal ${signal})`));
      });
    });
  }

  private onMessage(member: Member, message: FromWorker): void {
    switch (message.type) {
      case 'policy-applied':
        member.applied = Math.max(member.applied, message.generation);
        break;
      case 'policy-failed':
        this.logger.error(`worker ${member.index} could not apply policy ${message.generation} (${message.message}); restarting it`);
        this.replace(member, this.config.queryTimeoutMs + 1000);
        break;
      case 'metrics':
        this.metricsReplies.get(message.id)?.resolve(message.metrics);
        break;
      case 'probe-seen':
        // A loop probe reached this worker; the worker that sent it may be another one.
        for (const other of this.members.values()) if (other !== member) this.send(other, { type: 'probe-seen', name: message.name });
        break;
      default:
        break;
    }
    this.wake();
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    if (this.members.get(member.index) === member) this.members.delete(member.index);
    // A scrape waiting for this worker must not wait out its timeout (and then miss the restart).
    for (const reply of this.metricsReplies.values()) if (reply.member === member) reply.resolve(undefined);
    this.metrics.workersReady.set(this.readyCount());
    this.wake();
    // Before the pool is up, a failed start is fatal (start() reports it); afterwards workers come back.
    if (this.stopping || !this.up) return;
    if (Date.now() - member.startedAt > STABLE_AFTER_MS) this.restartDelayMs = 1000;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    this.logger.error(`worker ${member.index} exited (code ${code}, signal ${signal}); starting it again in ${delay} ms`);
    setTimeout(() => {
      if (this.stopping) return;
      this.metrics.workerRestarts.inc();
      this.fork(member.index).catch((error: unknown) => this.logger.error(`worker ${member.index} did not start again; trying later`, { err: error }));
    }, delay).unref();
  }

  /**
   * Messages that carry a policy go to a worker one at a time, in order, each built when its turn
   * comes (writing list files takes a while): a worker never sees generations out of order, and a
   * start always carries the newest policy of its moment. Files are removed once the worker has
   * confirmed that generation, or is gone.
   */
  private deliver(member: Member, build: () => Promise<{ message: ToWorker; generation: number; files: readonly EncodedList[] }>): void {
    member.outbox = member.outbox
      .then(async () => {
        if (this.members.get(member.index) !== member) return;
        const { message, generation, files } = await build();
        this.send(member, message);
        const gone = (): boolean => this.members.get(member.index) !== member;
        void this.waitUntil(() => member.applied >= generation || gone(), START_TIMEOUT_MS).then(() => removeFiles(files));
      })
      .catch((error: unknown) => {
        this.logger.error(`could not hand the lists to worker ${member.index}; restarting it`, { err: error });
        this.replace(member, 0);
      });
  }

  private sendStart(member: Member): void {
    this.deliver(member, async () => {
      // From here on, updates queue behind this start; the ones before it are in this.snapshot.
      member.started = true;
      const snapshot = this.snapshot;
      member.startGeneration = snapshot.generation;
      const update = await this.transfer(member, snapshot);
      return { message: { type: 'start', index: member.index, config: workerConfig(this.config), policy: update }, generation: snapshot.generation, files: update.lists };
    });
  }

  /** The lists `member` lacks for `snapshot`, written to its own files (see list-transfer.ts). */
  private async transfer(member: Member, snapshot: Snapshot): Promise<PolicyUpdate> {
    const missing: ParsedList[] = [];
    const held = new Map<string, ParsedList>();
    for (const { list } of snapshot.records) {
      held.set(list.name, list);
      if (member.lists.get(list.name) !== list) missing.push(list);
    }
    member.lists = held;
    const lists = await Promise.all(missing.map((list) => writeListFile(list, path.join(this.transferDir, `${this.nextFile++}.list`))));
    return { generation: snapshot.generation, order: snapshot.records.map((record) => record.list.name), lists };
  }

  /** Sends the new policy to every worker and waits (bounded) until each confirms it. */
  async propagate(records: readonly ListRecord[], generation: number): Promise<void> {
    const snapshot = { records, generation };
    this.snapshot = snapshot;
    // Workers still starting get this policy with their start; they are waited for all the same.
    const targets = [...this.members.values()];
    for (const member of targets) {
      if (!member.started) continue;
      this.deliver(member, async () => {
        const update = await this.transfer(member, snapshot);
        return { message: { type: 'policy', policy: update }, generation, files: update.lists };
      });
    }
    // A worker that died meanwhile is out of the question: its replacement starts with this policy.
    const settled = (member: Member): boolean => member.applied >= generation || this.members.get(member.index) !== member;
    const confirmed = await this.waitUntil(() => targets.every(settled), POLICY_ACK_TIMEOUT_MS);
    if (confirmed) return;
    for (const member of targets) {
      if (settled(member)) continue;
      // Silent for that long: stuck, so no graceful drain (it would not run).
      this.logger.error(`worker ${member.index} did not confirm policy ${generation} within ${POLICY_ACK_TIMEOUT_MS / 1000} s; killing it, it restarts with the current policy`);
      this.replace(member, 0);
    }
  }

  /**
   * Ends a worker so that onExit starts a new one: asks it to drain and leave, and SIGKILLs it after
   * `graceMs` (workers ignore SIGTERM, and a stuck one would not drain).
   */
  private replace(member: Member, graceMs: number): void {
    const kill = (): void => {
      if (member.process.process.exitCode === null && member.process.process.signalCode === null) member.process.process.kill('SIGKILL');
    };
    if (graceMs <= 0) return kill();
    this.send(member, { type: 'stop' });
    setTimeout(kill, graceMs).unref();
  }

  /** Every worker's metrics plus the primary's, added up (counters, histograms) or combined per metric. */
  async renderMetrics(): Promise<{ contentType: string; body: string }> {
    const own = await this.metrics.registry.getMetricsAsJSON();
    const replies = await Promise.all(
      [...this.members.values()].filter((member) => member.ready && member.process.isConnected()).map((member) => this.workerMetrics(member)),
    );
    const registry = AggregatorRegistry.aggregate([own, ...replies.filter((reply) => reply !== undefined)]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  private workerMetrics(member: Member): Promise<unknown[] | undefined> {
    const id = this.nextMetricsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.metricsReplies.delete(id);
        this.logger.warn(`worker ${member.index} did not send its metrics within ${METRICS_TIMEOUT_MS} ms; this scrape leaves it out`);
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      this.metricsReplies.set(id, {
        member,
        resolve: (metrics) => {
          clearTimeout(timer);
          this.metricsReplies.delete(id);
          resolve(metrics);
        },
      });
      this.send(member, { type: 'metrics', id });
    });
  }

  /** Asks every worker to drain and leave; kills those still there after the query deadline. */
  async stop(): Promise<void> {
    this.stopping = true;
    const members = [...this.members.values()];
    for (const member of members) this.send(member, { type: 'stop' });
    const gone = await this.waitUntil(() => this.members.size === 0, this.config.queryTimeoutMs + 2000);
    if (!gone) for (const member of this.members.values()) member.process.process.kill('SIGKILL');
    rmSync(this.transferDir, { recursive: true, force: true });
  }

  private readyCount(): number {
    return [...this.members.values()].filter((member) => member.ready).length;
  }

  private send(member: Member, message: ToWorker): void {
    if (!member.process.isConnected()) return;
    member.process.send(message, (error: Error | null) => {
      if (error) this.logger.warn(`message to worker ${member.index} failed (${error.message})`);
    });
  }

  private waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) if (waiter.check()) waiter.resolve();
  }
}

const TRANSFER_PREFIX = 'fraudwall-transfer-';

/**
 * A fresh directory for list files, named after this process. Directories of primaries that were
 * killed before they could clean up (SIGKILL, OOM) are removed here: their pid is gone.
 */
function openTransferDir(): string {
  for (const entry of readdirSyncOrEmpty(tmpdir())) {
    const pid = Number(entry.slice(TRANSFER_PREFIX.length).split('-')[0]);
    if (!entry.startsWith(TRANSFER_PREFIX) || !Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    rmSync(path.join(tmpdir(), entry), { recursive: true, force: true });
  }
  try {
    return mkdtempSync(path.join(tmpdir(), `${TRANSFER_PREFIX}${process.pid}-`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError(
      'E_WORKERS_TMPDIR',
      `--workers needs a writable temporary directory to hand lists to the workers; ${tmpdir()} is not (${code}): set TMPDIR to one, or run with --workers 1`,
    );
  }
}

function readdirSyncOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function removeFiles(lists: readonly EncodedList[]): Promise<void> {
  await Promise.all(lists.map((list) => rm(list.file, { force: true })));
}

/** The primary of `--workers N`: control plane here, data plane in N workers. */
export async function startCluster(config: Config, logger: Logger, env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const metrics = new Metrics(VERSION);
  let pool: WorkerPool | undefined;
  const options = {
    verdictCacheSize: PRIMARY_VERDICT_CACHE,
    renderMetrics: async () =>
      pool ? pool.renderMetrics() : { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() },
  };
  return composeServer(config, logger, env, metrics, options, async (control) => {
    const registry = control.registry;
    const workers = new WorkerPool(config, logger, metrics, { records: registry.all(), generation: registry.generation });
    pool = workers;
    // Registered before the workers start: a change while they start reaches them after their start message.
    registry.afterSwap((records, generation) => workers.propagate(records, generation));
    try {
      return { listeners: await workers.start(), close: () => workers.stop() };
    } catch (error) {
      await workers.stop();
      throw error;
    }
  });
}
