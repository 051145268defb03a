import { LRUCache } from 'lru-cache';
import { ipv6Bytes } from '../config/ip-address.js';
import type { Config } from '../config/options.js';

export type RateLimiterOptions = Pick<Config, 'rateLimit' | 'rateLimitBurst' | 'rateLimitIpv4Prefix' | 'rateLimitIpv6Prefix'>;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Most client prefixes tracked at once: a flood of spoofed sources costs memory up to this and no more. */
const MAX_BUCKETS = 100_000;

/** A token bucket per client prefix (IPv4 /24, IPv6 /56 by default), kept in a bounded LRU. */
export class PrefixRateLimiter {
  private readonly buckets = new LRUCache<string, Bucket>({ max: MAX_BUCKETS });

  constructor(private readonly options: RateLimiterOptions) {}

  /** Takes one token for the client's prefix; false when its bucket is empty. `ipv4` is the IPv4 address as a number, or -1 for IPv6. */
  take(address: string, ipv4: number): boolean {
    const key = ipv4 >= 0 ? this.ipv4Key(ipv4) : this.ipv6Key(address);
    const now = performance.now();
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, { tokens: this.options.rateLimitBurst - 1, updatedAt: now });
      return true;
    }
    const refill = ((now - bucket.updatedAt) / 1000) * this.options.rateLimit;
    bucket.tokens = Math.min(this.options.rateLimitBurst, bucket.tokens + refill);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private ipv4Key(value: number): string {
    const bits = this.options.rateLimitIpv4Prefix;
    const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
    return `4:${masked}`;
  }

  private ipv6Key(address: string): string {
    const bytes = ipv6Bytes(address.split('%')[0]!);
    const bits = this.options.rateLimitIpv6Prefix;
    const whole = Math.floor(bits / 8);
    let key = '6:';
    for (let i = 0; i < whole; i++) key += bytes[i]!.toString(16).padStart(2, '0');
    if (bits % 8 !== 0) key += (bytes[whole]! & (0xff << (8 - (bits % 8)))).toString(16);
    return key;
  }
}
