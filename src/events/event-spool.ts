import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { FraudwallError } from '../errors.js';

/** One batch on disk. Everything but the body is in the file name, so a restart lists the spool without reading it. */
export interface SpooledBatch {
  /** Sort key: a 16-digit sequence number, then 'a'/'b' per 413 split ("…0042" < "…0042a" < "…0042b" < "…0043"). */
  readonly key: string;
  /** The webhook-id: the same for every attempt at this batch, across restarts. */
  readonly id: string;
  readonly count: number;
  /** Date.now() of the batch's first event (delivery latency is measured from it). */
  readonly firstAt: number;
  readonly bytes: number;
}

const NAME = /^(\d{16}[ab]*)_(\d+)_(\d+)_(msg_[A-Za-z0-9_]+)\.json$/;

export function spoolFileName(batch: Omit<SpooledBatch, 'bytes'>): string {
  return `${batch.key}_${batch.count}_${batch.firstAt}_${batch.id}.json`;
}

/**
 * The disk spool of undelivered batches under STATE/events: one file per batch, named so that
 * sorting the names gives the delivery order. Writes are group commits (every file written to a
 * temp name and fsync'd, renamed into place, then the directory fsync'd once), so a crash leaves
 * whole batches or none. Holds no open file between calls, so SIGHUP has nothing to reopen.
 */
export class EventSpool {
  constructor(readonly dir: string) {}

  /** Creates the directory, clears temp files of an interrupted write and lists the batches in order. */
  async open(): Promise<SpooledBatch[]> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const names = await readdir(this.dir);
      const batches: SpooledBatch[] = [];
      for (const name of names) {
        if (name.endsWith('.tmp')) {
          await rm(path.join(this.dir, name), { force: true });
          continue;
        }
        const match = NAME.exec(name);
        if (!match) continue;
        const { size } = await stat(path.join(this.dir, name));
        batches.push({ key: match[1]!, count: Number(match[2]), firstAt: Number(match[3]), id: match[4]!, bytes: size });
      }
      return batches.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    } catch (error) {
      throw new FraudwallError(
        'E_EVENTS_SPOOL',
        `the events spool ${this.dir} cannot be used (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
          'check that --state is writable by the fraudwall user',
        { cause: error },
      );
    }
  }

  /** Writes the batches durably, all with one directory sync. */
  async write(batches: readonly { readonly batch: Omit<SpooledBatch, 'bytes'>; readonly body: Buffer }[]): Promise<void> {
    if (batches.length === 0) return;
    const renames: [string, string][] = [];
    for (const { batch, body } of batches) {
      const final = path.join(this.dir, spoolFileName(batch));
      const temp = `${final}.tmp`;
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      renames.push([temp, final]);
    }
    for (const [temp, final] of renames) await rename(temp, final);
    await this.syncDir();
  }

  read(batch: Omit<SpooledBatch, 'bytes'>): Promise<Buffer> {
    return readFile(path.join(this.dir, spoolFileName(batch)));
  }

  /**
   * Removes a delivered or dropped batch. No directory sync: after a power cut the file may come
   * back and be delivered again, which at-least-once delivery allows (receivers dedupe on the event id).
   */
  async remove(batch: Omit<SpooledBatch, 'bytes'>): Promise<void> {
    await rm(path.join(this.dir, spoolFileName(batch)), { force: true });
  }

  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
