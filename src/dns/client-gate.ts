import { BlockList, isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { ipv6Rdata } from './response-writer.js';

/** Where a packet from a given client goes before any parsing. */
export type GateDecision = 'pass' | 'refuse' | 'drop' | 'truncate';

export interface ClientGateOptions {
  /** CIDRs allowed to query; everything else is refused or dropped. */
  readonly allowClients: readonly string[];
  readonly disallowedAction: 'refuse' | 'drop';
  /** Queries per second per client prefix (0 disables rate limiting). */
  readonly rateLimit: number;
  /** Bucket size: queries a prefix may send in a burst above the rate. */
  readonly rateBurst: number;
  readonly ipv4PrefixLength: number;
  readonly ipv6PrefixLength: number;
  /** Over the limit over UDP: TC=1 (the client retries over TCP, like RRL's slip) or drop. */
  readonly overLimitAction: 'truncate' | 'drop';
  readonly limitLoopback: boolean;
}

/** Default allow-list: loopback, RFC 1918, CGNAT, link-local and ULA; never the whole internet. */
export const PRIVATE_CLIENT_RANGES: readonly string[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

/**
 * Source ports of UDP services abused for reflection (echo, daytime, chargen, NTP, SNMP, CLDAP,
 * SSDP, WS-Discovery, memcached …). A "query" from one of them is an attacker bouncing that
 * service's traffic at us, or ours at it; no real resolver client sends from these ports.
 */
const REFLECTION_PORTS = new Set([0, 7, 13, 17, 19, 37, 69, 111, 123, 137, 161, 389, 1900, 3702, 5353, 11211]);

/** Dotted-quad IPv4 to a 32-bit number without allocating; -1 when it is not one. */
export function ipv4ToNumber(address: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return value * 256 + part;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | { error: string } {
  const [address = '', prefixText] = cidr.trim().split('/');
  const family = isIP(address);
  if (family === 0) return { error: `"${cidr}": "${address}" is not an IP address` };
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    return { error: `"${cidr}": prefix length must be 0–${max}` };
  }
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** True when `cidrs` lets the whole internet in (an open resolver if also bound publicly). */
export function allowsEveryone(cidrs: readonly string[]): boolean {
  return cidrs.some((cidr) => {
    const parsed = parseCidr(cidr);
    return !('error' in parsed) && parsed.prefix === 0;
  });
}

/**
 * The checks a packet passes before it is parsed: source port sanity, access control and a token
 * bucket per client prefix (IPv4 /24, IPv6 /56 by default). Buckets live in a bounded LRU, so a
 * flood of spoofed sources costs memory up to that bound and no more.
 */
export class ClientGate {
  /**
   * IPv4 ranges as [first, last] pairs checked with plain arithmetic: node's BlockList.check costs
   * microseconds per call, too much for every packet. IPv6 (rarer here) uses BlockList.
   */
  private readonly allowedV4: number[] = [];
  private readonly allowed = new BlockList();
  private readonly buckets = new LRUCache<string, Bucket>({ max: 100_000 });
  /** Counters an operator can read; the metrics layer exports them. */
  readonly stats = { refused: 0, dropped: 0, rateLimited: 0, reflections: 0 };

  constructor(private readonly options: ClientGateOptions) {
    for (const cidr of options.allowClients) {
      const parsed = parseCidr(cidr);
      if ('error' in parsed) throw new Error(parsed.error);
      this.allowed.addSubnet(parsed.address, parsed.prefix, parsed.family);
      if (parsed.family === 'ipv4') {
        const size = 2 ** (32 - parsed.prefix);
        const first = Math.floor(ipv4ToNumber(parsed.address) / size) * size;
        this.allowedV4.push(first, first + size - 1);
      }
    }
  }

  check(address: string, port: number, family: 'IPv4' | 'IPv6', transport: 'udp' | 'tcp'): GateDecision {
    if (transport === 'udp' && REFLECTION_PORTS.has(port)) {
      this.stats.reflections++;
      return 'drop';
    }
    const kind = family === 'IPv4' ? 'ipv4' : 'ipv6';
    // IPv4-mapped IPv6 (dual-stack sockets) is checked as the IPv4 address it is.
    const mapped = kind === 'ipv6' && address.startsWith('::ffff:') && isIP(address.slice(7)) === 4;
    const checkAddress = mapped ? address.slice(7) : address;
    const checkKind = mapped ? 'ipv4' : kind;
    const v4 = checkKind === 'ipv4' ? ipv4ToNumber(checkAddress) : -1;
    if (!(v4 >= 0 ? this.allowsV4(v4) : this.allowed.check(checkAddress, checkKind))) {
      if (this.options.disallowedAction === 'drop') {
        this.stats.dropped++;
        return 'drop';
      }
      this.stats.refused++;
      return 'refuse';
    }
    // Rate limiting is a UDP defence: TCP clients have a completed handshake and connection limits.
    if (transport === 'tcp' || this.options.rateLimit <= 0) return 'pass';
    const loopback = v4 >= 0 ? v4 >>> 24 === 127 : checkAddress === '::1';
    if (loopback && !this.options.limitLoopback) return 'pass';
    if (this.take(this.prefixKey(checkAddress, checkKind))) return 'pass';
    this.stats.rateLimited++;
    return this.options.overLimitAction === 'drop' ? 'drop' : 'truncate';
  }

  private allowsV4(address: number): boolean {
    const ranges = this.allowedV4;
    for (let i = 0; i < ranges.length; i += 2) {
      if (address >= ranges[i]! && address <= ranges[i + 1]!) return true;
    }
    return false;
  }

  private take(key: string): boolean {
    const now = performance.now();
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, { tokens: this.options.rateBurst - 1, updatedAt: now });
      return true;
    }
    const refill = ((now - bucket.updatedAt) / 1000) * this.options.rateLimit;
    bucket.tokens = Math.min(this.options.rateBurst, bucket.tokens + refill);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private prefixKey(address: string, kind: 'ipv4' | 'ipv6'): string {
    if (kind === 'ipv4') {
      const bits = this.options.ipv4PrefixLength;
      const value = ipv4ToNumber(address);
      const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
      return `4:${masked}`;
    }
    const bytes = ipv6Rdata(address.split('%')[0]!);
    const bits = this.options.ipv6PrefixLength;
    const whole = Math.floor(bits / 8);
    let key = '6:';
    for (let i = 0; i < whole; i++) key += bytes[i]!.toString(16).padStart(2, '0');
    if (bits % 8 !== 0) key += (bytes[whole]! & (0xff << (8 - (bits % 8)))).toString(16);
    return key;
  }
}
