// A dnstwist-style permutation generator: the names an attacker registers to imitate a domain.
// Written for the lookalike quality benchmark (dnstwist itself is not in Debian bookworm). Each
// permutation changes the label below the public suffix (or the suffix, for tld-swap) and is
// grouped by the kind of trick it plays:
//   homoglyph   one letter replaced by a Unicode lookalike (Cyrillic, Greek, Latin with a mark),
//               the whole label in Cyrillic where every letter has a twin, or an ASCII lookalike
//               (rn for m, vv for w, cl for d, 0 for o, 1 for l/i): IDN names go out as punycode
//   one-edit    addition, bitsquatting, hyphenation, insertion and replacement of a neighbouring
//               key, omission, repetition, transposition, vowel swap (dnstwist's single-edit fuzzers)
//   token       the label with a phishing word, hyphenated: paypal-login, secure-paypal
//   token-joined  the same without the hyphen: paypallogin, securepaypal
//   subdomain   a dot inside the label: pay.pal.com
//   tld-swap    the same label under another suffix: paypal.top
import { domainToASCII } from 'node:url';

const KEYBOARD = {
  1: '2q', 2: '3wq1', 3: '4ew2', 4: '5re3', 5: '6tr4', 6: '7yt5', 7: '8uy6', 8: '9iu7', 9: '0oi8', 0: 'po9',
  q: '12wa', w: '3esaq2', e: '4rdsw3', r: '5tfde4', t: '6ygfr5', y: '7uhgt6', u: '8ijhy7', i: '9okju8', o: '0plki9', p: 'lo0',
  a: 'qwsz', s: 'edxzaw', d: 'rfcxse', f: 'tgvcdr', g: 'yhbvft', h: 'ujnbgy', j: 'ikmnhu', k: 'olmji', l: 'kop',
  z: 'asx', x: 'zsdc', c: 'xdfv', v: 'cfgb', b: 'vghn', n: 'bhjm', m: 'njk',
};
const VOWELS = 'aeiou';
/** Unicode lookalikes per ASCII letter (a subset of dnstwist's glyph table, plus Cyrillic and Greek twins). */
const GLYPHS = {
  a: ['à', 'á', 'â', 'ã', 'ä', 'å', 'ɑ', 'а', 'ạ', 'ą'],
  b: ['ʙ', 'ḃ', 'ḅ', 'ƅ'],
  c: ['ƈ', 'ċ', 'ć', 'ç', 'č', 'ĉ', 'ᴄ', 'с'],
  d: ['ɗ', 'đ', 'ď', 'ɖ', 'ḑ', 'ḋ', 'ḍ', 'ԁ'],
  e: ['é', 'è', 'ê', 'ë', 'ē', 'ĕ', 'ě', 'ė', 'ẹ', 'ę', 'е'],
  f: ['ƒ', 'ḟ'],
  g: ['ɢ', 'ɡ', 'ġ', 'ğ', 'ǵ', 'ģ', 'ĝ', 'ǧ'],
  h: ['ĥ', 'ȟ', 'ħ', 'ɦ', 'ḧ', 'ḩ', 'ḣ', 'ḥ', 'һ'],
  i: ['ị', 'ï', 'ì', 'í', 'î', 'ɩ', 'і'],
  j: ['ʝ', 'ĵ', 'ј'],
  k: ['ḳ', 'ḵ', 'ķ', 'ᴋ', 'κ'],
  l: ['ɫ', 'ł', 'ḷ', 'ḻ', 'ḽ', 'ӏ'],
  m: ['ṁ', 'ṃ', 'ᴍ', 'ɱ', 'ḿ'],
  n: ['ń', 'ṅ', 'ṇ', 'ṉ', 'ñ', 'ņ', 'ǹ', 'ň', 'ո'],
  o: ['ȯ', 'ọ', 'ỏ', 'ơ', 'ó', 'ö', 'ο', 'о'],
  p: ['ƿ', 'ƥ', 'ṕ', 'ṗ', 'р'],
  q: ['ʠ', 'ԛ'],
  r: ['ʀ', 'ɼ', 'ɽ', 'ŕ', 'ŗ', 'ř', 'ɍ', 'ɾ'],
  s: ['ʂ', 'ś', 'ṣ', 'ṡ', 'ș', 'ŝ', 'š', 'ѕ'],
  t: ['ţ', 'ŧ', 'ṫ', 'ṭ', 'ț', 'ƫ'],
  u: ['ᴜ', 'ǔ', 'ŭ', 'ü', 'ʉ', 'ù', 'ú', 'û', 'ũ', 'ū', 'ų', 'ư', 'ů', 'ű', 'ụ'],
  v: ['ṿ', 'ⱱ', 'ṽ', 'ѵ'],
  w: ['ŵ', 'ẁ', 'ẃ', 'ẅ', 'ẇ', 'ẉ', 'ԝ'],
  x: ['ẋ', 'ẍ', 'х'],
  y: ['ʏ', 'ý', 'ÿ', 'ŷ', 'ƴ', 'ȳ', 'ẏ', 'ỵ', 'у'],
  z: ['ʐ', 'ż', 'ź', 'ᴢ', 'ƶ', 'ẓ', 'ẕ'],
};
/** Cyrillic twins for a whole-label replacement (аррӏе for apple). */
const CYRILLIC = { a: 'а', c: 'с', d: 'ԁ', e: 'е', h: 'һ', i: 'і', j: 'ј', k: 'к', l: 'ӏ', m: 'м', n: 'п', o: 'о', p: 'р', q: 'ԛ', s: 'ѕ', w: 'ԝ', x: 'х', y: 'у' };
/** ASCII lookalikes of a letter (several characters standing for one, or a digit). */
const ASCII_GLYPHS = { m: ['rn', 'nn'], w: ['vv'], d: ['cl'], o: ['0'], l: ['1', 'i'], i: ['1', 'l'], g: ['q'], b: ['lb'], k: ['lc'] };
const WORDS = ['login', 'secure', 'account', 'verify', 'support', 'update', 'online', 'signin', 'help', 'service', 'wallet', 'pay', 'app', 'mobile', 'auth', 'confirm'];
const TLDS = ['com', 'net', 'org', 'top', 'xyz', 'co', 'info', 'online', 'shop', 'site', 'app', 'io', 'cc', 'vip'];

const isLabel = (label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label) && !/^..--/.test(label);

/** label → the ASCII name under `suffix`, or undefined when it is not a valid host name. */
function nameOf(label, suffix) {
  const ascii = /^[\x00-\x7f]*$/.test(label) ? label : domainToASCII(`${label}.${suffix}`).split('.')[0];
  if (!ascii || (ascii === label && !isLabel(ascii))) return undefined;
  return `${ascii}.${suffix}`;
}

function oneEdit(label) {
  const out = new Set();
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
  for (const c of chars) out.add(label + c); // addition
  for (let i = 0; i < label.length; i++) {
    const before = label.slice(0, i);
    const after = label.slice(i + 1);
    const c = label[i];
    out.add(before + after); // omission
    out.add(before + c + c + after); // repetition
    for (const k of KEYBOARD[c] ?? '') {
      out.add(before + k + after); // replacement
      out.add(before + k + c + after); // insertion
      out.add(before + c + k + after);
    }
    for (let bit = 0; bit < 8; bit++) {
      const flipped = String.fromCharCode(c.charCodeAt(0) ^ (1 << bit)).toLowerCase();
      if (/^[a-z0-9-]$/.test(flipped)) out.add(before + flipped + after); // bitsquatting
    }
    if (VOWELS.includes(c)) for (const v of VOWELS) out.add(before + v + after); // vowel swap
    if (i > 0) out.add(`${before}-${c}${after}`); // hyphenation
    if (i + 1 < label.length) out.add(before + label[i + 1] + c + label.slice(i + 2)); // transposition
  }
  out.delete(label);
  return out;
}

function homoglyphs(label) {
  const out = new Set();
  for (let i = 0; i < label.length; i++) {
    const before = label.slice(0, i);
    const after = label.slice(i + 1);
    for (const g of GLYPHS[label[i]] ?? []) out.add(before + g + after);
    for (const g of ASCII_GLYPHS[label[i]] ?? []) out.add(before + g + after);
  }
  if ([...label].every((c) => CYRILLIC[c])) out.add([...label].map((c) => CYRILLIC[c]).join(''));
  out.delete(label);
  return out;
}

/**
 * Every permutation of `domain` (`label.suffix`), as { kind, name } with ASCII (punycode) names;
 * permutations that are not valid host names are dropped.
 */
export function permutations(label, suffix) {
  const out = [];
  const push = (kind, candidateLabel, candidateSuffix = suffix) => {
    const name = nameOf(candidateLabel, candidateSuffix);
    if (name !== undefined) out.push({ kind, name });
  };
  for (const l of homoglyphs(label)) push('homoglyph', l);
  for (const l of oneEdit(label)) push('one-edit', l);
  for (const word of WORDS) {
    push('token', `${label}-${word}`);
    push('token', `${word}-${label}`);
    push('token-joined', `${label}${word}`);
    push('token-joined', `${word}${label}`);
  }
  for (let i = 1; i < label.length; i++) {
    if (label[i - 1] !== '-' && label[i] !== '-') out.push({ kind: 'subdomain', name: `${label.slice(0, i)}.${label.slice(i)}.${suffix}` });
  }
  for (const tld of TLDS) if (tld !== suffix) push('tld-swap', label, tld);
  return out;
}

export const PERMUTATION_KINDS = ['homoglyph', 'one-edit', 'token', 'token-joined', 'subdomain', 'tld-swap'];
