// A Bloom filter over the domains stored in DomainTrie. The hash runs over a name from its LAST
// character to its first, so while match() walks a query right to left it holds, at every label
// boundary, the hash of the suffix seen so far and can ask "could this suffix be an entry?" without
// slicing it. Most query names are not listed at all: for those, every suffix is rejected here and
// the lookup touches neither the big Map nor the allocator.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** ~16 bits per entry with two probes: about 1.4% false positives, 2 MB per million entries. */
const BITS_PER_ENTRY = 16;
const MIN_BITS = 1024;

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

/** murmur3 finaliser: FNV's low bits alone are not well enough mixed to index a bitset. */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class SuffixFilter {
  private readonly words: Int32Array;
  private readonly mask: number;

  constructor(expectedEntries: number) {
    let bits = MIN_BITS;
    while (bits < expectedEntries * BITS_PER_ENTRY && bits < 2 ** 30) bits *= 2;
    this.words = new Int32Array(bits >>> 5);
    this.mask = bits - 1;
  }

  add(hash: number): void {
    const h = mix(hash);
    const a = h & this.mask;
    const b = (Math.imul(h, 0x9e3779b1) >>> 7) & this.mask;
    this.words[a >>> 5]! |= 1 << (a & 31);
    this.words[b >>> 5]! |= 1 << (b & 31);
  }

  /** false = certainly not added; true = probably added. */
  mayContain(hash: number): boolean {
    const h = mix(hash);
    const a = h & this.mask;
    if ((this.words[a >>> 5]! & (1 << (a & 31))) === 0) return false;
    const b = (Math.imul(h, 0x9e3779b1) >>> 7) & this.mask;
    return (this.words[b >>> 5]! & (1 << (b & 31))) !== 0;
  }
}
