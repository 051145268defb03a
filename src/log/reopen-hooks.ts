// Files a process keeps open for appending (the query log, …; not the events spool, which keeps none open) register here to be
// reopened on SIGHUP: logrotate renames a file and sends SIGHUP, and the writer must then create a
// new file at the configured path instead of writing on into the renamed one (no copytruncate
// needed). One registry per process: SIGHUP is process-wide, and a cluster primary relays it to each
// worker, which reopens its own files.

/** Reopens one file: opens the configured path anew and switches writes to it. Rejects when it cannot. */
export type Reopen = () => Promise<void>;

export interface ReopenResult {
  /** What was reopened, as registered (e.g. `query log /var/log/fraudwall/queries.ndjson`). */
  readonly name: string;
  /** Why it could not be reopened; the writer then keeps its old file. */
  readonly error?: Error;
}

const hooks = new Map<symbol, { readonly name: string; readonly reopen: Reopen }>();

/** Registers a file to reopen on SIGHUP; call the returned function when the file is closed for good. */
export function onReopen(name: string, reopen: Reopen): () => void {
  const key = Symbol(name);
  hooks.set(key, { name, reopen });
  return () => {
    hooks.delete(key);
  };
}

/** Reopens every registered file (each on its own: one failure does not stop the others). */
export async function reopenFiles(): Promise<ReopenResult[]> {
  return Promise.all(
    [...hooks.values()].map(({ name, reopen }) =>
      reopen().then(
        (): ReopenResult => ({ name }),
        (error: unknown): ReopenResult => ({ name, error: error instanceof Error ? error : new Error(String(error)) }),
      ),
    ),
  );
}
