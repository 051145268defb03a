import { describe, expect, it } from 'vitest';
import { ipv4Bytes, ipv6Bytes } from '../../src/config/ip-address.js';
import { formatAddress, parseIpPrefix } from '../../src/policy/ip-prefix.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { explainLocalZones, explainName, formatExplanation } from '../../src/policy/explain.js';

const zones = explainLocalZones({ localZones: true, blockDohCanaries: true });

const fraud = parseList(['# category: phishing', '203.0.113.0/24', '203.0.113.64/26', '198.51.100.7', '2001:db8:bad::/48', '::ffff:192.0.2.0/120', 'evil.example'].join('\n'), {
  name: 'fraud',
  kind: 'block',
});
const allow = parseList('203.0.113.70\n2001:db8:bad:1::/64\n', { name: 'ok', kind: 'allow' });
const policy = new Policy([fraud, allow], 1);

function verdictOf(address: string): string {
  const bytes = address.includes(':') ? ipv6Bytes(address) : ipv4Bytes(address);
  const v = policy.evaluateAddress(bytes, 0, bytes.length);
  return v.rule === undefined ? 'none' : `${v.action} ${v.rule.list}:${v.rule.domain}@${v.rule.line}`;
}

describe('answer-IP rules', () => {
  it('parse into canonical prefixes with their lines; names stay name rules', () => {
    expect([...fraud.rules].map((r) => `${r.domain}@${r.line} "${r.text}"`)).toEqual([
      '203.0.113.0/24@2 "203.0.113.0/24"',
      '203.0.113.64/26@3 "203.0.113.64/26"',
      '198.51.100.7/32@4 "198.51.100.7"',
      '2001:db8:bad::/48@5 "2001:db8:bad::/48"',
      '192.0.2.0/24@6 "::ffff:192.0.2.0/120"',
      'evil.example@7 "evil.example"',
    ]);
    expect(fraud.skipped).toEqual([]);
    expect(policy.evaluate('203.0.113.0/24').action).toBe('none'); // a prefix is never a name rule
  });

  it.each([
    ['203.0.113.1', 'block fraud:203.0.113.0/24@2'],
    ['203.0.113.65', 'block fraud:203.0.113.64/26@3'], // longest prefix wins
    ['203.0.113.70', 'allow ok:203.0.113.70/32@1'],
    ['203.0.114.1', 'none'],
    ['198.51.100.7', 'block fraud:198.51.100.7/32@4'],
    ['198.51.100.8', 'none'],
    ['2001:db8:bad:2::1', 'block fraud:2001:db8:bad::/48@5'],
    ['2001:db8:bad:1::1', 'allow ok:2001:db8:bad:1::/64@2'],
    ['2001:db8:bae::1', 'none'],
    ['192.0.2.9', 'block fraud:192.0.2.0/24@6'],
    ['::ffff:203.0.113.1', 'block fraud:203.0.113.0/24@2'], // a mapped address counts as its IPv4 address
  ])('%s → %s', (address, expected) => {
    expect(verdictOf(address)).toBe(expected);
  });

  it('a shared prefix in two lists: allow wins', () => {
    const p = new Policy([parseList('192.0.2.0/24', { name: 'b', kind: 'block' }), parseList('192.0.2.0/24', { name: 'a', kind: 'allow' })], 1);
    expect(p.evaluateAddress(ipv4Bytes('192.0.2.1'), 0, 4)).toMatchObject({ action: 'allow', reason: 'ip' });
  });

  it('refuses prefixes broader than /16 and /32, loopback and unspecified', () => {
    for (const text of ['10.0.0.0/15', '2001::/31', '127.0.0.1', '0.0.0.0', '::', '::1', '::/0', '127.0.0.0/16']) {
      expect(parseIpPrefix(text), text).toHaveProperty('error');
    }
    expect(parseIpPrefix('10.1.0.0/16')).toMatchObject({ family: 4, prefix: 16 });
    expect(parseIpPrefix('2001:db8::/32')).toMatchObject({ family: 6, prefix: 32 });
    expect(parseIpPrefix('10.1.2.3/16')).toMatchObject({ bytes: new Uint8Array([10, 1, 0, 0]) }); // host bits cleared
    expect(parseIpPrefix('evil.example')).toBeUndefined();
  });

  it('formats addresses as RFC 5952 text', () => {
    expect(formatAddress(ipv6Bytes('2001:db8:0:0:1:0:0:1'), 0, 16)).toBe('2001:db8::1:0:0:1');
    expect(formatAddress(ipv6Bytes('::1'), 0, 16)).toBe('::1');
    expect(formatAddress(ipv6Bytes('2001:db8:1:2:3:4:5:6'), 0, 16)).toBe('2001:db8:1:2:3:4:5:6');
    expect(formatAddress(ipv4Bytes('192.0.2.1'), 0, 4)).toBe('192.0.2.1');
  });

  it('explain takes an address and names the list and line covering it', () => {
    const e = explainName('203.0.113.65', { policy, localZones: zones });
    expect(e).toMatchObject({ name: '203.0.113.65', valid: true, verdict: 'blocked', rule: { list: 'fraud', line: 3, domain: '203.0.113.64/26' } });
    expect(formatExplanation(e)).toBe(
      '203.0.113.65: BLOCKED by list "fraud" (category phishing), rule "203.0.113.64/26" at line 3 (covers 203.0.113.64/26 in upstream answers)',
    );
    expect(explainName('192.0.2.200', { policy: new Policy([], 1), localZones: zones })).toEqual({ name: '192.0.2.200', valid: true, verdict: 'not-listed' });
  });

  it('loads 100,000 prefixes (the build is measured in bench/policy-memory.mjs)', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `${10 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}.0/24`);
    const p = new Policy([parseList(lines.join('\n'), { name: 'big', kind: 'block' })], 1);
    expect(p.addressRuleCount).toBe(100_000);
    expect(p.evaluateAddress(ipv4Bytes('11.134.159.9'), 0, 4).rule?.domain).toBe('11.134.159.0/24');
    expect(p.evaluateAddress(ipv4Bytes('12.0.0.1'), 0, 4).rule).toBeUndefined();
  });
});

describe('explain of an unlisted address', () => {
  it('says no answer-IP rule covers it', () => {
    expect(formatExplanation(explainName('192.0.2.200', { policy: new Policy([], 1), localZones: zones }))).toBe('192.0.2.200: no answer-IP rule covers it (upstream answers with this address pass)');
  });
});
