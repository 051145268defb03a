import { BlockList, isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { ipv4ToNumber, ipv6Bytes, parseCidr } from '../config/ip-address.js';
import type { Config } from '../config/options.js';

/** Where a packet from a given client goes before any parsing. */
export type GateDecision = 'pass' | 'refuse' | 'drop' | 'truncate';

/** This component's section of the settings (see config/options.ts for what each means). */
export type ClientGateOptions = Pick<Config, 'allowClients' | 'disallowedClients' | 'rateLimit' | 'rateLimitBurst' | 'rateLimitIpv4Prefix' | 'rateLimitIpv6Prefix' | 'rateLimitAction' | 'rateLimitLoopback'>;

/**
 * Source ports of UDP services abused for reflection (echo, daytime, chargen, NTP, SNMP, CLDAP,
 * SSDP, WS-Discovery, memcached …). A "query" from one of them is an attacker bouncing that
 * service's traffic at us, or ours at it; no real resolver client sends from these ports.
 */
const REFLECTION_PORTS = new Set([0, 7, 13, 17, 19, 37, 69, 111, 123, 137, 161, 389, 1900, 3702, 5353, 11211]);

interface Bucket {
  tokens: number;
  updatedAt: number;
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
      if (this.options.disallowedClients === 'drop') {
        this.stats.dropped++;
        return 'drop';
      }
      this.stats.refused++;
      return 'refuse';
    }
    // Rate limiting is a UDP defence: TCP clients have a completed handshake and connection limits.
    if (transport === 'tcp' || this.options.rateLimit <= 0) return 'pass';
    const loopback = v4 >= 0 ? v4 >>> 24 === 127 : checkAddress === '::1';
    if (loopback && !this.options.rateLimitLoopback) return 'pass';
    if (this.take(this.prefixKey(checkAddress, checkKind))) return 'pass';
    this.stats.rateLimited++;
    return this.options.rateLimitAction === 'drop' ? 'drop' : 'truncate';
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

  private prefixKey(address: string, kind: 'ipv4' | 'ipv6'): string {
    if (kind === 'ipv4') {
      const bits = this.options.rateLimitIpv4Prefix;
      const value = ipv4ToNumber(address);
      const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
      return `4:${masked}`;
    }
    const bytes = ipv6Bytes(address.split('%')[0]!);
    const bits = this.options.rateLimitIpv6Prefix;
    const whole = Math.floor(bits / 8);
    let key = '6:';
    for (let i = 0; i < whole; i++) key += bytes[i]!.toString(16).padStart(2, '0');
    if (bits % 8 !== 0) key += (bytes[whole]! & (0xff << (8 - (bits % 8)))).toString(16);
    return key;
  }
}
