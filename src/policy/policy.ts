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
import type { RuleKind, Verdict } from '../query/rule.js';

export interface ListSummary {
  readonly name: string;
  readonly kind: RuleKind;
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
  private readonly trie: RuleIndex;
  private readonly addresses: IpIndex;

  constructor(lists: readonly ParsedList[], generation: number) {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new PolicyError('E_POLICY_GENERATION', `policy generation must be a non-negative integer, got ${generation}`);
    }
    this.generation = generation;
    this.trie = RuleIndex.build(lists);
    this.addresses = IpIndex.build(lists.map((l) => l.packed));
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
