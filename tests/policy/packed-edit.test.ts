/**
 * editPacked: the list after an edit has exactly the kept entries in order plus the appended ones,
 * and no version of a list ever sees another version's changes — also when appends go in place
 * into arrays the versions share, and when an older version is edited again (a fork).
 */
import { describe, expect, it } from 'vitest';
import { editOf, editPacked, EntryRemap, REMOVED } from '../../src/policy/packed-edit.js';
import { FLAG_SUBDOMAINS, type PackedRules } from '../../src/policy/packed-rules.js';
import { parseList } from '../../src/policy/parse-list.js';

const entry = (domain: string, flags = 0) => ({ bytes: Buffer.from(domain), flags });
const domains = (list: PackedRules): string[] => Array.from({ length: list.size }, (_, i) => list.domain(i));

describe('editPacked', () => {
  it('leaves out the removed entries, keeps the order, appends, and numbers lines as positions', () => {
    const list = parseList('# head\na.test\nb.test\n\nc.test\nd.test', { name: 'l', kind: 'block', category: 'c' }).packed;
    const next = editPacked(list, Int32Array.from([0, 2]), [entry('e.test'), entry('f.test', FLAG_SUBDOMAINS)]);
    expect(domains(next)).toEqual(['b.test', 'd.test', 'e.test', 'f.test']);
    expect([0, 1, 2, 3].map((i) => next.line(i))).toEqual([1, 2, 3, 4]);
    expect(next.scope(3)).toBe('subdomains');
    expect(editOf(next)).toMatchObject({ beforeSize: 4, appendedFrom: 2 });
    expect(domains(list)).toEqual(['a.test', 'b.test', 'c.test', 'd.test']);
  });

  it('keeps offsets right across many blocks, removals and in-place appends', () => {
    const names = Array.from({ length: 300 }, (_, i) => `n${i}.${'x'.repeat(1 + (i % 17))}.test`);
    let list = parseList(names.join('\n'), { name: 'l', kind: 'block', category: 'c' }).packed;
    let expected = [...names];
    const versions: [PackedRules, string[]][] = [];
    for (let step = 0; step < 40; step++) {
      const removed = step % 3 === 0 ? Int32Array.from(new Set([step % list.size, (step * 7) % list.size, (step * 31) % list.size])).sort() : new Int32Array(0);
      const added = Array.from({ length: (step % 5) + 1 }, (_, k) => `s${step}-${k}.${'y'.repeat(1 + k * 3)}.test`);
      list = editPacked(list, removed, added.map((d) => entry(d)));
      expected = [...expected.filter((_, i) => !removed.includes(i)), ...added];
      versions.push([list, [...expected]]);
    }
    // Every version still reads as it was made (appends in place went past each one's end).
    for (const [version, want] of versions) expect(domains(version)).toEqual(want);
  });

  it('copies instead of appending in place when an older version is edited again', () => {
    const base = editPacked(parseList('a.test', { name: 'l', kind: 'block', category: 'c' }).packed, new Int32Array(0), [entry('b.test')]);
    const first = editPacked(base, new Int32Array(0), [entry('c.test')]);
    const fork = editPacked(base, new Int32Array(0), [entry('x.test')]);
    expect(domains(first)).toEqual(['a.test', 'b.test', 'c.test']);
    expect(domains(fork)).toEqual(['a.test', 'b.test', 'x.test']);
    expect(first.bytes.buffer).toBe(base.bytes.buffer);
    expect(fork.bytes.buffer).not.toBe(base.bytes.buffer);
  });
});

describe('EntryRemap', () => {
  it('maps ids of earlier lists, the edited list and later lists', () => {
    const list = parseList('a.test\nb.test\nc.test\nd.test', { name: 'l', kind: 'block', category: 'c' }).packed;
    const next = editPacked(list, Int32Array.from([1, 2]), [entry('e.test')]);
    // The edited list starts at id 10; a later list starts at 14.
    const remap = new EntryRemap(10, editOf(next)!, next.size);
    expect([0, 9, 10, 11, 12, 13, 14, 20].map((id) => remap.map(id))).toEqual([0, 9, 10, REMOVED, REMOVED, 11, 13, 19]);
  });
});
