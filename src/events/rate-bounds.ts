/** A token bucket: `rate` tokens per `perMs`, holding at most `burst`. */
class TokenBucket {
  tokens: number;
  last: number;

  constructor(
    private readonly rate: number,
    private readonly perMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type RateVerdict = 'ok' | 'client-rate' | 'global-rate';

/**
 * Bounds how many events one client and the whole server may emit: a client flooding many
 * different fraud domains, or a botnet behind many addresses, cannot flood the receiver. The
 * per-client buckets are bounded (oldest forgotten first; a forgotten client starts full again).
 */
export class RateBounds {
  private readonly global: TokenBucket;
  private readonly clients = new Map<string, TokenBucket>();

  constructor(
    private readonly options: { readonly eventsRate: number; readonly eventsClientRate: number; readonly maxClients: number },
    now: number,
  ) {
    this.global = new TokenBucket(options.eventsRate, 1000, options.eventsRate, now);
  }

  take(client: string, now: number): RateVerdict {
    let bucket = this.clients.get(client);
    if (bucket === undefined) {
      if (this.clients.size >= this.options.maxClients) this.clients.delete(this.clients.keys().next().value!);
      bucket = new TokenBucket(this.options.eventsClientRate, 60_000, this.options.eventsClientRate, now);
      this.clients.set(client, bucket);
    }
    if (!bucket.take(now)) return 'client-rate';
    return this.global.take(now) ? 'ok' : 'global-rate';
  }
}
