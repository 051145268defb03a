// Hashes of a string with up to two characters deleted, computed without building the strings.
//
// The symmetric-deletion index keys each protected label by every string reached from it by up to
// k deletions; a query label finds its candidates by looking up its own deletions. Building those
// strings for every query (55 of them for a 10-letter label) cost more than the rest of the judge
// together, so both sides use a polynomial hash instead: hash(A + B) = hash(A)·P^|B| + hash(B)
// (mod 2^32), which gives the hash of a label minus position i, or minus i and j, from prefix
// hashes in O(1). A collision only adds a candidate, which the real distance then rejects.

const P = 0x01000193;
/** Labels are at most 63 characters (the decoded form of an xn-- label can be no longer). */
export const MAX_HASHED_LENGTH = 63;
/** Keys stay small integers, which V8 keeps unboxed in a Map. */
const KEY_MASK = 0x3fffffff;

const POWERS = new Int32Array(MAX_HASHED_LENGTH + 1);
POWERS[0] = 1;
for (let i = 1; i <= MAX_HASHED_LENGTH; i++) POWERS[i] = Math.imul(POWERS[i - 1]!, P);

const prefix = new Int32Array(MAX_HASHED_LENGTH + 1);

/** hash(s[a, b)) from the prefix table of the string being visited. */
function slice(a: number, b: number): number {
  return (prefix[b]! - Math.imul(prefix[a]!, POWERS[b - a]!)) | 0;
}

/** Room for the keys of a 63-character label at depth 2: 1 + 63 + 63·62/2. */
const KEYS = new Int32Array(1 + MAX_HASHED_LENGTH + (MAX_HASHED_LENGTH * (MAX_HASHED_LENGTH - 1)) / 2);

/**
 * The keys of `s` itself and of every string reached by deleting 1 (and, with depth 2, 2) of its
 * characters, in a shared buffer: read the first `count` before the next call (not reentrant; no
 * callback, so the hot loop stays monomorphic).
 */
export function deletionKeys(s: string, depth: 1 | 2): { readonly keys: Int32Array; readonly count: number } {
  const n = s.length;
  if (n > MAX_HASHED_LENGTH) return { keys: KEYS, count: 0 };
  prefix[0] = 0;
  for (let i = 0; i < n; i++) prefix[i + 1] = (Math.imul(prefix[i]!, P) + s.charCodeAt(i)) | 0;
  let count = 0;
  KEYS[count++] = prefix[n]! & KEY_MASK;
  for (let i = 0; i < n; i++) {
    KEYS[count++] = ((Math.imul(prefix[i]!, POWERS[n - 1 - i]!) + slice(i + 1, n)) | 0) & KEY_MASK;
    if (depth === 1) continue;
    for (let j = i + 1; j < n; j++) {
      const head = (Math.imul(prefix[i]!, POWERS[j - i - 1]!) + slice(i + 1, j)) | 0;
      KEYS[count++] = ((Math.imul(head, POWERS[n - 1 - j]!) + slice(j + 1, n)) | 0) & KEY_MASK;
    }
  }
  return { keys: KEYS, count };
}
