/**
 * A policy patched after a delta (RuleIndex.patch, IpIndex.patch) must answer exactly like one
 * built from scratch over the same lists: for every name of interest (each domain the lists could
 * hold, a name below it, its parent), for every address rule, in every client group. Checked on
 * random lists and random sequences of deltas: adds, removes, re-adds, allow and block, `*.d` and
 * `d`, entries several lists share, address rules, an RPZ zone beside them, and tables small enough
 * (or hashes masked enough) that probe runs are long and pass through dead slots. Each step also
 * checks that the patch really happened, so a silent fallback to a full build cannot pass for it.
 */
import { describe, expect, it } from 'vitest';
import { applyPackedDeltas, type Delta } from '../../src/lists/packed-delta.js';
import { canonicalEntries } from '../../src/lists/list-service.js';
import { applyDelta } from '../../src/fleet/redis-list-store.js';
import { ClientGroups } from '../../src/policy/client-groups.js';
import { editOf } from '../../src/policy/packed-edit.js';
import { parseList, type ParsedList } from '../../src/policy/parse-list.js';
import { parseRpz } from '../../src/policy/parse-rpz.js';
import { Policy } from '../../src/policy/policy.js';
import { RuleIndex } from '../../src/policy/rule-index.js';
import type { ListKind } from '../../src/query/rule.js';

function rng(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

/** Domains with shared suffixes, so that deeper and shallower entries interact. */
const DOMAINS = ['a.test', 'b.a.test', 'c.b.a.test', 'x.test', 'y.x.test', 'z.test', 'p.q.test', 'q.test', 'm.z.test', 'n.test', 'o.n.test', 'k.test'];
const ADDRESSES = ['203.0.113.0/24', '203.0.113.7/32', '198.51.100.0/24', '2001:db8::/32'];

/** One pool entry in canonical form for a list of `kind`: `d`, `*.d`, the other kind's `@@||d^`, or an address. */
function entry(random: (n: number) => number, kind: ListKind): string {
  const roll = random(10);
  if (roll === 0) return ADDRESSES[random(ADDRESSES.length)]!;
  const domain = DOMAINS[random(DOMAINS.length)]!;
  if (roll <= 2) return `*.${domain}`;
  if (roll === 3 && kind === 'block') return `@@||${domain}^`;
  return domain;
}

const NAMES = DOMAINS.flatMap((d) => [d, `w.${d}`, d.split('.').slice(1).join('.')]).concat(['unlisted.test', 'test']);
const IPS = ['203.0.113.7', '203.0.113.9', '198.51.100.1', '192.0.2.1'].map((ip) => Uint8Array.from(ip.split('.').map(Number)));
const IPV6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(1)]);

/** Every answer the policy gives, in every group: the thing a patch must not change. */
function answers(policy: Policy, groups: number): unknown[] {
  const out: unknown[] = [];
  for (let group = 0; group < groups; group++) {
    for (const name of NAMES) out.push([group, name, policy.evaluate(name, group)]);
    for (const ip of [...IPS, IPV6]) out.push([group, [...ip].join('.'), policy.evaluateAddress(ip, 0, ip.length, group)]);
  }
  return out;
}

const opts = (name: string, kind: ListKind) => ({ name, kind, category: 'c' });

describe('RuleIndex.patch', () => {
  it('answers like a full build over random delta sequences (lists, groups, addresses)', () => {
    const groups = new ClientGroups([
      { name: 'default', clients: [], lists: undefined, blockMode: undefined },
      { name: 'kids', clients: ['10.0.0.0/8'], lists: ['big', 'allow'], blockMode: undefined },
      { name: 'other', clients: ['10.1.0.0/16'], lists: ['small', 'zone'], blockMode: undefined },
    ]);
    let eligible = 0;
    let patches = 0;
    for (let round = 0; round < 60; round++) {
      const random = rng(round + 1);
      const pick = (n: number, kind: ListKind): string[] => Array.from({ length: n }, () => entry(random, kind));
      const zone = parseRpz('$TTL 60\n@ SOA a. b. 1 1 1 1 1\n@ NS a.\nx.test CNAME .\n*.z.test CNAME .\nq.test CNAME rpz-passthru.\n', opts('zone', 'block'));
      const lists = new Map<string, ParsedList>([
        ['allow', parseList([...new Set(pick(random(6), 'allow'))].join('\n'), opts('allow', 'allow'))],
        ['big', parseList([...new Set(pick(1 + random(25), 'block'))].join('\n'), opts('big', 'block'))],
        ['small', parseList([...new Set(pick(random(8), 'block'))].join('\n'), opts('small', 'block'))],
        ['zone', zone],
      ]);
      const sorted = (): ParsedList[] => [...lists.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      let generation = 1;
      let policy = new Policy(sorted(), generation, groups);
      for (let step = 0; step < 25; step++) {
        const name = ['allow', 'big', 'small'][random(3)]!;
        const list = lists.get(name)!;
        const deltas: Delta[] = Array.from({ length: 1 + random(2) }, () => ({ add: pick(random(5), list.kind), remove: pick(random(5), list.kind) }));
        // Re-adds: some removals of this step come back in a later delta of it.
        if (deltas.length > 1 && deltas[0]!.remove.length > 0) deltas[1] = { ...deltas[1]!, add: [...deltas[1]!.add, deltas[0]!.remove[0]!] };
        const current = policy;
        const result = applyPackedDeltas(list, deltas, (bytes, start, end, flags) => current.mayHold(list, bytes, start, end, flags))!;
        // The list itself follows Set semantics (so `mayHold` ruled nothing out wrongly).
        const expected = new Set(canonicalEntries(list));
        for (const d of deltas) applyDelta(expected, d.add, d.remove);
        expect(canonicalEntries(result.list), `round ${round} step ${step}`).toEqual([...expected]);
        lists.set(name, result.list);
        generation++;
        const patched = new Policy(sorted(), generation, groups, policy);
        const built = new Policy(sorted(), generation, groups);
        expect(answers(patched, 3), `round ${round} step ${step}`).toEqual(answers(built, 3));
        if (result.list !== list && result.list.size > 0 && list.size > 0) {
          // A real edit of a non-empty list into a non-empty one must have been patched, not rebuilt.
          expect(editOf(result.list.packed)).toBeDefined();
          const before = sorted().map((l) => (l.name === name ? list : l)).filter((l) => l.kind !== 'protect');
          eligible++;
          // Refused only when the (small) table would get too full; that must stay the exception.
          if (RuleIndex.patch(RuleIndex.build(before), sorted()) !== undefined) patches++;
        }
        policy = patched;
      }
    }
    expect(eligible).toBeGreaterThan(500);
    expect(patches / eligible).toBeGreaterThan(0.8);
  });

  it('keeps answering like a full build when every hash collides (long probe runs through dead slots)', () => {
    let eligible = 0;
    let patches = 0;
    for (let round = 0; round < 40; round++) {
      const random = rng(1000 + round);
      const pick = (n: number): string[] => Array.from({ length: n }, () => entry(random, 'block')).filter((e) => !e.includes('/'));
      const other = parseList([...new Set(pick(8))].join('\n'), opts('a-other', 'block'));
      let list = parseList([...new Set(pick(15))].join('\n'), opts('b-list', 'block'));
      const options = { hashMask: round % 2 === 0 ? 0 : 0x3 };
      let index = RuleIndex.build([other, list], options);
      for (let step = 0; step < 30; step++) {
        const result = applyPackedDeltas(list, [{ add: pick(random(4)), remove: pick(random(4)) }]);
        if (result === undefined) throw new Error('no packed result');
        const before = list;
        list = result.list;
        const patched = RuleIndex.patch(index, [other, list]);
        const built = RuleIndex.build([other, list], options);
        if (list !== before && list.size > 0 && before.size > 0) {
          eligible++;
          if (patched !== undefined) patches++;
        }
        const next = patched ?? RuleIndex.build([other, list], options);
        for (const name of NAMES) expect(next.match(name), `${round}/${step} ${name}`).toEqual(built.match(name));
        expect(next.ruleCount, `${round}/${step}`).toBe(built.ruleCount);
        index = next;
      }
    }
    expect(patches / eligible).toBeGreaterThan(0.8);
  });

  it('does not touch the index it was made from (queries in flight keep their snapshot)', () => {
    const list = parseList('a.test\n*.b.test\nc.test', opts('l', 'block'));
    const index = RuleIndex.build([list]);
    const next = applyPackedDeltas(list, [{ add: ['d.test', '@@||c.test^'], remove: ['a.test', '*.b.test'] }])!.list;
    const patched = RuleIndex.patch(index, [next])!;
    expect(patched).not.toBe(index);
    expect(['a.test', 'x.b.test', 'c.test', 'd.test'].map((n) => index.match(n)?.kind ?? 'none')).toEqual(['block', 'block', 'block', 'none']);
    expect(['a.test', 'x.b.test', 'c.test', 'd.test'].map((n) => patched.match(n)?.kind ?? 'none')).toEqual(['none', 'none', 'allow', 'block']);
  });

  it('refuses what it cannot patch: lists added, two lists changed, a list not made by an edit', () => {
    const a = parseList('a.test', opts('a', 'block'));
    const b = parseList('b.test', opts('b', 'block'));
    const index = RuleIndex.build([a, b]);
    const a2 = applyPackedDeltas(a, [{ add: ['x.test'], remove: [] }])!.list;
    const b2 = applyPackedDeltas(b, [{ add: ['y.test'], remove: [] }])!.list;
    expect(RuleIndex.patch(index, [a, b])).toBe(index);
    expect(RuleIndex.patch(index, [a2, b])).toBeDefined();
    expect(RuleIndex.patch(index, [a2, b2])).toBeUndefined();
    expect(RuleIndex.patch(index, [a, b, parseList('c.test', opts('c', 'block'))])).toBeUndefined();
    expect(RuleIndex.patch(index, [parseList('a.test\nx.test', opts('a', 'block')), b])).toBeUndefined();
    // An edit of another version of the list than the one the index was built from.
    expect(RuleIndex.patch(RuleIndex.build([a2, b]), [applyPackedDeltas(a, [{ add: ['z.test'], remove: [] }])!.list, b])).toBeUndefined();
  });
});
