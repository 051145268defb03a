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
import { MAX_GROUPS } from '../config/group-specs.js';
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
   * What a cached answer judged clean under the policy in effect is marked with (response-cache
   * `judged`). Without client groups, the generation; with groups, a mark that means "clean for
   * every group" (the response cache is shared, verdicts are per group).
   */
  get cleanMark(): number {
    const policy = this.policy.current;
    return policy.groups === undefined ? policy.generation : (policy.generation * MAX_GROUPS + MAX_GROUPS - 1) >>> 0;
  }

  /** The mark an answer fresh from the upstream is stored with: it was judged for one group only when groups exist. */
  get storeMark(): number {
    const policy = this.policy.current;
    return policy.groups === undefined ? policy.generation : 0;
  }

  /** True when no client group blocks the message (always true without groups: the caller judged group 0). */
  cleanForEveryGroup(query: ParsedQuery, bytes: Uint8Array, length: number): boolean {
    const groups = this.policy.current.groups;
    if (groups === undefined) return true;
    for (let group = 0; group < groups.names.length; group++) if (this.judge(query, bytes, length, group) !== undefined) return false;
    return true;
  }

  /**
   * The blocking verdict for the message in bytes[0, length), or undefined to let it through.
   * A malformed answer section is let through (the cache does not store such answers either).
   */
  judge(query: ParsedQuery, bytes: Uint8Array, length: number, group = 0): { verdict: Verdict; via: string } | undefined {
    // One reused collector: judge() runs to completion before anything else can call it.
    const targets = this.targets;
    resetTargets(targets);
    if (!collectAnswerTargets(bytes, length, MAX_CHAIN_NAMES, targets)) return undefined;
    if (targets.chainLimitHit) this.onChainLimit();
    for (let i = 0; i < targets.names.length; i++) {
      const name = targets.names[i]!;
      const verdict = this.policy.verdict(name, group);
      // Only list rules judge answer targets, never the lookalike test (#13): a brand's own chains run
      // through CDN names that spell its domain (www.paypal.com.edgekey.net), which the token test flags.
      if (verdict.action === 'block' && verdict.rule !== undefined && verdict.lookalike === undefined) {
        // The question's own allow is asked only now: clean answers (nearly all) never pay for it.
        if (this.questionAllowed(query, group)) return undefined;
        return { verdict: { action: 'block', rule: verdict.rule, reason: 'cname', target: name }, via: `${targets.records[i]} ${name}` };
      }
    }
    const policy = this.policy.current;
    for (let i = 0; i < targets.addressOffsets.length; i++) {
      const offset = targets.addressOffsets[i]!;
      const size = targets.addressLengths[i]!;
      const verdict = policy.evaluateAddress(bytes, offset, size, group);
      if (verdict.action === 'block' && verdict.rule !== undefined) {
        if (this.questionAllowed(query, group)) return undefined;
        const address = formatAddress(bytes, offset, size);
        return { verdict: { action: 'block', rule: verdict.rule, reason: 'ip', target: address }, via: `address ${address}` };
      }
    }
    return undefined;
  }

  /** An allow rule for the question name lets its answer through unchanged, whatever it points to. */
  private questionAllowed(query: ParsedQuery, group: number): boolean {
    return this.policy.verdict(query.name, group).action === 'allow';
  }

  /** The client's block answer when the message in bytes[0, length) is blocked, else undefined. */
  inspect(ctx: Pick<QueryContext, 'packet' | 'query' | 'transport' | 'group'>, bytes: Uint8Array, length: number): Answer | undefined {
    const hit = this.judge(ctx.query, bytes, length, ctx.group);
    if (hit === undefined) return undefined;
    const { verdict } = hit;
    return { bytes: this.blockAnswers.answerVia(ctx, verdict.rule!, verdict.reason, hit.via), source: 'blocked', verdict };
  }
}
