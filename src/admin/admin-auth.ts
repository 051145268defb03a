import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { LRUCache } from 'lru-cache';
import { HttpError } from './http-server.js';

export type AuthFailure = 'missing' | 'wrong' | 'rate-limited' | 'disabled';

export interface AdminAuthOptions {
  /** Failed attempts allowed per client address within `windowMs` before it gets 429. */
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly onFailure: (reason: AuthFailure) => void;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Bearer-token check for the admin API. Tokens are compared as SHA-256 digests with
 * timingSafeEqual, so neither content nor length leaks through timing. Failed attempts are counted
 * per client address (in a bounded LRU) and a client over the limit is refused until its window ends.
 */
export class AdminAuth {
  private expected: Buffer | undefined;
  /** Who did it, for audit lines: a fingerprint of the token, never the token. */
  label: string;
  private readonly failures: LRUCache<string, { count: number }>;

  constructor(
    token: string | undefined,
    private readonly options: AdminAuthOptions,
  ) {
    this.expected = token === undefined ? undefined : digest(token);
    this.label = token === undefined ? 'none' : `token:${digest(token).toString('hex').slice(0, 8)}`;
    this.failures = new LRUCache({ max: 10_000, ttl: options.windowMs });
  }

  /**
   * Replaces the token (the token file was re-read on SIGHUP); the old one stops working at once.
   * Whether writes are enabled stays as decided at start (the state directory was checked for it).
   * Returns whether the token changed.
   */
  replaceToken(token: string): boolean {
    if (this.expected === undefined) throw new Error('list changes are disabled: there is no token to replace');
    const next = digest(token);
    const changed = !timingSafeEqual(next, this.expected);
    this.expected = next;
    this.label = `token:${next.toString('hex').slice(0, 8)}`;
    return changed;
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /**
   * Throws the HttpError to answer with unless the request carries the right token. The right
   * token always works: failures are throttled per address, but every local client shares
   * 127.0.0.1, and a noisy neighbour must not lock the operator out.
   */
  authorize(req: http.IncomingMessage, write: boolean): string {
    const client = req.socket.remoteAddress ?? 'unknown';
    if (this.expected === undefined) {
      if (!write) return 'anonymous';
      this.options.onFailure('disabled');
      throw new HttpError(
        403,
        'E_ADMIN_DISABLED',
        'list changes are disabled: no admin token is configured; start fraudwall with FRAUDWALL_ADMIN_TOKEN or --admin-token-file',
      );
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match !== null && timingSafeEqual(digest(match[1]!), this.expected)) return this.label;
    const record = this.failures.get(client);
    if (record !== undefined && record.count >= this.options.maxFailures) {
      this.options.onFailure('rate-limited');
      throw new HttpError(429, 'E_AUTH_RATE_LIMITED', 'too many failed attempts; wait a minute and check your token', undefined, {
        'retry-after': String(Math.ceil(this.options.windowMs / 1000)),
      });
    }
    if (match === null) {
      this.fail(client, 'missing');
      throw new HttpError(401, 'E_AUTH_MISSING', 'send the admin token as "Authorization: Bearer <token>"', undefined, {
        'www-authenticate': 'Bearer realm="fraudwall"',
      });
    }
    this.fail(client, 'wrong');
    throw new HttpError(403, 'E_AUTH_WRONG', 'the admin token is wrong');
  }

  private fail(client: string, reason: AuthFailure): void {
    this.options.onFailure(reason);
    const record = this.failures.get(client);
    if (record === undefined) this.failures.set(client, { count: 1 });
    else record.count++;
  }
}
