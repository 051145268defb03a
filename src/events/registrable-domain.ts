import { getDomain } from 'tldts';

// Private-section suffixes count (e.g. foo.github.io is its own registrable domain): that is who
// controls the site, which is what an anti-fraud team follows up on and what dedupe should group.
const OPTIONS = { allowPrivateDomains: true, extractHostname: false, validateHostname: false } as const;

/** The registrable domain (public suffix + one label) of a lowercase name; the name itself when it has none. */
export function registrableDomain(name: string): string {
  return getDomain(name, OPTIONS) ?? name;
}

/**
 * A small memo in front of tldts for the query path: a flood repeats the same few names, so most
 * calls are one Map lookup. Bounded: cleared whole when full (cheap, and a flood refills it at once).
 */
export class RegistrableDomainMemo {
  private readonly memo = new Map<string, string>();

  constructor(private readonly maxEntries = 4096) {}

  of(name: string): string {
    let domain = this.memo.get(name);
    if (domain === undefined) {
      domain = registrableDomain(name);
      if (this.memo.size >= this.maxEntries) this.memo.clear();
      this.memo.set(name, domain);
    }
    return domain;
  }
}
