// Separate file because it mocks node:fs/promises for the whole module graph (chmod 000 cannot
// make a file unreadable when the tests run as root, as they do in containers).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it, vi } from 'vitest';
import { loadListsDir } from '../../src/lists/load-lists.js';

// Lists are streamed through a FileHandle: fail the open (permissions), or a read half-way (I/O error).
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (file: Parameters<typeof actual.open>[0], flags?: string): Promise<import('node:fs/promises').FileHandle> => {
    if (String(file).endsWith('locked.txt')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const handle = await actual.open(file, flags);
    if (!String(file).endsWith('broken.txt')) return handle;
    let reads = 0;
    const read = handle.read.bind(handle) as (...args: unknown[]) => Promise<unknown>;
    return Object.assign(handle, {
      read: async (...args: unknown[]) => {
        if (++reads > 1) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        return read(...args);
      },
    });
  };
  return { ...actual, open };
});

it('warns about and skips an unreadable file, loading the others', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-lists-'));
  try {
    await writeFile(path.join(dir, 'locked.txt'), 'a.com\n');
    await writeFile(path.join(dir, 'open.txt'), 'b.com\n');
    const { lists, warnings, unreadable } = await loadListsDir(dir);
    expect(lists.map((l) => l.name)).toEqual(['open']);
    expect(warnings).toEqual(["locked.txt: could not be read (EACCES); check the file's permissions (the list was skipped)"]);
    expect(unreadable).toEqual([path.join(dir, 'locked.txt')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('skips a file whose read fails part-way instead of loading half of it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-lists-'));
  try {
    // Larger than one read chunk, so the second read fails after the first was parsed.
    await writeFile(path.join(dir, 'broken.txt'), Array.from({ length: 40_000 }, (_, i) => `n${i}.example`).join('\n'));
    await writeFile(path.join(dir, 'open.txt'), 'b.com\n');
    const { lists, warnings } = await loadListsDir(dir);
    expect(lists.map((l) => l.name)).toEqual(['open']);
    expect(warnings).toEqual(["broken.txt: could not be read (EIO); check the file's permissions (the list was skipped)"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
