// What a protect-list entry must be: a registrable domain (the label right below a public suffix,
// ICANN or private, by tldts), such as `paypal.com`, `icbc.com.cn` or `mybank.github.io`.
import { parse } from 'tldts';
import { decodeLabel, skeleton } from './skeleton.js';

/** tldts settings used for every name: private suffixes count (github.io, blogspot.com), no URL parsing. */
export const TLDTS_OPTIONS = { allowPrivateDomains: true, extractHostname: false, validateHostname: false, detectIp: false } as const;

export interface ProtectedDomain {
  /** The registrable domain, ASCII (punycode), e.g. 'paypal.com'. */
  readonly domain: string;
  /** The label below the suffix, IDN-decoded and lower-case, e.g. 'paypal'. */
  readonly label: string;
  readonly skeleton: string;
  /** The public suffix, e.g. 'com'. */
  readonly suffix: string;
  /** The protect list and its category. */
  readonly list: string;
  readonly category: string;
}

/** The protected domain for a normalised list entry, or why the entry cannot be one. */
export function protectedDomainOf(entry: string, list: string, category: string): ProtectedDomain | { readonly error: string } {
  const parsed = parse(entry, TLDTS_OPTIONS);
  const domain = parsed.domain;
  if (domain === null || parsed.publicSuffix === null || parsed.domainWithoutSuffix === null || parsed.domainWithoutSuffix === '') {
    return { error: `"${entry}" is a public suffix or has none; protect a registrable domain such as paypal.com` };
  }
  if (domain !== entry) return { error: `"${entry}" is not a registrable domain; protect "${domain}" (its subdomains are covered)` };
  const label = decodeLabel(parsed.domainWithoutSuffix);
  return { domain, label, skeleton: skeleton(label), suffix: parsed.publicSuffix, list, category };
}

/** Why a parsed protect-list entry cannot be used, or undefined when it can. */
export function protectEntryProblem(domain: string, scope: 'domain' | 'subdomains' | 'exact', kind: 'block' | 'allow'): string | undefined {
  if (kind === 'allow') return 'a protect list holds domains to protect, not allow rules';
  if (scope !== 'domain') return 'a protect list holds registrable domains, not "*." patterns or RPZ triggers';
  const parsed = protectedDomainOf(domain, '', '');
  return 'error' in parsed ? parsed.error : undefined;
}
