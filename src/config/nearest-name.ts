// "Did you mean …?" for unknown settings, flags and commands: the known name closest to a typo.

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), on short names only. */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** Case, dashes and underscores do not count: `blockttl`, `BLOCK_TTL` and `block-ttl` are one name. */
const squash = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');

/**
 * The known name nearest to `input`, or undefined when none is close enough to be a typo of it
 * (at most a third of the name's letters wrong, and never more than 3).
 */
export function nearestName(input: string, known: Iterable<string>): string | undefined {
  const wanted = squash(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = distance(wanted, squash(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  const allowed = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}
