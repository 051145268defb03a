import { describe, expect, it } from 'vitest';
import { explainLocalZones, explainName, formatExplanation, isBlocking } from '../../src/policy/explain.js';
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
const sources = { policy, localZones: explainLocalZones({ localZones: true, blockDohCanaries: true }) };

describe('explainName', () => {
  it('explains a block with the deciding rule', () => {
    expect(explainName('a.evil.com', sources)).toEqual({
      name: 'a.evil.com',
      valid: true,
      verdict: 'blocked',
      registrableDomain: 'evil.com',
      rule: { list: 'fraud', category: 'phishing', kind: 'block', scope: 'domain', domain: 'evil.com', line: 12, text: 'evil.com', registrableDomain: 'evil.com' },
    });
  });

  it('explains an allow exception', () => {
    expect(explainName('a.x.com', sources)).toMatchObject({ verdict: 'allowed', rule: { kind: 'allow', list: 'x', line: 3, text: '@@||a.x.com^' } });
  });

  it('reports names no list mentions', () => {
    expect(explainName('example.org', sources)).toEqual({ name: 'example.org', valid: true, verdict: 'not-listed', registrableDomain: 'example.org' });
  });

  it('shows the registrable domain under multi-label and private suffixes (tldts), none for a suffix itself', () => {
    expect(explainName('a.b.shop.co.uk', sources)).toMatchObject({ registrableDomain: 'shop.co.uk' });
    expect(explainName('x.alice.github.io', sources)).toMatchObject({ registrableDomain: 'alice.github.io' });
    const explained = explainName('co.uk', sources);
    expect(explained.valid && explained.registrableDomain).toBeUndefined();
  });

  it.each([
    ['Ｅvil.COM.', 'evil.com', 'blocked'],
    ['  A.Evil.Com  ', 'a.evil.com', 'blocked'],
    ['bücher.example', 'xn--bcher-kva.example', 'blocked'],
    ['www.BÜCHER.example.', 'www.xn--bcher-kva.example', 'blocked'],
    ['wild.net', 'wild.net', 'not-listed'],
  ])('normalises %j like a list entry', (input, name, verdict) => {
    expect(explainName(input, sources)).toMatchObject({ name, valid: true, verdict });
  });

  it.each([
    ['a..b', "empty label in 'a..b'"],
    ['http://evil.com/x', 'URL or path, not a domain'],
    ['', 'empty name'],
  ])('rejects invalid input %j', (input, error) => {
    expect(explainName(input, sources)).toEqual({ name: input, valid: false, error });
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
    expect(formatExplanation(explainName(input, sources))).toBe(line);
  });

  it('omits the line number of rules that did not come from text', () => {
    const rule = { list: 'api', category: 'manual', kind: 'block', scope: 'domain', domain: 'x.com', line: 0, text: 'x.com' } as const;
    expect(formatExplanation({ name: 'x.com', valid: true, verdict: 'blocked', rule })).toBe(
      'x.com: BLOCKED by list "api" (category manual), rule "x.com" (covers x.com and its subdomains)',
    );
  });
});

describe('local zones and DoH canaries, in the chain\'s order', () => {
  const listed = new Policy(
    [
      parseList('bad.home.arpa\n@@||printer.home.arpa^\n@@||use-application-dns.net^\n', { name: 'lan', kind: 'block', category: 'test' }),
    ],
    1,
  );
  const on = { policy: listed, localZones: explainLocalZones({ localZones: true, blockDohCanaries: true }) };
  const off = { policy: listed, localZones: explainLocalZones({ localZones: false, blockDohCanaries: false }) };

  it.each([
    ['localhost', 'local', 'localhost', 'loopback'],
    ['a.b.localhost', 'local', 'localhost', 'loopback'],
    ['x.home.arpa', 'local', 'home.arpa', 'empty'],
    ['1.0.0.127.in-addr.arpa', 'local', '127.in-addr.arpa', 'empty'],
    ['Use-Application-DNS.net.', 'canary', 'use-application-dns.net', 'canary'],
    ['mask.icloud.com', 'canary', 'mask.icloud.com', 'canary'],
  ])('%s is answered by fraudwall (%s, zone %s)', (input, verdict, apex, kind) => {
    expect(explainName(input, on)).toMatchObject({ valid: true, verdict, zone: { apex, kind } });
  });

  it('a block rule wins over a local zone; an allow rule leaves the name to the zone, and an allowed canary stays a canary', () => {
    expect(explainName('bad.home.arpa', on)).toMatchObject({ verdict: 'blocked', rule: { text: 'bad.home.arpa' } });
    expect(explainName('printer.home.arpa', on)).toMatchObject({ verdict: 'local', rule: { kind: 'allow' }, zone: { apex: 'home.arpa' } });
    expect(explainName('use-application-dns.net', on)).toMatchObject({ verdict: 'canary', rule: { kind: 'allow' } });
  });

  it('with local-zones and block-doh-canaries off, the same names are forwarded', () => {
    expect(explainName('localhost', off)).toEqual({ name: 'localhost', valid: true, verdict: 'not-listed' });
    expect(explainName('use-application-dns.net', off)).toMatchObject({ verdict: 'allowed' });
    expect(explainName('x.home.arpa', off)).toMatchObject({ verdict: 'not-listed' });
  });

  it('canaries and blocks count as blocking (exit 3), local answers do not', () => {
    expect(isBlocking(explainName('use-application-dns.net', on))).toBe(true);
    expect(isBlocking(explainName('bad.home.arpa', on))).toBe(true);
    expect(isBlocking(explainName('localhost', on))).toBe(false);
    expect(isBlocking(explainName('printer.home.arpa', on))).toBe(false);
  });

  it('says what the answer is, never "resolved normally"', () => {
    expect(formatExplanation(explainName('use-application-dns.net', on))).toBe(
      'use-application-dns.net: answered NXDOMAIN by fraudwall: a browser DoH canary (block-doh-canaries), so browsers keep their DNS on this filtering resolver',
    );
    expect(formatExplanation(explainName('localhost', on))).toBe(
      'localhost: answered locally by fraudwall from local zone "localhost" (127.0.0.1 and ::1; local-zones), never forwarded',
    );
    expect(formatExplanation(explainName('printer.home.arpa', on))).toBe(
      'printer.home.arpa: answered locally by fraudwall from local zone "home.arpa" (NXDOMAIN below it, no records at it; local-zones), never forwarded; allow rule "@@||printer.home.arpa^" in list "lan" does not forward it',
    );
  });
});
