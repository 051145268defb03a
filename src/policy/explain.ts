// "What does fraudwall answer for this name, and why?" — the one judgement behind `fraudwall check`
// (offline, from the lists `serve` would read) and `fraudwall explain` / GET /v1/explain (the live
// server). It follows the resolver chain's order: the lists first (a listed name is blocked even
// inside a local zone), then the local zones and DoH canaries, else the name is forwarded.
// New kinds of judgement (answer-IP rules, lookalikes, …) extend ExplainSources and Explanation here,
// so both commands learn them at once. Input comes from a human, so it is normalised like a list
// entry (case, trailing dot, Unicode names), unlike wire names.
import { isIP } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from '../config/ip-address.js';
import { LocalZoneTable, type LocalZone, type LocalZoneKind, type LocalZoneOptions } from './local-zones.js';
import { normalizeListDomain } from './normalize-domain.js';
import { registrableDomain } from './public-suffix.js';
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
  /** The registrable domain (eTLD+1, Public Suffix List via tldts) of the rule's domain, when it has one. */
  readonly registrableDomain?: string;
}

/** What the judgement is made against: the policy and the server's local-zone settings. */
export interface ExplainSources {
  readonly policy: Policy;
  readonly localZones: LocalZoneTable;
  /** How names imitating a protected domain are treated (#13); off when not given. */
  readonly lookalikeSettings?: LookalikeSettings;
}

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

/** The local zones `options` turn on, as the judgement needs them (built once per server or command). */
export function explainLocalZones(options: LocalZoneOptions): LocalZoneTable {
  return new LocalZoneTable(options, (apex, kind) => ({ apex, kind }));
}

/**
 * blocked: a block rule decides (the answer is the block answer); allowed / not-listed: forwarded
 * upstream; local: answered by fraudwall from a local zone (an allow rule may have let it that far);
 * canary: a browser DoH canary, answered NXDOMAIN so browsers keep using this resolver;
 * lookalike: imitates a protected domain, observed only (forwarded); blocked with `lookalike` set
 * when --lookalike block.
 */
export type ExplainVerdict = 'blocked' | 'allowed' | 'not-listed' | 'local' | 'canary' | 'lookalike';

export type Explanation =
  | { readonly name: string; readonly valid: false; readonly error: string }
  | {
      readonly name: string;
      readonly valid: true;
      readonly verdict: ExplainVerdict;
      /** The name's registrable domain (eTLD+1); absent when the name is itself a public suffix, or for an address. */
      readonly registrableDomain?: string;
      readonly rule?: ExplainedRule;
      readonly zone?: LocalZone;
      readonly lookalike?: ExplainedLookalike;
    };

export function explainName(input: string, sources: ExplainSources): Explanation {
  const address = input.trim();
  if (isIP(address) !== 0) return explainAddress(address, sources.policy);
  const name = normalizeListDomain(input);
  if (typeof name !== 'string') return { name: input, valid: false, error: name.error };
  const verdict = withLookalike(sources.policy, name, sources.policy.evaluate(name), sources.lookalikeSettings ?? LOOKALIKES_OFF);
  const finding = verdict.lookalike;
  if (finding !== undefined) {
    // Judged only when no list decided, in the chain's order: before local zones (like a list block).
    const { test, protectedDomain, list, category, distance, token } = finding;
    const lookalike = { test, protectedDomain, list, category, ...(distance === undefined ? {} : { distance }), ...(token === undefined ? {} : { token }), text: describeLookalike(finding) };
    return { name, valid: true, verdict: verdict.action === 'block' ? 'blocked' : 'lookalike', lookalike };
  }
  const { rule } = verdict;
  const ruleSite = rule && registrableDomain(rule.domain);
  const explained: ExplainedRule | undefined = rule && {
    list: rule.list,
    category: rule.category,
    kind: rule.kind,
    scope: rule.scope,
    domain: rule.domain,
    line: rule.line,
    text: rule.text,
    ...(ruleSite === undefined ? {} : { registrableDomain: ruleSite }),
  };
  const registrable = registrableDomain(name);
  const site = registrable === undefined ? {} : { registrableDomain: registrable };
  if (explained?.kind === 'block') return { name, valid: true, verdict: 'blocked', ...site, rule: explained };
  const found = sources.localZones.find(name);
  if (found !== undefined) {
    const zone = { apex: found.apex, kind: found.kind };
    const verdict = found.kind === 'canary' ? 'canary' : 'local';
    return explained ? { name, valid: true, verdict, ...site, rule: explained, zone } : { name, valid: true, verdict, ...site, zone };
  }
  if (explained === undefined) return { name, valid: true, verdict: 'not-listed', ...site };
  return { name, valid: true, verdict: 'allowed', ...site, rule: explained };
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

/** True when fraudwall answers the name itself to keep it from resolving (exit 3 of check/explain). */
export function isBlocking(e: Explanation): boolean {
  return e.valid && (e.verdict === 'blocked' || e.verdict === 'canary');
}

const ZONE_ANSWERS: Record<LocalZoneKind, string> = {
  loopback: '127.0.0.1 and ::1',
  empty: 'NXDOMAIN below it, no records at it',
  canary: 'NXDOMAIN',
};

function covers(rule: ExplainedRule): string {
  // An answer-IP rule's domain is its prefix text (see ip-prefix.ts); a name never holds '/'.
  if (rule.domain.includes('/')) return `covers ${rule.domain} in upstream answers`;
  if (rule.scope === 'exact') return `covers ${rule.domain} only, not its subdomains`;
  return rule.scope === 'domain' ? `covers ${rule.domain} and its subdomains` : `covers subdomains of ${rule.domain}, not ${rule.domain} itself`;
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
  if (e.verdict === 'canary') {
    return `${e.name}: answered NXDOMAIN by fraudwall: a browser DoH canary (block-doh-canaries), so browsers keep their DNS on this filtering resolver`;
  }
  if (e.verdict === 'local') {
    const zone = e.zone!;
    const allowed = rule ? `; allow rule "${rule.text}" in list "${rule.list}" does not forward it` : '';
    return `${e.name}: answered locally by fraudwall from local zone "${zone.apex}" (${ZONE_ANSWERS[zone.kind]}; local-zones), never forwarded${allowed}`;
  }
  const site = e.registrableDomain === undefined ? '' : `; registrable domain ${e.registrableDomain}`;
  if (e.verdict === 'not-listed' || rule === undefined) {
    if (isIP(e.name) !== 0) return `${e.name}: no answer-IP rule covers it (upstream answers with this address pass)`;
    return `${e.name}: not listed (would be resolved normally)${site}`;
  }
  if (e.verdict === 'blocked') {
    const at = rule.line > 0 ? ` at line ${rule.line}` : '';
    return `${e.name}: BLOCKED by list "${rule.list}" (category ${rule.category}), rule "${rule.text}"${at} (${covers(rule)})${site}`;
  }
  const at = rule.line > 0 ? ` line ${rule.line}` : '';
  return `${e.name}: ALLOWED by allow rule "${rule.text}" in list "${rule.list}"${at} (${covers(rule)})${site}`;
}
