// Error classes of the policy module. `code` is stable (logs, tests and the CLI key on it);
// the message tells the operator what to do.

export type ListLoadErrorCode = 'E_LIST_DIR';

/** The blocklist directory cannot be used at all (missing, not a directory, unreadable). */
export class ListLoadError extends Error {
  override readonly name = 'ListLoadError';
  readonly code: ListLoadErrorCode;
  readonly dir: string;

  constructor(code: ListLoadErrorCode, dir: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.dir = dir;
  }
}

export type PolicyErrorCode = 'E_POLICY_GENERATION' | 'E_CACHE_SIZE';

/** Misuse of the policy API by the embedding code (a bug or a bad configuration value). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code: PolicyErrorCode;

  constructor(code: PolicyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
