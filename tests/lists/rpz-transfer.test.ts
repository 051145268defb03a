import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readListFile, writeListFile } from '../../src/lists/list-transfer.js';
import { parseRpz } from '../../src/policy/parse-rpz.js';
import { Policy } from '../../src/policy/policy.js';

const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-rpz-transfer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an RPZ list copied to a worker', () => {
  it('keeps its actions, exact triggers and local data', async () => {
    const list = parseRpz('$ORIGIN rpz.test.\nexact.example CNAME *.\ngarden.example A 192.0.2.7\n*.wild.example CNAME .\n24.0.113.0.203.rpz-ip CNAME .\n', { name: 'feed', kind: 'block' });
    const copy = await readListFile(await writeListFile(list, path.join(dir, 'feed.bin')));
    const before = new Policy([list], 1);
    const after = new Policy([copy], 2);
    for (const name of ['exact.example', 'x.exact.example', 'garden.example', 'a.wild.example', 'wild.example']) {
      expect(after.evaluate(name), name).toEqual(before.evaluate(name));
    }
    expect(after.evaluate('garden.example').rule?.localData).toEqual(before.evaluate('garden.example').rule?.localData);
    expect(after.addressRuleCount).toBe(1);
  });
});
