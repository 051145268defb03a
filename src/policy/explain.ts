// "Why is this name blocked?" for `fraudwall check` and the admin API. Input comes from a human, so
// it is normalised like a list entry (case, trailing dot, Unicode names), unlike wire names.
import { isIP } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import { normalizeListDomain } from './normalize-domain.js';
import { registrableDomain } from './public-suffix.js';
import type { Policy } from './policy.js';
import type { RuleKind, RuleScope } from '../query/rule.js';

export interface ExplainedRule {
  readonly list: string;
  readonly category: string;
  readonly kind: RuleKind;
  readonly scope: RuleScope;
  readonly domain: string;
  readonly line: number;
  readonly text: string;
  /** The registrable domain (eTLD+1, Public Suffix List via tldts) of the rule's domain, when it has one. */
  readonly registrableDomain?: string;
}

export type ExplainVerdict = 'blocked' | 'allowed' | 'not-listed';

export type Explanation =
  | { readonly name: string; readonly valid: false; readonly error: string }
  | {
      readonly name: string;
      readonly valid: true;
      readonly verdict: ExplainVerdict;
      /** The name's registrable domain (eTLD+1); absent when the name is itself a public suffix. */
      readonly registrableDomain?: string;
      readonly rule?: ExplainedRule;
    };

export function explainName(input: string, policy: Policy): Explanation {
  const address = input.trim();
  if (isIP(address) !== 0) return explainAddress(address, policy);
  const name = normalizeListDomain(input);
  if (typeof name !== 'string') return { name: input, valid: false, error: name.error };
  const { rule } = policy.evaluate(name);
  const registrable = registrableDomain(name);
  const site = registrable === undefined ? {} : { registrableDomain: registrable };
  if (rule === undefined) return { name, valid: true, verdict: 'not-listed', ...site };
  const ruleSite = registrableDomain(rule.domain);
  return {
    name,
    valid: true,
    verdict: rule.kind === 'block' ? 'blocked' : 'allowed',
    ...site,
    rule: {
      list: rule.list,
      category: rule.category,
      kind: rule.kind,
      scope: rule.scope,
      domain: rule.domain,
      line: rule.line,
      text: rule.text,
      ...(ruleSite === undefined ? {} : { registrableDomain: ruleSite }),
    },
  };
}

/** An address as an answer would carry it: which answer-IP rule (list, line) covers it. */
function explainAddress(address: string, policy: Policy): Explanation {
  const bytes = isIP(address) === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const { rule } = policy.evaluateAddress(bytes, 0, bytes.length);
  if (rule === undefined) return { name: address, valid: true, verdict: 'not-listed' };
  return {
    name: address,
    valid: true,
    verdict: rule.kind === 'block' ? 'blocked' : 'allowed',
    rule: { list: rule.list, category: rule.category, kind: rule.kind, scope: rule.scope, domain: rule.domain, line: rule.line, text: rule.text },
  };
}

/** An answer-IP rule's domain is its prefix text (see ip-prefix.ts); a name never holds '/'. */
function isAddressRule(rule: ExplainedRule): boolean {
  return rule.domain.includes('/');
}

/** One readable line, e.g. `a.evil.com: BLOCKED by list "fraud" (category phishing), rule "evil.com" at line 12 (...)`. */
export function formatExplanation(e: Explanation): string {
  if (!e.valid) return `${e.name}: not a valid domain name (${e.error})`;
  const rule = e.rule;
  const site = e.registrableDomain === undefined ? '' : `; registrable domain ${e.registrableDomain}`;
  if (e.verdict === 'not-listed' || rule === undefined) {
    if (isIP(e.name) !== 0) return `${e.name}: no answer-IP rule covers it (upstream answers with this address pass)`;
    return `${e.name}: not listed (would be resolved normally)${site}`;
  }
  const covers = isAddressRule(rule)
    ? `covers ${rule.domain} in upstream answers`
    : rule.scope === 'domain'
      ? `covers ${rule.domain} and its subdomains`
      : `covers subdomains of ${rule.domain}, not ${rule.domain} itself`;
  if (e.verdict === 'blocked') {
    const at = rule.line > 0 ? ` at line ${rule.line}` : '';
    return `${e.name}: BLOCKED by list "${rule.list}" (category ${rule.category}), rule "${rule.text}"${at} (${covers})${site}`;
  }
  const at = rule.line > 0 ? ` line ${rule.line}` : '';
  return `${e.name}: ALLOWED by allow rule "${rule.text}" in list "${rule.list}"${at} (${covers})${site}`;
}
