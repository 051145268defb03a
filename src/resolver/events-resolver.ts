import type { BlockReason } from '../events/blocked-lookup.js';
import type { EventsPipeline } from '../events/events-pipeline.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

const REASONS: ReadonlySet<string> = new Set<BlockReason>(['name', 'cname', 'ip', 'lookalike']);

/**
 * Why an answer was blocked. Answer inspection (CNAME / answer-IP) and lookalike detection put a
 * `reason` on the answer or its verdict; a block by the name's own rule has none and is 'name'.
 */
function blockReason(answer: Answer): BlockReason {
  const reason = (answer as { reason?: unknown }).reason ?? (answer.verdict as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && REASONS.has(reason) ? (reason as BlockReason) : 'name';
}

/**
 * The one place that sees every blocked lookup for early-warning events (a chain element only when
 * --events-url is set): it sits above everything that can block, reads the answer's source and
 * verdict, and hands a small record to the events pipeline, which never makes the query wait.
 */
export class EventsResolver implements Resolver {
  constructor(
    private readonly events: Pick<EventsPipeline, 'admit' | 'enqueue'>,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const result = this.next.resolve(ctx);
    if (result instanceof Promise) return result.then((answer) => this.observe(ctx, answer));
    return this.observe(ctx, result);
  }

  private observe(ctx: QueryContext, answer: Answer): Answer {
    if (answer.source !== 'blocked') return answer;
    const domain = this.events.admit(ctx.clientAddress, ctx.query.name, ctx.receivedAt);
    if (domain === undefined) return answer;
    const rule = answer.verdict?.rule;
    this.events.enqueue(
      {
        at: Date.now(),
        clientAddress: ctx.clientAddress,
        name: ctx.query.name,
        qtype: ctx.query.type,
        transport: ctx.transport,
        list: rule?.list ?? '',
        category: rule?.category ?? '',
        rule: rule?.text ?? '',
        reason: blockReason(answer),
      },
      domain,
    );
    return answer;
  }
}
