// Per-client policy groups (issue #14): which group a query belongs to, and which lists each group
// applies. Built once from the `groups:` setting (a change needs a restart); the lists themselves
// stay live (policy.ts builds each group's matcher from the same packed lists on every change).
//
// Selection runs once per query (server/query-handler.ts) and allocates nothing for IPv4 clients:
// the address becomes a number and is compared with a table of [first, last] ranges sorted most
// specific first, so the first range that holds the address is the most specific CIDR. IPv6
// clients are compared byte-wise against their own (usually short) table.
import { DEFAULT_GROUP, isAddressEntry } from '../config/group-specs.js';
import { ipv4Range, ipv4ToNumber, ipv6Bytes, parseCidr } from '../config/ip-address.js';
import type { GroupSpec } from '../config/options.js';

interface Ipv6Range {
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly group: number;
}

const MAPPED_PREFIX = '::ffff:';

export class ClientGroups {
  /** Group names by index; 0 is always `default`. Bounded (MAX_GROUPS): a metric label value. */
  readonly names: readonly string[];
  /** Per group: the names of the lists it applies, or undefined for every list. */
  readonly lists: readonly (ReadonlySet<string> | undefined)[];
  /** Per group: its block-mode, or undefined for the global one. */
  readonly blockModes: readonly GroupSpec['blockMode'][];
  /** IPv4 ranges most specific first: first, last, group — three numbers per range. */
  private readonly ipv4: Float64Array;
  private readonly ipv6: readonly Ipv6Range[];
  /** Client name → the groups that list it, in config order. */
  private readonly byName = new Map<string, number[]>();

  constructor(specs: readonly GroupSpec[]) {
    const configuredDefault = specs.find((spec) => spec.name === DEFAULT_GROUP);
    const others = specs.filter((spec) => spec.name !== DEFAULT_GROUP);
    const ordered = [configuredDefault ?? { name: DEFAULT_GROUP, clients: [], lists: undefined, blockMode: undefined }, ...others];
    this.names = ordered.map((spec) => spec.name);
    this.lists = ordered.map((spec) => (spec.lists === undefined ? undefined : new Set(spec.lists)));
    this.blockModes = ordered.map((spec) => spec.blockMode);
    const v4: { first: number; last: number; prefix: number; group: number }[] = [];
    const v6: Ipv6Range[] = [];
    ordered.forEach((spec, group) => {
      for (const entry of spec.clients) {
        if (!isAddressEntry(entry)) {
          const groups = this.byName.get(entry) ?? [];
          groups.push(group);
          this.byName.set(entry, groups);
          continue;
        }
        const parsed = parseCidr(entry);
        if ('error' in parsed) throw new Error(`group "${spec.name}": ${parsed.error}`);
        if (parsed.family === 'ipv4') {
          v4.push({ ...ipv4Range(parsed.address, parsed.prefix), prefix: parsed.prefix, group });
        } else {
          v6.push({ bytes: ipv6Bytes(parsed.address), prefix: parsed.prefix, group });
        }
      }
    });
    // Most specific first; equal prefixes keep config order (Array.prototype.sort is stable).
    v4.sort((a, b) => b.prefix - a.prefix);
    v6.sort((a, b) => b.prefix - a.prefix);
    this.ipv4 = new Float64Array(v4.flatMap((r) => [r.first, r.last, r.group]));
    this.ipv6 = v6;
  }

  /** More than the implicit default: only then does a query need a selection at all. */
  get configured(): boolean {
    return this.names.length > 1 || this.lists[0] !== undefined;
  }

  /** The group index for a client; 0 (`default`) when nothing matches. */
  select(address: string, clientName: string | undefined): number {
    if (this.names.length === 1) return 0;
    const ipv4 = ipv4Number(address);
    if (clientName !== undefined) {
      const named = this.byName.get(clientName);
      // A name is a request, not proof: it counts only from inside the group's own addresses.
      if (named !== undefined) for (const group of named) if (this.holds(group, address, ipv4)) return group;
    }
    return this.mostSpecific(address, ipv4, -1);
  }

  /**
   * The group for a client known only by its name (check/explain --client NAME): the first group
   * that lists the name, as if asked from inside its addresses; 0 when none does.
   */
  selectByName(clientName: string): number {
    return this.byName.get(clientName)?.[0] ?? 0;
  }

  /** Index of a group by name, or -1. */
  indexOf(name: string): number {
    return this.names.indexOf(name);
  }

  private holds(group: number, address: string, ipv4: number): boolean {
    return this.mostSpecific(address, ipv4, group) === group;
  }

  /** The group of the most specific range holding the address (only `only`'s ranges when ≥ 0). */
  private mostSpecific(address: string, ipv4: number, only: number): number {
    if (ipv4 >= 0) {
      const ranges = this.ipv4;
      for (let i = 0; i < ranges.length; i += 3) {
        if (ipv4 >= ranges[i]! && ipv4 <= ranges[i + 1]! && (only < 0 || ranges[i + 2] === only)) return ranges[i + 2]!;
      }
      return 0;
    }
    if (this.ipv6.length === 0 || !address.includes(':')) return 0;
    let bytes: Uint8Array;
    try {
      bytes = ipv6Bytes(address.split('%')[0]!);
    } catch {
      return 0;
    }
    for (const range of this.ipv6) {
      if ((only < 0 || range.group === only) && prefixEquals(bytes, range.bytes, range.prefix)) return range.group;
    }
    return 0;
  }
}

/** An IPv4 address (also written IPv4-mapped, as dual-stack sockets report it) as a number; -1 otherwise. */
function ipv4Number(address: string): number {
  const direct = ipv4ToNumber(address);
  if (direct >= 0 || !address.startsWith(MAPPED_PREFIX)) return direct;
  return ipv4ToNumber(address.slice(MAPPED_PREFIX.length));
}

function prefixEquals(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}
