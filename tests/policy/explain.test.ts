import { describe, expect, it } from 'vitest';
import { explainName, formatExplanation } from '../../src/policy/explain.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';

const fraudText = [
  '# category: phishing', // 1
  ...Array.from({ length: 10 }, (_, i) => `filler${i}.example`), // 2-11
  'evil.com', // 12
  '*.wild.net', // 13
  '0.0.0.0 xn--bcher-kva.example', // 14
].join('\n');
const policy = new Policy(
  [parseList(fraudText, { name: 'fraud', kind: 'block' }), parseList('! x\n\n@@||a.x.com^\nx.com\n', { name: 'x', kind: 'block' })],
  1,
);

describe('explainName', () => {
  it('explains a block with the deciding rule', () => {
    expect(explainName('a.evil.com', policy)).toEqual({
      name: 'a.evil.com',
      valid: true,
      verdict: 'blocked',
      registrableDomain: 'evil.com',
      rule: { list: 'fraud', category: 'phishing', kind: 'block', scope: 'domain', domain: 'evil.com', line: 12, text: 'evil.com', registrableDomain: 'evil.com' },
    });
  });

  it('explains an allow exception', () => {
    expect(explainName('a.x.com', policy)).toMatchObject({ verdict: 'allowed', rule: { kind: 'allow', list: 'x', line: 3, text: '@@||a.x.com^' } });
  });

  it('reports names no list mentions', () => {
    expect(explainName('example.org', policy)).toEqual({ name: 'example.org', valid: true, verdict: 'not-listed', registrableDomain: 'example.org' });
  });

  it('shows the registrable domain under multi-label and private suffixes (tldts), none for a suffix itself', () => {
    expect(explainName('a.b.shop.co.uk', policy)).toMatchObject({ registrableDomain: 'shop.co.uk' });
    expect(explainName('x.alice.github.io', policy)).toMatchObject({ registrableDomain: 'alice.github.io' });
    const explained = explainName('co.uk', policy);
    expect(explained.valid && explained.registrableDomain).toBeUndefined();
  });

  it.each([
    ['Ｅvil.COM.', 'evil.com', 'blocked'],
    ['  A.Evil.Com  ', 'a.evil.com', 'blocked'],
    ['bücher.example', 'xn--bcher-kva.example', 'blocked'],
    ['www.BÜCHER.example.', 'www.xn--bcher-kva.example', 'blocked'],
    ['wild.net', 'wild.net', 'not-listed'],
  ])('normalises %j like a list entry', (input, name, verdict) => {
    expect(explainName(input, policy)).toMatchObject({ name, valid: true, verdict });
  });

  it.each([
    ['a..b', "empty label in 'a..b'"],
    ['http://evil.com/x', 'URL or path, not a domain'],
    ['', 'empty name'],
  ])('rejects invalid input %j', (input, error) => {
    expect(explainName(input, policy)).toEqual({ name: input, valid: false, error });
  });
});

describe('formatExplanation', () => {
  it.each([
    [
      'a.evil.com',
      'a.evil.com: BLOCKED by list "fraud" (category phishing), rule "evil.com" at line 12 (covers evil.com and its subdomains); registrable domain evil.com',
    ],
    [
      'a.wild.net',
      'a.wild.net: BLOCKED by list "fraud" (category phishing), rule "*.wild.net" at line 13 (covers subdomains of wild.net, not wild.net itself); registrable domain wild.net',
    ],
    [
      'bücher.example',
      'xn--bcher-kva.example: BLOCKED by list "fraud" (category phishing), rule "xn--bcher-kva.example" at line 14 (covers xn--bcher-kva.example and its subdomains); registrable domain xn--bcher-kva.example',
    ],
    ['b.a.x.com', 'b.a.x.com: ALLOWED by allow rule "@@||a.x.com^" in list "x" line 3 (covers a.x.com and its subdomains); registrable domain x.com'],
    ['example.org', 'example.org: not listed (would be resolved normally); registrable domain example.org'],
    ['a..b', "a..b: not a valid domain name (empty label in 'a..b')"],
  ])('%j', (input, line) => {
    expect(formatExplanation(explainName(input, policy))).toBe(line);
  });

  it('omits the line number of rules that did not come from text', () => {
    const rule = { list: 'api', category: 'manual', kind: 'block', scope: 'domain', domain: 'x.com', line: 0, text: 'x.com' } as const;
    expect(formatExplanation({ name: 'x.com', valid: true, verdict: 'blocked', rule })).toBe(
      'x.com: BLOCKED by list "api" (category manual), rule "x.com" (covers x.com and its subdomains)',
    );
  });
});
