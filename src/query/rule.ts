// The shared vocabulary of the policy module: what a list entry means and what a lookup answers.

export type RuleKind = 'block' | 'allow';

/**
 * 'domain' = the name and every subdomain (plain entry `d`); 'subdomains' = subdomains only (`*.d`);
 * 'exact' = the name only (an RPZ QNAME trigger without `*.`).
 */
export type RuleScope = 'domain' | 'subdomains' | 'exact';

/**
 * What an RPZ rule asks for (RPZ lists only; plain list rules have none and answer with the
 * configured block answer): `CNAME .` nxdomain, `CNAME *.` nodata, `CNAME rpz-passthru.` passthru
 * (an allow), `CNAME rpz-drop.` drop (the configured block answer), `CNAME rpz-tcp-only.` tcp-only
 * (TC=1 over UDP), or local data served as written.
 */
export type RpzAction = 'nxdomain' | 'nodata' | 'passthru' | 'drop' | 'tcp-only' | 'local';

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
  /** RPZ rules only: the action. */
  readonly rpz?: RpzAction | undefined;
  /** RPZ local data (action 'local'): records as [type u16][ttl u32][rdlength u16][rdata], back to back. */
  readonly localData?: Uint8Array | undefined;
}

export type VerdictAction = 'block' | 'allow' | 'none';

/**
 * How the deciding rule matched (a metric label value, so the set is closed; other detectors add
 * theirs here, e.g. 'lookalike'):
 *  - 'name': the question name itself;
 *  - 'cname': a name the upstream answer points to (CNAME or DNAME target, SVCB/HTTPS TargetName);
 *  - 'ip': an address in the upstream answer (A/AAAA, SVCB/HTTPS ipv4hint/ipv6hint);
 *  - 'lookalike': no list decided, but the name imitates a protected domain (#13).
 */
export type VerdictReason = 'name' | 'cname' | 'ip' | 'lookalike';

export const VERDICT_REASONS: readonly VerdictReason[] = ['name', 'cname', 'ip', 'lookalike'];

export interface Verdict {
  readonly action: VerdictAction;
  readonly rule: Rule | undefined;
  readonly reason: VerdictReason;
  /**
   * What the rule matched when it is not the question name: the target name (reason 'cname') or
   * the address as text (reason 'ip'). Undefined for reason 'name'.
   */
  readonly target?: string | undefined;
  /** Set when the name imitates a protected domain (#13; reason 'lookalike'; also in observe mode, where action stays 'none'). */
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
export type LookalikeTest = 'homoglyph' | 'edit-distance' | 'token' | 'embedded' | 'tld-swap';

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
  /** token: the token of the name that equals the protected label; embedded: the protected label found inside a longer one. */
  readonly token?: string;
}
