// The public-suffix guard: a list entry may never be a public suffix named by an explicit rule of
// the Public Suffix List (as shipped by tldts: ICANN and private sections, every TLD, `co.uk`,
// `github.io`, `netlify.app`…). One such entry in a blocklist black-holes a whole registry ("all of
// .com blocked"); in an allowlist it would switch off answer inspection for all of it.
//
// Names that are suffixes only through a wildcard rule (`*.ck` makes `foo.ck` one, `*.compute-1.
// amazonaws.com` makes every EC2 host name one) stay valid entries: threat feeds list such hosts
// routinely, and each of them is one party's name.
//
// Speed: lists have millions of entries, and asking tldts per entry costs ~0.15 µs (20 % of parsing
// a list). So the explicit rules (~11,000) are read once from the trie tldts 7.6.4 ships
// (`dist/cjs/src/data/trie.js`, pinned), checked against tldts itself, and kept as a Set plus a
// 1-Mbit filter of their FNV-1a hashes: the list parser hashes each entry's bytes in the loop that
// copies them and asks the Set only on a filter hit (~1 % of names). If that data ever is not what
// this code expects, every entry is asked of tldts's public API instead (slower, same answers).
import { createRequire } from 'node:module';
import { getDomain, getPublicSuffix, parse } from 'tldts';

const OPTIONS = {
  allowPrivateDomains: true,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
  mixedInputs: false,
} as const;

/** A label no PSL rule names (rules are real names; `--` in positions 3-4 is reserved). */
const PROBE_LABEL = 'zz--fraudwall-psl-probe';

/** The reason given for a refused entry (the admin API's `{line, entry, reason}`). */
export const PUBLIC_SUFFIX_REASON = 'public suffix';

/** FNV-1a over the bytes of a name, as the list parser computes it while copying them. */
export const SUFFIX_FILTER_SEED = 0x811c9dc5;
export function suffixFilterStep(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, 0x01000193);
}

const FILTER_BITS = 1 << 20;

interface ExplicitRules {
  readonly names: ReadonlySet<string>;
  readonly filter: Uint8Array;
}

let explicit: ExplicitRules | null | undefined;

/**
 * False when `hash` (suffixFilterStep over the name's bytes from SUFFIX_FILTER_SEED) proves the name
 * is no explicit rule; true means "ask isExplicitPublicSuffix".
 */
export function mayBePublicSuffix(hash: number): boolean {
  const rules = explicitRules();
  if (rules === null) return true;
  const bit = (hash >>> 0) & (FILTER_BITS - 1);
  return (rules.filter[bit >>> 3]! & (1 << (bit & 7))) !== 0;
}

/** True when `domain` (normalised: lowercase, no trailing dot) is a public suffix by an explicit PSL rule. */
export function isExplicitPublicSuffix(domain: string): boolean {
  const rules = explicitRules();
  return rules === null ? askTldts(domain) : rules.names.has(domain);
}

/** The registrable domain (eTLD+1) of a name, for explain; undefined when the name has none (it is itself a suffix). */
export function registrableDomain(name: string): string | undefined {
  return getDomain(name, OPTIONS) ?? undefined;
}

/** The same question through tldts's public API: is it its own suffix, and not only through a wildcard? */
function askTldts(domain: string): boolean {
  if (getPublicSuffix(domain, OPTIONS) !== domain) return false;
  const dot = domain.indexOf('.');
  if (dot < 0) {
    // A single label under tldts's default rule `*` (not on the list) is marked neither ICANN nor private.
    const result = parse(`${PROBE_LABEL}.${domain}`, OPTIONS);
    return result.isIcann === true || result.isPrivate === true;
  }
  // With the first label replaced by one no rule names, a wildcard rule still matches; an explicit one does not.
  const probe = PROBE_LABEL + domain.slice(dot);
  return getPublicSuffix(probe, OPTIONS) !== probe;
}

interface FlatTrie {
  readonly nodeFlags: Uint8Array;
  readonly edgeStart: Uint16Array | Uint32Array;
  readonly edgeLength: Uint8Array;
  readonly edgeChild: Uint16Array | Uint32Array;
  readonly labelText: string;
  readonly rulesRoot: number;
}

function explicitRules(): ExplicitRules | null {
  if (explicit === undefined) explicit = readExplicitRules();
  return explicit;
}

/** Every explicit rule of tldts's trie, checked name by name against tldts's answer; null if anything is off. */
function readExplicitRules(): ExplicitRules | null {
  try {
    const trie = createRequire(import.meta.url)('tldts/dist/cjs/src/data/trie.js') as FlatTrie;
    const edges = trie.edgeLength.length;
    const offsets = new Uint32Array(edges);
    for (let e = 0, at = 0; e < edges; e++) {
      offsets[e] = at;
      at += trie.edgeLength[e]!;
    }
    const names = new Set<string>();
    const stack: [number, string][] = [[trie.rulesRoot, '']];
    while (stack.length > 0) {
      const [node, suffix] = stack.pop()!;
      for (let e = trie.edgeStart[node]!; e < trie.edgeStart[node + 1]!; e++) {
        const label = trie.labelText.slice(offsets[e], offsets[e]! + trie.edgeLength[e]!);
        if (label === '*') continue; // a wildcard rule: its matches stay valid entries
        const name = suffix === '' ? label : `${label}.${suffix}`;
        const child = trie.edgeChild[e]!;
        if (trie.nodeFlags[child] !== 0) names.add(name);
        stack.push([child, name]);
      }
    }
    if (names.size < 1000 || !names.has('com') || !names.has('co.uk') || !names.has('github.io')) return null;
    // Each must be its own public suffix for tldts. (Some are also covered by a wildcard, e.g.
    // teams.replit.dev under *.replit.dev: still named by an explicit rule, so still refused.)
    for (const name of names) if (getPublicSuffix(name, OPTIONS) !== name) return null;
    const filter = new Uint8Array(FILTER_BITS / 8);
    for (const name of names) {
      let hash = SUFFIX_FILTER_SEED;
      for (let i = 0; i < name.length; i++) hash = suffixFilterStep(hash, name.charCodeAt(i));
      const bit = (hash >>> 0) & (FILTER_BITS - 1);
      filter[bit >>> 3]! |= 1 << (bit & 7);
    }
    return { names, filter };
  } catch {
    return null;
  }
}

/** @internal For tests: whether the fast table is in use (else every entry asks tldts). */
export function usesExplicitRuleTable(): boolean {
  return explicitRules() !== null;
}
