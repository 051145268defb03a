// Lists copied to cluster workers: what arrives must be the same list (every rule, line and raw
// text), the policy built from it must decide like the original, and the copy must carry the data
// only, not the 32 MiB regions the big arrays live in.
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeList, encodeList } from '../../src/policy/list-transfer.js';
import { parseList, type ParsedList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { rulesOf } from './rules-of.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/lists/${name}`, import.meta.url), 'utf8');

/** Through the same serializer node:cluster's "advanced" IPC uses. */
const overIpc = (list: ParsedList): ParsedList => decodeList(deserialize(serialize(encodeList(list))));

describe('list transfer to workers', () => {
  it('keeps every rule, line number, written text and skipped line of a varied list', () => {
    const text = [
      '# category: phishing',
      'plain-fraud.example',
      '',
      '*.wild.example',
      'UPPER.Example.',
      '||adblock.example^',
      '@@||exempt.adblock.example^',
      '0.0.0.0 hosts-a.example hosts-b.example',
      'bücher-betrug.example',
      'http://a.path/is-skipped',
      '||odd.example^$important',
    ].join('\n');
    const list = parseList(text, { name: 'mixed', kind: 'block' });
    const copy = overIpc(list);
    expect(copy.name).toBe('mixed');
    expect(copy.kind).toBe('block');
    expect(copy.category).toBe('phishing');
    expect(copy.size).toBe(list.size);
    expect(rulesOf(copy)).toEqual(rulesOf(list));
    expect(copy.skipped).toEqual(list.skipped);
    expect(copy.skipped.length).toBeGreaterThan(0);
  });

  it('gives a policy that decides exactly like the original on a real list', () => {
    const list = parseList(fixture('urlhaus-filter-online.txt'), { name: 'urlhaus', kind: 'block' });
    const allow = parseList('good.example\n', { name: 'allow', kind: 'allow' });
    const original = new Policy([list, allow], 1);
    const copied = new Policy([overIpc(list), overIpc(allow)], 1);
    expect(list.size).toBeGreaterThan(100);
    for (let i = 0; i < list.size; i++) {
      const domain = list.packed.domain(i);
      for (const name of [domain, `sub.${domain}`]) {
        expect(copied.evaluate(name)).toEqual(original.evaluate(name));
      }
    }
    expect(copied.evaluate('not-listed.example').action).toBe('none');
  });

  it('copies the data, not the memory regions behind it', () => {
    const names = Array.from({ length: 60_000 }, (_, i) => `n${i}-fraud.example`).join('\n');
    const list = parseList(names, { name: 'big', kind: 'block' });
    const nameBytes = names.length;
    const wire = serialize(encodeList(list));
    // The big arrays sit in 32 MiB regions; a copy of those would be ~100 times the names.
    expect(wire.byteLength).toBeLessThan(nameBytes * 1.5);
    expect(overIpc(list).packed.domain(59_999)).toBe('n59999-fraud.example');
  });

  it('keeps plain line numbers when the list has a blank line between entries', () => {
    const text = Array.from({ length: 200 }, (_, i) => `spaced${i}.example\n\n# note ${i}`).join('\n');
    const list = parseList(text, { name: 'spaced', kind: 'block' });
    expect(rulesOf(overIpc(list))).toEqual(rulesOf(list));
  });
});
