// Which name the warning page may show: the request's Host, but only when it is a valid domain
// that the live policy blocks right now. Anything else (an IP, a hostile string, a name that is
// not blocked) gets the generic page, so nobody can make the operator's page name a site of their
// choosing, let alone put markup on it.
import { normalizeListDomain } from '../policy/normalize-domain.js';
import type { Policy } from '../policy/policy.js';
import type { BlockedSite } from './render-page.js';

/** Longer Host values are not even looked at: a name is at most 253 characters, a port 6. */
const MAX_HOST_LENGTH = 260;

/** The host name of a Host header (port removed), or undefined when it is not a plain name. */
export function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host.length === 0 || host.length > MAX_HOST_LENGTH) return undefined;
  if (host.startsWith('[')) return undefined; // an IPv6 literal: no name to show
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined;
    host = host.slice(0, colon);
  }
  return host;
}

/** The blocked site a Host header names, judged against `policy`; undefined for the generic page. */
export function blockedSite(host: string | undefined, policy: Policy): BlockedSite | undefined {
  const raw = hostName(host);
  if (raw === undefined) return undefined;
  // Browsers send names in ASCII (punycode); the list normaliser also rejects every character
  // that is not part of a DNS name, and IP addresses.
  const name = normalizeListDomain(raw);
  if (typeof name !== 'string') return undefined;
  const verdict = policy.evaluate(name);
  if (verdict.action !== 'block' || verdict.rule === undefined) return undefined;
  return { name, list: verdict.rule.list, category: verdict.rule.category };
}
