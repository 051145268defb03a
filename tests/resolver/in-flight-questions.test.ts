/**
 * InFlightQuestions: the cache resolver's table of questions waiting for an upstream. Checked
 * against a Map as the model over random adds and deletes with hashes chosen to collide in the
 * table's low bits (long probe runs, wrap-around, backward-shift deletion).
 */
import { describe, expect, it } from 'vitest';
import { InFlightQuestions } from '../../src/resolver/in-flight-questions.js';

describe('InFlightQuestions', () => {
  it('finds what was added, declines a taken hash or a full table, and deletes only the promise it holds', () => {
    const table = new InFlightQuestions(2);
    const a = Promise.resolve('a');
    const b = Promise.resolve('b');
    const c = Promise.resolve('c');
    expect(table.add(7, a)).toBe(true);
    expect(table.add(7, b)).toBe(false); // taken: the first leader stays
    expect(table.get(7)).toBe(a);
    expect(table.add(0xffff_fff0, b)).toBe(true); // a hash beyond int32 works as its uint32
    expect(table.add(9, c)).toBe(false); // full
    table.delete(7, b); // not the promise registered for 7: nothing happens
    expect(table.get(7)).toBe(a);
    table.delete(7, a);
    expect(table.get(7)).toBeUndefined();
    expect(table.size).toBe(1);
    expect(table.get(-16)).toBe(b); // the same 32 bits as 0xfffffff0
  });

  it('matches a Map over random operations with colliding hashes', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n; // the high bits: an LCG's low bits have short periods
    };
    const capacity = 40;
    const table = new InFlightQuestions(capacity); // 128 slots
    const model = new Map<number, Promise<unknown>>();
    // Hashes share their low 7 bits in groups, so they pile up in a few probe runs, some wrapping.
    const hashes = Array.from({ length: 60 }, (_, i) => (((i % 5) * 37 + 120) & 127) + 128 * i * 7919);
    let maxSize = 0;
    for (let step = 0; step < 20_000; step++) {
      const hash = hashes[random(hashes.length)]!;
      if (random(5) < 3) {
        const promise = Promise.resolve(step);
        const expected = model.size < capacity && !model.has(hash);
        expect(table.add(hash, promise)).toBe(expected);
        if (expected) model.set(hash, promise);
      } else {
        const held = model.get(hash);
        table.delete(hash, held ?? Promise.resolve(-1));
        model.delete(hash);
      }
      expect(table.size).toBe(model.size);
      maxSize = Math.max(maxSize, model.size);
      if (step % 97 === 0) for (const h of hashes) expect(table.get(h)).toBe(model.get(h));
    }
    expect(maxSize).toBe(capacity); // the table was driven full, so probe runs were long
  });
});
