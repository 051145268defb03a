// Turns a lookalike finding into the verdict the resolver acts on (#13). Runs only for names no list
// decides, and only on a verdict-cache miss (PolicyStore caches what this returns).
import type { Config } from '../config/options.js';
import { describeLookalike } from '../lookalike/lookalike-index.js';
import type { LookalikeFinding, Rule, Verdict } from '../query/rule.js';
import type { Policy } from './policy.js';

/** This step's section of the settings. */
export type LookalikeSettings = Pick<Config, 'lookalike' | 'protectTldSwaps' | 'protectEmbedded'>;

export const LOOKALIKES_OFF: LookalikeSettings = Object.freeze({ lookalike: 'off', protectTldSwaps: false, protectEmbedded: false });

/**
 * `verdict` as the matcher gave it, or, when no list decided and the name imitates a protected
 * domain, a lookalike verdict: in block mode a block whose rule names the protect list and
 * carries the EDE text; in observe mode action 'none' with the finding attached (counted and
 * logged, answered normally). Allow rules always win: an allowed name is never judged.
 */
export function withLookalike(policy: Policy, name: string, verdict: Verdict, settings: LookalikeSettings): Verdict {
  if (verdict.action !== 'none' || settings.lookalike === 'off' || policy.lookalikes === undefined) return verdict;
  const finding = policy.lookalikes.judge(name, settings);
  if (finding === undefined) return verdict;
  if (settings.lookalike === 'observe') return Object.freeze({ action: 'none', rule: undefined, reason: 'lookalike', lookalike: finding });
  return Object.freeze({ action: 'block', rule: lookalikeRule(finding), reason: 'lookalike', lookalike: finding });
}

/**
 * The rule a lookalike block is answered and counted by: the protect list and its category (the
 * `list`/`category` labels of fraudwall_blocked_total), the name's registrable domain (the owner of
 * the block SOA) and the finding as text (the EDE text, `lookalike of paypal.com (edit distance 1)`).
 */
export function lookalikeRule(finding: LookalikeFinding): Rule {
  return Object.freeze({
    domain: finding.registrableDomain,
    scope: 'domain',
    kind: 'block',
    list: finding.list,
    category: finding.category,
    line: 0,
    text: describeLookalike(finding),
  });
}
