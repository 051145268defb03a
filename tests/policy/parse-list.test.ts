import { describe, expect, it } from 'vitest';
import { parseList } from '../../src/policy/parse-list.js';
import type { ParsedList } from '../../src/policy/parse-list.js';
import { rulesOf } from './rules-of.js';

const block = (text: string, category?: string): ParsedList =>
  parseList(text, category === undefined ? { name: 'test', kind: 'block' } : { name: 'test', kind: 'block', category });

/** Compact view of the rules: `kind scope domain @line "text"`. */
const view = (list: ParsedList): string[] => rulesOf(list).map((r) => `${r.kind} ${r.scope} ${r.domain} @${r.line} ${JSON.stringify(r.text)}`);

describe('parseList: accepted line formats', () => {
  it.each([
    ['plain domain', 'evil.com', ['block domain evil.com @1 "evil.com"']],
    ['uppercase and trailing dot', 'Evil.COM.', ['block domain evil.com @1 "Evil.COM."']],
    ['surrounding whitespace', '  \tevil.com \t', ['block domain evil.com @1 "evil.com"']],
    ['IDN', 'bücher.example', ['block domain xn--bcher-kva.example @1 "bücher.example"']],
    ['underscore', '_dmarc.x.com', ['block domain _dmarc.x.com @1 "_dmarc.x.com"']],
    ['single label', 'intranet', ['block domain intranet @1 "intranet"']],
    ['trailing comment', 'evil.com   # reported 2024', ['block domain evil.com @1 "evil.com"']],
    ['wildcard subdomains', '*.evil.com', ['block subdomains evil.com @1 "*.evil.com"']],
    ['wildcard with trailing comment', '*.evil.com\t# all of it', ['block subdomains evil.com @1 "*.evil.com"']],
    ['hosts 0.0.0.0', '0.0.0.0 evil.com', ['block domain evil.com @1 "evil.com"']],
    ['hosts 127.0.0.1 with tab', '127.0.0.1\tevil.com', ['block domain evil.com @1 "evil.com"']],
    ['hosts ::', ':: evil.com', ['block domain evil.com @1 "evil.com"']],
    ['hosts ::1', '::1 evil.com', ['block domain evil.com @1 "evil.com"']],
    ['hosts trailing dot', '0.0.0.0 Evil.com.', ['block domain evil.com @1 "Evil.com."']],
    [
      'hosts several names and a comment',
      '0.0.0.0 a.com  b.com\tc.com # three of them',
      ['block domain a.com @1 "a.com"', 'block domain b.com @1 "b.com"', 'block domain c.com @1 "c.com"'],
    ],
    ['adblock', '||evil.com^', ['block domain evil.com @1 "||evil.com^"']],
    ['adblock $important', '||evil.com^$important', ['block domain evil.com @1 "||evil.com^$important"']],
    ['adblock $all', '||evil.com^$all', ['block domain evil.com @1 "||evil.com^$all"']],
    ['adblock uppercase modifier', '||Evil.com^$ALL', ['block domain evil.com @1 "||Evil.com^$ALL"']],
    ['adblock exception in a block list', '@@||good.evil.com^', ['allow domain good.evil.com @1 "@@||good.evil.com^"']],
    ['adblock exception $important', '@@||good.com^$important', ['allow domain good.com @1 "@@||good.com^$important"']],
  ])('%s', (_label, text, expected) => {
    const list = block(text);
    expect(list.skipped).toEqual([]);
    expect(view(list)).toEqual(expected);
  });

  it('fills every Rule field', () => {
    const list = parseList('# category: phishing\n\n*.evil.com\n', { name: 'fraud', kind: 'block' });
    expect(list.size).toBe(1);
    expect(rulesOf(list)).toEqual([
      { domain: 'evil.com', scope: 'subdomains', kind: 'block', list: 'fraud', category: 'phishing', line: 3, text: '*.evil.com' },
    ]);
  });

  it('makes allow rules in an allowlist, including @@ lines', () => {
    const list = parseList('good.com\n@@||also-good.com^\n||fine.org^\n', { name: 'ok', kind: 'allow' });
    expect(list.kind).toBe('allow');
    expect(rulesOf(list).map((r) => [r.kind, r.domain])).toEqual([
      ['allow', 'good.com'],
      ['allow', 'also-good.com'],
      ['allow', 'fine.org'],
    ]);
  });
});

describe('parseList: ignored lines', () => {
  it.each([
    ['blank', '   '],
    ['# comment', '# evil.com is bad'],
    ['! comment', '! Title: list'],
    ['adblock header', '[Adblock Plus 2.0]'],
    ['hosts localhost', '127.0.0.1 localhost'],
    ['hosts localhost.localdomain', '127.0.0.1 localhost.localdomain'],
    ['hosts local', '127.0.0.1 local'],
    ['hosts broadcasthost', '255.255.255.255 broadcasthost'],
    ['hosts ip6-localhost', '::1 ip6-localhost ip6-loopback'],
    ['hosts 0.0.0.0 as a name', '0.0.0.0 0.0.0.0'],
    ['hosts uppercase LOCALHOST', '127.0.0.1 LOCALHOST'],
    ['hosts system name with comment', '::1 localhost # loopback'],
  ])('%s', (_label, text) => {
    const list = block(`${text}\n`);
    expect(list.size).toBe(0);
    expect(list.skipped).toEqual([]);
  });

  it('keeps real names next to ignored system names on one hosts line', () => {
    expect(view(block('127.0.0.1 localhost evil.com'))).toEqual(['block domain evil.com @1 "evil.com"']);
  });
});

describe('parseList: skipped lines', () => {
  it.each([
    ['IPv4 prefix broader than /16', '10.0.0.0/8', 'prefix /8 is broader than /16: one entry must not black-hole a whole region (split it into /16 or longer)'],
    ['IPv6 prefix broader than /32', '2001:db8::/31', 'prefix /31 is broader than /32: one entry must not black-hole a whole region (split it into /32 or longer)'],
    ['loopback address', '127.0.0.1', 'loopback address range, never an answer to block'],
    ['unspecified IPv6', '::', 'loopback or unspecified address range, never an answer to block'],
    ['bad prefix length', '192.0.2.0/33', "prefix length of '192.0.2.0/33' must be 0-32"],
    ['adblock with a path', '||github.com/user/repo/raw/x.exe^$all', 'adblock rule with a path'],
    ['adblock with a path, no ^', '||github.com/x', 'adblock rule with a path'],
    ['adblock with a wildcard', '||ads*.example.com^', 'adblock rule with a wildcard'],
    ['adblock with a port', '||example.com:8080^', 'adblock rule with a port'],
    ['adblock without ^', '||example.com', "adblock rule without the '^' separator"],
    ['adblock other modifier', '||example.com^$third-party', "adblock rule with modifier '$third-party' (only $important and $all are supported)"],
    ['adblock text after ^', '||example.com^|', "adblock rule with text after '^'"],
    ['adblock IP', '||1.2.3.4^', 'IP address, not a domain'],
    ['adblock invalid host', '||a..b^', "empty label in 'a..b'"],
    ['adblock address rule', '|https://example.com/', "adblock address rule ('|'), not a domain"],
    ['malformed exception', '@@example.com', "adblock exception that is not '@@||domain^'"],
    ['exception with path', '@@||example.com/x^', 'adblock rule with a path'],
    ['regex', '/ads[0-9]+\\.example/', 'regular expression rule, not a domain'],
    ['path', '/banner/ads.js', 'URL or path, not a domain'],
    ['URL', 'https://evil.com/login', 'URL or path, not a domain'],
    ['domain with path', 'evil.com/login', 'URL or path, not a domain'],
    ['inner wildcard', 'ads.*.example.com', "wildcard other than a leading '*.'"],
    ['double wildcard', '*.*.example.com', "wildcard other than a leading '*.'"],
    ['bare *.', '*.', 'empty name'],
    ['cosmetic rule', 'example.com##.banner', 'cosmetic (element hiding) rule, not a domain'],
    ['empty label', 'a..b', "empty label in 'a..b'"],
    ['long label', `${'x'.repeat(64)}.com`, "label longer than 63 characters in 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.com'"],
    ['hosts with a real address', '192.168.1.10 nas.lan', 'hosts entry maps to 192.168.1.10, not to a blocking address (0.0.0.0, 127.0.0.1, :: or ::1)'],
    ['hosts with an invalid name', '0.0.0.0 bad_name!', "invalid character '!' in 'bad_name!'"],
    ['words', 'evil.com and more', "unexpected whitespace ('evil.com' is not a hosts-file address)"],
  ])('%s', (_label, text, reason) => {
    const list = block(`good.example\n${text}\n`);
    expect(rulesOf(list).map((r) => r.domain)).toEqual(['good.example']);
    expect(list.skipped).toEqual([{ line: 2, text, reason }]);
  });

  it('skips an invalid category header and keeps the default category', () => {
    const list = block('# category: Phishing Sites\na.com\n');
    expect(list.category).toBe('uncategorized');
    expect(rulesOf(list).map((r) => r.category)).toEqual(['uncategorized']);
    expect(list.skipped).toEqual([
      { line: 1, text: '# category: Phishing Sites', reason: "invalid category name 'phishing sites' (use a-z, 0-9, '-', '_')" },
    ]);
  });

  it('skips a category header after the first rule and keeps the earlier category', () => {
    const list = block('# category: scam\na.com\n! Category: phishing\nb.com\n');
    expect(list.category).toBe('scam');
    expect(rulesOf(list).map((r) => r.category)).toEqual(['scam', 'scam']);
    expect(list.skipped).toEqual([
      { line: 3, text: '! Category: phishing', reason: 'category header after the first rule (move it to the top of the file)' },
    ]);
  });
});

describe('parseList: category', () => {
  it.each([
    ['default', 'a.com', undefined, 'uncategorized'],
    ['from options', 'a.com', 'malware', 'malware'],
    ['# header', '# category: phishing\na.com', undefined, 'phishing'],
    ['! header', '! category: phishing\na.com', 'malware', 'phishing'],
    ['case-insensitive key, value lowercased', '# CATEGORY :  Crypto_Scam-2\na.com', undefined, 'crypto_scam-2'],
    ['after other comments and blank lines', '! Title: x\n\n# Category: scam\n\na.com', undefined, 'scam'],
    ['last header before the first rule wins', '# category: a\n# category: b\nx.com', undefined, 'b'],
    ['header in a list with no rules', '# category: spam', undefined, 'spam'],
  ])('%s', (_label, text, optCategory, expected) => {
    const list = block(text, optCategory);
    expect(list.category).toBe(expected);
    for (const r of rulesOf(list)) expect(r.category).toBe(expected);
    expect(list.skipped).toEqual([]);
  });
});

describe('parseList: text encoding and line numbers', () => {
  it('handles CRLF, a UTF-8 BOM and a missing final newline', () => {
    const list = block('\uFEFF# category: scam\r\na.com\r\n\r\n0.0.0.0 b.com\r\n||c.com^\r\nbad/x\r\nd.com');
    expect(list.category).toBe('scam');
    expect(view(list)).toEqual([
      'block domain a.com @2 "a.com"',
      'block domain b.com @4 "b.com"',
      'block domain c.com @5 "||c.com^"',
      'block domain d.com @7 "d.com"',
    ]);
    expect(list.skipped).toEqual([{ line: 6, text: 'bad/x', reason: 'URL or path, not a domain' }]);
  });

  it('treats a BOM-only or empty text as an empty list', () => {
    for (const text of ['', '\uFEFF', '\n\n', '\r\n']) {
      const list = block(text);
      expect(list.size).toBe(0);
      expect(list.skipped).toEqual([]);
    }
  });

  it('keeps duplicates (merging is the trie’s job) and returns name and kind', () => {
    const list = parseList('a.com\na.com\n', { name: 'dups', kind: 'block' });
    expect(list.name).toBe('dups');
    expect(rulesOf(list).map((r) => r.line)).toEqual([1, 2]);
  });
});
