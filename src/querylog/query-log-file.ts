// The query log's file: opened before the server reports ready, so a path that cannot be written is
// a startup error rather than a log that silently never starts; created 0640, because every line
// holds a client address.
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { FraudwallError } from '../errors.js';

/** Mode of a query-log file fraudwall creates: owner read/write, group read (log readers), nobody else. */
export const QUERY_LOG_FILE_MODE = 0o640;

export class QueryLogFileError extends FraudwallError {
  constructor(file: string, code: string) {
    super(
      'E_QUERY_LOG',
      `cannot open the query log ${file} for appending (${code}): create its directory, make it writable by user ${process.getuid?.() ?? '?'}, or set --query-log off`,
    );
  }
}

/** Opens `file` for appending (created 0640 if missing) and gives a stream over it. */
export async function openQueryLogFile(file: string): Promise<Writable> {
  let handle;
  try {
    handle = await open(file, 'a', QUERY_LOG_FILE_MODE);
  } catch (error) {
    throw new QueryLogFileError(file, (error as NodeJS.ErrnoException).code ?? String(error));
  }
  return handle.createWriteStream();
}
