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
      // A lookalike block carries its finding as the EDE text (rule.text, `lookalike of paypal.com (…)`).
      const edeText = verdict.lookalike !== undefined ? verdict.rule.text : undefined;
      return { bytes: this.blockAnswers.answer(ctx.packet, ctx.query, verdict.rule, edeText), source: 'blocked', verdict };
    }
    const result = this.next.resolve(ctx);
    if (verdict.action !== 'allow' && verdict.lookalike === undefined) return result;
    // Only when an allow rule decided, or a lookalike was observed: carry the verdict so metrics and
    // logs can say which rule let the name through or which protected domain it imitates.
    if (result instanceof Promise) return result.then((answer) => ({ ...answer, verdict }));
    return { ...result, verdict };
  }
}
