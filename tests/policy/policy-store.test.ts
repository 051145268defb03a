import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/policy/policy-error.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';

const policyOf = (text: string, generation: number): Policy => new Policy([parseList(text, { name: 'b', kind: 'block' })], generation);

describe('PolicyStore', () => {
  it('answers from the policy and then from the cache', () => {
    const cache = new VerdictCache({ verdictCacheSize: 100 });
    const store = new PolicyStore(policyOf('evil.com', 1), cache);
    const first = store.verdict('a.evil.com');
    expect(first.action).toBe('block');
    expect(cache.misses).toBe(1);
    expect(store.verdict('a.evil.com')).toBe(first);
    expect(cache.hits).toBe(1);
    expect(store.verdict('fine.com').action).toBe('none');
    expect(store.verdict('fine.com').action).toBe('none');
    expect(cache.hits).toBe(2);
    expect(cache.size).toBe(2);
  });

  it('swap switches policies at once and never serves verdicts of the old one', () => {
    const cache = new VerdictCache({ verdictCacheSize: 100 });
    const v1 = policyOf('evil.com', 1);
    const store = new PolicyStore(v1, cache);
    const held = store.verdict('evil.com'); // a query in flight keeps what it already fetched
    expect(store.verdict('other.com').action).toBe('none');

    const v2 = policyOf('other.com', 2);
    store.swap(v2);
    expect(store.current).toBe(v2);
    expect(held.action).toBe('block');
    expect(store.verdict('evil.com').action).toBe('none');
    expect(store.verdict('other.com').action).toBe('block');
    expect(cache.size).toBe(2); // invalidated by generation tag, not cleared
  });

  it.each([1, 0])('rejects a swap to generation %s when the current one is 1 (E_POLICY_GENERATION)', (generation) => {
    const store = new PolicyStore(policyOf('x.com', 1), new VerdictCache());
    const stale = policyOf('y.com', generation);
    expect(() => store.swap(stale)).toThrow(PolicyError);
    expect(() => store.swap(stale)).toThrow(/not greater than the current 1/);
    expect(store.current.generation).toBe(1);
    expect(store.verdict('x.com').action).toBe('block');
  });
});
