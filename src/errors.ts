// Every error code fraudwall shows an operator or a script (admin API bodies, startup failures,
// CLI output, log lines), in one place. A code is stable once released: scripts and alerts match
// on it, so a new situation gets a new code. The README's "Error codes" table documents each one
// (tests/errors.test.ts checks both directions, and that src/ uses no code missing here).

export const ERROR_CODES = {
  // Configuration and start
  E_CONFIG_INVALID: 'the configuration has problems (every one is listed); fix them and start again',
  E_LISTEN: 'a --listen or --http address cannot be bound (in use, no permission, no such address)',
  E_LIST_DIR: 'the lists directory is missing, not a directory or unreadable',
  E_LISTS_REQUIRED: 'with --require-lists, a list file, stored list or URL list could not be loaded',
  E_ADMIN_TOKEN: 'the admin token file cannot be read or is empty',
  E_WORKERS_TMPDIR: 'with --workers, the private temporary directory cannot be created (check TMPDIR)',
  E_WORKER_START: 'a worker process could not start its data plane',
  // Issue #17: an operator's machine
  E_STATE_DIR: 'with list changes enabled, the state directory cannot be written',
  E_QUERY_LOG: 'the query-log file cannot be opened for appending',
  // Issue #12 (part A): the warning page
  E_WARNING_PAGE_TEMPLATE: 'the --warning-page-template file cannot be read or has problems (every one is listed)',
  // Admin API (HTTP bodies: {"error":{"code","message",…}})
  E_AUTH_MISSING: 'no bearer token was sent (401)',
  E_AUTH_WRONG: 'the bearer token is wrong (403)',
  E_AUTH_RATE_LIMITED: 'too many wrong tokens from this client; wait (429)',
  E_ADMIN_DISABLED: 'list changes are disabled: the server has no admin token (403)',
  E_BAD_REQUEST: 'the request is malformed (400)',
  E_BAD_JSON: 'the body is not valid JSON or nests too deep (400)',
  E_LIST_INVALID: 'the list has bad entries or a bad name/category; nothing was applied (400, each line named)',
  E_LIST_NOT_FOUND: 'no list of that name (404)',
  E_LIST_READ_ONLY: 'the list comes from a file or URL and cannot be changed through the API (409)',
  E_TOO_LARGE: 'the body or the list is larger than admin-max-body-bytes / admin-max-entries (413)',
  E_METHOD: 'the method is not allowed on this path (405)',
  E_NOT_FOUND: 'no such path (404)',
  E_INTERNAL: 'an unexpected error inside the server (500); the server log says more',
  // Fleet (issue #15): list state shared through Redis
  E_REDIS_UNAVAILABLE: 'Redis cannot be reached or did not answer in time: the list change was not made (503); the instance keeps serving its last lists',
  E_LIST_CHANGED: 'another instance replaced the list with one of another kind while this change was made; send it again (409)',
  E_REDIS_CONFIG: 'the Redis URL (--redis, FRAUDWALL_REDIS or --redis-file) is missing, unreadable or not a redis:// or rediss:// URL',
  E_REDIS_FORMAT: 'Redis holds list records written in a newer format by a newer fraudwall; upgrade this instance',
  // CLI client
  E_ADMIN_UNREACHABLE: 'the CLI cannot reach the server at --url',
  // Policy (a bug or a bad value in the embedding code)
  E_POLICY_GENERATION: 'a policy was swapped in with a generation that does not increase',
  E_CACHE_SIZE: 'a cache size is not a positive whole number',
  // Upstream attempts (the reason label of fraudwall_upstream_errors_total)
  E_UPSTREAM_TIMEOUT: 'an upstream did not answer within upstream-timeout-ms',
  E_UPSTREAM_NETWORK: 'sending to or reading from an upstream failed',
  E_UPSTREAM_REFUSED: 'an upstream answered REFUSED (the DNS rcode)',
  E_UPSTREAM_CONNECTION_REFUSED: 'nothing listens at the upstream address: the connection was refused (ECONNREFUSED)',
  E_UPSTREAM_SERVFAIL: 'an upstream answered SERVFAIL',
  E_UPSTREAM_MISMATCH: 'an upstream answer did not match the question or ID',
  // Early-warning events (issue #12, part B)
  E_EVENTS_URL: 'the --events-url is not a usable http(s) URL, or is plain http to a public address without --events-allow-insecure',
  E_EVENTS_SECRET: 'no events secret, or one that is not whsec_ + base64 (set --events-secret-file or FRAUDWALL_EVENTS_SECRET)',
  E_EVENTS_SPOOL: 'the events spool directory under --state cannot be created or written',
  E_EVENTS_AUTH: 'the events receiver answered 401/403: check the shared secret; events keep spooling',
  E_EVENTS_GONE: 'the events receiver answered 410 Gone: delivery stopped until restart; events keep spooling',
  E_EVENTS_REJECTED: 'the events receiver rejected a batch (a 4xx other than 401/403/408/410/413/429); the batch was dropped',
  E_EVENTS_DELIVERY: 'an events delivery attempt failed (network, timeout, 5xx, 408, 429); it is retried with backoff',
  E_EVENTS_OFF: 'events are off on this server (start it with --events-url)',
  // Encrypted DNS (issue #14)
  E_TLS_CERT: 'tls-cert/tls-key are missing, unreadable or do not match, while dot or doh is on',
  E_UPSTREAM_TLS: 'the TLS handshake with a tls:// or https:// upstream failed (certificate not trusted, wrong name, no TLS)',
  E_UPSTREAM_HTTP: 'an https:// upstream answered with an HTTP error status or a body that is not a DNS message',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The base of fraudwall's errors: a stable code from the registry and a message that says what to do. */
export class FraudwallError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
