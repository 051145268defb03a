import { constants } from 'node:fs';
import { access, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ListKind } from '../query/rule.js';
import type { ParsedList } from '../policy/parse-list.js';
import { removeFileDurably, writeFileAtomic } from './atomic-file.js';
import { canonicalChunks } from './packed-text.js';

/** A list pushed through the admin API, as persisted. Entries are in canonical text form. */
export interface StoredList {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;
  readonly entries: readonly string[];
  /** An RPZ list: its zone text as pushed (entries then stay empty: RPZ actions have no list-line form). */
  readonly zone?: string | undefined;
  /** Unix milliseconds of the accepted change. */
  readonly updatedAt: number;
  /** The list's version in the fleet's shared store (--redis), when it came through it. */
  readonly version?: number;
}

const FORMAT = 1;

/**
 * The state directory: lists accepted through the admin API (`lists/NAME.json`) and the last good
 * copies of URL sources (`url/NAME.txt` + `url/NAME.meta.json`). Nothing is created until the
 * first write, so instances that never receive a push leave no trace.
 */
export class StateStore {
  constructor(readonly dir: string) {}

  private listFile(name: string): string {
    return path.join(this.dir, 'lists', `${name}.json`);
  }

  async saveList(list: StoredList): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, ...list, updatedAt: new Date(list.updatedAt).toISOString() });
    await writeFileAtomic(this.listFile(list.name), `${body}\n`);
  }

  /**
   * Saves `list` (its entries in canonical form, from the packed bytes) as `saveList` would, but
   * written in slices: a 1M-entry list is ~25 MB of JSON, which as one JSON.stringify and one write
   * held the event loop for 0.3-1.4 s (DNS answers and the next change waited).
   */
  async saveParsedList(list: ParsedList, updatedAt: number, version?: number): Promise<void> {
    const head = JSON.stringify({ format: FORMAT, name: list.name, kind: list.kind, category: list.category });
    const tail = JSON.stringify({ updatedAt: new Date(updatedAt).toISOString(), ...(version === undefined ? {} : { version }) });
    function* pieces(): Generator<Uint8Array> {
      yield Buffer.from(`${head.slice(0, -1)},"entries":[`);
      yield* canonicalChunks(list, 'json');
      yield Buffer.from(`],${tail.slice(1)}\n`);
    }
    await writeFileAtomic(this.listFile(list.name), pieces());
  }

  async deleteList(name: string): Promise<void> {
    await removeFileDurably(this.listFile(name));
  }

  /** Every persisted list; unreadable files are reported in `problems` and skipped. */
  async loadLists(): Promise<{ lists: StoredList[]; problems: string[] }> {
    const dir = path.join(this.dir, 'lists');
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { lists: [], problems: [] };
      return { lists: [], problems: [`state directory ${dir} cannot be read (${code ?? String(error)}); no pushed list was loaded (fix its permissions or --state)`] };
    }
    const lists: StoredList[] = [];
    const problems: string[] = [];
    for (const file of files.sort()) {
      const full = path.join(dir, file);
      if (!file.endsWith('.json')) continue;
      try {
        lists.push(parseStoredList(await readFile(full, 'utf8'), file.slice(0, -'.json'.length)));
      } catch (error) {
        problems.push(`state file ${full}: ${(error as Error).message}; the list was not loaded (restore it or push it again)`);
      }
    }
    return { lists, problems };
  }

  /** Removes temp files left by writes that a crash interrupted before their rename. */
  async removeInterruptedWrites(): Promise<void> {
    for (const sub of ['lists', 'url']) {
      const dir = path.join(this.dir, sub);
      const files = await readdir(dir).catch(() => [] as string[]);
      await Promise.all(files.filter((file) => file.endsWith('.tmp')).map((file) => rm(path.join(dir, file), { force: true })));
    }
  }

  /**
   * Whether pushes could be saved, checked at start so that a directory they cannot be written to is
   * found then rather than by the first push. Creates nothing (the directory appears with the first
   * push): an existing directory and its lists/ and url/ get a probe file written and removed; a
   * missing one is judged by its nearest existing ancestor (a directory this process may write in).
   * Resolves with what failed, or undefined when all is writable.
   */
  async probeWritable(): Promise<{ readonly code: string; readonly path: string } | undefined> {
    const probe = async (dir: string): Promise<void> => {
      const file = path.join(dir, `.write-probe-${process.pid}.tmp`);
      await (await open(file, 'w', 0o600)).close();
      await rm(file, { force: true });
    };
    const kindOf = (target: string): Promise<'dir' | 'other' | 'none'> =>
      stat(target).then(
        (info) => (info.isDirectory() ? 'dir' : 'other'),
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? 'none' : Promise.reject(error)),
      );
    let at = this.dir;
    try {
      const kind = await kindOf(this.dir);
      if (kind === 'other') return { code: 'ENOTDIR', path: this.dir };
      if (kind === 'dir') {
        await probe(this.dir);
        for (const sub of ['lists', 'url']) {
          at = path.join(this.dir, sub);
          const subKind = await kindOf(at);
          if (subKind === 'other') return { code: 'ENOTDIR', path: at };
          if (subKind === 'dir') await probe(at);
        }
        return undefined;
      }
      // Missing: the first push creates it under its nearest existing ancestor.
      at = path.dirname(this.dir);
      for (let kindAt = await kindOf(at); kindAt === 'none'; kindAt = await kindOf(at)) at = path.dirname(at);
      if ((await kindOf(at)) !== 'dir') return { code: 'ENOTDIR', path: at };
      await access(at, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return { code: e.code ?? String(error), path: e.path ?? at };
    }
  }

  urlCopyFiles(name: string): { body: string; meta: string } {
    return { body: path.join(this.dir, 'url', `${name}.txt`), meta: path.join(this.dir, 'url', `${name}.meta.json`) };
  }
}

function parseStoredList(text: string, expectedName: string): StoredList {
  const data = JSON.parse(text) as Record<string, unknown>;
  if (data['format'] !== FORMAT) throw new Error(`unknown format ${String(data['format'])}`);
  const { name, kind, category, entries, updatedAt, zone, version } = data;
  if (zone !== undefined && typeof zone !== 'string') throw new Error('zone must be text');
  if (name !== expectedName) throw new Error(`holds list "${String(name)}", not "${expectedName}"`);
  if (kind !== 'block' && kind !== 'allow' && kind !== 'protect') throw new Error(`bad kind ${String(kind)}`);
  if (typeof category !== 'string') throw new Error('missing category');
  if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string')) throw new Error('entries must be strings');
  const time = typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN;
  const updated = Number.isNaN(time) ? Date.now() : time;
  const stored: StoredList = { name, kind, category, entries: entries as string[], zone, updatedAt: updated };
  return Number.isSafeInteger(version) && (version as number) > 0 ? { ...stored, version: version as number } : stored;
}
