// One immutable policy snapshot: the matcher over every loaded list plus what the lists contained.
// A reload builds a new Policy with a higher generation; nothing here is ever mutated.
//
// Memory: the matcher references each list's packed storage (immutable) instead of copying it, so
// the registry's lists and the live policy share one copy of every name, and a swap holds at most
// the old and the new policy's tables plus the lists that actually changed.
import { RuleIndex } from './rule-index.js';
import { IpIndex } from './ip-index.js';
import { PolicyError } from './policy-error.js';
import type { ParsedList } from './parse-list.js';
import { LookalikeIndex } from '../lookalike/lookalike-index.js';
import { protectedDomainOf, type ProtectedDomain } from '../lookalike/protected-domain.js';
import type { ListKind, Verdict } from '../query/rule.js';

export interface ListSummary {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;
  /** Rules parsed from the list (before merging duplicates across lists). */
  readonly entries: number;
  /** Lines that were not usable entries. */
  readonly skipped: number;
}

const NOT_LISTED: Verdict = Object.freeze({ action: 'none', rule: undefined, reason: 'name' });
const ADDRESS_NOT_LISTED: Verdict = Object.freeze({ action: 'none', rule: undefined, reason: 'ip' });

export class Policy {
  readonly generation: number;
  readonly lists: readonly ListSummary[];
  /** Bytes of the matcher and the packed lists it reads (the policy's share of memory). */
  readonly byteSize: number;
  /** The protected domains of every protect list (#13); undefined when nothing is protected. */
  readonly lookalikes: LookalikeIndex | undefined;
  private readonly trie: RuleIndex;
  private readonly addresses: IpIndex;

  constructor(lists: readonly ParsedList[], generation: number) {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new PolicyError('E_POLICY_GENERATION', `policy generation must be a non-negative integer, got ${generation}`);
    }
    this.generation = generation;
    // Protect lists name domains to imitate-check, not rules: they stay out of the matchers.
    const ruleLists = lists.filter((list) => list.kind !== 'protect');
    this.trie = RuleIndex.build(ruleLists);
    this.addresses = IpIndex.build(ruleLists.map((l) => l.packed));
    this.lookalikes = lookalikeIndexOf(lists.filter((list) => list.kind === 'protect'));
    this.byteSize = this.trie.byteSize + this.addresses.byteSize + lists.reduce((sum, list) => sum + list.packed.byteSize, 0);
    // Keep only counts: the matcher already holds the packed entries; the skipped lines stay with the list.
    this.lists = Object.freeze(
      lists.map((l) => Object.freeze({ name: l.name, kind: l.kind, category: l.category, entries: l.size, skipped: l.skipped.length })),
    );
  }

  /** Distinct entries in effect (see RuleIndex.ruleCount). */
  get ruleCount(): number {
    return this.trie.ruleCount;
  }

  /**
   * Matcher lookup only; callers on the query path go through PolicyStore, which caches. The Rule of
   * a verdict is materialised here, once per (uncached) lookup that matched.
   */
  evaluate(name: string): Verdict {
    const rule = this.trie.match(name);
    return rule === undefined ? NOT_LISTED : { action: rule.kind, rule, reason: 'name' };
  }

  /** Answer-IP prefixes in effect. */
  get addressRuleCount(): number {
    return this.addresses.size;
  }

  /**
   * The verdict on an answer address at bytes[offset, offset + length) (4 or 16 bytes): reason
   * 'ip', no target (the caller formats the address only when it needs the text).
   */
  evaluateAddress(bytes: Uint8Array, offset: number, length: number): Verdict {
    const rule = this.addresses.match(bytes, offset, length);
    return rule === undefined ? ADDRESS_NOT_LISTED : { action: rule.kind, rule, reason: 'ip' };
  }
}

/**
 * The last index built and the protect lists it was built from. Lists are immutable and a policy
 * swap keeps the ParsedList objects of lists that did not change, so a change to a block or allow
 * list reuses the index instead of rebuilding it (tens of milliseconds for 1,000 domains, and in
 * every worker). One entry: it pins at most the protect lists of the previous policy.
 */
let memo: { readonly lists: readonly ParsedList[]; readonly index: LookalikeIndex | undefined } | undefined;

function lookalikeIndexOf(protectLists: readonly ParsedList[]): LookalikeIndex | undefined {
  if (memo !== undefined && memo.lists.length === protectLists.length && memo.lists.every((list, i) => list === protectLists[i])) return memo.index;
  const protectedDomains = protectedDomainsOf(protectLists);
  const index = protectedDomains.length > 0 ? new LookalikeIndex(protectedDomains) : undefined;
  memo = { lists: protectLists, index };
  return index;
}

/**
 * The usable entries of every protect list, in list order. Entries that are not registrable domains
 * are left out here (a file gets a warning when it loads; a push is refused with line numbers).
 */
function protectedDomainsOf(lists: readonly ParsedList[]): ProtectedDomain[] {
  const out: ProtectedDomain[] = [];
  for (const list of lists) {
    if (list.kind !== 'protect') continue;
    const packed = list.packed;
    for (let i = 0; i < packed.size; i++) {
      if (packed.scope(i) !== 'domain' || packed.ruleKind(i) !== 'block') continue;
      const entry = protectedDomainOf(packed.domain(i), list.name, list.category);
      if (!('error' in entry)) out.push(entry);
    }
  }
  return out;
}
