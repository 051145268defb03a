import { constants } from 'node:fs';
import { access, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ListKind } from '../query/rule.js';
import type { ParsedList } from '../policy/parse-list.js';
import { randomBytes } from 'node:crypto';
import { appendFileDurably, removeFileDurably, writeFileAtomic } from './atomic-file.js';
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
/** A list's delta journal is folded into a new snapshot after this many deltas or bytes. */
const JOURNAL_MAX_DELTAS = 64;
const JOURNAL_MAX_BYTES = 1024 * 1024;

/** The journal of a list's snapshot: its id (written in the snapshot and in every line) and its size. */
interface Journal {
  readonly id: string;
  deltas: number;
  bytes: number;
}

/**
 * The state directory: lists accepted through the admin API (`lists/NAME.json`) and the last good
 * copies of URL sources (`url/NAME.txt` + `url/NAME.meta.json`). Nothing is created until the
 * first write, so instances that never receive a push leave no trace.
 *
 * A delta to a list is appended to the list's journal (`lists/NAME.deltas.jsonl`, one JSON line a
 * delta, fsync'd) instead of rewriting the whole list: on a 1M-entry list a rewrite is ~25 MB per
 * delta. Every JOURNAL_MAX_DELTAS deltas the caller writes a new snapshot instead. Each snapshot has
 * a random journal id and each line names the id it extends, so lines left over from an earlier
 * snapshot (a crash between writing a snapshot and removing the old journal) are ignored, never
 * replayed onto a list they do not belong to. Replaying a delta is "remove these, add these", as
 * everywhere else.
 */
export class StateStore {
  private readonly journals = new Map<string, Journal>();

  constructor(readonly dir: string) {}

  private listFile(name: string): string {
    return path.join(this.dir, 'lists', `${name}.json`);
  }

  private journalFile(name: string): string {
    return path.join(this.dir, 'lists', `${name}.deltas.jsonl`);
  }

  async saveList(list: StoredList): Promise<void> {
    const journal = newJournalId();
    const body = JSON.stringify({ format: FORMAT, ...list, updatedAt: new Date(list.updatedAt).toISOString(), journal });
    await writeFileAtomic(this.listFile(list.name), `${body}\n`);
    await this.startJournal(list.name, journal);
  }

  /** After a new snapshot: its journal starts empty (the old one, if any, no longer applies). */
  private async startJournal(name: string, id: string): Promise<void> {
    this.journals.set(name, { id, deltas: 0, bytes: 0 });
    await removeFileDurably(this.journalFile(name));
  }

  /**
   * Appends a delta (canonical entries) to the list's journal, durably. False when the list has no
   * journal to extend (no snapshot written or loaded with one) or the journal is full: the caller
   * then saves the whole list instead (which starts a new journal).
   */
  async appendListDelta(name: string, add: readonly string[], remove: readonly string[], updatedAt: number): Promise<boolean> {
    const journal = this.journals.get(name);
    if (journal === undefined || journal.deltas >= JOURNAL_MAX_DELTAS || journal.bytes >= JOURNAL_MAX_BYTES) return false;
    const line = `${JSON.stringify({ journal: journal.id, add, remove, updatedAt: new Date(updatedAt).toISOString() })}\n`;
    await appendFileDurably(this.journalFile(name), line);
    journal.deltas++;
    journal.bytes += line.length;
    return true;
  }

  /**
   * Saves `list` (its entries in canonical form, from the packed bytes) as `saveList` would, but
   * written in slices: a 1M-entry list is ~25 MB of JSON, which as one JSON.stringify and one write
   * held the event loop for 0.3-1.4 s (DNS answers and the next change waited).
   */
  async saveParsedList(list: ParsedList, updatedAt: number, version?: number): Promise<void> {
    const head = JSON.stringify({ format: FORMAT, name: list.name, kind: list.kind, category: list.category });
    const tail = JSON.stringify({ updatedAt: new Date(updatedAt).toISOString(), ...(version === undefined ? {} : { version }) });
    const journal = newJournalId();
    function* pieces(): Generator<Uint8Array> {
      yield Buffer.from(`${head.slice(0, -1)},"entries":[`);
      yield* canonicalChunks(list, 'json');
      yield Buffer.from(`],${tail.slice(1, -1)},"journal":"${journal}"}\n`);
    }
    await writeFileAtomic(this.listFile(list.name), pieces());
    await this.startJournal(list.name, journal);
  }

  async deleteList(name: string): Promise<void> {
    await removeFileDurably(this.listFile(name));
    this.journals.delete(name);
    await removeFileDurably(this.journalFile(name));
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
      const name = file.slice(0, -'.json'.length);
      try {
        const { list, journal } = parseStoredList(await readFile(full, 'utf8'), name);
        lists.push(journal === undefined ? list : await this.replayJournal(list, journal, problems));
      } catch (error) {
        problems.push(`state file ${full}: ${(error as Error).message}; the list was not loaded (restore it or push it again)`);
      }
    }
    return { lists, problems };
  }

  /** The list with the deltas of its journal applied (lines of another snapshot's journal are skipped). */
  private async replayJournal(list: StoredList, id: string, problems: string[]): Promise<StoredList> {
    const file = this.journalFile(list.name);
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    const journal: Journal = { id, deltas: 0, bytes: 0 };
    this.journals.set(list.name, journal);
    if (text === '') return list;
    const lines = text.split('\n');
    const entries = new Set(list.entries);
    let updatedAt = list.updatedAt;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      let delta: { journal?: unknown; add?: unknown; remove?: unknown; updatedAt?: unknown };
      try {
        delta = JSON.parse(line) as typeof delta;
      } catch {
        // A torn last line is a delta a crash interrupted before it was acknowledged; anything else is damage.
        if (i < lines.length - 1 && lines.slice(i + 1).some((rest) => rest !== '')) {
          problems.push(`state file ${file}: line ${i + 1} is not valid JSON; the deltas from there on were not applied (push them again)`);
        }
        // Never append after a broken line (the next line would join it): the next delta writes a snapshot.
        journal.deltas = JOURNAL_MAX_DELTAS;
        break;
      }
      journal.deltas++;
      journal.bytes += line.length + 1;
      if (delta.journal !== id) continue;
      const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((e): e is string => typeof e === 'string') : []);
      for (const entry of strings(delta.remove)) entries.delete(entry);
      for (const entry of strings(delta.add)) entries.add(entry);
      const time = typeof delta.updatedAt === 'string' ? Date.parse(delta.updatedAt) : Number.NaN;
      if (!Number.isNaN(time)) updatedAt = time;
    }
    return { ...list, entries: [...entries], updatedAt };
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

function newJournalId(): string {
  return randomBytes(6).toString('hex');
}

function parseStoredList(text: string, expectedName: string): { list: StoredList; journal: string | undefined } {
  const data = JSON.parse(text) as Record<string, unknown>;
  if (data['format'] !== FORMAT) throw new Error(`unknown format ${String(data['format'])}`);
  const { name, kind, category, entries, updatedAt, zone, version, journal } = data;
  if (zone !== undefined && typeof zone !== 'string') throw new Error('zone must be text');
  if (name !== expectedName) throw new Error(`holds list "${String(name)}", not "${expectedName}"`);
  if (kind !== 'block' && kind !== 'allow' && kind !== 'protect') throw new Error(`bad kind ${String(kind)}`);
  if (typeof category !== 'string') throw new Error('missing category');
  if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string')) throw new Error('entries must be strings');
  const time = typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN;
  const updated = Number.isNaN(time) ? Date.now() : time;
  const stored: StoredList = { name, kind, category, entries: entries as string[], zone, updatedAt: updated };
  const list = Number.isSafeInteger(version) && (version as number) > 0 ? { ...stored, version: version as number } : stored;
  return { list, journal: typeof journal === 'string' ? journal : undefined };
}
