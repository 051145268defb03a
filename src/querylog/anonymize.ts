import { ipv6Bytes } from '../config/ip-address.js';
import { isIP } from 'node:net';

/**
 * Truncates a client address for privacy-preserving logs: IPv4 to its /24, IPv6 to its /48
 * (IPv4-mapped IPv6 is treated as IPv4). Anything unparsable becomes "unknown".
 */
export function anonymizeAddress(address: string): string {
  const mapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(mapped);
  if (family === 4) return `${mapped.slice(0, mapped.lastIndexOf('.'))}.0`;
  if (family === 6) {
    const bytes = ipv6Bytes(mapped.split('%')[0]!);
    const groups = [0, 2, 4].map((offset) => bytes.readUInt16BE(offset).toString(16));
    return `${groups.join(':')}::`;
  }
  return 'unknown';
}
