// Answer-IP rules as they are written in lists: an address (`203.0.113.66`, `2001:db8::1`) or a
// CIDR prefix (`203.0.113.0/24`, `2001:db8:bad::/48`). Parsed into bytes and a prefix length,
// checked against the floors, and written back in one canonical text (`a.b.c.d/n`, compressed
// IPv6 `/n`) which is what the packed list stores as the entry's "domain": a '/' never appears in
// a DNS name, so the text cannot collide with a name rule.
import { isIP } from 'node:net';
import { ipv4ToNumber, ipv6Bytes } from '../config/ip-address.js';

export interface IpPrefix {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Broadest prefixes a rule may have: one typo must not black-hole a continent. */
export const MIN_IPV4_PREFIX = 16;
export const MIN_IPV6_PREFIX = 32;

/**
 * The prefix `text` names; `{ error }` when it is an address but not a usable rule; undefined
 * when it is not an address at all (the caller tries it as a name).
 */
export function parseIpPrefix(text: string): IpPrefix | { error: string } | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return undefined;
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return { error: `prefix length of '${text}' must be a number 0-${max}` };
  let prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return { error: `prefix length of '${text}' must be 0-${max}` };
  let bytes: Uint8Array;
  let fam: 4 | 6 = family === 4 ? 4 : 6;
  if (family === 4) {
    const n = ipv4ToNumber(address);
    bytes = new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  } else {
    bytes = ipv6Bytes(address);
    // `::ffff:a.b.c.d/n` is the IPv4 address a.b.c.d: answers are matched that way too.
    if (isMappedIpv4(bytes, 0) && prefix >= 96) {
      bytes = bytes.slice(12);
      prefix -= 96;
      fam = 4;
    }
  }
  clearHostBits(bytes, prefix);
  const floor = fam === 4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX;
  if (prefix < floor) return { error: `prefix /${prefix} is broader than /${floor}: one entry must not black-hole a whole region (split it into /${floor} or longer)` };
  const special = specialRange({ family: fam, bytes, prefix });
  if (special !== undefined) return { error: `${special} address range, never an answer to block` };
  return { family: fam, bytes, prefix };
}

/** `::ffff:0:0/96` */
export function isMappedIpv4(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

function clearHostBits(bytes: Uint8Array, prefix: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
}

/** Loopback and unspecified: what blocklists map names *to*, never what fraud sites answer with. */
function specialRange(p: IpPrefix): string | undefined {
  if (p.family === 4) {
    if (p.bytes[0] === 127) return 'loopback';
    if (p.bytes[0] === 0) return 'unspecified (0.0.0.0/8)';
    return undefined;
  }
  // ::/128 and ::1/128, and any prefix that holds them.
  for (let i = 0; i < 15; i++) if (p.bytes[i] !== 0) return undefined;
  return (p.bytes[15] ?? 0) <= 1 ? 'loopback or unspecified' : undefined;
}

/** The canonical text: `203.0.113.0/24`, `2001:db8::/32`. */
export function formatIpPrefix(p: IpPrefix): string {
  return `${formatAddress(p.bytes, 0, p.bytes.length)}/${p.prefix}`;
}

/** An address from answer bytes as text (`::ffff:a.b.c.d` stays as written: the caller decides). */
export function formatAddress(bytes: Uint8Array, offset: number, length: number): string {
  if (length === 4) return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[offset + i]! << 8) | bytes[offset + i + 1]!);
  // RFC 5952: compress the longest run of two or more zero groups (the first of equal runs).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * The byte path for the common shape, canonical IPv4 `a.b.c.d/n` or `a.b.c.d` (no leading zeros):
 * writes [address, prefix length] to `out` and returns 1 (with `/n`) or 2 (bare address, /32);
 * 0 when the bytes are anything else or not a usable rule (the string path then decides, with the
 * reason). Used by the list parser and the index build, where 100,000 prefixes must load in well
 * under 100 ms.
 */
export function scanIpv4Prefix(bytes: Uint8Array, start: number, end: number, out: Uint32Array): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let i = start;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return 0; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return 0;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else break;
  }
  if (dots !== 3 || digits === 0) return 0;
  value = value * 256 + part;
  let prefix = 32;
  let shape = 2;
  if (i < end) {
    if (bytes[i] !== 47 /* / */ || end - i < 2 || end - i > 3) return 0;
    prefix = 0;
    for (let k = i + 1; k < end; k++) {
      const c = bytes[k]!;
      if (c < 48 || c > 57 || (k === i + 1 && c === 48 && end - i > 2)) return 0;
      prefix = prefix * 10 + (c - 48);
    }
    if (prefix > 32) return 0;
    shape = 1;
  }
  const first = value >>> 24;
  if (prefix < MIN_IPV4_PREFIX || first === 127 || first === 0) return 0;
  const mask = prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0;
  if ((value & ~mask) >>> 0 !== 0) return 0; // host bits set: the string path clears them and keeps the text
  out[0] = value >>> 0;
  out[1] = prefix;
  return shape;
}
