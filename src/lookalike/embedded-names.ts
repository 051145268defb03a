// Finds protected labels spelled inside a longer label without a separator (`binancebonus`,
// `5000coinbase`, `appuniswap`): an Aho-Corasick automaton over the protected labels' skeletons, so
// one pass over the characters of a label finds every protected label it contains, whatever the
// number of protected domains (a loop of `includes` would cost one scan per protected label).
//
// Which patterns to look for is the caller's choice (lookalike-index.ts: protected labels of 7+
// letters, by skeleton).
//
// Layout: `next[state * ALPHABET + symbol]` is the complete transition function (failure links
// folded in at build time), `found[state]` the index of the longest pattern ending at that state
// (itself or through its failure chain), -1 if none.

/** a-z, 0-9, '-', and one symbol for anything else (it matches no pattern). */
const ALPHABET = 38;
const OTHER = 37;

function symbolOf(code: number): number {
  if (code >= 97 && code <= 122) return code - 97;
  if (code >= 48 && code <= 57) return code - 48 + 26;
  return code === 45 ? 36 : OTHER;
}

export class EmbeddedNames<T> {
  private readonly next: Int32Array;
  private readonly found: Int32Array;
  private readonly patterns: readonly string[];
  private readonly values: readonly T[];
  /** Length of the shortest pattern: a text no longer than it cannot contain another pattern. */
  private readonly shortest: number;

  /** `entries`: pattern → value (the first value of a repeated pattern is kept). */
  constructor(entries: Iterable<readonly [string, T]>) {
    const patterns: string[] = [];
    const values: T[] = [];
    const seen = new Set<string>();
    for (const [pattern, value] of entries) {
      if (pattern === '' || seen.has(pattern)) continue;
      seen.add(pattern);
      patterns.push(pattern);
      values.push(value);
    }
    this.patterns = patterns;
    this.values = values;
    this.shortest = patterns.reduce((min, p) => Math.min(min, p.length), Infinity);
    // The trie: at most one state per pattern character, plus the root.
    const capacity = 1 + patterns.reduce((sum, p) => sum + p.length, 0);
    const next = new Int32Array(capacity * ALPHABET).fill(-1);
    const found = new Int32Array(capacity).fill(-1);
    let states = 1;
    patterns.forEach((pattern, index) => {
      let state = 0;
      for (let i = 0; i < pattern.length; i++) {
        const slot = state * ALPHABET + symbolOf(pattern.charCodeAt(i));
        if (next[slot] === -1) next[slot] = states++;
        state = next[slot]!;
      }
      found[state] = index;
    });
    // Breadth first: each state's missing transitions take its failure state's, and a state with no
    // pattern of its own reports the one its failure state reports.
    const fail = new Int32Array(states);
    const queue = new Int32Array(states);
    let head = 0;
    let tail = 0;
    for (let symbol = 0; symbol < ALPHABET; symbol++) {
      const child = next[symbol]!;
      if (child === -1) next[symbol] = 0;
      else queue[tail++] = child; // fail[child] = 0
    }
    while (head < tail) {
      const state = queue[head++]!;
      if (found[state] === -1) found[state] = found[fail[state]!]!;
      for (let symbol = 0; symbol < ALPHABET; symbol++) {
        const slot = state * ALPHABET + symbol;
        const child = next[slot]!;
        const viaFail = next[fail[state]! * ALPHABET + symbol]!;
        if (child === -1) next[slot] = viaFail;
        else {
          fail[child] = viaFail;
          queue[tail++] = child;
        }
      }
    }
    this.next = next.slice(0, states * ALPHABET);
    this.found = found.slice(0, states);
  }

  get size(): number {
    return this.patterns.length;
  }

  /**
   * The first pattern found inside `text` that is not `text` itself, with its value; undefined if
   * none. One step per character of `text`.
   */
  find(text: string): { readonly pattern: string; readonly value: T } | undefined {
    if (text.length <= this.shortest) return undefined;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      state = this.next[state * ALPHABET + symbolOf(text.charCodeAt(i))]!;
      const index = this.found[state]!;
      if (index !== -1 && this.patterns[index]!.length < text.length) return { pattern: this.patterns[index]!, value: this.values[index]! };
    }
    return undefined;
  }
}
