import { describe, expect, it } from 'vitest';
import { getPublicSuffix } from 'tldts';
import { isExplicitPublicSuffix, PUBLIC_SUFFIX_REASON, registrableDomain, usesExplicitRuleTable } from '../../src/policy/public-suffix.js';
import { parseList } from '../../src/policy/parse-list.js';

describe('isExplicitPublicSuffix (tldts 7.6.4)', () => {
  it.each([
    ['com', true],
    ['uk', true],
    ['co.uk', true],
    ['xn--p1ai', true], // рф, a TLD
    ['github.io', true], // private section
    ['netlify.app', true],
    ['s3.amazonaws.com', true],
    ['kawasaki.jp', true],
    // Suffixes only through a wildcard rule: one party's name, valid entries.
    ['foo.ck', false], // *.ck
    ['x.kawasaki.jp', false], // *.kawasaki.jp
    ['ec2-1-2-3-4.compute-1.amazonaws.com', false], // *.compute-1.amazonaws.com
    ['www.ck', false], // !www.ck
    ['x.netlify.app', false],
    ['0xproject.io', false],
    ['lan', false], // not on the list at all (only tldts's default rule)
    ['intranet', false],
  ])('%s → %s', (name, expected) => {
    expect(isExplicitPublicSuffix(name)).toBe(expected);
  });

  it('reads the explicit rules of the pinned tldts once; only names tldts calls their own suffix are refused', () => {
    expect(usesExplicitRuleTable()).toBe(true);
    // An explicit rule that a wildcard also covers is still named by an explicit rule.
    expect(isExplicitPublicSuffix('teams.replit.dev')).toBe(true);
    const options = { allowPrivateDomains: true };
    for (let i = 0; i < 3000; i++) {
      const name = `n${i}.${['com', 'net', 'io', 'co.uk', 'github.io', 'amazonaws.com', 'jp', 'ck'][i % 8]}`;
      if (isExplicitPublicSuffix(name)) expect(getPublicSuffix(name, options), name).toBe(name);
      if (!name.endsWith('.ck')) expect(isExplicitPublicSuffix(name), name).toBe(false);
    }
  });

  it('gives the registrable domain, none for a suffix', () => {
    expect(registrableDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(registrableDomain('x.alice.github.io')).toBe('alice.github.io');
    expect(registrableDomain('co.uk')).toBeUndefined();
  });
});

describe('the list parser refuses public suffixes', () => {
  it('skips every shape of entry over a suffix, with its line, and keeps the rest', () => {
    const text = ['com', 'evil.com', 'CO.UK', '*.netlify.app', 'x.netlify.app', '0.0.0.0 github.io', '||uk^', '@@||com^', 'foo.ck', 'github.io.'].join('\n');
    const list = parseList(text, { name: 'l', kind: 'block' });
    expect(list.skipped).toEqual([
      { line: 1, text: 'com', reason: PUBLIC_SUFFIX_REASON },
      { line: 3, text: 'CO.UK', reason: PUBLIC_SUFFIX_REASON },
      { line: 4, text: '*.netlify.app', reason: PUBLIC_SUFFIX_REASON },
      { line: 6, text: 'github.io', reason: PUBLIC_SUFFIX_REASON },
      { line: 7, text: '||uk^', reason: PUBLIC_SUFFIX_REASON },
      { line: 8, text: '@@||com^', reason: PUBLIC_SUFFIX_REASON },
      { line: 10, text: 'github.io.', reason: PUBLIC_SUFFIX_REASON },
    ]);
    expect([...list.rules].map((r) => r.domain)).toEqual(['evil.com', 'x.netlify.app', 'foo.ck']);
  });

  it('refuses them in allowlists too (an allow of com would lift every block under it)', () => {
    expect(parseList('com\nok.com', { name: 'a', kind: 'allow' }).skipped).toHaveLength(1);
  });
});
