import { describe, expect, it } from 'vitest';
import { SUFFIX_HASH_SEED, SuffixFilter, suffixHash, suffixHashStep } from '../../src/policy/suffix-filter.js';

describe('suffix hash', () => {
  it('is what a right-to-left walk computes at each label boundary', () => {
    const name = 'a.evil.example';
    let hash = SUFFIX_HASH_SEED;
    const seen: Record<string, number> = {};
    for (let i = name.length - 1; i >= 0; i--) {
      if (name[i] === '.') seen[name.slice(i + 1)] = hash;
      hash = suffixHashStep(hash, name.charCodeAt(i));
    }
    seen[name] = hash;
    expect(seen).toEqual({ example: suffixHash('example'), 'evil.example': suffixHash('evil.example'), 'a.evil.example': suffixHash(name) });
  });

  it('differs for names that differ only by a dot or order', () => {
    expect(suffixHash('ab.c')).not.toBe(suffixHash('a.bc'));
    expect(suffixHash('abc')).not.toBe(suffixHash('cba'));
  });
});

describe('SuffixFilter', () => {
  it('has no false negatives and few false positives', () => {
    const filter = new SuffixFilter(10_000);
    for (let i = 0; i < 10_000; i++) filter.add(suffixHash(`in${i}.example`));
    for (let i = 0; i < 10_000; i++) expect(filter.mayContain(suffixHash(`in${i}.example`))).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 100_000; i++) if (filter.mayContain(suffixHash(`out${i}.example`))) falsePositives++;
    expect(falsePositives / 100_000).toBeLessThan(0.03); // ~1.4% expected at 16 bits per entry
  });

  it('an empty filter contains nothing', () => {
    const filter = new SuffixFilter(0);
    expect(filter.mayContain(suffixHash('example'))).toBe(false);
  });
});
