import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ListLoadError, loadListsDir } from '../../src/lists/load-lists.js';
import { rulesOf } from '../policy/rules-of.js';
import { useTempDir } from '../helpers/temp-dir.js';

const temp = useTempDir('lists');

const write = (name: string, text: string): Promise<void> => writeFile(path.join(temp.path, name), text);

describe('loadListsDir', () => {
  it('loads the shipped lists with no public-suffix entries', async () => {
    const shipped = path.resolve(import.meta.dirname, '../../blocklists');
    const { lists, warnings } = await loadListsDir(shipped);
    expect(warnings).toEqual([]);
    expect(lists.map((l) => l.name).sort()).toEqual(['fraud', 'malware']);
    for (const list of lists) expect(list.skipped.filter((s) => s.reason === 'public suffix')).toEqual([]);
  });

  it('skips public-suffix entries of a file with one warning naming the first, and counts them', async () => {
    await write('feed.txt', 'evil.com\ncom\nco.uk\n*.netlify.app\nx.netlify.app\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(rulesOf(lists[0]!).map((r) => r.domain)).toEqual(['evil.com', 'x.netlify.app']);
    expect(lists[0]!.skipped).toHaveLength(3);
    expect(warnings).toEqual([
      'feed.txt: skipped 3 public-suffix entries (first: line 2: com); a public suffix such as com or co.uk can never be a rule: remove it from the list',
    ]);
  });

  it('loads list files sorted by name, names them, and finds allowlists', async () => {
    await write('fraud.txt', '# category: phishing\nevil.com\n');
    await write('fraud.allow.txt', 'good.evil.com\n');
    await write('Malware.Extra.hosts', '0.0.0.0 bad.net\n');
    await write('ads.list', '||ads.example^\n');
    await write('team.allow.list', 'ok.example\n');
    await write('more.allow.hosts', '0.0.0.0 fine.example\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(warnings).toEqual([]);
    expect(lists.map((l) => [l.name, l.kind, l.category, rulesOf(l).map((r) => `${r.kind}:${r.domain}`)])).toEqual([
      ['malware-extra', 'block', 'uncategorized', ['block:bad.net']],
      ['ads', 'block', 'uncategorized', ['block:ads.example']],
      ['fraud-allow', 'allow', 'uncategorized', ['allow:good.evil.com']],
      ['fraud', 'block', 'phishing', ['block:evil.com']],
      ['more-allow', 'allow', 'uncategorized', ['allow:fine.example']],
      ['team-allow', 'allow', 'uncategorized', ['allow:ok.example']],
    ]);
  });

  it('ignores other files, dot-files and directories', async () => {
    await write('fraud.txt', 'evil.com\n');
    await write('LICENSE', 'evil2.com\n');
    await write('README.md', 'evil3.com\n');
    await write('fraud.LICENSE', 'evil4.com\n');
    await write('fraud.txt.bak', 'evil5.com\n');
    await write('.hidden.txt', 'evil6.com\n');
    await mkdir(path.join(temp.path, 'sub.txt'));
    await writeFile(path.join(temp.path, 'sub.txt', 'inner.txt'), 'evil7.com\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(warnings).toEqual([]);
    expect(lists.map((l) => l.name)).toEqual(['fraud']);
  });

  it('follows symlinked files (ConfigMap mounts) and ignores dangling links', async () => {
    await mkdir(path.join(temp.path, '..data'));
    await writeFile(path.join(temp.path, '..data', 'fraud.txt'), 'evil.com\n');
    await symlink(path.join('..data', 'fraud.txt'), path.join(temp.path, 'fraud.txt'));
    await symlink('missing.txt', path.join(temp.path, 'dangling.txt'));
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(warnings).toEqual([]);
    expect(lists.map((l) => l.name)).toEqual(['fraud']);
  });

  it('warns once per file with skipped lines, showing the first one', async () => {
    await write('mixed.txt', 'good.com\n127.0.0.1\n||github.com/x/y^$all\n');
    await write('clean.txt', 'fine.com\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(lists.map((l) => [l.name, l.size, l.skipped.length])).toEqual([
      ['clean', 1, 0],
      ['mixed', 1, 2],
    ]);
    expect(warnings).toEqual(['mixed.txt: skipped 2 lines that are not domains (first: line 2: loopback address range, never an answer to block: 127.0.0.1)']);
  });

  it('shortens a very long skipped line in the warning', async () => {
    await write('long.txt', `${'x/'.repeat(200)}\n`);
    const { warnings } = await loadListsDir(temp.path);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^long\.txt: skipped 1 lines that are not domains \(first: line 1: URL or path, not a domain: (x\/)+x?\.\.\.\)$/);
    expect(warnings[0]!.length).toBeLessThan(200);
  });

  it('skips files whose name cannot be a list name, and duplicate list names', async () => {
    await write('bad name!.txt', 'a.com\n');
    await write('_private.txt', 'b.com\n');
    await write('fraud.list', 'c.com\n');
    await write('fraud.txt', 'd.com\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(lists.map((l) => [l.name, l.rule(0).domain])).toEqual([['fraud', 'c.com']]);
    expect(warnings).toEqual([
      `_private.txt: list name "_private" is not valid (use a-z, 0-9, '-' and '_', start with a letter or digit, at most 64 characters); rename the file; the file was skipped`,
      `bad name!.txt: list name "bad name!" is not valid (use a-z, 0-9, '-' and '_', start with a letter or digit, at most 64 characters); rename the file; the file was skipped`,
      'fraud.txt: list name "fraud" is already used by fraud.list; rename one of the files (this one was skipped)',
    ]);
  });

  it('warns when the directory has no list files', async () => {
    await write('README.md', '# lists go here\n');
    const { lists, warnings } = await loadListsDir(temp.path);
    expect(lists).toEqual([]);
    expect(warnings).toEqual([`${temp.path}: no list files (*.txt, *.hosts, *.list, *.rpz) found; nothing will be blocked`]);
  });

  it('throws ListLoadError E_LIST_DIR for a missing directory, telling the operator what to do', async () => {
    const missing = path.join(temp.path, 'nope');
    const err = await loadListsDir(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListLoadError);
    expect((err as ListLoadError).code).toBe('E_LIST_DIR');
    expect((err as ListLoadError).message).toContain(missing);
    expect((err as ListLoadError).message).toContain('--lists DIR');
    expect((err as ListLoadError).message).toContain('create it');
  });

  it('throws E_LIST_DIR when the path is a file', async () => {
    await write('file.txt', 'a.com\n');
    const err = await loadListsDir(path.join(temp.path, 'file.txt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListLoadError);
    expect((err as ListLoadError).code).toBe('E_LIST_DIR');
    expect((err as ListLoadError).message).toMatch(/is not a directory.*--lists DIR/);
  });
});
