/**
 * reloadFileLists (re-read a list directory into the registry in one swap, warnings for bad files and
 * for names taken by API or URL lists) and DirectoryWatcher (one debounced call per burst of changes).
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryWatcher, fileListRecords, reloadFileLists } from '../../src/lists/file-lists.js';
import { ListRegistry, type ListRecord } from '../../src/lists/list-registry.js';
import { ListLoadError } from '../../src/lists/load-lists.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { parseList } from '../../src/policy/parse-list.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { sleep, waitFor } from '../helpers/built-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const temp = useTempDir('file-lists');

const write = (name: string, text: string): Promise<void> => writeFile(path.join(temp.path, name), text);

const apiRecord = (name: string, text: string, source: ListRecord['source'] = 'api', origin = 'api'): ListRecord => ({
  list: parseList(text, { name, kind: 'block' }),
  source,
  origin,
  updatedAt: 0,
  generation: 1,
});

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

describe('fileListRecords', () => {
  it('stamps each list as coming from the directory at the given generation', () => {
    const before = Date.now();
    const records = fileListRecords([parseList('a.example', { name: 'fraud', kind: 'block' })], '/srv/lists', 4);
    expect(records).toEqual([{ list: expect.objectContaining({ name: 'fraud' }), source: 'file', origin: '/srv/lists', updatedAt: expect.any(Number), generation: 4 }]);
    expect(records[0]!.updatedAt).toBeGreaterThanOrEqual(before);
  });
});

describe('reloadFileLists', () => {
  it('replaces every file list in one swap and leaves API and URL lists alone', async () => {
    const registry = new ListRegistry(
      [
        ...fileListRecords([parseList('old.example', { name: 'old', kind: 'block' })], temp.path, 1),
        apiRecord('pushed', 'pushed.example'),
        apiRecord('feed', 'feed.example', 'url', 'https://l.example/f.txt'),
      ],
      new VerdictCache(),
      silentLogger,
    );
    await write('fraud.txt', '# category: phishing\nevil.example\n');
    await write('team.allow.txt', 'good.evil.example\n');
    const generations: number[] = [];
    registry.onChange((_records, generation) => generations.push(generation));

    const { generation, warnings } = await reloadFileLists(registry, temp.path, silentLogger);
    expect(generation).toBe(2);
    expect(generations).toEqual([1, 2]); // one swap
    expect(warnings).toEqual([]);
    expect(registry.all().map((r) => [r.list.name, r.source, r.generation])).toEqual([
      ['feed', 'url', 1],
      ['fraud', 'file', 2],
      ['pushed', 'api', 1],
      ['team-allow', 'file', 2],
    ]);
    expect(registry.get('fraud')).toMatchObject({ origin: temp.path, list: expect.objectContaining({ category: 'phishing' }) });
    expect(registry.store.verdict('old.example').action).toBe('none');
    expect(registry.store.verdict('x.evil.example').action).toBe('block');
    expect(registry.store.verdict('good.evil.example').action).toBe('allow');
  });

  it('a deleted file takes its list away on the next reload', async () => {
    const registry = new ListRegistry([], new VerdictCache(), silentLogger);
    await write('a.txt', 'a.example');
    await write('b.txt', 'b.example');
    await reloadFileLists(registry, temp.path, silentLogger);
    await unlink(path.join(temp.path, 'a.txt'));
    await reloadFileLists(registry, temp.path, silentLogger);
    expect(registry.all().map((r) => r.list.name)).toEqual(['b']);
    expect(registry.generation).toBe(3);
  });

  it('a file whose list name is taken by an API or URL list is skipped with a warning naming both', async () => {
    const registry = new ListRegistry(
      [apiRecord('pushed', 'pushed.example'), apiRecord('feed', 'feed.example', 'url', 'https://l.example/f.txt')],
      new VerdictCache(),
      silentLogger,
    );
    await write('pushed.txt', 'sneaky.example');
    await write('feed.list', 'sneaky2.example');
    await write('fine.txt', 'fine.example');
    const { logger, lines } = capturingLogger();
    const { warnings } = await reloadFileLists(registry, temp.path, logger);
    expect(warnings).toHaveLength(2);
    expect(warnings.find((w) => w.includes('"pushed"'))).toMatch(/comes from api/);
    expect(warnings.find((w) => w.includes('"feed"'))).toMatch(/comes from url \(https:\/\/l\.example\/f\.txt\)/);
    expect(registry.get('pushed')?.source).toBe('api');
    expect(registry.get('feed')?.source).toBe('url');
    expect(registry.store.verdict('sneaky.example').action).toBe('none');
    expect(registry.get('fine')?.source).toBe('file');
    // Each warning is logged, then one summary line.
    expect(lines.filter((l) => l['level'] === 'warn').map((l) => l['msg'])).toEqual(warnings);
    expect(lines.find((l) => l['msg'] === 'list files reloaded')).toMatchObject({ dir: temp.path, lists: 3, generation: 2 });
  });

  it('passes on the directory warnings (bad file names, skipped lines, no list files)', async () => {
    const registry = new ListRegistry([], new VerdictCache(), silentLogger);
    await write('Bad Name!.txt', 'a.example');
    await write('mixed.txt', 'ok.example\nhttp://x.example/path\n');
    const { warnings } = await reloadFileLists(registry, temp.path, silentLogger);
    expect(warnings).toEqual([expect.stringContaining('Bad Name!.txt'), expect.stringMatching(/mixed\.txt: skipped 1 lines.*line 2/)]);
    expect(registry.all().map((r) => [r.list.name, r.list.size])).toEqual([['mixed', 1]]);

    const empty = await mkdtemp(path.join(tmpdir(), 'fraudwall-file-lists-empty-'));
    try {
      const result = await reloadFileLists(registry, empty, silentLogger);
      expect(result.warnings).toEqual([expect.stringContaining('no list files')]);
      expect(registry.all()).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('a directory that cannot be read rejects the reload and keeps the lists in effect', async () => {
    await write('fraud.txt', 'evil.example');
    const registry = new ListRegistry([], new VerdictCache(), silentLogger);
    await reloadFileLists(registry, temp.path, silentLogger);
    const missing = path.join(temp.path, 'gone');
    await expect(reloadFileLists(registry, missing, silentLogger)).rejects.toBeInstanceOf(ListLoadError);
    expect(registry.generation).toBe(2);
    expect(registry.get('fraud')).toBeDefined();
  });

  it('overlapping reloads run one after the other, each on a fresh read', async () => {
    const registry = new ListRegistry([], new VerdictCache(), silentLogger);
    await write('fraud.txt', 'evil.example');
    const results = await Promise.all([1, 2, 3].map(() => reloadFileLists(registry, temp.path, silentLogger)));
    expect(results.map((r) => r.generation)).toEqual([2, 3, 4]);
    expect(registry.all().map((r) => r.list.name)).toEqual(['fraud']);
  });
});

describe('DirectoryWatcher', () => {
  it('calls once after a burst of changes has been quiet for debounceMs, and not after close', async () => {
    let calls = 0;
    const watcher = new DirectoryWatcher(temp.path, 300, () => calls++, silentLogger);
    try {
      await Promise.all(Array.from({ length: 5 }, (_, i) => write(`f${i}.txt`, `f${i}.example`)));
      expect(await waitFor(() => calls > 0, 5000, 20)).toBe(true);
      await sleep(700);
      expect(calls).toBe(1);
      await write('later.txt', 'later.example');
      expect(await waitFor(() => calls > 1, 5000, 20)).toBe(true);
    } finally {
      watcher.close();
    }
    const after = calls;
    await write('closed.txt', 'closed.example');
    await sleep(700);
    expect(calls).toBe(after);
  });

  it('close cancels a call that is still waiting out the debounce', async () => {
    let calls = 0;
    const watcher = new DirectoryWatcher(temp.path, 300, () => calls++, silentLogger);
    await write('a.txt', 'a.example');
    await sleep(100);
    watcher.close();
    await sleep(500);
    expect(calls).toBe(0);
  });
});
