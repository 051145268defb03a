import type { PolicyStore } from '../policy/policy-store.js';
import type { BlockAnswers } from './block-answers.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

/** Answers blocked names at once; everything else (allowed or not listed) goes to `next`. */
export class PolicyResolver implements Resolver {
  constructor(
    private readonly policy: PolicyStore,
    private readonly blockAnswers: BlockAnswers,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const verdict = this.policy.verdict(ctx.query.name);
    if (verdict.action === 'block' && verdict.rule !== undefined) {
      return { bytes: this.blockAnswers.answer(ctx, verdict.rule), source: 'blocked', verdict };
    }
    const result = this.next.resolve(ctx);
    if (verdict.action !== 'allow') return result;
    // Only when an allow rule decided: carry it so logs and explain can say which rule let the name through.
    if (result instanceof Promise) return result.then((answer) => ({ ...answer, verdict }));
    return { ...result, verdict };
  }
}
