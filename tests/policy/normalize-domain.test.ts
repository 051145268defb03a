import { describe, expect, it } from 'vitest';
import { normalizeListDomain } from '../../src/policy/normalize-domain.js';

describe('normalizeListDomain', () => {
  it.each([
    ['example.com', 'example.com'],
    ['  Example.COM  ', 'example.com'],
    ['example.com.', 'example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example.', 'xn--bcher-kva.example'],
    ['Ｅxample.COM.', 'example.com'], // fullwidth letter, mapped by IDNA
    ['bücher。example。', 'xn--bcher-kva.example'], // ideographic full stops
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['_dmarc.x.com', '_dmarc.x.com'],
    ['ether_promo.kissr.com', 'ether_promo.kissr.com'],
    ['localhost', 'localhost'], // single label allowed
    ['123.ywxww.net', '123.ywxww.net'], // numeric labels fine when the TLD is not numeric
    ['a-b.c-d', 'a-b.c-d'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeListDomain(input)).toBe(expected);
  });

  it('returns the same string when the entry is already canonical (no copy)', () => {
    const s = 'already.canonical.example';
    expect(normalizeListDomain(s)).toBe(s);
  });

  it('accepts a name of exactly 253 characters and rejects 254', () => {
    const label = 'a'.repeat(62);
    const ok = `${label}.${label}.${label}.${label}.b`; // four labels of 62 plus their dots (252), then 'b'
    expect(ok.length).toBe(253);
    expect(normalizeListDomain(ok)).toBe(ok);
    expect(normalizeListDomain(`${ok}b`)).toEqual({ error: 'name too long (254 characters, max 253)' });
  });

  it.each([
    ['', 'empty name'],
    ['   ', 'empty name'],
    ['.', 'empty name'],
    ['a..b', "empty label in 'a..b'"],
    ['.a.com', "empty label in '.a.com'"],
    ['x.com..', "empty label in 'x.com.'"],
    [`${'a'.repeat(64)}.com`, /^label longer than 63 characters/],
    ['1.2.3.4', 'IP address, not a domain'],
    ['1.2.3.4.', 'IP address, not a domain'],
    ['::1', 'IP address, not a domain'],
    ['2001:db8::1', 'IP address, not a domain'],
    ['[::1]', 'IP address, not a domain'],
    ['１２７.０.０.１', 'IP address, not a domain'], // fullwidth digits become an IP after IDNA
    ['1.2.3', 'numeric top-level label, looks like an IP address'],
    ['example.com/path', 'URL or path, not a domain'],
    ['http://example.com', 'URL or path, not a domain'],
    ['example.com:8080', 'URL or port, not a domain'],
    ['a*.example.com', "wildcard other than a leading '*.'"],
    ['exa mple.com', 'contains whitespace'],
    ['example.com##.ad', 'cosmetic (element hiding) rule, not a domain'],
    ['ex!ample.com', "invalid character '!' in 'ex!ample.com'"],
    ['ex\u0001ample.com', /^invalid character U\+0001/],
    // domainToASCII would cut these at the '/', silently turning them into a different name.
    ['bü/cher.de', 'URL or path, not a domain'],
    ['Bü?x.de', "invalid character '?' in 'Bü?x.de'"],
    ['bü／cher.de', /^not a valid internationalised domain name/], // fullwidth solidus
    ['xn--zz.bü', /^not a valid internationalised domain name/],
  ])('rejects %j', (input, reason) => {
    const result = normalizeListDomain(input);
    expect(typeof result).toBe('object');
    const error = (result as { error: string }).error;
    if (typeof reason === 'string') expect(error).toBe(reason);
    else expect(error).toMatch(reason);
  });
});
