import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../log/logger.js';
import { loadListsDir } from './load-lists.js';
import type { ParsedList } from '../policy/parse-list.js';
import type { ListRecord, ListRegistry } from './list-registry.js';

export function fileListRecords(lists: readonly ParsedList[], dir: string, generation: number): ListRecord[] {
  const now = Date.now();
  return lists.map((list) => ({ list, source: 'file', origin: dir, updatedAt: now, generation }));
}

/**
 * Re-reads the lists directory and replaces every file-sourced list in one policy swap. A file
 * list whose name is taken by an API or URL list is skipped with a warning.
 *
 * The files are read inside the registry's serialized update, not before it: reloads that overlap
 * (SIGHUP, the watcher, POST /v1/reload) then parse one at a time, so memory never holds more than
 * the live lists and policy plus one new set (a 10M-entry directory parsed twice at once would be a
 * third copy).
 */
export async function reloadFileLists(
  registry: ListRegistry,
  dir: string,
  logger: Logger,
  protectFiles: readonly string[] = [],
): Promise<{ generation: number; warnings: string[] }> {
  const { result, generation } = await registry.update(async (records, nextGeneration) => {
    const { lists, warnings } = await loadListsDir(dir, protectFiles);
    for (const [name, record] of records) if (record.source === 'file') records.delete(name);
    for (const record of fileListRecords(lists, dir, nextGeneration)) {
      const taken = records.get(record.list.name);
      if (taken !== undefined) {
        warnings.push(`list file for "${record.list.name}" ignored: a list of that name comes from ${taken.source} (${taken.origin}); rename the file`);
        continue;
      }
      records.set(record.list.name, record);
    }
    return { warnings, count: lists.length };
  });
  const { warnings } = result;
  for (const warning of warnings) logger.warn(warning);
  logger.info('list files reloaded', { dir, lists: result.count, generation });
  return { generation, warnings };
}

/**
 * Watches the lists directory and calls `onChange` once things have been quiet for `debounceMs`
 * (editors and `cp` produce bursts of events; a half-written file is not reloaded mid-burst).
 */
export class DirectoryWatcher {
  private readonly watcher: FSWatcher;
  private timer: NodeJS.Timeout | undefined;

  constructor(dir: string, debounceMs: number, onChange: () => void, logger: Logger) {
    this.watcher = watch(dir, { persistent: false }, () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(onChange, debounceMs);
    });
    this.watcher.on('error', (error) => logger.warn(`stopped watching ${dir} for list changes; send SIGHUP to reload`, { err: error }));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
