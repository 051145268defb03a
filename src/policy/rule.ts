// The shared vocabulary of the policy module: what a list entry means and what a lookup answers.

export type RuleKind = 'block' | 'allow';

/** 'domain' = the name and every subdomain (plain entry `d`); 'subdomains' = subdomains only (`*.d`). */
export type RuleScope = 'domain' | 'subdomains';

export interface Rule {
  /** Normalised: lowercase ASCII/punycode, no trailing dot. */
  readonly domain: string;
  readonly scope: RuleScope;
  readonly kind: RuleKind;
  /** List name, e.g. 'fraud'. */
  readonly list: string;
  /** e.g. 'phishing'. */
  readonly category: string;
  /** 1-based line in its source (0 when not from text). */
  readonly line: number;
  /** The entry as written in the source line (trimmed). */
  readonly text: string;
}

export type VerdictAction = 'block' | 'allow' | 'none';

export interface Verdict {
  readonly action: VerdictAction;
  readonly rule: Rule | undefined;
}
