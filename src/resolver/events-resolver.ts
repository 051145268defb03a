import type { EventsPipeline } from '../events/events-pipeline.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

/**
 * The one place that sees every blocked lookup for early-warning events (a chain element only when
 * --events-url is set): it sits above everything that can block, reads the answer's source and
 * verdict, and hands a small record to the events pipeline, which never makes the query wait.
 */
export class EventsResolver implements Resolver {
  constructor(
    private readonly events: Pick<EventsPipeline, 'admit' | 'enqueue'>,
    private readonly next: Resolver,
    /** Group names by index (policy/client-groups.ts), when per-client groups are configured. */
    private readonly groupNames?: readonly string[],
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
        reason: answer.verdict?.reason ?? 'name',
        group: this.groupNames?.[ctx.group ?? 0],
        target: answer.verdict?.target,
        clientName: ctx.clientName,
      },
      domain,
    );
    return answer;
  }
}
