import { describe, expect, it } from 'vitest';
import { EmbeddedNames } from '../../src/lookalike/embedded-names.js';

const names = new EmbeddedNames<string>([
  ['binance', 'binance.com'],
  ['coinbase', 'coinbase.com'],
  ['uniswap', 'uniswap.org'],
  ['metamask', 'metamask.io'],
  ['bankofamerica', 'bankofamerica.com'],
  ['americanexpress', 'americanexpress.com'],
]);

/** The reference: every pattern of the right length tested with includes (what the automaton replaces). */
function naive(text: string, patterns: readonly string[]): string | undefined {
  let best: { pattern: string; end: number } | undefined;
  for (const pattern of patterns) {
    if (pattern.length >= text.length) continue;
    const at = text.indexOf(pattern);
    if (at !== -1 && (best === undefined || at + pattern.length < best.end)) best = { pattern, end: at + pattern.length };
  }
  return best?.pattern;
}

describe('EmbeddedNames (Aho-Corasick over protected labels)', () => {
  it('finds a protected label at the start, the end and the middle of a longer label', () => {
    expect(names.find('binancebonus')).toEqual({ pattern: 'binance', value: 'binance.com' });
    expect(names.find('5000coinbase')).toEqual({ pattern: 'coinbase', value: 'coinbase.com' });
    expect(names.find('appuniswapx')).toEqual({ pattern: 'uniswap', value: 'uniswap.org' });
    expect(names.find('astall-metamask-io')).toMatchObject({ pattern: 'metamask' });
  });

  it('does not report the text itself, texts too short to hold a pattern, or nothing found', () => {
    expect(names.find('binance')).toBeUndefined();
    expect(names.find('coinbase')).toBeUndefined();
    expect(names.find('paypallogin')).toBeUndefined();
    expect(names.find('binanc')).toBeUndefined();
    expect(new EmbeddedNames([]).find('anything-at-all')).toBeUndefined();
    expect(names.size).toBe(6);
  });

  it('follows failure links: a pattern that starts inside a partial match of another is still found', () => {
    // "bankofamerica" fails at the 'x' after "americ…"; "americanexpress" must still be found.
    expect(names.find('bankofamericanexpress')).toMatchObject({ pattern: 'bankofamerica' });
    expect(names.find('myamericanexpresscard')).toMatchObject({ pattern: 'americanexpress' });
    expect(names.find('bankofamericxamericanexpress')).toMatchObject({ pattern: 'americanexpress' });
  });

  it('treats characters outside a-z, 0-9 and - as breaks, not as wildcards', () => {
    expect(names.find('bin_ancebonus')).toBeUndefined();
    expect(names.find('coin\u00e9base-pro')).toBeUndefined();
  });

  it('agrees with a naive search on random labels built around the patterns', () => {
    const patterns = ['binance', 'coinbase', 'uniswap', 'metamask', 'bankofamerica', 'americanexpress', 'aaaaaaa', 'aaaaaab'];
    const auto = new EmbeddedNames(patterns.map((p) => [p, p] as const));
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = 'abcdeimnostuw-0';
    for (let i = 0; i < 5000; i++) {
      let text = '';
      const parts = 1 + random(4);
      for (let p = 0; p < parts; p++) {
        if (random(3) === 0) {
          const pattern = patterns[random(patterns.length)]!;
          text += pattern.slice(0, pattern.length - random(3));
        } else {
          for (let c = random(5); c > 0; c--) text += alphabet[random(alphabet.length)];
        }
      }
      expect(auto.find(text)?.pattern, text).toBe(naive(text, patterns));
    }
  });
});
