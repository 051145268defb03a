// "Why is this name blocked?" for `fraudwall check` and the admin API. Input comes from a human, so
// it is normalised like a list entry (case, trailing dot, Unicode names), unlike wire names.
import { normalizeListDomain } from './normalize-domain.js';
import type { Policy } from './policy.js';
import type { LookalikeTest, RuleKind, RuleScope } from '../query/rule.js';
import { describeLookalike } from '../lookalike/lookalike-index.js';
import { LOOKALIKES_OFF, withLookalike, type LookalikeSettings } from './lookalike-verdict.js';

export interface ExplainedRule {
  readonly list: string;
  readonly category: string;
  readonly kind: RuleKind;
  readonly scope: RuleScope;
  readonly domain: string;
  readonly line: number;
  readonly text: string;
}

/** 'lookalike': observed (resolved normally); a lookalike block is 'blocked' with `lookalike` set. */
export type ExplainVerdict = 'blocked' | 'allowed' | 'not-listed' | 'lookalike';

/** Which protected domain a name imitates (#13). */
export interface ExplainedLookalike {
  readonly test: LookalikeTest;
  readonly protectedDomain: string;
  readonly list: string;
  readonly category: string;
  readonly distance?: number;
  readonly token?: string;
  /** e.g. `lookalike of paypal.com (edit distance 1)`, the EDE text of a block. */
  readonly text: string;
}

export type Explanation =
  | { readonly name: string; readonly valid: false; readonly error: string }
  | { readonly name: string; readonly valid: true; readonly verdict: ExplainVerdict; readonly rule?: ExplainedRule; readonly lookalike?: ExplainedLookalike };

export function explainName(input: string, policy: Policy, settings: LookalikeSettings = LOOKALIKES_OFF): Explanation {
  const name = normalizeListDomain(input);
  if (typeof name !== 'string') return { name: input, valid: false, error: name.error };
  const verdict = withLookalike(policy, name, policy.evaluate(name), settings);
  const finding = verdict.lookalike;
  if (finding !== undefined) {
    const { test, protectedDomain, list, category, distance, token } = finding;
    const lookalike = { test, protectedDomain, list, category, ...(distance === undefined ? {} : { distance }), ...(token === undefined ? {} : { token }), text: describeLookalike(finding) };
    return { name, valid: true, verdict: verdict.action === 'block' ? 'blocked' : 'lookalike', lookalike };
  }
  const { rule } = verdict;
  if (rule === undefined) return { name, valid: true, verdict: 'not-listed' };
  return {
    name,
    valid: true,
    verdict: rule.kind === 'block' ? 'blocked' : 'allowed',
    rule: {
      list: rule.list,
      category: rule.category,
      kind: rule.kind,
      scope: rule.scope,
      domain: rule.domain,
      line: rule.line,
      text: rule.text,
    },
  };
}

/** One readable line, e.g. `a.evil.com: BLOCKED by list "fraud" (category phishing), rule "evil.com" at line 12 (...)`. */
export function formatExplanation(e: Explanation): string {
  if (!e.valid) return `${e.name}: not a valid domain name (${e.error})`;
  const lookalike = e.lookalike;
  if (lookalike !== undefined) {
    const where = `protect list "${lookalike.list}" (category ${lookalike.category}), test ${lookalike.test}`;
    if (e.verdict === 'blocked') return `${e.name}: BLOCKED as a ${lookalike.text}; ${where}`;
    return `${e.name}: LOOKALIKE: ${lookalike.text}; ${where}; observed only, resolved normally (--lookalike block would block it)`;
  }
  const rule = e.rule;
  if (e.verdict === 'not-listed' || rule === undefined) return `${e.name}: not listed (would be resolved normally)`;
  const covers =
    rule.scope === 'domain'
      ? `covers ${rule.domain} and its subdomains`
      : `covers subdomains of ${rule.domain}, not ${rule.domain} itself`;
  if (e.verdict === 'blocked') {
    const at = rule.line > 0 ? ` at line ${rule.line}` : '';
    return `${e.name}: BLOCKED by list "${rule.list}" (category ${rule.category}), rule "${rule.text}"${at} (${covers})`;
  }
  const at = rule.line > 0 ? ` line ${rule.line}` : '';
  return `${e.name}: ALLOWED by allow rule "${rule.text}" in list "${rule.list}"${at} (${covers})`;
}
