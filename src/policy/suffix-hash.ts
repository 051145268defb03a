// The suffix hash shared by the matcher's build and its lookups. It runs over a name from its LAST
// character to its first, so while match() walks a query right to left it holds, at every label
// boundary, the hash of the suffix seen so far and can probe the table for that suffix without
// slicing it; the build computes the same value over each entry's bytes.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Start value of a right-to-left suffix hash. */
export const SUFFIX_HASH_SEED = FNV_OFFSET;

/** Folds one more character (the next one to the left) into a suffix hash (FNV-1a, 32 bit). */
export function suffixHashStep(hash: number, charCode: number): number {
  return Math.imul(hash ^ charCode, FNV_PRIME);
}

/** The hash match() arrives at for `domain` when it walks a name ending in `domain`. */
export function suffixHash(domain: string): number {
  let hash = SUFFIX_HASH_SEED;
  for (let i = domain.length - 1; i >= 0; i--) hash = suffixHashStep(hash, domain.charCodeAt(i));
  return hash;
}
