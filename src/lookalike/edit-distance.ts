// Damerau-style edit distance between two labels, bounded.
//
// fastest-levenshtein computes the Levenshtein distance (insert, delete, substitute) quickly, but a
// swap of two neighbouring letters (`paypla`) costs 2 there, and transposition is one of the
// commonest typosquats. So when Levenshtein is above the bound but could come down to it through
// transpositions, the optimal-string-alignment distance (Levenshtein plus adjacent transpositions)
// is computed here; labels are at most 63 characters, so the table is small.
import { distance as levenshtein } from 'fastest-levenshtein';

/** The OSA distance when it is at most `bound`, else undefined. */
export function distanceWithin(a: string, b: string, bound: number): number | undefined {
  if (Math.abs(a.length - b.length) > bound) return undefined;
  const lev = levenshtein(a, b);
  if (lev <= bound) return lev;
  // Each transposition saves at most one edit against Levenshtein.
  if (lev > 2 * bound) return undefined;
  const osa = optimalStringAlignment(a, b);
  return osa <= bound ? osa : undefined;
}

/** Optimal string alignment distance (restricted Damerau-Levenshtein). */
export function optimalStringAlignment(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  // Three rows: two back for the transposition step.
  let before = new Array<number>(m + 1).fill(0);
  let previous = Array.from({ length: m + 1 }, (_, j) => j);
  let current = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    current[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        best = Math.min(best, before[j - 2]! + 1);
      }
      current[j] = best;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[m]!;
}
