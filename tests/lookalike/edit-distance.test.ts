import { distance as levenshtein } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { distanceWithin, optimalStringAlignment } from '../../src/lookalike/edit-distance.js';

describe('distanceWithin', () => {
  it('counts a swap of neighbouring letters as one edit (Levenshtein counts two)', () => {
    expect(levenshtein('paypal', 'paypla')).toBe(2);
    expect(distanceWithin('paypal', 'paypla', 1)).toBe(1);
  });

  it('gives insertions, deletions and substitutions their Levenshtein distance', () => {
    expect(distanceWithin('paypal', 'paypall', 1)).toBe(1);
    expect(distanceWithin('paypal', 'payal', 1)).toBe(1);
    expect(distanceWithin('paypal', 'paypa1', 1)).toBe(1);
    expect(distanceWithin('wellsfargo', 'welsfarg', 2)).toBe(2);
  });

  it('is undefined beyond the bound, also when only the lengths differ too much', () => {
    expect(distanceWithin('paypal', 'pyapla', 1)).toBeUndefined();
    expect(distanceWithin('paypal', 'paypalxx', 1)).toBeUndefined();
    expect(distanceWithin('chase', 'chase', 0)).toBe(0);
  });
});

describe('optimalStringAlignment', () => {
  /** Brute force over the definition, for short strings. */
  function reference(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
    return d[a.length]![b.length]!;
  }

  it('agrees with the textbook table on random short strings', () => {
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const word = (): string => Array.from({ length: Math.floor(random() * 8) }, () => 'abc'[Math.floor(random() * 3)]).join('');
    for (let n = 0; n < 500; n++) {
      const a = word();
      const b = word();
      expect(optimalStringAlignment(a, b), `${a} / ${b}`).toBe(reference(a, b));
    }
  });
});
