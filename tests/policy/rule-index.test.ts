import { describe, expect, it } from 'vitest';
import { RuleIndex } from '../../src/policy/rule-index.js';
import { parseList } from '../../src/policy/parse-list.js';
import type { ParsedList } from '../../src/policy/parse-list.js';
import type { RuleKind } from '../../src/query/rule.js';
import { rulesOf } from './rules-of.js';

type ListSpec = readonly [name: string, kind: RuleKind, text: string];

const lists = (...specs: ListSpec[]): ParsedList[] => specs.map(([name, kind, text]) => parseList(text, { name, kind }));

/** What match() returned, compactly: `none` or `kind list:text`. */
function decide(trie: RuleIndex, name: string): string {
  const rule = trie.match(name);
  return rule === undefined ? 'none' : `${rule.kind} ${rule.list}:${rule.text}`;
}

interface Case {
  readonly title: string;
  readonly lists: readonly ListSpec[];
  readonly expect: Readonly<Record<string, string>>;
}

const cases: Case[] = [
  {
    title: 'plain entry covers the name and every subdomain, nothing else',
    lists: [['b', 'block', 'x.com']],
    expect: {
      'x.com': 'block b:x.com',
      'a.x.com': 'block b:x.com',
      'deep.er.a.x.com': 'block b:x.com',
      'com': 'none',
      'y.com': 'none',
      'ax.com': 'none', // label boundary, not a string suffix
      'x.com.evil': 'none',
      'x.co': 'none',
    },
  },
  {
    title: '*.d covers subdomains only',
    lists: [['b', 'block', '*.x.com']],
    expect: { 'x.com': 'none', 'a.x.com': 'block b:*.x.com', 'b.a.x.com': 'block b:*.x.com', 'com': 'none' },
  },
  {
    title: 'deeper allow beats shallower block',
    lists: [['b', 'block', 'x.com\n@@||a.x.com^']],
    expect: {
      'x.com': 'block b:x.com',
      'c.x.com': 'block b:x.com',
      'a.x.com': 'allow b:@@||a.x.com^',
      'b.a.x.com': 'allow b:@@||a.x.com^',
    },
  },
  {
    title: 'deeper block beats shallower allow',
    lists: [
      ['allow', 'allow', 'x.com'],
      ['b', 'block', 'a.x.com'],
    ],
    expect: { 'x.com': 'allow allow:x.com', 'c.x.com': 'allow allow:x.com', 'a.x.com': 'block b:a.x.com', 'z.a.x.com': 'block b:a.x.com' },
  },
  {
    title: 'block d + allow *.d: d blocked, subdomains allowed (same depth, allow wins)',
    lists: [
      ['b', 'block', 'x.com'],
      ['ok', 'allow', '*.x.com'],
    ],
    expect: { 'x.com': 'block b:x.com', 'a.x.com': 'allow ok:*.x.com', 'b.a.x.com': 'allow ok:*.x.com' },
  },
  {
    title: 'allow d + block *.d: allow wins everywhere at that depth',
    lists: [
      ['b', 'block', '*.x.com'],
      ['ok', 'allow', 'x.com'],
    ],
    expect: { 'x.com': 'allow ok:x.com', 'a.x.com': 'allow ok:x.com' },
  },
  {
    title: 'a deeper *.d beats a shallower plain entry',
    lists: [['b', 'block', 'x.com'], ['ok', 'allow', '*.a.x.com']],
    expect: { 'a.x.com': 'block b:x.com', 'z.a.x.com': 'allow ok:*.a.x.com' },
  },
  {
    title: 'same domain in several lists: allow beats block regardless of list order',
    lists: [
      ['ok', 'allow', 'x.com'],
      ['b1', 'block', 'x.com'],
    ],
    expect: { 'x.com': 'allow ok:x.com', 'a.x.com': 'allow ok:x.com' },
  },
  {
    title: 'same domain in several lists: allow in a later list still beats block',
    lists: [
      ['b1', 'block', 'x.com'],
      ['b2', 'block', 'x.com'],
      ['ok', 'allow', 'x.com'],
    ],
    expect: { 'x.com': 'allow ok:x.com' },
  },
  {
    title: 'same domain in several block lists: first list in array order wins',
    lists: [
      ['first', 'block', 'x.com\n*.y.com'],
      ['second', 'block', 'x.com\n*.y.com'],
    ],
    expect: { 'x.com': 'block first:x.com', 'a.x.com': 'block first:x.com', 'a.y.com': 'block first:*.y.com' },
  },
  {
    title: 'order is by list, not by name',
    lists: [
      ['zz', 'block', 'x.com'],
      ['aa', 'block', 'x.com'],
    ],
    expect: { 'x.com': 'block zz:x.com' },
  },
  {
    title: 'duplicates in one list: first line wins; an @@ exception in the same list beats it',
    lists: [['b', 'block', '0.0.0.0 x.com\nx.com\n||y.com^\ny.com\n@@||y.com^']],
    expect: { 'x.com': 'block b:x.com', 'y.com': 'allow b:@@||y.com^' },
  },
  {
    title: 'plain and *.d of the same domain in two block lists: the earlier list decides subdomains',
    lists: [
      ['first', 'block', '*.x.com'],
      ['second', 'block', 'x.com'],
    ],
    expect: { 'x.com': 'block second:x.com', 'a.x.com': 'block first:*.x.com' },
  },
  {
    title: 'a subdomain entry added before and after its parent (leaf upgrade paths)',
    lists: [['b', 'block', 'a.x.com\nx.com\nb.y.com\n*.y.com\ny.com']],
    expect: {
      'a.x.com': 'block b:a.x.com',
      'q.a.x.com': 'block b:a.x.com',
      'x.com': 'block b:x.com',
      'q.x.com': 'block b:x.com',
      'y.com': 'block b:y.com',
      'b.y.com': 'block b:b.y.com',
      'c.y.com': 'block b:*.y.com',
    },
  },
  {
    // Single labels that are not public suffixes (a TLD of the PSL is refused by the parser, see public-suffix.test.ts).
    title: 'single-label entries',
    lists: [['b', 'block', 'intranet\ncorp'], ['ok', 'allow', 'good.corp']],
    expect: { 'intranet': 'block b:intranet', 'x.intranet': 'block b:intranet', 'evil.corp': 'block b:corp', 'good.corp': 'allow ok:good.corp', 'corp.com': 'none' },
  },
  {
    title: 'names deeper than every entry, and deep entries',
    lists: [['b', 'block', 'x.com\nd.c.b.a.y.com']],
    expect: {
      'a.b.c.d.e.f.g.h.i.j.x.com': 'block b:x.com',
      'z.d.c.b.a.y.com': 'block b:d.c.b.a.y.com',
      'c.b.a.y.com': 'none',
      'q.w.e.r.t.y.u.i.o.p.com': 'none',
    },
  },
  {
    title: 'root and empty names never match; a trailing dot is tolerated; malformed names do not throw',
    lists: [['b', 'block', 'x.com\nlan']],
    expect: { '': 'none', '.': 'none', '..': 'none', 'x.com.': 'block b:x.com', 'a..x.com': 'block b:x.com', '.lan': 'block b:lan' },
  },
];

describe('RuleIndex.match', () => {
  for (const c of cases) {
    it.each(Object.entries(c.expect))(`${c.title}: %j -> %s`, (name, expected) => {
      expect(decide(RuleIndex.build(lists(...c.lists)), name)).toBe(expected);
    });
  }

  it('returns the deciding entry as the parsed list materialises it (a fresh Rule per call)', () => {
    const parsed = lists(['b', 'block', '# category: scam\nother.com\n*.x.com\nx.com']);
    const trie = RuleIndex.build(parsed);
    const rule = trie.match('a.x.com');
    expect(rule).toEqual(parsed[0]?.rule(1));
    expect(rule).toEqual({ domain: 'x.com', scope: 'subdomains', kind: 'block', list: 'b', category: 'scam', line: 3, text: '*.x.com' });
    expect(trie.match('x.com')).toEqual(parsed[0]?.rule(2));
    expect(trie.match('a.x.com')).not.toBe(rule);
  });

  it('is empty when built from nothing', () => {
    const trie = RuleIndex.build([]);
    expect(trie.ruleCount).toBe(0);
    expect(trie.match('x.com')).toBeUndefined();
    expect(RuleIndex.build(lists(['e', 'block', '# nothing'])).match('x.com')).toBeUndefined();
  });
});

describe('RuleIndex.ruleCount', () => {
  it.each([
    ['one entry', [['b', 'block', 'x.com']], 1],
    ['d and *.d are two entries', [['b', 'block', 'x.com\n*.x.com']], 2],
    ['*.d then d', [['b', 'block', '*.x.com\nx.com']], 2],
    ['duplicates within and across lists count once', [['b', 'block', 'x.com\nx.com'], ['c', 'block', 'x.com'], ['ok', 'allow', 'x.com']], 1],
    ['parent and child are two', [['b', 'block', 'a.x.com\nx.com']], 2],
    ['hosts line with three names', [['b', 'block', '0.0.0.0 a.com b.com c.com']], 3],
  ] as const)('%s', (_label, specs, expected) => {
    expect(RuleIndex.build(lists(...specs)).ruleCount).toBe(expected);
  });
});

describe('RuleIndex at scale (the suffix filter must never hide an entry)', () => {
  it('finds each of 20,000 random entries, their subdomains, and nothing for near misses', () => {
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789-_';
    const domains = new Set<string>();
    while (domains.size < 20_000) {
      const labels: string[] = [];
      const depth = 1 + (next() % 4);
      for (let d = 0; d < depth; d++) {
        // A letter first (list entries must not start with '-' or be all digits at the top).
        let label = chars[next() % 26]!;
        for (let i = next() % 12; i > 0; i--) label += chars[next() % chars.length];
        labels.push(label);
      }
      domains.add(labels.join('.'));
    }
    const text = [...domains].join('\n');
    const list = parseList(text, { name: 'r', kind: 'block' });
    expect(list.skipped).toEqual([]);
    const trie = RuleIndex.build([list]);
    let missing = 0;
    let wrongSub = 0;
    let falseHits = 0;
    for (const rule of rulesOf(list)) {
      if (trie.match(rule.domain) === undefined) missing++;
      const sub = trie.match(`zz.${rule.domain}`);
      if (sub?.domain !== rule.domain && !domains.has(`zz.${rule.domain}`)) wrongSub++;
      // Appending a character to the top label leaves the entry's subtree.
      const miss = trie.match(`${rule.domain}#`);
      if (miss !== undefined) falseHits++;
    }
    expect({ missing, wrongSub, falseHits }).toEqual({ missing: 0, wrongSub: 0, falseHits: 0 });
  });
});
