// The public-suffix guard: a list entry may never be a public suffix named by an explicit rule of
// the Public Suffix List (as shipped by tldts: ICANN and private sections, every TLD, `co.uk`,
// `github.io`, `netlify.app`…). One such entry in a blocklist black-holes a whole registry ("all of
// .com blocked"); in an allowlist it would switch off answer inspection for all of it.
//
// Names that are suffixes only through a wildcard rule (`*.ck` makes `foo.ck` one, `*.compute-1.
// amazonaws.com` makes every EC2 host name one) stay valid entries: threat feeds list such hosts
// routinely, and each of them is one party's name. tldts does not say which rule matched, so a
// wildcard is recognised by asking again with the first label replaced by a label no rule names:
// if that is still a suffix of the same length, a wildcard decided.
import { getDomain, getPublicSuffix, parse } from 'tldts';

const OPTIONS = {
  allowPrivateDomains: true,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
  mixedInputs: false,
} as const;

/** A label no PSL rule names (rules are real names; this one cannot be registered: `--` in position 3-4 is reserved). */
const PROBE_LABEL = 'zz--fraudwall-psl-probe';

/** The reason given for a refused entry (the admin API's `{line, entry, reason}`). */
export const PUBLIC_SUFFIX_REASON = 'public suffix';

/** True when `domain` (normalised: lowercase, no trailing dot) is a public suffix by an explicit PSL rule. */
export function isExplicitPublicSuffix(domain: string): boolean {
  if (getPublicSuffix(domain, OPTIONS) !== domain) return false;
  const dot = domain.indexOf('.');
  // A single label equal to its own suffix: a TLD the list names (tldts's default rule `*` also
  // makes any unknown label a "suffix", e.g. `lan`; those are not on the list).
  if (dot < 0) return isListedTld(domain);
  const probe = PROBE_LABEL + domain.slice(dot);
  return getPublicSuffix(probe, OPTIONS) !== probe;
}

function isListedTld(label: string): boolean {
  // Under tldts's default rule `*` (an unlisted label) the result is marked neither ICANN nor private.
  const result = parse(`${PROBE_LABEL}.${label}`, OPTIONS);
  return result.isIcann === true || result.isPrivate === true;
}

/** The registrable domain (eTLD+1) of a name, for explain; undefined when the name has none (it is itself a suffix). */
export function registrableDomain(name: string): string | undefined {
  return getDomain(name, OPTIONS) ?? undefined;
}
