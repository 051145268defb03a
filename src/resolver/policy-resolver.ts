import type { PolicyStore } from '../policy/policy-store.js';
import type { BlockAnswers } from './block-answers.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';
import type { Verdict } from '../query/rule.js';

/** Answers blocked names at once; everything else (allowed or not listed) goes to `next`. */
export class PolicyResolver implements Resolver {
  constructor(
    private readonly policy: PolicyStore,
    private readonly blockAnswers: BlockAnswers,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const verdict = this.policy.verdict(ctx.query.name, ctx.group);
    if (verdict.action === 'block' && verdict.rule !== undefined) {
      const rule = verdict.rule;
      if (rule.rpz === undefined) return { bytes: this.blockAnswers.answer(ctx, rule, verdict.reason), source: 'blocked', verdict };
      // An RPZ rule says how to answer; tcp-only over a stream (TCP, DoT, DoH) resolves normally.
      const bytes = this.blockAnswers.rpzAnswer(ctx, rule);
      if (bytes !== undefined) return { bytes, source: 'blocked', verdict };
      return this.next.resolve(ctx);
    }
    const result = this.next.resolve(ctx);
    if (verdict.action !== 'allow' && verdict.lookalike === undefined) return result;
    // Only when an allow rule decided, or a lookalike was observed: carry the verdict so metrics and
    // logs can say which rule let the name through or which protected domain it imitates.
    if (result instanceof Promise) return withVerdictLater(result, verdict);
    return { ...result, verdict };
  }
}

/** Not inline in resolve(): a closure there costs every query a context allocation (see udp-server.ts). */
function withVerdictLater(result: Promise<Answer>, verdict: Verdict): Promise<Answer> {
  return result.then((answer) => ({ ...answer, verdict }));
}
