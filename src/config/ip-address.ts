// Address parsing for settings and for the components that apply them (allow-lists, rate-limit
// prefixes, log anonymisation, address records). Pure functions of node:net's isIP.
import { isIP } from 'node:net';

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

/** An IPv4 address as its 4 bytes (an A record's RDATA). */
export function ipv4Bytes(address: string): Buffer {
  if (isIP(address) !== 4) throw new Error(`invalid IPv4 address "${address}"`);
  return Buffer.from(address.split('.').map(Number));
}

/**
 * An IPv6 address as its 16 bytes (an AAAA record's RDATA). A dotted IPv4 tail (`::ffff:192.0.2.1`,
 * `::1.2.3.4`, as Node reports some client addresses) counts as the last two groups.
 */
export function ipv6Bytes(address: string): Buffer {
  if (isIP(address) !== 6) throw new Error(`invalid IPv6 address "${address}"`);
  const [head = '', tail] = withHexTail(address).split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  if ((tail === undefined && missing !== 0) || missing < 0) throw new Error(`invalid IPv6 address "${address}"`);
  const groups = [...headGroups, ...new Array<string>(missing).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    if (!/^[0-9a-f]{1,4}$/i.test(group) || Number.isNaN(value)) throw new Error(`invalid IPv6 address "${address}"`);
    out.writeUInt16BE(value, i * 2);
  });
  return out;
}

/** `x:…:a.b.c.d` with the dotted tail written as two hex groups. */
function withHexTail(address: string): string {
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (!tail.includes('.')) return address;
  const value = ipv4ToNumber(tail);
  if (value < 0) throw new Error(`invalid IPv6 address "${address}"`);
  return `${address.slice(0, lastColon + 1)}${Math.floor(value / 0x10000).toString(16)}:${(value % 0x10000).toString(16)}`;
}

/** `a.b.c.d/n` or `x::y/n` (no prefix = a single host). */
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

/** The IPv4 addresses a prefix covers, as numbers (ipv4ToNumber): host bits of `address` ignored. */
export function ipv4Range(address: string, prefix: number): { first: number; last: number } {
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ipv4ToNumber(address) / size) * size;
  return { first, last: first + size - 1 };
}

/** True when `cidrs` lets the whole internet in (an open resolver if also bound publicly). */
export function allowsEveryone(cidrs: readonly string[]): boolean {
  return cidrs.some((cidr) => {
    const parsed = parseCidr(cidr);
    return !('error' in parsed) && parsed.prefix === 0;
  });
}

/** True for an address only this host can reach (127.0.0.0/8, ::1); "localhost" counts too. */
export function isLoopbackHost(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === 'localhost';
}
