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
  /** Set when something decided: 'name' for a list rule, 'lookalike' for a lookalike finding. */
  readonly reason?: VerdictReason;
  /** Set when the name imitates a protected domain (also in observe mode, where action stays 'none'). */
  readonly lookalike?: LookalikeFinding;
}

/** A list or category name: what metric labels, state file names and API paths may carry. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** How a valid list or category name is written, for error messages. */
export const NAME_RULE = "a-z, 0-9, '-' and '_', start with a letter or digit, at most 64 characters";

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/**
 * What kind of list a list is: block and allow lists hold rules; a protect list holds the
 * registrable domains whose lookalikes are caught (#13), and is never matched as rules.
 */
export type ListKind = RuleKind | 'protect';

/** Which lookalike test fired (a metric label value, so the set is closed). */
export type LookalikeTest = 'homoglyph' | 'edit-distance' | 'token' | 'tld-swap';

/** A name that imitates a protected domain: which test said so, and which domain it imitates. */
export interface LookalikeFinding {
  readonly test: LookalikeTest;
  /** The protected registrable domain, e.g. 'paypal.com'. */
  readonly protectedDomain: string;
  /** The protect list it came from, and that list's category (bank, payment, …). */
  readonly list: string;
  readonly category: string;
  /** The registrable domain of the judged name, e.g. 'paypa1.com' (the SOA owner of a block). */
  readonly registrableDomain: string;
  /** edit-distance: the distance (transpositions count 1). */
  readonly distance?: number;
  /** token: the token of the name that equals the protected label. */
  readonly token?: string;
}

/** Why a verdict was taken: a list rule matched the name, or the name imitates a protected domain. */
export type VerdictReason = 'name' | 'lookalike';
