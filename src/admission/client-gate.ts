import { isIP } from 'node:net';
import { ipv4ToNumber } from '../config/ip-address.js';
import type { Config } from '../config/options.js';
import type { Transport } from '../query/resolver.js';
import { ClientAllowList } from './client-allow-list.js';
import { PrefixRateLimiter, type RateLimiterOptions } from './prefix-rate-limiter.js';

/** Where a packet from a given client goes before any parsing. */
export type GateDecision = 'pass' | 'refuse' | 'drop' | 'truncate';

/** This component's section of the settings (see config/options.ts for what each means). */
export type ClientGateOptions = Pick<Config, 'allowClients' | 'disallowedClients' | 'rateLimitAction' | 'rateLimitLoopback'> & RateLimiterOptions;

/**
 * Source ports of UDP services abused for reflection (echo, daytime, chargen, NTP, SNMP, CLDAP,
 * SSDP, WS-Discovery, memcached …). A "query" from one of them is an attacker bouncing that
 * service's traffic at us, or ours at it; no real resolver client sends from these ports.
 */
const REFLECTION_PORTS = new Set([0, 7, 13, 17, 19, 37, 69, 111, 123, 137, 161, 389, 1900, 3702, 5353, 11211]);

/** The checks a packet passes before it is parsed: source port sanity, access control, the per-prefix rate limit. */
export class ClientGate {
  private readonly allowList: ClientAllowList;
  private readonly rateLimiter: PrefixRateLimiter;
  /** Counters an operator can read; the metrics layer exports them. */
  readonly stats = { refused: 0, dropped: 0, rateLimited: 0, reflections: 0 };

  constructor(private readonly options: ClientGateOptions) {
    this.allowList = new ClientAllowList(options.allowClients);
    this.rateLimiter = new PrefixRateLimiter(options);
  }

  check(address: string, port: number, family: 'IPv4' | 'IPv6', transport: Transport): GateDecision {
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
    if (!this.allowList.allows(checkAddress, checkKind, v4)) {
      if (this.options.disallowedClients === 'drop') {
        this.stats.dropped++;
        return 'drop';
      }
      this.stats.refused++;
      return 'refuse';
    }
    // Rate limiting is a UDP defence: TCP, DoT and DoH clients have a completed handshake and connection limits.
    if (transport !== 'udp' || this.options.rateLimit <= 0) return 'pass';
    const loopback = v4 >= 0 ? v4 >>> 24 === 127 : checkAddress === '::1';
    if (loopback && !this.options.rateLimitLoopback) return 'pass';
    if (this.rateLimiter.take(checkAddress, v4)) return 'pass';
    this.stats.rateLimited++;
    return this.options.rateLimitAction === 'drop' ? 'drop' : 'truncate';
  }
}
