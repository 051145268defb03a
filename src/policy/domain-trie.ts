// The label trie of all list entries, built once per policy generation and never mutated afterwards,
// so lookups need no locking and a reload simply builds a new one.
//
// Layout: the trie is stored flattened. Every trie node that carries a rule is one entry of a single
// Map keyed by the node's full path, i.e. the entry's domain ("a.x.com"), instead of a tree of
// per-node Maps keyed by label. Why: the key is the very string the Rule already holds (no extra label
// string per entry), and there are no intermediate nodes or per-node Maps at all. Measured on
// 1,000,000 random domains: 29 MB for this structure against 137 MB for a nested Map-per-node trie
// (a Map costs over a hundred bytes even with one child), with comparable lookup times.
//
// Lookup walks the query from the right, like a trie walk: at each label boundary the suffix seen
// so far is a candidate node. A Bloom filter over the stored domains (fed by a hash computed along
// the same walk) rejects almost every candidate that is not stored, so the Map is only consulted, and
// a substring only allocated, for suffixes that are (almost certainly) entries. Deeper matches
// override shallower ones; the walk stops after the label count of the deepest entry.
import type { ParsedList } from './parse-list.js';
import type { Rule } from './rule.js';
import { SUFFIX_HASH_SEED, SuffixFilter, suffixHash, suffixHashStep } from './suffix-filter.js';

/** A node holding a `*.d` entry (alone or next to a plain `d` entry). */
class SuffixNode {
  /** Winning rule for exactly this name (plain entry `d`). */
  self: Rule | undefined;
  /** Winning rule for names strictly below (plain `d` or `*.d`, already combined). */
  below: Rule | undefined;

  constructor(self: Rule | undefined, below: Rule | undefined) {
    this.self = self;
    this.below = below;
  }
}

/**
 * A plain entry alone is stored as the Rule itself (it decides the name and everything below),
 * which is what almost every entry is; only domains that also have a `*.d` entry need a node.
 */
type Slot = Rule | SuffixNode;

const DOT = 46;

/**
 * Precedence inside one node (same depth): allow beats block; otherwise the rule inserted first wins.
 * Rules are inserted in list order, then line order, so "first" is deterministic.
 */
function pick(existing: Rule | undefined, incoming: Rule): Rule {
  if (existing === undefined) return incoming;
  return existing.kind === 'block' && incoming.kind === 'allow' ? incoming : existing;
}

export class DomainTrie {
  /** Distinct entries in effect: each (domain, scope) pair counts once, however many lists name it. */
  readonly ruleCount: number;
  private readonly nodes: Map<string, Slot>;
  private readonly filter: SuffixFilter;
  /** Label count of the deepest entry; deeper suffixes of a query cannot match anything. */
  private readonly maxLabels: number;

  private constructor(nodes: Map<string, Slot>, ruleCount: number, maxLabels: number) {
    this.nodes = nodes;
    this.ruleCount = ruleCount;
    this.maxLabels = maxLabels;
    this.filter = new SuffixFilter(nodes.size);
    for (const domain of nodes.keys()) this.filter.add(suffixHash(domain));
  }

  static build(lists: readonly ParsedList[]): DomainTrie {
    const nodes = new Map<string, Slot>();
    let count = 0;
    let maxLabels = 0;
    for (const list of lists) {
      for (const rule of list.rules) {
        const domain = rule.domain;
        if (domain.length === 0) continue;
        count += place(nodes, rule);
        const labels = countLabels(domain);
        if (labels > maxLabels) maxLabels = labels;
      }
    }
    return new DomainTrie(nodes, count, maxLabels);
  }

  /**
   * The rule deciding `name` (lowercase ASCII, no trailing dot; one trailing dot is tolerated), or
   * undefined. The deepest matching entry wins; at equal depth allow beats block.
   * Per-query hot path: no label array, and a substring only for suffixes the filter lets through.
   */
  match(name: string): Rule | undefined {
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === DOT) end--;
    if (end === 0) return undefined;
    const maxLabels = this.maxLabels;
    let best: Rule | undefined;
    let labels = 0;
    let hash = SUFFIX_HASH_SEED;
    // i = -1 is the start of the name: a label boundary like a dot.
    for (let i = end - 1; i >= -1; i--) {
      const c = i >= 0 ? name.charCodeAt(i) : DOT;
      if (c === DOT) {
        // name[i+1, end) is a complete suffix: a candidate node.
        if (i + 1 < end && this.filter.mayContain(hash)) {
          const slot = this.nodes.get(i < 0 && end === name.length ? name : name.slice(i + 1, end));
          if (slot !== undefined) {
            // A plain-entry leaf covers the name itself and everything below it.
            if (!(slot instanceof SuffixNode)) best = slot;
            else {
              const rule = i < 0 ? slot.self : slot.below;
              if (rule !== undefined) best = rule; // deeper beats shallower
            }
          }
        }
        if (++labels >= maxLabels) break;
      }
      hash = suffixHashStep(hash, c);
    }
    return best;
  }
}

/** Adds one rule; returns 1 when it created a new distinct entry, 0 when it merged into one. */
function place(nodes: Map<string, Slot>, rule: Rule): number {
  const domain = rule.domain;
  const subdomainsOnly = rule.scope === 'subdomains';
  const slot = nodes.get(domain);
  if (slot === undefined) {
    nodes.set(domain, subdomainsOnly ? new SuffixNode(undefined, rule) : rule);
    return 1;
  }
  if (!(slot instanceof SuffixNode)) {
    // A plain entry is already here.
    if (!subdomainsOnly) {
      const winner = pick(slot, rule);
      if (winner !== slot) nodes.set(domain, winner);
      return 0;
    }
    nodes.set(domain, new SuffixNode(slot, pick(slot, rule)));
    return 1;
  }
  // A node exists, so a `*.d` entry is already here.
  let added = 0;
  if (!subdomainsOnly) {
    if (slot.self === undefined) added = 1;
    slot.self = pick(slot.self, rule);
  }
  // Both kinds of entry apply to every name below, so `below` is the running winner of both.
  slot.below = pick(slot.below, rule);
  return added;
}

function countLabels(domain: string): number {
  let labels = 1;
  for (let i = domain.indexOf('.'); i >= 0; i = domain.indexOf('.', i + 1)) labels++;
  return labels;
}
