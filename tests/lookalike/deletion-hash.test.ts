import { describe, expect, it } from 'vitest';
import { deletionKeys } from '../../src/lookalike/deletion-hash.js';

const keysOf = (s: string, depth: 1 | 2): number[] => {
  const { keys, count } = deletionKeys(s, depth);
  return [...keys.subarray(0, count)];
};

describe('deletionKeys', () => {
  it('gives a string minus one or two letters the key of that shorter string', () => {
    const own = (s: string): number => keysOf(s, 1)[0]!;
    const keys = new Set(keysOf('paypal', 2));
    expect(keys.has(own('paypal'))).toBe(true);
    expect(keys.has(own('aypal'))).toBe(true); // first letter deleted
    expect(keys.has(own('paypa'))).toBe(true); // last letter deleted
    expect(keys.has(own('pypl'))).toBe(true); // two deleted
    expect(keys.has(own('paypl'))).toBe(true);
    expect(keys.has(own('pay'))).toBe(false); // three deleted: beyond depth 2
  });

  it('returns 1 + n keys at depth 1 and 1 + n + n(n-1)/2 at depth 2', () => {
    expect(deletionKeys('abcdefghij', 1).count).toBe(11);
    expect(deletionKeys('abcdefghij', 2).count).toBe(56);
  });

  it('refuses labels longer than a DNS label', () => {
    expect(deletionKeys('a'.repeat(64), 2).count).toBe(0);
  });
});
