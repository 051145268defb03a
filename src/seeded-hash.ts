// The string hash of the in-memory indexes (response cache, verdict cache). Seeded per process, so
// a flood of crafted names cannot aim at one probe chain of an index.
const SEED = (Math.random() * 0x100000000) >>> 0;

// The hash in three steps, so that a caller can hash a string and a few more character codes
// (the response cache's key: a name and its question's fixed-size trailer) without building the
// joined string: hashStart(total length), hashStep per character code, hashFinish.
export function hashStart(length: number): number {
  return SEED ^ length;
}

/** One FNV-1a step; `c` must be ≤ 0xff (Latin-1). */
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, 0x01000193);
}

/** The murmur3 finalizer: spreads the FNV state over all 32 bits. */
export function hashFinish(state: number): number {
  let h = state;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash of a Latin-1 string (FNV-1a steps, murmur3 finalizer); -1 when a character is beyond Latin-1. */
export function seededHash(text: string): number {
  let h = hashStart(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return -1;
    h = hashStep(h, c);
  }
  return hashFinish(h);
}
