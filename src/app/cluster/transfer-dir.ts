// The private directory where list files wait for the workers to read them (lists/list-transfer.ts).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EncodedList } from '../../lists/list-transfer.js';
import { StartupError } from '../startup-error.js';

const TRANSFER_PREFIX = 'fraudwall-transfer-';

/**
 * A fresh directory for list files, named after this process. Directories of primaries that were
 * killed before they could clean up (SIGKILL, OOM) are removed here: their pid is gone.
 */
export function openTransferDir(): string {
  for (const entry of readdirSyncOrEmpty(tmpdir())) {
    const pid = Number(entry.slice(TRANSFER_PREFIX.length).split('-')[0]);
    if (!entry.startsWith(TRANSFER_PREFIX) || !Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    rmSync(path.join(tmpdir(), entry), { recursive: true, force: true });
  }
  try {
    return mkdtempSync(path.join(tmpdir(), `${TRANSFER_PREFIX}${process.pid}-`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError(
      'E_WORKERS_TMPDIR',
      `--workers needs a writable temporary directory to hand lists to the workers; ${tmpdir()} is not (${code}): set TMPDIR to one, or run with --workers 1`,
    );
  }
}

export function closeTransferDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function removeListFiles(lists: readonly EncodedList[]): Promise<void> {
  await Promise.all(lists.map((list) => rm(list.file, { force: true })));
}

function readdirSyncOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
