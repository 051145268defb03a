// What `serve` loads at start, in one place, so that `fraudwall check` reads exactly the same: list
// files, then lists pushed through the admin API (state/lists), then the last good copies of URL
// lists (state/url). The first source of a name wins. Read-only: nothing is created or removed.
import { fileListRecords } from './file-lists.js';
import type { ListRecord } from './list-registry.js';
import { storedListRecords } from './list-service.js';
import { loadListsDir } from './load-lists.js';
import type { StateStore } from './state-store.js';
import type { UrlListSource } from './url-list.js';
import path from 'node:path';

/** One place lists were read from, for `check` to show. */
export interface SourceRead {
  readonly kind: 'files' | 'pushed' | 'url-copy';
  readonly path: string;
  /** The lists it gave (names), in load order; a name taken by an earlier source is not here. */
  readonly lists: readonly string[];
}

export interface LoadedSources {
  readonly records: ListRecord[];
  readonly read: SourceRead[];
  /** Skipped lines, unreadable files, names taken twice: one line each, for the log or stderr. */
  readonly warnings: string[];
  /** Lists that could not be loaded at all; fatal with --require-lists. */
  readonly failures: string[];
  /** Fleet versions of the pushed lists in the state directory (--redis; lists saved without one are absent). */
  readonly storedVersions: Map<string, number>;
}

/** `protectFiles`: the --protect files and directories (#13), loaded with the list files. */
export async function loadListSources(
  listsDir: string,
  state: StateStore,
  urlSources: readonly UrlListSource[],
  protectFiles: readonly string[] = [],
): Promise<LoadedSources> {
  const warnings: string[] = [];
  const failures: string[] = [];
  const byName = new Map<string, ListRecord>();
  const add = (record: ListRecord): boolean => {
    const taken = byName.get(record.list.name);
    if (taken === undefined) {
      byName.set(record.list.name, record);
      return true;
    }
    warnings.push(`list "${record.list.name}" from ${record.source} ignored: the name is taken by ${taken.source} (${taken.origin}); rename one`);
    return false;
  };
  const names = (records: readonly ListRecord[]): string[] => records.filter(add).map((record) => record.list.name);

  const files = await loadListsDir(listsDir, protectFiles);
  warnings.push(...files.warnings);
  failures.push(...files.unreadable);
  const read: SourceRead[] = [{ kind: 'files', path: listsDir, lists: names(fileListRecords(files.lists, listsDir, 1)) }];

  const stored = await state.loadLists();
  warnings.push(...stored.problems);
  failures.push(...stored.problems);
  read.push({ kind: 'pushed', path: path.join(state.dir, 'lists'), lists: names(storedListRecords(stored.lists)) });
  const storedVersions = new Map(stored.lists.flatMap((list) => (list.version === undefined ? [] : [[list.name, list.version] as const])));

  for (const source of urlSources) {
    const record = await source.loadLastGood(1);
    if (record) read.push({ kind: 'url-copy', path: state.urlCopyFiles(source.spec.name).body, lists: names([record]) });
  }
  return { records: [...byName.values()], read, warnings, failures, storedVersions };
}

/** One line per source, e.g. `read: list files in /etc/fraudwall/lists (fraud, malware)`. */
export function formatSourcesRead(read: readonly SourceRead[]): string[] {
  const what = { files: 'list files in', pushed: 'pushed lists in', 'url-copy': 'last good URL copy' } as const;
  return read.map((source) => `read: ${what[source.kind]} ${source.path} (${source.lists.length === 0 ? 'none' : source.lists.join(', ')})`);
}
