/**
 * anonymizeAddress: IPv4 to its /24, IPv6 to its /48, IPv4-mapped IPv6 as IPv4, anything that is not
 * an address to "unknown" — never the full address, never an exception (it runs on every logged query).
 */
import { describe, expect, it } from 'vitest';
import { anonymizeAddress } from '../../src/querylog/anonymize.js';

describe('anonymizeAddress', () => {
  it.each([
    ['192.0.2.55', '192.0.2.0'],
    ['192.0.2.0', '192.0.2.0'],
    ['10.1.2.3', '10.1.2.0'],
    ['255.255.255.255', '255.255.255.0'],
    ['0.0.0.0', '0.0.0.0'],
    ['127.0.0.1', '127.0.0.0'],
  ])('IPv4 %s → %s (/24)', (address, expected) => {
    expect(anonymizeAddress(address)).toBe(expected);
  });

  it.each([
    ['2001:db8:1234:5678:9abc:def0:1234:5678', '2001:db8:1234::'],
    ['2001:0db8:0001:0002::1', '2001:db8:1::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345::'],
    ['::1', '0:0:0::'],
    ['::', '0:0:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8:ffff::'],
  ])('IPv6 %s → %s (/48)', (address, expected) => {
    expect(anonymizeAddress(address)).toBe(expected);
  });

  it.each([
    ['::ffff:192.0.2.55', '192.0.2.0'],
    ['::ffff:10.0.0.1', '10.0.0.0'],
  ])('IPv4-mapped IPv6 %s is treated as IPv4 → %s', (address, expected) => {
    expect(anonymizeAddress(address)).toBe(expected);
  });

  it.each([
    '',
    'unknown',
    'not an address',
    'example.com',
    '300.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4/24',
    ' 1.2.3.4',
    '::ffff:999.1.1.1',
    '2001:db8::g',
    '2001:db8:::1',
    '1:2:3:4:5:6:7:8:9',
    '[::1]',
  ])('%j is "unknown"', (garbage) => {
    expect(anonymizeAddress(garbage)).toBe('unknown');
  });

  it('two clients of one /24 (or /48) are indistinguishable; of different ones, distinguishable', () => {
    expect(anonymizeAddress('198.51.100.1')).toBe(anonymizeAddress('198.51.100.254'));
    expect(anonymizeAddress('198.51.100.1')).not.toBe(anonymizeAddress('198.51.101.1'));
    expect(anonymizeAddress('2001:db8:aa::1')).toBe(anonymizeAddress('2001:db8:aa:ffff::2'));
    expect(anonymizeAddress('2001:db8:aa::1')).not.toBe(anonymizeAddress('2001:db8:ab::1'));
  });

  it('the host part never survives', () => {
    for (let i = 0; i < 200; i++) {
      const host = (i * 37 + 11) % 256;
      expect(anonymizeAddress(`203.0.113.${host}`)).toBe('203.0.113.0');
      const low = ((i * 7919) % 0xffff).toString(16);
      expect(anonymizeAddress(`2001:db8:7:${low}::${low}`)).toBe('2001:db8:7::');
    }
  });

  // Node writes the remote address of a client in ::/96 with a dotted tail (::102:304 is reported as
  // "::1.2.3.4"); with --query-log-anonymize such a query once threw inside QueryLogResolver and was
  // answered SERVFAIL. Each address below is the same address in two spellings; both must give one answer.
  it.each([
    ['::1.2.3.4', '::102:304'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ])('never throws: %s is anonymized like its hex spelling %s', (dotted, hex) => {
    expect(anonymizeAddress(dotted)).toBe(anonymizeAddress(hex));
  });
});
