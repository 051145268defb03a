// Answer inspection: judges what an upstream answer points the client to, with the same policy as
// question names. Closes CNAME cloaking (a clean-looking alias whose CNAME, DNAME or SVCB/HTTPS
// target is a listed name) and hosting moves (a new name answering with a listed address).
//
// Rules, in order:
//  1. an allow rule for the question name lets the answer through unchanged (an operator's allow
//     entry beats anything an upstream says);
//  2. each target name, in answer order, is judged like a question name (verdict LRU included);
//     an allow rule for a target exempts that name only, not the rest of the chain;
//  3. each address (A, AAAA, SVCB/HTTPS ipv4hint/ipv6hint; ::ffff:a.b.c.d as a.b.c.d) is judged by
//     the answer-IP rules, longest prefix first.
// The first block decides. Chains are walked to 16 target names; the rest are counted, not judged.
//
// Cost: one walk over the answer section's bytes (answer-targets.ts), a string per target name,
// a verdict lookup per name and a prefix search per address; only upstream answers (cold path)
// and cached answers judged under an older policy generation are inspected.
import { collectAnswerTargets, emptyTargets, resetTargets, type AnswerTargets } from '../dns/answer-targets.js';
import type { ParsedQuery } from '../dns/wire.js';
import { formatAddress } from '../policy/ip-prefix.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { Answer, QueryContext } from '../query/resolver.js';
import type { Verdict } from '../query/rule.js';
import type { BlockAnswers } from './block-answers.js';

/** Target names judged per answer; a longer chain is counted and its remaining names pass. */
export const MAX_CHAIN_NAMES = 16;

export class AnswerInspection {
  private readonly targets: AnswerTargets = emptyTargets();

  constructor(
    private readonly policy: PolicyStore,
    private readonly blockAnswers: BlockAnswers,
    private readonly onChainLimit: () => void = () => {},
  ) {}

  /** Generation of the policy in effect: cached answers judged under another one are judged again. */
  get generation(): number {
    return this.policy.current.generation;
  }

  /**
   * The blocking verdict for the message in bytes[0, length), or undefined to let it through.
   * A malformed answer section is let through (the cache does not store such answers either).
   */
  judge(query: ParsedQuery, bytes: Uint8Array, length: number): { verdict: Verdict; via: string } | undefined {
    // One reused collector: judge() runs to completion before anything else can call it.
    const targets = this.targets;
    resetTargets(targets);
    if (!collectAnswerTargets(bytes, length, MAX_CHAIN_NAMES, targets)) return undefined;
    if (targets.chainLimitHit) this.onChainLimit();
    for (let i = 0; i < targets.names.length; i++) {
      const name = targets.names[i]!;
      const verdict = this.policy.verdict(name);
      // Only list rules judge answer targets, never the lookalike test (#13): a brand's own chains run
      // through CDN names that spell its domain (www.paypal.com.edgekey.net), which the token test flags.
      if (verdict.action === 'block' && verdict.rule !== undefined && verdict.lookalike === undefined) {
        // The question's own allow is asked only now: clean answers (nearly all) never pay for it.
        if (this.questionAllowed(query)) return undefined;
        return { verdict: { action: 'block', rule: verdict.rule, reason: 'cname', target: name }, via: `${targets.records[i]} ${name}` };
      }
    }
    const policy = this.policy.current;
    for (let i = 0; i < targets.addressOffsets.length; i++) {
      const offset = targets.addressOffsets[i]!;
      const size = targets.addressLengths[i]!;
      const verdict = policy.evaluateAddress(bytes, offset, size);
      if (verdict.action === 'block' && verdict.rule !== undefined) {
        if (this.questionAllowed(query)) return undefined;
        const address = formatAddress(bytes, offset, size);
        return { verdict: { action: 'block', rule: verdict.rule, reason: 'ip', target: address }, via: `address ${address}` };
      }
    }
    return undefined;
  }

  /** An allow rule for the question name lets its answer through unchanged, whatever it points to. */
  private questionAllowed(query: ParsedQuery): boolean {
    return this.policy.verdict(query.name).action === 'allow';
  }

  /** The client's block answer when the message in bytes[0, length) is blocked, else undefined. */
  inspect(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport'>, bytes: Uint8Array, length: number): Answer | undefined {
    const hit = this.judge(ctx.query, bytes, length);
    if (hit === undefined) return undefined;
    const { verdict } = hit;
    return { bytes: this.blockAnswers.answerVia(ctx, verdict.rule!, verdict.reason, hit.via), source: 'blocked', verdict };
  }
}
