import { BlockList } from 'node:net';
import { ipv4Range, parseCidr } from '../config/ip-address.js';

/** The client networks allowed to query (allow-clients). */
export class ClientAllowList {
  /**
   * IPv4 ranges as [first, last] pairs checked with plain arithmetic: node's BlockList.check costs
   * microseconds per call, too much for every packet. IPv6 (rarer here) uses BlockList.
   */
  private readonly ipv4Ranges: number[] = [];
  private readonly others = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if ('error' in parsed) throw new Error(parsed.error);
      this.others.addSubnet(parsed.address, parsed.prefix, parsed.family);
      if (parsed.family === 'ipv4') {
        const { first, last } = ipv4Range(parsed.address, parsed.prefix);
        this.ipv4Ranges.push(first, last);
      }
    }
  }

  /** `ipv4` is the address as a number (ipv4ToNumber), or -1 when it is not one. */
  allows(address: string, kind: 'ipv4' | 'ipv6', ipv4: number): boolean {
    if (ipv4 < 0) return this.others.check(address, kind);
    const ranges = this.ipv4Ranges;
    for (let i = 0; i < ranges.length; i += 2) {
      if (ipv4 >= ranges[i]! && ipv4 <= ranges[i + 1]!) return true;
    }
    return false;
  }
}
