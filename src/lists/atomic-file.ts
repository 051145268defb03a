import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** fsync a directory so a rename or unlink inside it survives a power cut. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old or the new
 * content, never a mix: write a temp file in the same directory, fsync it, rename it over the
 * target, fsync the directory. `data` may be pieces (a generator that makes each when asked): they
 * are written one at a time, so making a big file never blocks the event loop for long.
 */
export async function writeFileAtomic(file: string, data: string | Buffer | Iterable<Uint8Array>): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', 0o600);
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await handle.writeFile(data);
    else for (const piece of data) await handle.write(piece);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Appends `data` to `file` (created if missing) and fsyncs it, and the directory when the file is
 * new, before resolving: what resolved survives a power cut. A crash while appending can leave a
 * torn last line, which readers must ignore (it was never acknowledged).
 */
export async function appendFileDurably(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const handle = await open(file, 'a', 0o600);
  let created: boolean;
  try {
    created = (await handle.stat()).size === 0;
    await handle.write(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created) await syncDirectory(dir);
}

/** Removes `file` (if present) durably. */
export async function removeFileDurably(file: string): Promise<void> {
  await rm(file, { force: true });
  await syncDirectory(path.dirname(file)).catch(() => undefined);
}
