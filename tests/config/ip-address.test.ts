import { describe, expect, it } from 'vitest';
import { allowsEveryone, ipv4Bytes, ipv4Range, ipv4ToNumber, ipv6Bytes, parseCidr } from '../../src/config/ip-address.js';
import { PRIVATE_CLIENT_RANGES } from '../../src/config/options.js';

describe('ipv4ToNumber', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['255.255.255.255', 0xffffffff],
    ['10.1.2.3', 0x0a010203],
  ])('%s → %d', (address, value) => expect(ipv4ToNumber(address)).toBe(value));

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', '::1', '1.2.3.'])('rejects %j', (address) =>
    expect(ipv4ToNumber(address)).toBe(-1),
  );
});

describe('ipv6Bytes', () => {
  it.each([
    { address: '::', hex: '00'.repeat(16) },
    { address: '::1', hex: '00'.repeat(15) + '01' },
    { address: '1::', hex: '0001' + '00'.repeat(14) },
    { address: '2001:db8::ff00:42:8329', hex: '20010db8' + '00000000' + '0000ff00' + '00428329' },
    { address: '2001:0db8:0000:0000:0000:ff00:0042:8329', hex: '20010db8' + '00000000' + '0000ff00' + '00428329' },
    { address: 'FE80::ABCD:1', hex: 'fe80' + '0000'.repeat(5) + 'abcd0001' },
    { address: '1:2:3:4:5:6:7::', hex: '0001000200030004000500060007' + '0000' },
    { address: '::2:3:4:5:6:7:8', hex: '0000' + '0002000300040005000600070008' },
    // A dotted IPv4 tail, as Node reports IPv4-mapped and IPv4-compatible client addresses.
    { address: '::ffff:192.0.2.1', hex: '00'.repeat(10) + 'ffff' + 'c0000201' },
    { address: '::1.2.3.4', hex: '00'.repeat(12) + '01020304' },
    { address: '64:ff9b::198.51.100.7', hex: '0064ff9b' + '00'.repeat(8) + 'c6336407' },
  ])('$address', ({ address, hex }) => {
    expect(ipv6Bytes(address).toString('hex')).toBe(hex);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:2:3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8:9::',
    'g::1',
    '12345::',
    '::ffff:1.2.3.4.5',
    '1::2::3',
    '1:2:3:4:5:6:7:8::',
  ])('rejects "%s"', (address) => {
    expect(() => ipv6Bytes(address)).toThrow(/invalid IPv6 address/);
  });
});

describe('ipv4Bytes', () => {
  it.each([
    { address: '0.0.0.0', hex: '00000000' },
    { address: '127.0.0.1', hex: '7f000001' },
    { address: '255.255.255.255', hex: 'ffffffff' },
  ])('$address', ({ address, hex }) => {
    expect(ipv4Bytes(address).toString('hex')).toBe(hex);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '-1.0.0.0', 'a.b.c.d', '1.2.3.4.', '1.2.3.', '0x7f.0.0.1'])('rejects "%s"', (address) => {
    expect(() => ipv4Bytes(address)).toThrow(/invalid IPv4 address/);
  });
});

describe('ipv4Range', () => {
  it('covers the whole prefix whatever host bits the address carries', () => {
    expect(ipv4Range('10.1.2.3', 16)).toEqual({ first: ipv4ToNumber('10.1.0.0'), last: ipv4ToNumber('10.1.255.255') });
    expect(ipv4Range('192.0.2.7', 32)).toEqual({ first: ipv4ToNumber('192.0.2.7'), last: ipv4ToNumber('192.0.2.7') });
    expect(ipv4Range('203.0.113.9', 0)).toEqual({ first: 0, last: 2 ** 32 - 1 });
  });
});

describe('CIDR helpers', () => {
  it('parses and rejects', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('10.0.0.0/33')).toHaveProperty('error');
    expect(parseCidr('10.0.0.0/x')).toHaveProperty('error');
    expect(parseCidr('example.com/8')).toHaveProperty('error');
  });
  it('knows when everyone is allowed', () => {
    expect(allowsEveryone(PRIVATE_CLIENT_RANGES)).toBe(false);
    expect(allowsEveryone(['10.0.0.0/8', '0.0.0.0/0'])).toBe(true);
  });
});
