import { describe, expect, it } from 'vitest';
import { SUFFIX_HASH_SEED, suffixHash, suffixHashStep } from '../../src/policy/suffix-hash.js';

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
