// Which names fraudwall answers itself instead of forwarding: the special-use and private zones
// (RFC 6761, RFC 6303) and the browser DoH canaries. Pure data and one lookup, shared by the chain
// element that answers them (resolver/local-zone-resolver.ts) and by `check`/`explain`, so the two
// can never disagree about which names stay local.
import type { Config } from '../config/options.js';

/** How a locally served zone answers names at or below its apex. */
export type LocalZoneKind =
  /** RFC 6761 §6.3: localhost and every name below it are the loopback host. */
  | 'loopback'
  /** RFC 6303 / RFC 8375 / RFC 6762: empty zones; NXDOMAIN below the apex, NODATA at it. */
  | 'empty'
  /** Browser DoH canaries: NXDOMAIN tells the browser to keep using this (filtering) resolver. */
  | 'canary';

export interface LocalZone {
  readonly apex: string;
  readonly kind: LocalZoneKind;
}

export type LocalZoneOptions = Pick<Config, 'localZones' | 'blockDohCanaries'>;

const IPV6_LOOPBACK_REVERSE = `1${'.0'.repeat(31)}.ip6.arpa`;
const IPV6_UNSPECIFIED_REVERSE = `0${'.0'.repeat(31)}.ip6.arpa`;

/** Reverse names whose PTR is `localhost` (127.0.0.1 and ::1). */
export const LOOPBACK_PTR_NAMES: ReadonlySet<string> = new Set(['1.0.0.127.in-addr.arpa', IPV6_LOOPBACK_REVERSE]);

/** RFC 6303 §4 (plus RFC 6598 shared address space via RFC 7793): reverse zones of addresses that never route publicly. */
export const PRIVATE_REVERSE_ZONES: readonly string[] = [
  '0.in-addr.arpa',
  '127.in-addr.arpa',
  '10.in-addr.arpa',
  ...Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`),
  '168.192.in-addr.arpa',
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
  '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa',
  '100.51.198.in-addr.arpa',
  '113.0.203.in-addr.arpa',
  '255.255.255.255.in-addr.arpa',
  IPV6_UNSPECIFIED_REVERSE,
  IPV6_LOOPBACK_REVERSE,
  'd.f.ip6.arpa',
  '8.e.f.ip6.arpa',
  '9.e.f.ip6.arpa',
  'a.e.f.ip6.arpa',
  'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
];

/**
 * Special-use names that must never be sent to an upstream resolver: home.arpa (RFC 8375), local
 * (mDNS, RFC 6762), invalid (RFC 6761 §6.4) and onion (RFC 7686). `test` is left to the upstream:
 * labs run real zones under it.
 */
export const SPECIAL_USE_ZONES: readonly string[] = ['home.arpa', 'local', 'invalid', 'onion'];

/** Names browsers probe to decide whether to bypass the local resolver with their own DoH. */
export const DOH_CANARIES: readonly string[] = ['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com'];

/**
 * The local zones in effect for `options`, each made into a `Z` by `make` (the chain element adds
 * its encoded SOA), with a lookup cheap enough for the query path: most names miss at their TLD.
 */
export class LocalZoneTable<Z extends LocalZone = LocalZone> {
  private readonly zones = new Map<string, Z>();
  /** Longest apex in labels: suffixes longer than this cannot be zones, so they are not looked up. */
  private readonly maxApexLabels: number;
  /**
   * Top-level labels under which some zone lives, each also as ".label": any other name is passed
   * on after a few endsWith() tests, which allocate nothing (most queries end here).
   */
  private readonly topLabels: string[] = [];
  private readonly dottedTopLabels: string[] = [];

  constructor(options: LocalZoneOptions, make: (apex: string, kind: LocalZoneKind) => Z) {
    if (options.localZones) {
      this.zones.set('localhost', make('localhost', 'loopback'));
      for (const apex of [...PRIVATE_REVERSE_ZONES, ...SPECIAL_USE_ZONES]) this.zones.set(apex, make(apex, 'empty'));
    }
    if (options.blockDohCanaries) for (const apex of DOH_CANARIES) this.zones.set(apex, make(apex, 'canary'));
    let maxLabels = 0;
    for (const apex of this.zones.keys()) {
      maxLabels = Math.max(maxLabels, apex.split('.').length);
      const top = apex.slice(apex.lastIndexOf('.') + 1);
      if (!this.topLabels.includes(top)) {
        this.topLabels.push(top);
        this.dottedTopLabels.push(`.${top}`);
      }
    }
    this.maxApexLabels = maxLabels;
  }

  /** The zone `name` (lowercase, no trailing dot) is at or below, if any. */
  find(name: string): Z | undefined {
    if (this.zones.size === 0 || name === '') return undefined;
    if (!this.underTopLabel(name)) return undefined;
    // Walk suffixes from the shortest (the TLD) to the longest allowed.
    let labels = 0;
    let start = name.length;
    while (start > 0 && labels < this.maxApexLabels) {
      const dot = name.lastIndexOf('.', start - 1);
      start = dot + 1;
      labels++;
      const zone = this.zones.get(start === 0 ? name : name.slice(start));
      if (zone !== undefined) return zone;
      if (dot < 0) break;
      start = dot;
    }
    return undefined;
  }

  private underTopLabel(name: string): boolean {
    for (let i = 0; i < this.topLabels.length; i++) {
      if (name.endsWith(this.dottedTopLabels[i]!) || name === this.topLabels[i]) return true;
    }
    return false;
  }
}
