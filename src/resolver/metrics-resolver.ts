import type { Metrics } from '../metrics/metrics.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

/**
 * Counts every query and its answer: by transport and type on the way in; by rcode, source and
 * latency on the way out; blocks by the list and category of the rule. Adds no promise to
 * answers that are synchronous (blocks, local zones).
 */
export class MetricsResolver implements Resolver {
  constructor(
    private readonly metrics: Metrics,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    this.metrics.countQuery(ctx.transport, ctx.query.type);
    const result = this.next.resolve(ctx);
    if (result instanceof Promise) return this.recordLater(ctx, result);
    return this.record(ctx, result);
  }

  /** Not inline in resolve(): a closure there costs every query a context allocation (see udp-server.ts). */
  private recordLater(ctx: QueryContext, result: Promise<Answer>): Promise<Answer> {
    return result.then((answer) => this.record(ctx, answer));
  }

  private record(ctx: QueryContext, answer: Answer): Answer {
    this.metrics.countResponse(answer.source, answer.bytes[3]! & 0xf, (performance.now() - ctx.receivedAt) / 1000);
    const verdict = answer.verdict;
    const rule = verdict?.rule;
    if (answer.source === 'blocked' && rule !== undefined) this.metrics.countBlocked(rule.list, rule.category, ctx.query.type, verdict!.reason, ctx.group);
    const lookalike = verdict?.lookalike;
    if (lookalike !== undefined) this.metrics.countLookalike(lookalike.category, lookalike.test);
    return answer;
  }
}
