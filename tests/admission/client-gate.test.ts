import { describe, expect, it } from 'vitest';
import { ClientGate, type ClientGateOptions } from '../../src/admission/client-gate.js';
import { PRIVATE_CLIENT_RANGES } from '../../src/config/options.js';

const base: ClientGateOptions = {
  allowClients: PRIVATE_CLIENT_RANGES,
  disallowedClients: 'refuse',
  rateLimit: 0,
  rateLimitBurst: 1,
  rateLimitIpv4Prefix: 24,
  rateLimitIpv6Prefix: 56,
  rateLimitAction: 'truncate',
  rateLimitLoopback: false,
};

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
    const dropping = new ClientGate({ ...base, disallowedClients: 'drop' });
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
    const limited = new ClientGate({ ...base, rateLimit: 1, rateLimitBurst: 3, rateLimitLoopback: true });
    const decisions = (address: string) => Array.from({ length: 5 }, () => limited.check(address, 40000, 'IPv4', 'udp'));
    expect(decisions('10.0.0.1')).toEqual(['pass', 'pass', 'pass', 'truncate', 'truncate']);
    expect(decisions('10.0.0.200')).toEqual(['truncate', 'truncate', 'truncate', 'truncate', 'truncate']); // same /24
    expect(decisions('10.0.1.1')).toEqual(['pass', 'pass', 'pass', 'truncate', 'truncate']);
    expect(limited.check('10.0.0.1', 40000, 'IPv4', 'tcp')).toBe('pass'); // TCP is not rate-limited
    const exempt = new ClientGate({ ...base, rateLimit: 1, rateLimitBurst: 1 });
    expect(Array.from({ length: 5 }, () => exempt.check('127.0.0.1', 40000, 'IPv4', 'udp'))).toEqual(Array(5).fill('pass'));
    expect(exempt.check('10.0.0.1', 40000, 'IPv4', 'udp')).toBe('pass');
    expect(exempt.check('10.0.0.1', 40000, 'IPv4', 'udp')).toBe('truncate');
  });

  it('shares one bucket per IPv6 /56 and drops when configured', () => {
    const limited = new ClientGate({ ...base, allowClients: ['::/0'], rateLimit: 1, rateLimitBurst: 1, rateLimitAction: 'drop' });
    expect(limited.check('2001:db8:0:1::1', 40000, 'IPv6', 'udp')).toBe('pass');
    expect(limited.check('2001:db8:0:ff::2', 40000, 'IPv6', 'udp')).toBe('drop'); // same /56
    expect(limited.check('2001:db8:0:100::1', 40000, 'IPv6', 'udp')).toBe('pass'); // next /56
  });
});
