import { describe, expect, it } from 'vitest';
import { allowsEveryone, ClientGate, ipv4ToNumber, parseCidr, PRIVATE_CLIENT_RANGES, type ClientGateOptions } from '../../src/dns/client-gate.js';

const base: ClientGateOptions = {
  allowClients: PRIVATE_CLIENT_RANGES,
  disallowedAction: 'refuse',
  rateLimit: 0,
  rateBurst: 1,
  ipv4PrefixLength: 24,
  ipv6PrefixLength: 56,
  overLimitAction: 'truncate',
  limitLoopback: false,
};

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

describe('ClientGate access control', () => {
  const gate = new ClientGate(base);
  it.each([
    ['127.0.0.1', 'IPv4', 'pass'],
    ['10.255.255.255', 'IPv4', 'pass'],
    ['172.16.0.1', 'IPv4', 'pass'],
    ['172.31.255.255', 'IPv4', 'pass'],
    ['172.32.0.1', 'IPv4', 'refuse'],
    ['192.168.1.1', 'IPv4', 'pass'],
    ['192.169.0.1', 'IPv4', 'refuse'],
    ['8.8.8.8', 'IPv4', 'refuse'],
    ['::1', 'IPv6', 'pass'],
    ['fd00::1', 'IPv6', 'pass'],
    ['2001:db8::1', 'IPv6', 'refuse'],
    ['::ffff:192.168.1.1', 'IPv6', 'pass'],
    ['::ffff:8.8.8.8', 'IPv6', 'refuse'],
  ] as const)('%s (%s) → %s', (address, family, decision) => {
    expect(gate.check(address, 40000, family, 'udp')).toBe(decision);
  });

  it('drops instead of refusing when configured, and counts', () => {
    const dropping = new ClientGate({ ...base, disallowedAction: 'drop' });
    expect(dropping.check('8.8.8.8', 40000, 'IPv4', 'udp')).toBe('drop');
    expect(dropping.stats.dropped).toBe(1);
  });

  it('drops UDP from reflection-prone source ports but not TCP', () => {
    for (const port of [0, 19, 123, 1900, 11211]) expect(gate.check('127.0.0.1', port, 'IPv4', 'udp')).toBe('drop');
    expect(gate.check('127.0.0.1', 123, 'IPv4', 'tcp')).toBe('pass');
    expect(gate.check('127.0.0.1', 53, 'IPv4', 'udp')).toBe('pass');
  });
});

describe('ClientGate rate limit', () => {
  it('gives each /24 its own bucket, truncates over the limit, and exempts loopback unless asked', () => {
    const limited = new ClientGate({ ...base, rateLimit: 1, rateBurst: 3, limitLoopback: true });
    const decisions = (address: string) => Array.from({ length: 5 }, () => limited.check(address, 40000, 'IPv4', 'udp'));
    expect(decisions('10.0.0.1')).toEqual(['pass', 'pass', 'pass', 'truncate', 'truncate']);
    expect(decisions('10.0.0.200')).toEqual(['truncate', 'truncate', 'truncate', 'truncate', 'truncate']); // same /24
    expect(decisions('10.0.1.1')).toEqual(['pass', 'pass', 'pass', 'truncate', 'truncate']);
    expect(limited.check('10.0.0.1', 40000, 'IPv4', 'tcp')).toBe('pass'); // TCP is not rate-limited
    const exempt = new ClientGate({ ...base, rateLimit: 1, rateBurst: 1 });
    expect(Array.from({ length: 5 }, () => exempt.check('127.0.0.1', 40000, 'IPv4', 'udp'))).toEqual(Array(5).fill('pass'));
    expect(exempt.check('10.0.0.1', 40000, 'IPv4', 'udp')).toBe('pass');
    expect(exempt.check('10.0.0.1', 40000, 'IPv4', 'udp')).toBe('truncate');
  });

  it('shares one bucket per IPv6 /56 and drops when configured', () => {
    const limited = new ClientGate({ ...base, allowClients: ['::/0'], rateLimit: 1, rateBurst: 1, overLimitAction: 'drop' });
    expect(limited.check('2001:db8:0:1::1', 40000, 'IPv6', 'udp')).toBe('pass');
    expect(limited.check('2001:db8:0:ff::2', 40000, 'IPv6', 'udp')).toBe('drop'); // same /56
    expect(limited.check('2001:db8:0:100::1', 40000, 'IPv6', 'udp')).toBe('pass'); // next /56
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
