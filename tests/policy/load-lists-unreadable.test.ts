// Separate file because it mocks node:fs/promises for the whole module graph (chmod 000 cannot
// make a file unreadable when the tests run as root, as they do in containers).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it, vi } from 'vitest';
import { loadListsDir } from '../../src/policy/load-lists.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const readFile = async (file: Parameters<typeof actual.readFile>[0], options: BufferEncoding): Promise<string> => {
    if (String(file).endsWith('locked.txt')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return actual.readFile(file, options);
  };
  return { ...actual, readFile };
});

it('warns about and skips an unreadable file, loading the others', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-lists-'));
  try {
    await writeFile(path.join(dir, 'locked.txt'), 'a.com\n');
    await writeFile(path.join(dir, 'open.txt'), 'b.com\n');
    const { lists, warnings } = await loadListsDir(dir);
    expect(lists.map((l) => l.name)).toEqual(['open']);
    expect(warnings).toEqual(["locked.txt: could not be read (EACCES); check the file's permissions (the list was skipped)"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
