// The matcher's hash table against a brute-force reference of the README rules, with and without
// forced collisions, and on names at the limits.
import { describe, expect, it } from 'vitest';
import { RuleIndex, type RuleIndexOptions } from '../../src/policy/rule-index.js';
import { parseList, type ParsedList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import type { Rule, RuleKind } from '../../src/query/rule.js';
import { rulesOf } from './rules-of.js';

/**
 * README § Blocklists, literally: an entry `d` covers d and its subdomains, `*.d` its subdomains only;
 * the most specific (deepest) covering entry wins; on a tie allow beats block; among equals the
 * first list (in the order given), then the first line, wins.
 */
function reference(lists: readonly ParsedList[], query: string): Rule | undefined {
  const name = query.endsWith('.') ? query.slice(0, -1) : query;
  if (name === '') return undefined;
  let best: { rule: Rule; depth: number } | undefined;
  for (const list of lists) {
    for (const rule of rulesOf(list)) {
      const below = name.endsWith(`.${rule.domain}`);
      if (!(below || (rule.scope === 'domain' && name === rule.domain))) continue;
      const depth = rule.domain.split('.').length;
      if (best === undefined || depth > best.depth || (depth === best.depth && best.rule.kind === 'block' && rule.kind === 'allow')) {
        best = { rule, depth };
      }
    }
  }
  return best?.rule;
}

const describeRule = (rule: Rule | undefined): string => (rule === undefined ? 'none' : `${rule.kind} ${rule.list}:${rule.line} ${rule.text}`);

/** A small random universe where entries overlap a lot: the same names in several lists and forms. */
function randomCase(seed: number): { lists: ParsedList[]; queries: string[] } {
  let s = seed;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
  const labels = ['a', 'b', 'c', 'x', '_s', 'xn--p1ai'];
  const name = (depth: number): string => Array.from({ length: depth }, () => labels[next(labels.length)]).join('.');
  const lists: ParsedList[] = [];
  for (let l = 1 + next(4); l > 0; l--) {
    const kind: RuleKind = next(3) === 0 ? 'allow' : 'block';
    const lines: string[] = [];
    for (let e = 1 + next(25); e > 0; e--) {
      const d = name(1 + next(4));
      const form = next(6);
      lines.push(form === 0 ? `*.${d}` : form === 1 && kind === 'block' ? `@@||${d}^` : form === 2 ? `0.0.0.0 ${d}` : form === 3 ? `||${d}^` : d);
    }
    lists.push(parseList(lines.join('\n'), { name: `l${l}-${next(100)}`, kind }));
  }
  const queries: string[] = [];
  for (let q = 0; q < 60; q++) queries.push(name(1 + next(6)));
  for (const list of lists) for (const rule of rulesOf(list)) queries.push(rule.domain, `q.${rule.domain}`, `${rule.domain}.`);
  return { lists, queries };
}

function distinctDomains(lists: readonly ParsedList[]): number {
  return new Set(lists.flatMap((l) => rulesOf(l).map((r) => r.domain))).size;
}

describe('precedence matrix against the reference', () => {
  const variants: [string, (lists: ParsedList[]) => RuleIndexOptions][] = [
    ['default table', () => ({})],
    ['tiny table (one free slot): long probe runs that wrap around', (lists) => ({ capacity: distinctDomains(lists) + 1 })],
    ['every name hashes alike: one probe run, every tag equal', () => ({ hashMask: 0 })],
    ['both', (lists) => ({ capacity: distinctDomains(lists) + 1, hashMask: 0 })],
  ];
  it.each(variants)('%s: 300 random list sets agree with the README rules', (_label, options) => {
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { lists, queries } = randomCase(seed);
      const trie = RuleIndex.build(lists, options(lists));
      for (const query of queries) {
        const got = describeRule(trie.match(query));
        const want = describeRule(reference(lists, query));
        if (got !== want) expect({ seed, query, got }).toEqual({ seed, query, got: want });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  // Every combination of two entries on one domain d: forms x kinds x list order, for d, its child and its parent.
  const forms = ['d', '*.d', '@@||d^'] as const;
  const combos: [string, RuleKind, string, RuleKind][] = [];
  for (const f1 of forms) for (const k1 of ['block', 'allow'] as const) for (const f2 of forms) for (const k2 of ['block', 'allow'] as const) {
    if ((f1 === '@@||d^' && k1 === 'allow') || (f2 === '@@||d^' && k2 === 'allow')) continue;
    combos.push([f1, k1, f2, k2]);
  }
  it.each(combos)('%s in a %s list, then %s in a %s list', (f1, k1, f2, k2) => {
    for (const parent of [undefined, 'block', 'allow'] as const) {
      const entry = (form: string): string => form.replace('d', 'x.com');
      const lists = [
        parseList(entry(f1), { name: 'first', kind: k1 }),
        parseList(entry(f2), { name: 'second', kind: k2 }),
        ...(parent === undefined ? [] : [parseList('com', { name: 'parent', kind: parent })]),
      ];
      for (const options of [{}, { hashMask: 0 }]) {
        const trie = RuleIndex.build(lists, options);
        for (const query of ['x.com', 'a.x.com', 'b.a.x.com', 'com', 'y.com', 'x.com.']) {
          expect(describeRule(trie.match(query)), `${query} (parent ${parent ?? 'none'})`).toBe(describeRule(reference(lists, query)));
        }
      }
    }
  });
});

describe('forced collisions', () => {
  const names = Array.from({ length: 300 }, (_, i) => `n${i}.${['com', 'net', 'x'][i % 3]}`);
  const lists = [parseList(names.join('\n'), { name: 'b', kind: 'block' }), parseList('n6.com\nok.n7.net', { name: 'ok', kind: 'allow' })];

  it.each([
    ['capacity = distinct + 1', { capacity: 302 }],
    ['all hashes equal', { hashMask: 0 }],
    ['all hashes equal in the smallest table', { capacity: 302, hashMask: 0 }],
    ['only 8 hash bits', { hashMask: 0xff }],
  ])('%s: every entry and nothing else is found', (_label, options) => {
    const trie = RuleIndex.build(lists, options);
    expect(trie.ruleCount).toBe(301);
    for (const name of names) {
      if (name === 'n6.com') continue;
      expect(trie.match(name)?.domain).toBe(name);
      expect(trie.match(`sub.${name}`)?.domain).toBe(name);
      // Same length, one character off; and a name that is a string (not label) suffix.
      expect(trie.match(name.replace(/^n/, 'm'))).toBeUndefined();
      expect(trie.match(`x${name}`)).toBeUndefined();
    }
    // Same domain in both lists: allow; an allowed child of a blocked domain.
    expect(trie.match('n6.com')).toMatchObject({ kind: 'allow', list: 'ok' });
    expect(trie.match('ok.n7.net')).toMatchObject({ kind: 'allow', list: 'ok' });
    expect(trie.match('x.ok.n7.net')).toMatchObject({ kind: 'allow', list: 'ok' });
    expect(trie.match('n7.net')).toMatchObject({ kind: 'block', list: 'b' });
    for (const tld of ['com', 'net', 'x', 'org']) expect(trie.match(tld)).toBeUndefined();
  });

  it('refuses a table too small for the distinct entries (instead of looping forever)', () => {
    expect(() => RuleIndex.build(lists, { capacity: 301 })).toThrow(RangeError);
    expect(() => RuleIndex.build(lists, { capacity: 0 })).toThrow(RangeError);
  });
});

describe('names at the limits', () => {
  const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  const deepest = Array.from({ length: 127 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('.');
  const list = parseList([max, deepest, 'intranet', '*.corp', '_dmarc.mail.example', '_.x', 'xn--bcher-kva.example', 'bücher.test', 'xn--e1afmkfd.xn--p1ai'].join('\n'), {
    name: 'edge',
    kind: 'block',
  });
  const trie = RuleIndex.build([list]);

  it('parsed every entry', () => {
    expect(list.skipped).toEqual([]);
    expect(list.size).toBe(9);
    expect(deepest).toHaveLength(253);
  });

  it.each([
    ['253-character name', max, max],
    ['253-character name, trailing dot', `${max}.`, max],
    ['below a 253-character name', `x.${max}`, max],
    ['one character off at the start', `e${max.slice(1)}`, undefined],
    ['one character off at the end', `${max.slice(0, -1)}e`, undefined],
    ['127 labels', deepest, deepest],
    ['below 127 labels', `z.${deepest}`, deepest],
    ['126 of the 127 labels', deepest.slice(2), undefined],
    ['1-label entry itself', 'intranet', 'intranet'],
    ['below a 1-label entry', 'wiki.intranet', 'intranet'],
    ['*. of a 1-label name, the name', 'corp', undefined],
    ['*. of a 1-label name, below', 'x.corp', 'corp'],
    ['_ labels', '_dmarc.mail.example', '_dmarc.mail.example'],
    ['below _ labels', 'a._dmarc.mail.example', '_dmarc.mail.example'],
    ['parent of _ labels', 'mail.example', undefined],
    ['a lone _ label', 'y._.x', '_.x'],
    ['punycode entry', 'www.xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['IDN entry, queried as punycode', 'xn--bcher-kva.test', 'xn--bcher-kva.test'],
    ['IDN entry, queried as Unicode (wire names are never converted)', 'bücher.test', undefined],
    ['under a punycode TLD', 'shop.xn--e1afmkfd.xn--p1ai', 'xn--e1afmkfd.xn--p1ai'],
    ['characters beyond Latin-1 never match', 'ŀ.intranet.ŀ', undefined],
  ])('%s', (_label, query, domain) => {
    expect(trie.match(query)?.domain).toBe(domain);
  });

  it('names the IDN entry as it was written', () => {
    expect(trie.match('xn--bcher-kva.test')).toMatchObject({ domain: 'xn--bcher-kva.test', text: 'bücher.test', line: 8 });
  });
});

describe('sharing and size', () => {
  it('policies built from the same lists share their packed entries and stay independent', () => {
    const list = parseList('a.com\n@@||ok.a.com^', { name: 'b', kind: 'block' });
    const before = list.packed.byteSize;
    const p1 = new Policy([list], 1);
    const p2 = new Policy([list, parseList('b.com', { name: 'c', kind: 'block' })], 2);
    expect(list.packed.byteSize).toBe(before);
    expect(p1.evaluate('x.a.com').rule).toEqual(list.rule(0));
    expect(p1.evaluate('ok.a.com').action).toBe('allow');
    expect(p1.evaluate('b.com').action).toBe('none');
    expect(p2.evaluate('b.com').action).toBe('block');
  });

  it('costs about 6 bytes a table slot and at most 1/0.7 slots an entry', () => {
    const names = Array.from({ length: 50_000 }, (_, i) => `name${i}.example`);
    const trie = RuleIndex.build([parseList(names.join('\n'), { name: 'b', kind: 'block' })]);
    expect(trie.ruleCount).toBe(50_000);
    expect(trie.byteSize).toBeLessThanOrEqual(Math.ceil(50_000 / 0.7 + 1) * 6 + 64);
  });

  it('an empty list set and empty lists in between cost nothing and match nothing', () => {
    const lists = [parseList('', { name: 'e1', kind: 'block' }), parseList('x.com', { name: 'b', kind: 'block' }), parseList('# none', { name: 'e2', kind: 'allow' })];
    const trie = RuleIndex.build(lists);
    expect(trie.match('a.x.com')).toMatchObject({ list: 'b', domain: 'x.com' });
    expect(RuleIndex.build([]).match('x.com')).toBeUndefined();
  });
});
