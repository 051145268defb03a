import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/policy/policy-error.js';
import type { Rule, Verdict } from '../../src/query/rule.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';

const rule: Rule = { domain: 'x.com', scope: 'domain', kind: 'block', list: 'b', category: 'c', line: 1, text: 'x.com' };
const blocked: Verdict = { action: 'block', rule, reason: 'name' };
const none: Verdict = { action: 'none', rule: undefined, reason: 'name' };

describe('VerdictCache', () => {
  it('returns what was stored for the same generation and counts hits and misses', () => {
    const cache = new VerdictCache({ verdictCacheSize: 10 });
    expect(cache.get('x.com', 1)).toBeUndefined();
    cache.set('x.com', 1, blocked);
    cache.set('y.com', 1, none);
    expect(cache.get('x.com', 1)).toBe(blocked);
    expect(cache.get('y.com', 1)).toBe(none); // a 'none' verdict (rule undefined) is cached too
    expect(cache.get('z.com', 1)).toBeUndefined();
    expect(cache.hits).toBe(2);
    expect(cache.misses).toBe(2);
    expect(cache.size).toBe(2);
  });

  it('never serves an entry from another generation', () => {
    const cache = new VerdictCache({ verdictCacheSize: 10 });
    cache.set('x.com', 1, blocked);
    expect(cache.get('x.com', 2)).toBeUndefined();
    expect(cache.get('x.com', 0)).toBeUndefined();
    expect(cache.misses).toBe(2);
    cache.set('x.com', 2, none);
    expect(cache.get('x.com', 2)).toBe(none);
    expect(cache.get('x.com', 1)).toBeUndefined();
  });

  it('does not let a verdict computed under an older generation overwrite a newer one', () => {
    const cache = new VerdictCache({ verdictCacheSize: 10 });
    cache.set('x.com', 2, none);
    cache.set('x.com', 1, blocked);
    expect(cache.get('x.com', 2)).toBe(none);
  });

  it('is bounded by entries and evicts the least recently used', () => {
    const cache = new VerdictCache({ verdictCacheSize: 3 });
    cache.set('a', 1, none);
    cache.set('b', 1, none);
    cache.set('c', 1, none);
    expect(cache.get('a', 1)).toBe(none); // a is now most recently used
    cache.set('d', 1, none); // evicts b
    expect(cache.size).toBe(3);
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('a', 1)).toBe(none);
    expect(cache.get('c', 1)).toBe(none);
    expect(cache.get('d', 1)).toBe(none);
    for (let i = 0; i < 100; i++) cache.set(`n${i}`, 1, none);
    expect(cache.size).toBe(3);
  });

  it('never gives one name the verdict of another with the same hash', () => {
    const cache = new VerdictCache({ verdictCacheSize: 50 }, { hash: () => 42 });
    const other: Verdict = { action: 'allow', rule: { ...rule, kind: 'allow' }, reason: 'name' };
    cache.set('bad.example', 1, blocked);
    cache.set('good.example', 1, other);
    expect(cache.get('bad.example', 1)).toBe(blocked);
    expect(cache.get('good.example', 1)).toBe(other);
    expect(cache.get('bad.exampl', 1)).toBeUndefined();
    expect(cache.get('bad.examplf', 1)).toBeUndefined();
    // Evicting through a long probe run of equal hashes keeps the survivors reachable.
    for (let i = 0; i < 200; i++) cache.set(`n${i}`, 1, i % 2 ? blocked : none);
    expect(cache.size).toBe(50);
    for (let i = 150; i < 200; i++) expect(cache.get(`n${i}`, 1)).toBe(i % 2 ? blocked : none);
    expect(cache.get('n149', 1)).toBeUndefined();
  });

  it('keeps names longer than an inline slot, and names beyond Latin-1, exactly', () => {
    const cache = new VerdictCache({ verdictCacheSize: 10 });
    const long = `${'a'.repeat(60)}.example.com`;
    cache.set(long, 1, blocked);
    cache.set(`${'a'.repeat(60)}.example.net`, 1, none);
    cache.set('xn--caf-dma.example', 1, none);
    cache.set('caf\u0101.example', 1, blocked);
    expect(cache.get(long, 1)).toBe(blocked);
    expect(cache.get(`${'a'.repeat(60)}.example.net`, 1)).toBe(none);
    expect(cache.get(`${'a'.repeat(60)}.example.org`, 1)).toBeUndefined();
    expect(cache.get('caf\u0101.example', 1)).toBe(blocked);
    expect(cache.get('caf\u0001.example', 1)).toBeUndefined();
    for (let i = 0; i < 20; i++) cache.set(`${'b'.repeat(70)}${i}`, 1, none); // long names evicted cleanly too
    expect(cache.size).toBe(10);
    expect(cache.get(long, 1)).toBeUndefined();
    expect(cache.get(`${'b'.repeat(70)}19`, 1)).toBe(none);
  });

  it('defaults to 100,000 entries', () => {
    const cache = new VerdictCache();
    for (let i = 0; i < 100_001; i++) cache.set(`n${i}.com`, 1, none);
    expect(cache.size).toBe(100_000);
    expect(cache.get('n0.com', 1)).toBeUndefined();
    expect(cache.get('n100000.com', 1)).toBe(none);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects max %s with E_CACHE_SIZE', (max) => {
    expect(() => new VerdictCache({ verdictCacheSize: max })).toThrow(PolicyError);
    try {
      new VerdictCache({ verdictCacheSize: max });
    } catch (err) {
      expect((err as PolicyError).code).toBe('E_CACHE_SIZE');
    }
  });
});
