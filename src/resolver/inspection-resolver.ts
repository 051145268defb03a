import type { Answer, QueryContext, Resolver } from '../query/resolver.js';
import type { AnswerInspection } from './answer-inspection.js';

/**
 * Sits right before the upstream: every answer an upstream gives is inspected before the response
 * cache stores it or the client gets it (see answer-inspection.ts). A blocked answer leaves as a
 * block answer (source 'blocked') carrying the upstream answer it replaced, which the response
 * cache stores unjudged; anything else passes unchanged.
 */
export class InspectionResolver implements Resolver {
  constructor(
    private readonly inspection: AnswerInspection,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const result = this.next.resolve(ctx);
    if (result instanceof Promise) return result.then((answer) => this.inspect(ctx, answer));
    return this.inspect(ctx, result);
  }

  private inspect(ctx: QueryContext, answer: Answer): Answer {
    if (answer.source !== 'upstream') return answer;
    const blocked = this.inspection.inspect(ctx, answer.bytes, answer.bytes.length);
    return blocked === undefined ? answer : { ...blocked, inspected: answer.bytes };
  }
}
