// The packed list representation: the byte fast path must decide every line exactly like the string
// path, chunk boundaries must not matter, and every field of every entry must round-trip.
import { describe, expect, it } from 'vitest';
import { ListParser, parseList, type ParsedList, type ParseListOptions } from '../../src/policy/parse-list.js';
import { rulesOf } from './rules-of.js';

const BLOCK: ParseListOptions = { name: 'fraud', kind: 'block' };
const ALLOW: ParseListOptions = { name: 'ok', kind: 'allow' };

/** Parses with the byte fast path off: every line through the string path (the reference). */
function parseSlow(text: string, opts: ParseListOptions): ParsedList {
  const parser = new ListParser(opts, 0, { fastPath: false });
  parser.write(Buffer.from(text, 'utf8'));
  return parser.end();
}

/** Parses `bytes` fed in the given chunk sizes (cycled). */
function parseChunked(bytes: Buffer, opts: ParseListOptions, sizes: readonly number[]): ParsedList {
  const parser = new ListParser(opts, bytes.length);
  let pos = 0;
  for (let k = 0; pos < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    parser.write(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return parser.end();
}

const snapshot = (list: ParsedList): unknown => ({
  name: list.name,
  kind: list.kind,
  category: list.category,
  size: list.size,
  rules: rulesOf(list),
  skipped: list.skipped,
});

/** Every line shape the parser knows, canonical and not, valid and not. */
const CORPUS_LINES = [
  '# category: phishing',
  '! Title: test list',
  '[Adblock Plus 2.0]',
  '',
  '   ',
  'evil.com',
  'Evil.COM.',
  'evil.com.',
  '  \tpadded.com \t',
  'bücher.example',
  'xn--bcher-kva.example',
  '_dmarc.x.com',
  '_.x',
  'intranet',
  'a-b.c-d',
  '-lead.com',
  'evil.com   # reported 2024',
  'evil.com#glued',
  '*.wild.com',
  '*.Wild.COM',
  '*.wild.com\t# all of it',
  '*.',
  '*.*.example.com',
  '0.0.0.0 hosts.com',
  '0.0.0.0\thosts-tab.com',
  '0.0.0.0    hosts-spaces.com',
  '127.0.0.1 loop.com',
  ':: six.com',
  '::1 six1.com',
  '0.0.0.0 Hosts-Upper.com.',
  '0.0.0.0 a.com  b.com\tc.com # three of them',
  '0.0.0.0 multi1.com multi2.com',
  '0.0.0.0 localhost',
  '127.0.0.1 localhost.localdomain',
  '0.0.0.0 local',
  '255.255.255.255 broadcasthost',
  '::1 ip6-localhost ip6-loopback',
  '0.0.0.0 0.0.0.0',
  '0.0.0.0 LOCALHOST',
  '0.0.0.0 ip6-allnodes',
  '0.0.0.0 localhostx.com',
  '0.0.0.0 bad_name!',
  '0.0.0.0',
  '0.0.0.0.0 x.com',
  '192.168.1.10 nas.lan',
  '||ad.com^',
  '||ad.com^$important',
  '||ad.com^$all',
  '||Ad.com^$ALL',
  '||ad.com^$third-party',
  '||ad.com^|',
  '||ad.com',
  '||ad.com/path^',
  '||ads*.com^',
  '||ad.com:8080^',
  '||1.2.3.4^',
  '||a..b^',
  '||bücher.example^',
  '@@||good.com^',
  '@@||good.com^$important',
  '@@||good.com^$all',
  '@@||Good.com^',
  '@@good.com',
  '@@||good.com/x^',
  '|https://example.com/',
  '/ads[0-9]+\\.example/',
  '/banner/ads.js',
  'https://evil.com/login',
  'evil.com/login',
  'ads.*.example.com',
  'example.com##.banner',
  'a..b',
  '.leading.com',
  `${'x'.repeat(63)}.com`,
  `${'x'.repeat(64)}.com`,
  '1.1.104.12',
  '2001:db8::1',
  '123.456',
  '1.com',
  'com.1',
  'evil.com and more',
  'name\u00a0nbsp.com',
  '\u00ff.example',
  'ex\u0000ample.com',
  '# category: late',
];

describe('byte fast path = string path', () => {
  it.each([
    ['block list', BLOCK],
    ['allow list', ALLOW],
    ['block list with a category option', { name: 'fraud', kind: 'block', category: 'malware' } as ParseListOptions],
  ])('decides every line shape of the corpus identically (%s)', (_label, opts) => {
    const text = CORPUS_LINES.join('\n');
    const fast = parseList(text, opts);
    expect(snapshot(fast)).toEqual(snapshot(parseSlow(text, opts)));
    // The corpus exercises both paths and both outcomes.
    expect(fast.size).toBeGreaterThan(30);
    expect(fast.skipped.length).toBeGreaterThan(30);
  });

  it('agrees on a category header placed before the first rule', () => {
    const text = `! comment\n# category: scam\n${CORPUS_LINES.slice(4).join('\n')}`;
    const fast = parseList(text, BLOCK);
    expect(fast.category).toBe('scam');
    expect(snapshot(fast)).toEqual(snapshot(parseSlow(text, BLOCK)));
  });

  it('agrees with CRLF line ends, a BOM and no final newline', () => {
    const text = `\uFEFF${CORPUS_LINES.join('\r\n')}`;
    expect(snapshot(parseList(text, BLOCK))).toEqual(snapshot(parseSlow(text, BLOCK)));
  });

  it('agrees on 5,000 random lines built from the corpus alphabet', () => {
    let seed = 11;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const pieces = ['a', 'b', 'x', '.', '-', '_', '0', '9', 'A', 'ü', ' ', '\t', '*', '|', '^', '@', '#', '/', '$all', ':', 'com', '0.0.0.0 ', '||', '@@||', '*.'];
    const lines: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      let line = '';
      for (let k = 1 + next(8); k > 0; k--) line += pieces[next(pieces.length)];
      lines.push(line);
    }
    const text = lines.join('\n');
    expect(snapshot(parseList(text, BLOCK))).toEqual(snapshot(parseSlow(text, BLOCK)));
  });
});

describe('chunked input', () => {
  const text = `\uFEFF# category: scam\r\nbücher.example\r\n0.0.0.0 a.com  b.com\r\n*.wild.com\r\nbad/x\r\n||Ad.com^$ALL\r\n\r\nlast.com`;
  const bytes = Buffer.from(text, 'utf8');
  const whole = snapshot(parseList(bytes, BLOCK));

  it('parses the reference text as expected (BOM dropped, header read, CRLF trimmed)', () => {
    const list = parseList(bytes, BLOCK);
    expect(list.category).toBe('scam');
    expect(rulesOf(list).map((r) => `${r.domain}@${r.line} ${r.text}`)).toEqual([
      'xn--bcher-kva.example@2 bücher.example',
      'a.com@3 a.com',
      'b.com@3 b.com',
      'wild.com@4 *.wild.com',
      'ad.com@6 ||Ad.com^$ALL',
      'last.com@8 last.com',
    ]);
    expect(list.skipped).toEqual([{ line: 5, text: 'bad/x', reason: 'URL or path, not a domain' }]);
  });

  it('gives the same list for every split point (inside a BOM, a UTF-8 character, a CRLF)', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parser = new ListParser(BLOCK);
      parser.write(bytes.subarray(0, cut));
      parser.write(bytes.subarray(cut));
      expect(snapshot(parser.end()), `split at byte ${cut}`).toEqual(whole);
    }
  });

  it.each([[[1]], [[2]], [[3, 1, 7]], [[64]]])('gives the same list in chunks of %j bytes', (sizes) => {
    expect(snapshot(parseChunked(bytes, BLOCK, sizes))).toEqual(whole);
  });

  it('takes a line longer than any chunk', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const list = parseChunked(Buffer.from(`x.com\n${long}\n${long}/path\ny.com`), BLOCK, [5]);
    expect(rulesOf(list).map((r) => r.domain)).toEqual(['x.com', long, 'y.com']);
    expect(list.skipped).toEqual([{ line: 3, text: `${long}/path`, reason: 'URL or path, not a domain' }]);
  });

  it('refuses writes after end, and a second end', () => {
    const parser = new ListParser(BLOCK);
    parser.end();
    expect(() => parser.write(Buffer.from('x.com'))).toThrow(/after end/);
    expect(() => parser.end()).toThrow(/twice/);
  });
});

describe('round trip of every stored field', () => {
  it.each([
    ['plain', 'evil.com', { domain: 'evil.com', scope: 'domain', kind: 'block', text: 'evil.com' }],
    ['uppercase + trailing dot (raw text)', 'Evil.COM.', { domain: 'evil.com', scope: 'domain', kind: 'block', text: 'Evil.COM.' }],
    ['IDN (raw text, UTF-8)', 'bücher.example', { domain: 'xn--bcher-kva.example', scope: 'domain', kind: 'block', text: 'bücher.example' }],
    ['wildcard', '*.evil.com', { domain: 'evil.com', scope: 'subdomains', kind: 'block', text: '*.evil.com' }],
    ['wildcard uppercase', '*.Evil.com', { domain: 'evil.com', scope: 'subdomains', kind: 'block', text: '*.Evil.com' }],
    ['wildcard + comment', '*.evil.com # c', { domain: 'evil.com', scope: 'subdomains', kind: 'block', text: '*.evil.com' }],
    ['hosts', '0.0.0.0 evil.com', { domain: 'evil.com', scope: 'domain', kind: 'block', text: 'evil.com' }],
    ['hosts ::1', '::1 evil.com', { domain: 'evil.com', scope: 'domain', kind: 'block', text: 'evil.com' }],
    ['hosts uppercase', '127.0.0.1 EVIL.com', { domain: 'evil.com', scope: 'domain', kind: 'block', text: 'EVIL.com' }],
    ['adblock', '||evil.com^', { domain: 'evil.com', scope: 'domain', kind: 'block', text: '||evil.com^' }],
    ['adblock $important', '||evil.com^$important', { domain: 'evil.com', scope: 'domain', kind: 'block', text: '||evil.com^$important' }],
    ['adblock $all', '||evil.com^$all', { domain: 'evil.com', scope: 'domain', kind: 'block', text: '||evil.com^$all' }],
    ['adblock modifier case', '||evil.com^$ALL', { domain: 'evil.com', scope: 'domain', kind: 'block', text: '||evil.com^$ALL' }],
    ['adblock + comment', '||evil.com^ # c', { domain: 'evil.com', scope: 'domain', kind: 'block', text: '||evil.com^' }],
    ['exception', '@@||good.com^', { domain: 'good.com', scope: 'domain', kind: 'allow', text: '@@||good.com^' }],
    ['exception $important', '@@||good.com^$important', { domain: 'good.com', scope: 'domain', kind: 'allow', text: '@@||good.com^$important' }],
    ['exception uppercase', '@@||Good.com^', { domain: 'good.com', scope: 'domain', kind: 'allow', text: '@@||Good.com^' }],
    ['underscore', '_dmarc.x.com', { domain: '_dmarc.x.com', scope: 'domain', kind: 'block', text: '_dmarc.x.com' }],
    ['single label', 'intranet', { domain: 'intranet', scope: 'domain', kind: 'block', text: 'intranet' }],
    ['punycode as written', 'xn--bcher-kva.example', { domain: 'xn--bcher-kva.example', scope: 'domain', kind: 'block', text: 'xn--bcher-kva.example' }],
  ] as const)('%s: %j', (_label, line, expected) => {
    // After 40 filler entries, so the entry sits past the first offset block.
    const filler = Array.from({ length: 40 }, (_, i) => `f${i}.example`).join('\n');
    const list = parseList(`${filler}\n${line}\n`, BLOCK);
    expect(list.skipped).toEqual([]);
    expect(list.size).toBe(41);
    expect(list.rule(40)).toEqual({ ...expected, list: 'fraud', category: 'uncategorized', line: 41 });
    expect(list.packed.domain(40)).toBe(expected.domain);
    expect(list.packed.text(40)).toBe(expected.text);
  });

  it('stores names at the length limits and every label length', () => {
    const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const manyLabels = Array.from({ length: 127 }, () => 'a').join('.');
    const names = [max, manyLabels, 'q', `${'z'.repeat(63)}`, ...Array.from({ length: 200 }, (_, i) => `${'x'.repeat(1 + (i % 63))}.${'y'.repeat(1 + ((i * 7) % 50))}`)];
    expect(max).toHaveLength(253);
    expect(manyLabels).toHaveLength(253);
    const list = parseList(names.join('\n'), BLOCK);
    expect(list.skipped).toEqual([]);
    expect(rulesOf(list).map((r) => r.domain)).toEqual(names);
    expect(rulesOf(list).map((r) => r.text)).toEqual(names);
    const tooLong = parseList(`${max}x`, BLOCK);
    expect(tooLong.size).toBe(0);
    expect(tooLong.skipped[0]?.reason).toMatch(/too long|longer than 63/);
  });

  it('keeps the written text of thousands of entries that cannot be rebuilt (uppercase, IDN, trailing dot)', () => {
    const written = Array.from({ length: 5_000 }, (_, i) =>
      i % 3 === 0 ? `Name${i}.Example` : i % 3 === 1 ? `bücher${i}.example` : `name${i}.example.`,
    );
    // Interleaved with canonical lines, which store no text.
    const text = written.map((w, i) => `${w}\nplain${i}.example`).join('\n');
    const list = parseList(text, BLOCK);
    expect(list.skipped).toEqual([]);
    expect(list.size).toBe(10_000);
    for (let i = 0; i < written.length; i++) {
      expect(list.rule(2 * i).text).toBe(written[i]);
      expect(list.rule(2 * i + 1).text).toBe(`plain${i}.example`);
    }
    expect(list.rule(2)).toMatchObject({ domain: 'xn--bcher1-3ya.example', text: 'bücher1.example', line: 3 });
  });

  it('numbers lines through comments, blank and skipped lines, and hosts lines with several names', () => {
    const text = ['# c', 'a.com', 'b.com', '', '', 'c.com', 'bad/x', '0.0.0.0 d.com e.com f.com', 'g.com', '! c', 'h.com'].join('\n');
    expect(rulesOf(parseList(text, BLOCK)).map((r) => `${r.domain}@${r.line}`)).toEqual([
      'a.com@2',
      'b.com@3',
      'c.com@6',
      'd.com@8',
      'e.com@8',
      'f.com@8',
      'g.com@9',
      'h.com@11',
    ]);
  });

  it('numbers lines right when every entry starts a new run (plain line table)', () => {
    // A blank line after every entry: runs would cost more than a number per entry.
    const n = 1_000;
    const text = Array.from({ length: n }, (_, i) => `n${i}.example\n${i % 3 === 0 ? '\n' : ''}`).join('\n');
    const list = parseList(text, BLOCK);
    let line = 1;
    for (let i = 0; i < n; i++) {
      expect(list.rule(i).line).toBe(line);
      line += i % 3 === 0 ? 3 : 2;
    }
    // ~1 byte of name a character plus ~6 a entry (length, flags, 4-byte line, offset block).
    expect(list.packed.byteSize).toBeLessThan(n * 20);
  });

  it('numbers lines of a list that switches to the plain table part-way', () => {
    const regular = Array.from({ length: 500 }, (_, i) => `r${i}.example`);
    const gappy = Array.from({ length: 500 }, (_, i) => `g${i}.example\n`);
    const list = parseList([...regular, ...gappy].join('\n'), BLOCK);
    expect(list.size).toBe(1_000);
    for (let i = 0; i < 500; i++) expect(list.rule(i).line).toBe(i + 1);
    for (let i = 0; i < 500; i++) expect(list.rule(500 + i).line).toBe(501 + 2 * i);
  });

  it('packs a plain list in about the bytes of its names plus ~2 per entry', () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `name${i}.example`);
    const list = parseList(`# category: x\n${names.join('\n')}\n`, BLOCK);
    const nameBytes = names.reduce((sum, s) => sum + s.length, 0);
    // bytes + 1 length + 1 flags + 4/32 offset block; one line run.
    expect(list.packed.byteSize).toBeLessThanOrEqual(nameBytes + 2.2 * names.length + 64);
  });

  it('rejects indexes outside the list', () => {
    const list = parseList('a.com\nb.com', BLOCK);
    for (const bad of [-1, 2, 1.5, Number.NaN]) expect(() => list.rule(bad)).toThrow(RangeError);
  });
});

describe('compatibility view `rules`', () => {
  it('has the length and the rules of the list, materialised on access', () => {
    const list = parseList('a.com\n*.b.com\n@@||c.com^', BLOCK);
    const view = list.rules;
    expect(view.length).toBe(3);
    expect(view.at(0)).toEqual(list.rule(0));
    expect(view.at(-1)).toEqual(list.rule(2));
    expect(view.at(3)).toBeUndefined();
    expect([...view]).toEqual(rulesOf(list));
  });
});
