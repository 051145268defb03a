// Supervision of the data-plane workers: fork, start, restart with backoff, replace the stuck, stop.
// Policy delivery and the metrics fan-out are their own modules; this class routes the workers'
// messages to them.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/options.js';
import type { BlockedLookup } from '../../events/blocked-lookup.js';
import type { ListRecord } from '../../lists/list-registry.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import { StartupError } from '../startup-error.js';
import { newMember, sendToMember, type Member } from './member.js';
import { isFromWorker, type FromWorker, type ToWorker } from './messages.js';
import { MetricsFanOut } from './metrics-fan-out.js';
import { PolicyDelivery, type DeliveryTarget, type PolicySnapshot } from './policy-delivery.js';
import { Waiters } from './waiters.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;
/** Restart delay after a crash doubles up to this; a worker that lived a minute resets it. */
const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

type Listeners = readonly { host: string; port: number }[];

export class WorkerPool implements DeliveryTarget {
  readonly waiters = new Waiters();
  private readonly slots = new Map<number, Member>();
  private readonly delivery: PolicyDelivery;
  private readonly fanOut: MetricsFanOut;
  private stopping = false;
  /** Every worker started once; from now on an exit means a restart. */
  private up = false;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  /** Where workers' admitted blocked lookups go (the primary's events pipeline), when events are on. */
  onBlocked: ((lookup: BlockedLookup) => void) | undefined;

  constructor(
    readonly config: Config,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    initial: PolicySnapshot,
  ) {
    this.delivery = new PolicyDelivery(this, logger, initial);
    this.fanOut = new MetricsFanOut(metrics, logger, (member, message) => this.send(member, message));
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], serialization: 'advanced' });
  }

  /** Forks every worker and waits until all serve DNS; the first failure to start is fatal. */
  async start(): Promise<Listeners> {
    const started = await Promise.all(Array.from({ length: this.config.workers }, (_, index) => this.fork(index)));
    this.up = true;
    return started[0]!;
  }

  propagate(records: readonly ListRecord[], generation: number): Promise<void> {
    return this.delivery.propagate(records, generation);
  }

  renderMetrics(): Promise<{ contentType: string; body: string }> {
    return this.fanOut.render(this.members());
  }

  members(): readonly Member[] {
    return [...this.slots.values()];
  }

  isCurrent(member: Member): boolean {
    return this.slots.get(member.index) === member;
  }

  send(member: Member, message: ToWorker): void {
    sendToMember(member, message, this.logger);
  }

  /**
   * Ends a worker so that onExit starts a new one: asks it to drain and leave, and SIGKILLs it after
   * `graceMs` (workers ignore SIGTERM, and a stuck one would not drain).
   */
  replace(member: Member, graceMs: number): void {
    const kill = (): void => {
      if (member.process.process.exitCode === null && member.process.process.signalCode === null) member.process.process.kill('SIGKILL');
    };
    if (graceMs <= 0) return kill();
    this.send(member, { type: 'stop' });
    setTimeout(kill, graceMs).unref();
  }

  /** Asks every worker to drain and leave; kills those still there after the query deadline. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const member of this.slots.values()) this.send(member, { type: 'stop' });
    const gone = await this.waiters.until(() => this.slots.size === 0, this.config.queryTimeoutMs + 2000);
    if (!gone) for (const member of this.slots.values()) member.process.process.kill('SIGKILL');
    this.delivery.close();
  }

  private fork(index: number): Promise<Listeners> {
    const member = newMember(index, cluster.fork());
    this.slots.set(index, member);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StartupError('E_WORKER_START', `worker ${index} did not start within ${START_TIMEOUT_MS / 1000} s`));
        this.replace(member, 0); // a hung start must not hold a slot forever: its exit brings a new try
      }, START_TIMEOUT_MS);
      timer.unref();
      member.process.on('message', (message: unknown) => {
        if (!isFromWorker(message)) return;
        if (message.type === 'waiting') {
          this.delivery.sendStart(member);
        } else if (message.type === 'ready') {
          clearTimeout(timer);
          member.ready = true;
          member.applied = Math.max(member.applied, member.startGeneration);
          this.waiters.wake();
          this.metrics.workersReady.set(this.readyCount());
          resolve(message.listeners);
        } else if (message.type === 'start-failed') {
          clearTimeout(timer);
          reject(new StartupError(message.code, `worker ${index}: ${message.message}`));
        } else {
          this.onMessage(member, message);
        }
      });
      member.process.on('exit', (code: number | null, signal: string | null) => {
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
        this.fanOut.received(message.id, message.metrics);
        break;
      case 'blocked':
        this.onBlocked?.(message.lookup);
        break;
      case 'probe-seen':
        // A loop probe reached this worker; the worker that sent it may be another one.
        for (const other of this.slots.values()) if (other !== member) this.send(other, { type: 'probe-seen', name: message.name });
        break;
      default:
        break;
    }
    this.waiters.wake();
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    if (this.isCurrent(member)) this.slots.delete(member.index);
    this.fanOut.memberGone(member);
    this.metrics.workersReady.set(this.readyCount());
    this.waiters.wake();
    // Before the pool is up, a failed start is fatal (start() reports it); afterwards workers come back.
    if (this.stopping || !this.up) return;
    if (Date.now() - member.startedAt > STABLE_AFTER_MS) this.restartDelayMs = FIRST_RESTART_DELAY_MS;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    this.logger.error(`worker ${member.index} exited (code ${code}, signal ${signal}); starting it again in ${delay} ms`);
    setTimeout(() => {
      if (this.stopping) return;
      this.metrics.workerRestarts.inc();
      this.fork(member.index).catch((error: unknown) => this.logger.error(`worker ${member.index} did not start again; trying later`, { err: error }));
    }, delay).unref();
  }

  private readyCount(): number {
    return this.members().filter((member) => member.ready).length;
  }
}
