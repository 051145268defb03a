// One immutable policy snapshot: the matcher over every loaded list plus what the lists contained.
// A reload builds a new Policy with a higher generation; nothing here is ever mutated.
//
// Memory: the matcher references each list's packed storage (immutable) instead of copying it, so
// the registry's lists and the live policy share one copy of every name, and a swap holds at most
// the old and the new policy's tables plus the lists that actually changed.
//
// Speed: when a list was changed by a delta (packed-edit.ts), the matchers of the previous policy
// are patched (RuleIndex.patch, IpIndex.patch) instead of rebuilt, so the cost of a change follows
// the size of the change, not of the lists; the previous policy is left as it was.
import { RuleIndex } from './rule-index.js';
import { IpIndex } from './ip-index.js';
import { PolicyError } from './policy-error.js';
import { FLAG_ADDRESS } from './packed-rules.js';
import type { ParsedList } from './parse-list.js';
import type { ClientGroups } from './client-groups.js';
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
  /** The client groups this policy has matchers for (fixed at start), if any are configured. */
  readonly groups: ClientGroups | undefined;
  /** The protected domains of every protect list (#13); undefined when nothing is protected. */
  readonly lookalikes: LookalikeIndex | undefined;
  private readonly trie: RuleIndex;
  private readonly addresses: IpIndex;
  /** The lists the matchers were built from (protect lists are not among them). */
  private readonly ruleLists: readonly ParsedList[];
  /**
   * Per client group (index = group, see client-groups.ts): the matchers over the lists that group
   * names, built from the same packed lists as the full matcher (no copy of any name). A group that
   * applies every list shares the full matcher. Empty without groups.
   */
  private readonly groupTries: readonly RuleIndex[];
  private readonly groupAddresses: readonly IpIndex[];

  /**
   * `previous`: the policy this one replaces; a group whose lists are all unchanged (the same
   * ParsedList objects) keeps its matcher, and one whose list a delta changed has it patched, so a
   * push rebuilds only the groups that name a list changed otherwise.
   */
  constructor(lists: readonly ParsedList[], generation: number, groups?: ClientGroups, previous?: Policy) {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new PolicyError('E_POLICY_GENERATION', `policy generation must be a non-negative integer, got ${generation}`);
    }
    this.generation = generation;
    this.groups = groups?.configured ? groups : undefined;
    // Protect lists name domains to imitate-check, not rules: they stay out of the matchers.
    const ruleLists = lists.filter((list) => list.kind !== 'protect');
    this.ruleLists = ruleLists;
    this.trie = ruleIndex(previous?.trie, ruleLists);
    this.addresses = addressIndex(previous?.addresses, ruleLists);
    this.lookalikes = lookalikeIndexOf(lists.filter((list) => list.kind === 'protect'));
    const tries: RuleIndex[] = [];
    const addressIndexes: IpIndex[] = [];
    let groupBytes = 0;
    if (groups?.configured) {
      groups.lists.forEach((names, group) => {
        if (names === undefined) {
          tries.push(this.trie);
          addressIndexes.push(this.addresses);
          return;
        }
        // The previous policy's matchers of this group, whatever lists they were built over: a
        // patch checks that (and returns them unchanged when the group's lists are the same).
        const subset = ruleLists.filter((list) => names.has(list.name));
        const trie = ruleIndex(previous?.groupTries[group], subset);
        const addresses = addressIndex(previous?.groupAddresses[group], subset);
        tries.push(trie);
        addressIndexes.push(addresses);
        groupBytes += trie.byteSize + addresses.byteSize;
      });
    }
    this.groupTries = tries;
    this.groupAddresses = addressIndexes;
    this.byteSize = this.trie.byteSize + this.addresses.byteSize + groupBytes + lists.reduce((sum, list) => sum + list.packed.byteSize, 0);
    // Keep only counts: the matcher already holds the packed entries; the skipped lines stay with the list.
    this.lists = Object.freeze(
      lists.map((l) => Object.freeze({ name: l.name, kind: l.kind, category: l.category, entries: l.size, skipped: l.skipped.length })),
    );
  }

  /**
   * Whether `list` (one this policy was built from) may hold the entry whose canonical domain bytes
   * are bytes[start, end) with `flags`: false only when no list names that domain at all, which
   * saves a delta the pass over the list that would find its entries. True for lists this policy
   * does not match with (protect lists, lists it was not built from) and for address entries.
   */
  mayHold(list: ParsedList, bytes: Uint8Array, start: number, end: number, flags: number): boolean {
    if ((flags & FLAG_ADDRESS) !== 0 || !this.ruleLists.includes(list)) return true;
    return this.trie.namesDomain(bytes, start, end);
  }

  /** Distinct entries in effect (see RuleIndex.ruleCount). */
  get ruleCount(): number {
    return this.trie.ruleCount;
  }

  /**
   * Matcher lookup only; callers on the query path go through PolicyStore, which caches. The Rule of
   * a verdict is materialised here, once per (uncached) lookup that matched.
   */
  evaluate(name: string, group = 0): Verdict {
    const rule = (group === 0 ? (this.groupTries[0] ?? this.trie) : this.groupTries[group]!).match(name);
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
  evaluateAddress(bytes: Uint8Array, offset: number, length: number, group = 0): Verdict {
    const index = group === 0 ? (this.groupAddresses[0] ?? this.addresses) : this.groupAddresses[group]!;
    const rule = index.match(bytes, offset, length);
    return rule === undefined ? ADDRESS_NOT_LISTED : { action: rule.kind, rule, reason: 'ip' };
  }
}

/** The rule index over `lists`: `previous` patched when it allows (see RuleIndex.patch), else built. */
function ruleIndex(previous: RuleIndex | undefined, lists: readonly ParsedList[]): RuleIndex {
  return (previous && RuleIndex.patch(previous, lists)) ?? RuleIndex.build(lists);
}

/** The address index over `lists`: `previous` patched when it allows, else built. */
function addressIndex(previous: IpIndex | undefined, lists: readonly ParsedList[]): IpIndex {
  const packed = lists.map((l) => l.packed);
  return (previous && IpIndex.patch(previous, packed)) ?? IpIndex.build(packed);
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
