/**
 * writeFileAtomic and removeFileDurably: the target holds the old or the new content, never a mix
 * (checked by reading while many writers race), no temp file survives a write or a failed write,
 * parent directories are created, new files are private (0600).
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeFileDurably, writeFileAtomic } from '../../src/lists/atomic-file.js';
import { useTempDir } from '../helpers/temp-dir.js';

const temp = useTempDir('atomic');

describe('writeFileAtomic', () => {
  it('creates missing parent directories and writes strings and buffers exactly', async () => {
    const file = path.join(temp.path, 'a', 'b', 'list.json');
    await writeFileAtomic(file, 'héllo\n');
    expect(await readFile(file, 'utf8')).toBe('héllo\n');
    const bytes = Buffer.from([0, 255, 10, 13, 0x80]);
    await writeFileAtomic(file, bytes);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });

  it('replaces the content whole (a shorter write leaves nothing of the longer one) and leaves no temp file', async () => {
    const file = path.join(temp.path, 'list.txt');
    await writeFileAtomic(file, 'x'.repeat(10_000));
    await writeFileAtomic(file, 'short');
    expect(await readFile(file, 'utf8')).toBe('short');
    expect(await readdir(temp.path)).toEqual(['list.txt']);
  });

  it('creates new files readable by the owner only', async () => {
    const file = path.join(temp.path, 'secret.json');
    await writeFileAtomic(file, '{}');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('readers racing many writers only ever see one whole version', async () => {
    const file = path.join(temp.path, 'race.txt');
    const versions = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}:${String.fromCharCode(97 + i).repeat(200_000)}\n`);
    await writeFileAtomic(file, versions[0]!);
    let writing = true;
    const reads: string[] = [];
    const reader = (async () => {
      while (writing) reads.push(await readFile(file, 'utf8'));
    })();
    await Promise.all(versions.map((version) => writeFileAtomic(file, version)));
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) expect(versions).toContain(read);
    expect(versions).toContain(await readFile(file, 'utf8'));
    expect(await readdir(temp.path)).toEqual(['race.txt']);
  });

  it('a failed rename (the target is a directory) throws, removes its temp file and leaves the target alone', async () => {
    const target = path.join(temp.path, 'taken');
    await mkdir(target);
    await writeFile(path.join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'new content')).rejects.toMatchObject({ code: expect.stringMatching(/^E(ISDIR|EXIST|NOTEMPTY|PERM)$/) });
    expect(await readdir(temp.path)).toEqual(['taken']);
    expect(await readFile(path.join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('a parent path that is a file makes the write fail without leaving anything', async () => {
    await writeFile(path.join(temp.path, 'plain'), 'x');
    await expect(writeFileAtomic(path.join(temp.path, 'plain', 'list.json'), '{}')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(await readdir(temp.path)).toEqual(['plain']);
  });
});

describe('removeFileDurably', () => {
  it('removes a file; a missing file or a missing directory is not an error', async () => {
    const file = path.join(temp.path, 'x.json');
    await writeFile(file, '{}');
    await removeFileDurably(file);
    expect(await readdir(temp.path)).toEqual([]);
    await expect(removeFileDurably(file)).resolves.toBeUndefined();
    await expect(removeFileDurably(path.join(temp.path, 'no', 'such', 'x.json'))).resolves.toBeUndefined();
  });
});
