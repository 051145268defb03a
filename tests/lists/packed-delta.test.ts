/**
 * The packed delta path must give exactly what applying each delta to a Set of canonical entries
 * gives (the definition every instance and Redis's own snapshot use): same entries, same order, same
 * per-delta counts. Checked on hand-picked cases and on random sequences against the Set path.
 */
import { describe, expect, it } from 'vitest';
import { applyPackedDeltas, distinctEntries, type Delta } from '../../src/lists/packed-delta.js';
import { canonicalChunks, packedCanonicalText, packedCanonicalTextInSlices } from '../../src/lists/packed-text.js';
import { applyDelta } from '../../src/fleet/redis-list-store.js';
import { canonicalEntries } from '../../src/lists/list-service.js';
import { parseList } from '../../src/policy/parse-list.js';
import type { RuleKind } from '../../src/query/rule.js';

function viaSet(entries: readonly string[], deltas: readonly Delta[]): { entries: string[]; stats: { added: number; removed: number }[] } {
  const set = new Set(entries);
  const stats = deltas.map((d) => {
    const removed = [...new Set(d.remove)].filter((e) => set.has(e)).length;
    const kept = set.size - removed;
    applyDelta(set, d.add, d.remove);
    return { added: set.size - kept, removed };
  });
  return { entries: [...set], stats };
}

function viaPacked(entries: readonly string[], deltas: readonly Delta[], kind: RuleKind = 'block'): { entries: string[]; stats: readonly { added: number; removed: number }[] } {
  const list = parseList(entries.join('\n'), { name: 'l', kind, category: 'c' });
  const result = applyPackedDeltas(list, deltas)!;
  return { entries: canonicalEntries(result.list), stats: result.stats };
}

describe('applyPackedDeltas', () => {
  it.each([
    { name: 'adds new entries at the end, in the order given', base: ['a.test', 'b.test'], deltas: [{ add: ['d.test', 'c.test'], remove: [] }] },
    { name: 'an entry already there stays in place and is not counted', base: ['a.test', 'b.test'], deltas: [{ add: ['a.test', 'c.test'], remove: [] }] },
    { name: 'removes only what is there', base: ['a.test', 'b.test'], deltas: [{ add: [], remove: ['b.test', 'x.test'] }] },
    { name: 'removed then added in one delta moves to the end', base: ['a.test', 'b.test', 'c.test'], deltas: [{ add: ['a.test'], remove: ['a.test'] }] },
    { name: 'exact, subdomain and allow entries of one name are different entries', base: ['a.test', '*.a.test'], deltas: [{ add: ['@@||a.test^'], remove: ['*.a.test'] }] },
    { name: 'several deltas fold in order', base: ['a.test'], deltas: [{ add: ['b.test'], remove: [] }, { add: [], remove: ['b.test'] }, { add: ['b.test', 'c.test'], remove: ['a.test'] }] },
    { name: 'an empty list grows', base: [], deltas: [{ add: ['a.test', 'a.test'], remove: [] }] },
  ])('$name', ({ base, deltas }) => {
    expect(viaPacked(base, deltas)).toEqual(viaSet(base, deltas));
  });

  it('agrees with the Set path on random delta sequences', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const pool = Array.from({ length: 40 }, (_, i) =>
      i % 5 === 0 ? `*.n${i}.test` : i % 7 === 0 ? `@@||n${i}.test^` : i % 11 === 0 ? `203.0.113.${i}/32` : `n${i}.test`,
    );
    for (let round = 0; round < 200; round++) {
      const base = [...new Set(Array.from({ length: random(20) }, () => pool[random(pool.length)]!))];
      const deltas = Array.from({ length: 1 + random(4) }, () => ({
        add: Array.from({ length: random(6) }, () => pool[random(pool.length)]!),
        remove: Array.from({ length: random(6) }, () => pool[random(pool.length)]!),
      }));
      expect(viaPacked(base, deltas), `round ${round}`).toEqual(viaSet(base, deltas));
    }
  });

  it('works on an allow list', () => {
    expect(viaPacked(['a.test'], [{ add: ['b.test'], remove: ['a.test'] }], 'allow').entries).toEqual(['b.test']);
  });
});

describe('packedCanonicalText', () => {
  it('writes what canonicalEntries gives, one a line', () => {
    const list = parseList('a.test\n*.b.test\n||c.test^\n@@||d.test^\n0.0.0.0 e.test\n', { name: 'l', kind: 'block', category: 'c' });
    expect(packedCanonicalText(list).split('\n')).toEqual(canonicalEntries(list));
    expect(packedCanonicalText(parseList('', { name: 'l', kind: 'block', category: 'c' }))).toBe('');
  });

  it('made in slices (one per event-loop turn) gives the same text', async () => {
    const list = parseList(Array.from({ length: 30_000 }, (_, i) => (i % 4 === 0 ? `*.n${i}.test` : `n${i}.test`)).join('\n'), { name: 'l', kind: 'block', category: 'c' });
    expect(await packedCanonicalTextInSlices(list)).toBe(packedCanonicalText(list));
    expect(await packedCanonicalTextInSlices(parseList('', { name: 'l', kind: 'block', category: 'c' }))).toBe('');
  });
});

describe('canonicalChunks', () => {
  it('gives the same entries in slices, as lines and as the inside of a JSON array', () => {
    const text = Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? `*.n${i}.test` : i % 5 === 0 ? `@@||n${i}.test^` : i % 7 === 0 ? `203.0.113.${i % 256}/32` : `n${i}.test`)).join('\n');
    for (const kind of ['block', 'allow'] as const) {
      const list = parseList(text, { name: 'l', kind, category: 'c' });
      // Each piece is a view that the next one overwrites: copy them to keep them.
      const lines = Array.from(canonicalChunks(list, 'lines', 64), (piece) => Buffer.from(piece));
      const json = Array.from(canonicalChunks(list, 'json', 64), (piece) => Buffer.from(piece));
      expect(lines.length).toBeGreaterThan(10);
      expect(Buffer.concat(lines).toString('latin1').split('\n')).toEqual(canonicalEntries(list));
      expect(JSON.parse(`[${Buffer.concat(json).toString('latin1')}]`)).toEqual(canonicalEntries(list));
    }
    expect([...canonicalChunks(parseList('', { name: 'l', kind: 'block', category: 'c' }), 'json')]).toEqual([]);
  });
});

describe('distinctEntries', () => {
  it('keeps the first of each repeated entry, in order, like a Set of the canonical entries', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pool = Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? `*.n${i}.test` : i % 7 === 0 ? `@@||n${i}.test^` : i % 11 === 0 ? `203.0.113.${i}/32` : `n${i}.test`));
    for (let round = 0; round < 100; round++) {
      const list = parseList(Array.from({ length: random(60) }, () => pool[random(pool.length)]!).join('\n'), { name: 'l', kind: 'block', category: 'c' });
      const distinct = distinctEntries(list);
      expect(canonicalEntries(distinct)).toEqual(canonicalEntries(list));
      expect(distinct.size).toBe(canonicalEntries(list).length);
      if (list.size === canonicalEntries(list).length) expect(distinct).toBe(list);
    }
  });

  it('brings entries kept as raw text to their canonical form first', () => {
    const list = parseList('Evil.Example\nevil.example\n||evil.example^\nother.example', { name: 'l', kind: 'block', category: 'c' });
    expect(canonicalEntries(distinctEntries(list))).toEqual(['evil.example', 'other.example']);
    expect(distinctEntries(list).size).toBe(2);
  });
});
