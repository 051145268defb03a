// Turns one list entry into the canonical form the trie stores and the wire delivers:
// lowercase ASCII (punycode for IDNs), no trailing dot. Query names are NOT passed through here:
// they arrive from the wire already in that form, and IDN-converting them would be wrong.
import { isIP, isIPv4 } from 'node:net';
import { domainToASCII } from 'node:url';

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const DOT = 46;

/** Marker from `check` meaning "valid so far, but uppercase or non-ASCII: convert, then check again". */
const NEEDS_CONVERSION = '\0convert';

/**
 * Normalises and validates a list entry. Returns the canonical name, or `{ error }` with a short
 * reason suitable for "skipped line" reports. Single-label names are accepted on purpose
 * (private and test names are legitimate entries); no public-suffix check is made.
 */
export function normalizeListDomain(input: string): string | { error: string } {
  let name = stripTrailingDot(input.trim());
  if (name.length === 0) return { error: 'empty name' };

  // Fast path: an entry that is already canonical is validated in one pass and returned as is
  // (same string, no copy), which is what almost every line of a real list is.
  const first = check(name);
  if (first === undefined) return name;
  if (first !== NEEDS_CONVERSION) return { error: first };

  // domainToASCII parses a URL host, so it silently cuts "bü/x" down to "bü": reject every ASCII
  // character that is not part of a DNS name before letting it near the converter.
  let nonAscii = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127) nonAscii = true;
    else if (!isNameChar(c) && !(c >= 65 && c <= 90)) return { error: invalidCharacter(name, i) };
  }
  if (nonAscii) {
    const ascii = domainToASCII(name);
    if (ascii === '') return { error: `not a valid internationalised domain name '${shorten(name)}'` };
    // An ideographic full stop at the end becomes '.' only now.
    name = stripTrailingDot(ascii);
    if (name.length === 0) return { error: 'empty name' };
  } else {
    name = name.toLowerCase();
  }
  const second = check(name);
  if (second === undefined) return name;
  return { error: second === NEEDS_CONVERSION ? `not a valid domain name '${shorten(name)}'` : second };
}

function stripTrailingDot(s: string): string {
  return s.length > 0 && s.charCodeAt(s.length - 1) === DOT ? s.slice(0, -1) : s;
}

/** [a-z0-9_.-] — underscore is valid in DNS names (`_dmarc`), just not in hostnames. */
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === DOT;
}

/** One charCode pass: label lengths, character set, numeric top label. undefined = valid. */
function check(name: string): string | undefined {
  const n = name.length;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      const err = checkLabelLength(name, i - labelStart);
      if (err !== undefined) return err;
      labelStart = i + 1;
      allDigits = true;
    } else if (c >= 48 && c <= 57) {
      // digits keep allDigits as is
    } else if ((c >= 97 && c <= 122) || c === 45 || c === 95) {
      allDigits = false;
    } else if ((c >= 65 && c <= 90) || c > 127) {
      return NEEDS_CONVERSION;
    } else {
      return invalidCharacter(name, i);
    }
  }
  const err = checkLabelLength(name, n - labelStart);
  if (err !== undefined) return err;
  if (n > MAX_NAME_LENGTH) return `name too long (${n} characters, max ${MAX_NAME_LENGTH})`;
  // No TLD is all digits, and resolvers/URL parsers read such names as IPv4 ("1.2.3.4", "0x7f.1").
  if (allDigits) return isIPv4(name) ? 'IP address, not a domain' : 'numeric top-level label, looks like an IP address';
  return undefined;
}

function checkLabelLength(name: string, length: number): string | undefined {
  if (length === 0) return `empty label in '${shorten(name)}'`;
  if (length > MAX_LABEL_LENGTH) return `label longer than ${MAX_LABEL_LENGTH} characters in '${shorten(name)}'`;
  return undefined;
}

/** A reason that names what the line most likely is, not just the first bad character. */
function invalidCharacter(name: string, index: number): string {
  const c = name.charCodeAt(index);
  if (c === 58 /* : */ || c === 91 /* [ */) {
    const bare = c === 91 && name.endsWith(']') ? name.slice(1, -1) : name;
    if (isIP(bare) !== 0) return 'IP address, not a domain';
    return name.includes('/') ? 'URL or path, not a domain' : 'URL or port, not a domain';
  }
  if (c === 47 /* / */) return 'URL or path, not a domain';
  if (c === 42 /* * */) return "wildcard other than a leading '*.'";
  if (c === 32 || c === 9) return 'contains whitespace';
  if (c === 35 /* # */ && name.includes('##')) return 'cosmetic (element hiding) rule, not a domain';
  const shown = c < 32 || c === 127 ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}` : `'${name.charAt(index)}'`;
  return `invalid character ${shown} in '${shorten(name)}'`;
}

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
