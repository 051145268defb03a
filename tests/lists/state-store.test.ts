/**
 * StateStore: lists pushed through the API round-trip through lists/NAME.json; nothing is created
 * before the first write; a corrupt or foreign file is reported and skipped while the others load;
 * temp files of interrupted writes are cleaned up.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore, type StoredList } from '../../src/lists/state-store.js';
import { useTempDir } from '../helpers/temp-dir.js';

const temp = useTempDir('state');

const team: StoredList = {
  name: 'team',
  kind: 'block',
  category: 'scam',
  entries: ['a.example', '*.b.example', '@@||ok.a.example^'],
  updatedAt: Date.UTC(2024, 4, 6, 7, 8, 9, 123),
};

describe('StateStore round trip', () => {
  it('saves and loads a list unchanged (updatedAt to the millisecond)', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.saveList({ name: 'ok', kind: 'allow', category: 'partners', entries: [], updatedAt: 0 });
    expect(await store.loadLists()).toEqual({
      lists: [{ name: 'ok', kind: 'allow', category: 'partners', entries: [], updatedAt: 0 }, team],
      problems: [],
    });
  });

  it('writes one readable JSON file per list, with its format version and an ISO time', async () => {
    await new StateStore(temp.path).saveList(team);
    const text = await readFile(path.join(temp.path, 'lists', 'team.json'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ format: 1, ...team, updatedAt: '2024-05-06T07:08:09.123Z', journal: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(await readdir(path.join(temp.path, 'lists'))).toEqual(['team.json']);
  });

  it('a second save replaces the first; delete removes it; deleting a missing list is fine', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.saveList({ ...team, entries: ['only.example'] });
    expect((await store.loadLists()).lists.map((l) => l.entries)).toEqual([['only.example']]);
    await store.deleteList('team');
    expect(await store.loadLists()).toEqual({ lists: [], problems: [] });
    await expect(store.deleteList('team')).resolves.toBeUndefined();
  });

  it('creates nothing until the first write', async () => {
    const stateDir = path.join(temp.path, 'state');
    const store = new StateStore(stateDir);
    expect(await store.loadLists()).toEqual({ lists: [], problems: [] });
    await store.removeInterruptedWrites();
    await store.deleteList('nothing');
    expect(await readdir(temp.path)).toEqual([]);
  });

  it('url copies live under url/ beside lists/', () => {
    expect(new StateStore('/var/lib/fraudwall').urlCopyFiles('feed')).toEqual({
      body: path.join('/var/lib/fraudwall', 'url', 'feed.txt'),
      meta: path.join('/var/lib/fraudwall', 'url', 'feed.meta.json'),
    });
  });
});

describe('StateStore with damaged files', () => {
  const good = (name: string): string => `${JSON.stringify({ format: 1, name, kind: 'block', category: 'c', entries: ['a.example'], updatedAt: '2024-01-01T00:00:00.000Z' })}\n`;

  it.each<[string, string, RegExp]>([
    ['truncated JSON', good('bad').slice(0, 30), /JSON|Unexpected|Unterminated/i],
    ['an empty file', '', /JSON|Unexpected/i],
    ['another format version', good('bad').replace('"format":1', '"format":2'), /unknown format 2/],
    ['no format', good('bad').replace('"format":1,', ''), /unknown format undefined/],
    ['a name that is not the file name', good('other'), /holds list "other", not "bad"/],
    ['an unknown kind', good('bad').replace('"block"', '"deny"'), /bad kind deny/],
    ['no category', good('bad').replace('"category":"c",', ''), /missing category/],
    ['entries that are not all strings', good('bad').replace('["a.example"]', '["a.example",5]'), /entries must be strings/],
    ['entries that are not an array', good('bad').replace('["a.example"]', '"a.example"'), /entries must be strings/],
    ['JSON that is not an object', 'null', /./],
  ])('%s is reported with its path and skipped; the other lists load', async (_label, text, reason) => {
    const lists = path.join(temp.path, 'lists');
    await mkdir(lists);
    await writeFile(path.join(lists, 'alpha.json'), good('alpha'));
    await writeFile(path.join(lists, 'bad.json'), text);
    await writeFile(path.join(lists, 'zulu.json'), good('zulu'));
    const { lists: loaded, problems } = await new StateStore(temp.path).loadLists();
    expect(loaded.map((l) => l.name)).toEqual(['alpha', 'zulu']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(path.join(lists, 'bad.json'));
    expect(problems[0]).toMatch(reason);
    expect(problems[0]).toMatch(/push it again/);
  });

  it('an unparsable time is replaced by the load time rather than refusing the list', async () => {
    await mkdir(path.join(temp.path, 'lists'));
    await writeFile(path.join(temp.path, 'lists', 'x.json'), good('x').replace('2024-01-01T00:00:00.000Z', 'yesterday'));
    const before = Date.now();
    const { lists } = await new StateStore(temp.path).loadLists();
    expect(lists[0]!.updatedAt).toBeGreaterThanOrEqual(before);
    expect(lists[0]!.updatedAt).toBeLessThanOrEqual(Date.now());
  });

  it('ignores files that are not *.json (temp files of interrupted writes)', async () => {
    await mkdir(path.join(temp.path, 'lists'));
    await writeFile(path.join(temp.path, 'lists', '.x.json.abc123.tmp'), good('x').slice(0, 10));
    await writeFile(path.join(temp.path, 'lists', 'README'), 'not a list');
    expect(await new StateStore(temp.path).loadLists()).toEqual({ lists: [], problems: [] });
  });

  it('a lists path that is not a directory is a problem naming it, not a silent empty set', async () => {
    await writeFile(path.join(temp.path, 'lists'), 'oops');
    const store = new StateStore(temp.path);
    expect(await store.loadLists()).toEqual({
      lists: [],
      problems: [`state directory ${path.join(temp.path, 'lists')} cannot be read (ENOTDIR); no pushed list was loaded (fix its permissions or --state)`],
    });
    expect(await store.probeWritable()).toEqual({ code: 'ENOTDIR', path: path.join(temp.path, 'lists') });
  });

  it('probeWritable creates nothing, leaves nothing behind, and names what cannot be written', async () => {
    const missing = new StateStore(path.join(temp.path, 'new', 'state'));
    expect(await missing.probeWritable()).toBeUndefined();
    expect(await readdir(temp.path)).toEqual([]);
    const existing = new StateStore(temp.path);
    await existing.saveList(team);
    expect(await existing.probeWritable()).toBeUndefined();
    expect((await readdir(temp.path)).sort()).toEqual(['lists']);
    expect(await readdir(path.join(temp.path, 'lists'))).toEqual(['team.json']);
    await writeFile(path.join(temp.path, 'file'), '');
    expect(await new StateStore(path.join(temp.path, 'file', 'state')).probeWritable()).toEqual({ code: 'ENOTDIR', path: path.join(temp.path, 'file', 'state') });
    expect(await new StateStore(path.join(temp.path, 'file')).probeWritable()).toEqual({ code: 'ENOTDIR', path: path.join(temp.path, 'file') });
  });

  it('removeInterruptedWrites deletes *.tmp in lists/ and url/ and keeps everything else', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await mkdir(path.join(temp.path, 'url'));
    await writeFile(path.join(temp.path, 'lists', '.team.json.0a1b2c.tmp'), '{"partial');
    await writeFile(path.join(temp.path, 'url', '.feed.txt.ffffff.tmp'), 'partial');
    await writeFile(path.join(temp.path, 'url', 'feed.txt'), 'a.example\n');
    await writeFile(path.join(temp.path, 'other.tmp'), 'not ours');
    await store.removeInterruptedWrites();
    expect(await readdir(path.join(temp.path, 'lists'))).toEqual(['team.json']);
    expect(await readdir(path.join(temp.path, 'url'))).toEqual(['feed.txt']);
    expect((await readdir(temp.path)).sort()).toEqual(['lists', 'other.tmp', 'url']);
    expect((await store.loadLists()).lists).toEqual([team]);
  });
});

describe('StateStore delta journal', () => {
  const journalFile = (): string => path.join(temp.path, 'lists', 'team.deltas.jsonl');
  const load = async (): Promise<{ list: StoredList | undefined; problems: string[] }> => {
    const { lists, problems } = await new StateStore(temp.path).loadLists();
    return { list: lists.find((l) => l.name === 'team'), problems };
  };

  it('replays the deltas of the snapshot it extends, in order, and takes the last delta time', async () => {
    const store = new StateStore(temp.path);
    expect(await store.appendListDelta('team', ['x.example'], [], 1)).toBe(false); // no snapshot yet
    await store.saveList(team);
    expect(await store.appendListDelta('team', ['x.example', 'y.example'], ['a.example'], Date.UTC(2025, 0, 1))).toBe(true);
    expect(await store.appendListDelta('team', ['a.example'], ['y.example'], Date.UTC(2025, 0, 2))).toBe(true);
    const { list, problems } = await load();
    expect(problems).toEqual([]);
    expect(list).toMatchObject({ entries: ['*.b.example', '@@||ok.a.example^', 'x.example', 'a.example'], updatedAt: Date.UTC(2025, 0, 2) });
  });

  it('never replays the journal of an earlier snapshot (a crash between a new snapshot and removing the old journal)', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.appendListDelta('team', ['old-delta.example'], [], 1);
    const stale = await readFile(journalFile(), 'utf8');
    await store.saveList({ ...team, entries: ['replaced.example'] });
    await writeFile(journalFile(), stale);
    expect((await load()).list?.entries).toEqual(['replaced.example']);
  });

  it('ignores a torn last line (never acknowledged) and writes a snapshot next instead of appending after it', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.appendListDelta('team', ['kept.example'], [], 1);
    await writeFile(journalFile(), `${await readFile(journalFile(), 'utf8')}{"journal":"`);
    const reopened = new StateStore(temp.path);
    const { lists, problems } = await reopened.loadLists();
    expect(problems).toEqual([]);
    expect(lists[0]?.entries).toContain('kept.example');
    expect(await reopened.appendListDelta('team', ['next.example'], [], 2)).toBe(false);
  });

  it('reports a damaged line in the middle and applies the deltas before it', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.appendListDelta('team', ['first.example'], [], 1);
    await writeFile(journalFile(), `${await readFile(journalFile(), 'utf8')}garbage\n{"journal":"x","add":["z.example"],"remove":[]}\n`);
    const { list, problems } = await load();
    expect(list?.entries).toContain('first.example');
    expect(list?.entries).not.toContain('z.example');
    expect(problems).toEqual([expect.stringMatching(/team\.deltas\.jsonl: line 2 is not valid JSON/)]);
  });

  it('delete removes the journal too', async () => {
    const store = new StateStore(temp.path);
    await store.saveList(team);
    await store.appendListDelta('team', ['x.example'], [], 1);
    await store.deleteList('team');
    expect(await readdir(path.join(temp.path, 'lists'))).toEqual([]);
  });
});
