import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Member } from './member.js';
import type { ToWorker } from './messages.js';

const METRICS_TIMEOUT_MS = 2_000;

/** /metrics of a cluster: asks every ready worker for its series and adds them to the primary's own. */
export class MetricsFanOut {
  private nextId = 1;
  private readonly replies = new Map<number, { member: Member; resolve: (metrics: unknown[] | undefined) => void }>();

  constructor(
    private readonly own: Metrics,
    private readonly logger: Logger,
    private readonly send: (member: Member, message: ToWorker) => void,
  ) {}

  /** Every worker's metrics plus the primary's, added up (counters, histograms) or combined per metric. */
  async render(members: readonly Member[]): Promise<{ contentType: string; body: string }> {
    const own = await this.own.registry.getMetricsAsJSON();
    const replies = await Promise.all(members.filter((member) => member.ready && member.process.isConnected()).map((member) => this.ask(member)));
    const registry = AggregatorRegistry.aggregate([own, ...replies.filter((reply) => reply !== undefined)]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** A worker's answer to request `id`. */
  received(id: number, metrics: unknown[]): void {
    this.replies.get(id)?.resolve(metrics);
  }

  /** A scrape waiting for a worker that exited must not wait out its timeout (and then miss the restart). */
  memberGone(member: Member): void {
    for (const reply of this.replies.values()) if (reply.member === member) reply.resolve(undefined);
  }

  private ask(member: Member): Promise<unknown[] | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        this.logger.warn(`worker ${member.index} did not send its metrics within ${METRICS_TIMEOUT_MS} ms; this scrape leaves it out`);
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      this.replies.set(id, {
        member,
        resolve: (metrics) => {
          clearTimeout(timer);
          this.replies.delete(id);
          resolve(metrics);
        },
      });
      this.send(member, { type: 'metrics', id });
    });
  }
}
