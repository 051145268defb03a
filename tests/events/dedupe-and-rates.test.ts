import { describe, expect, it } from 'vitest';
import { DedupeWindow } from '../../src/events/dedupe-window.js';
import { RateBounds } from '../../src/events/rate-bounds.js';
import { registrableDomain, RegistrableDomainMemo } from '../../src/events/registrable-domain.js';

describe('DedupeWindow', () => {
  it('admits a key once per window, and again once the window has passed', () => {
    const window = new DedupeWindow(1000, 100);
    expect(window.admit('10.0.0.1', 'a.test', 0)).toBe(true);
    expect(window.admit('10.0.0.1', 'a.test', 500)).toBe(false);
    expect(window.admit('10.0.0.1', 'a.test', 999)).toBe(false);
    expect(window.admit('10.0.0.1', 'b.test', 999)).toBe(true);
    expect(window.admit('10.0.0.2', 'a.test', 999)).toBe(true);
    expect(window.admit('10.0.0.1', 'a.test', 1000)).toBe(true);
    expect(window.admit('10.0.0.1', 'a.test', 1500)).toBe(false);
    expect(window.admit('10.0.0.1', 'b.test', 1999)).toBe(true);
  });

  it('stays within its key bound, forgetting the oldest first, and sweeps expired keys', () => {
    const window = new DedupeWindow(10_000, 3);
    for (const key of ['a', 'b', 'c', 'd']) window.admit('c1', key, 1);
    expect(window.size).toBe(3);
    expect(window.admit('c1', 'a', 2)).toBe(true); // forgotten: admitted again
    expect(window.admit('c1', 'd', 2)).toBe(false);
    window.admit('c2', 'e', 20_000);
    expect(window.size).toBe(1);
    // Many pairs over time: the FIFO and the maps stay bounded.
    for (let i = 0; i < 50_000; i++) window.admit(`c${i % 7}`, `d${i}`, 20_000 + i);
    expect(window.size).toBe(3);
  });

  it('a window of 0 admits everything and remembers nothing', () => {
    const window = new DedupeWindow(0, 3);
    expect(window.admit('c', 'a', 0) && window.admit('c', 'a', 0)).toBe(true);
    expect(window.size).toBe(0);
  });
});

describe('RateBounds', () => {
  it('bounds one client per minute and refills over time', () => {
    const rates = new RateBounds({ eventsRate: 1000, eventsClientRate: 3, maxClients: 10 }, 0);
    expect([1, 2, 3, 4].map(() => rates.take('10.0.0.1', 0))).toEqual(['ok', 'ok', 'ok', 'client-rate']);
    expect(rates.take('10.0.0.2', 0)).toBe('ok');
    expect(rates.take('10.0.0.1', 20_000)).toBe('ok'); // 3 per minute: one more after 20 s
    expect(rates.take('10.0.0.1', 20_000)).toBe('client-rate');
  });

  it('bounds the whole server per second across clients', () => {
    const rates = new RateBounds({ eventsRate: 2, eventsClientRate: 100, maxClients: 10 }, 0);
    expect(['a', 'b', 'c'].map((client) => rates.take(client, 0))).toEqual(['ok', 'ok', 'global-rate']);
    expect(rates.take('c', 500)).toBe('ok');
  });
});

describe('registrableDomain', () => {
  it.each([
    ['www.loan-scam.test', 'loan-scam.test'],
    ['login.secure.bank-example.co.uk', 'bank-example.co.uk'],
    ['evil.github.io', 'evil.github.io'],
    ['a.b.example.com', 'example.com'],
    ['com', 'com'],
  ])('%s → %s', (name, domain) => {
    expect(registrableDomain(name)).toBe(domain);
    expect(new RegistrableDomainMemo(2).of(name)).toBe(domain);
  });

  it('the memo stays bounded', () => {
    const memo = new RegistrableDomainMemo(2);
    for (const name of ['a.x.com', 'b.y.com', 'c.z.com', 'a.x.com']) expect(memo.of(name)).toBe(name.slice(2));
  });
});
