// Lists copied to cluster workers through a file: what arrives must be the same list (every rule,
// line and raw text), the policy built from it must decide like the original, the file must hold
// the data only (not the 32 MiB regions the big arrays live in), and only a small description may
// travel over IPC.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEdit, encodeEdit, readListFile, writeListFile, type EncodedEdit, type EncodedList } from '../../src/lists/list-transfer.js';
import { applyPackedDeltas } from '../../src/lists/packed-delta.js';
import { canonicalEntries } from '../../src/lists/list-service.js';
import { parseList, type ParsedList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { rulesOf } from '../policy/rules-of.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/lists/${name}`, import.meta.url), 'utf8');

const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-transfer-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNumber = 0;

/** Written to a file, described through the serializer node:cluster's "advanced" IPC uses, read back. */
async function overIpc(list: ParsedList): Promise<ParsedList> {
  const described = await writeListFile(list, path.join(dir, `${fileNumber++}.list`));
  return readListFile(deserialize(serialize(described)) as EncodedList);
}

describe('list transfer to workers', () => {
  it('keeps every rule, line number, written text and skipped line of a varied list', async () => {
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
    const copy = await overIpc(list);
    expect(copy.name).toBe('mixed');
    expect(copy.kind).toBe('block');
    expect(copy.category).toBe('phishing');
    expect(copy.size).toBe(list.size);
    expect(rulesOf(copy)).toEqual(rulesOf(list));
    expect(copy.skipped).toEqual(list.skipped);
    expect(copy.skipped.length).toBeGreaterThan(0);
  });

  it('gives a policy that decides exactly like the original on a real list', async () => {
    const list = parseList(fixture('urlhaus-filter-online.txt'), { name: 'urlhaus', kind: 'block' });
    const allow = parseList('good.example\n', { name: 'allow', kind: 'allow' });
    const original = new Policy([list, allow], 1);
    const copied = new Policy([await overIpc(list), await overIpc(allow)], 1);
    expect(list.size).toBeGreaterThan(100);
    for (let i = 0; i < list.size; i++) {
      const domain = list.packed.domain(i);
      for (const name of [domain, `sub.${domain}`]) {
        expect(copied.evaluate(name)).toEqual(original.evaluate(name));
      }
    }
    expect(copied.evaluate('not-listed.example').action).toBe('none');
  });

  it('keeps a protect list a protect list, so a worker judges lookalikes like the primary (#13)', async () => {
    const list = parseList('# category: bank\nchase.com\nicbc.com.cn\n', { name: 'banks', kind: 'protect' });
    const copy = await overIpc(list);
    expect([copy.kind, copy.category, copy.size]).toEqual(['protect', 'bank', 2]);
    const policy = new Policy([copy], 1);
    expect(policy.ruleCount).toBe(0);
    expect(policy.lookalikes?.judge('chasse.com', { protectTldSwaps: false })).toMatchObject({ protectedDomain: 'chase.com', category: 'bank', list: 'banks' });
  });

  it('writes the data, not the memory regions behind it, and sends only a description over IPC', async () => {
    const names = Array.from({ length: 60_000 }, (_, i) => `n${i}-fraud.example`).join('\n');
    const list = parseList(names, { name: 'big', kind: 'block' });
    const described = await writeListFile(list, path.join(dir, 'big.list'));
    // The big arrays sit in 32 MiB regions; a copy of those would be ~100 times the names.
    expect(statSync(described.file).size).toBe(described.byteLength);
    expect(described.byteLength).toBeLessThan(names.length * 1.5);
    expect(serialize(described).byteLength).toBeLessThan(1000);
    expect((await readListFile(described)).packed.domain(59_999)).toBe('n59999-fraud.example');
  });

  it('refuses to overwrite a file and reports one that is cut short', async () => {
    const list = parseList('a.example\nb.example\n', { name: 'small', kind: 'block' });
    const file = path.join(dir, 'small.list');
    const described = await writeListFile(list, file);
    await expect(writeListFile(list, file)).rejects.toThrow(/EEXIST/);
    await expect(readListFile({ ...described, byteLength: described.byteLength + 8 })).rejects.toThrow(/ends at byte/);
  });

  it('keeps plain line numbers when the list has a blank line between entries', async () => {
    const text = Array.from({ length: 200 }, (_, i) => `spaced${i}.example\n\n# note ${i}`).join('\n');
    const list = parseList(text, { name: 'spaced', kind: 'block' });
    expect(rulesOf(await overIpc(list))).toEqual(rulesOf(list));
  });
});

describe('a delta sent to a worker as an edit', () => {
  it('rebuilds the same list on the other side from the version it holds, and its policy is patched', async () => {
    const base = parseList(Array.from({ length: 500 }, (_, i) => (i % 9 === 0 ? `*.n${i}.test` : `n${i}.test`)).join('\n'), { name: 'l', kind: 'block', category: 'c' });
    let primary = base;
    let worker = await overIpc(base);
    let workerPolicy = new Policy([worker], 1);
    for (let step = 0; step < 20; step++) {
      const next = applyPackedDeltas(primary, [{ add: [`new${step}.test`, `*.w${step}.test`, '@@||n3.test^'], remove: [`n${step * 7}.test`, `*.n${step * 9}.test`] }])!.list;
      const edit = encodeEdit(next, primary)!;
      expect(edit, `step ${step}`).toBeDefined();
      // Small over IPC, whatever the size of the list.
      expect(serialize(edit).byteLength).toBeLessThan(1000);
      worker = applyEdit(worker, deserialize(serialize(edit)) as EncodedEdit);
      expect(canonicalEntries(worker)).toEqual(canonicalEntries(next));
      const patched = new Policy([worker], step + 2, undefined, workerPolicy);
      for (const name of ['n3.test', 'x.n9.test', `new${step}.test`, `a.w${step}.test`, `n${step * 7}.test`]) {
        expect(patched.evaluate(name), name).toEqual(new Policy([next], 1).evaluate(name));
      }
      workerPolicy = patched;
      primary = next;
    }
  });

  it('is not used when the other side holds another version, or for a list not made by an edit', () => {
    const base = parseList('a.test', { name: 'l', kind: 'block', category: 'c' });
    const next = applyPackedDeltas(base, [{ add: ['b.test'], remove: [] }])!.list;
    expect(encodeEdit(next, parseList('a.test', { name: 'l', kind: 'block', category: 'c' }))).toBeUndefined();
    expect(encodeEdit(next, undefined)).toBeUndefined();
    expect(encodeEdit(base, base)).toBeUndefined();
  });
});
