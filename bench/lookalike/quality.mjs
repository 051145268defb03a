// Lookalike quality benchmark (#13): how many attacker-style permutations of protected domains are
// caught, and how many legitimate domains are flagged, at the settings given (default settings
// unless --tld-swaps). Prints the confusion table and every false positive with its test.
//
//   npm run bench:lookalike [-- --protect DIR_OR_FILE] [--tld-swaps] [--holdout N]
//
// Data, none of it the protected list itself:
//   positives  permutations.mjs applied to a held-aside subset of the protected domains (every
//              domain whose FNV-1a hash is 0 mod --holdout, default 4: about a quarter)
//   legit      data/legit-domains.txt: 8,210 registrable domains (top-sites' Moz top 500 + sites named by
//              EasyList's site-specific rules; see make-legit-set.mjs)
//   hard       data/metamask-whitelist.txt: 1,138 legitimate near-misses of crypto brands that MetaMask's
//              own fuzzy matcher flagged and had to allow (reported apart, not part of the target)
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getDomain } from 'tldts';
import { loadListsDir } from '../../dist/lists/load-lists.js';
import { Policy } from '../../dist/policy/policy.js';
import { describeLookalike } from '../../dist/lookalike/lookalike-index.js';
import { PERMUTATION_KINDS, permutations } from './permutations.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    protect: { type: 'string', default: path.join(HERE, '../../blocklists/protect') },
    'tld-swaps': { type: 'boolean', default: false },
    embedded: { type: 'boolean', default: false },
    phishing: { type: 'string', default: path.join(HERE, '../../blocklists/fraud.txt') },
    holdout: { type: 'string', default: '4' },
  },
});
const settings = { protectTldSwaps: values['tld-swaps'], protectEmbedded: values.embedded };
const holdout = Number(values.holdout);

const { lists, warnings } = await loadListsDir(mkdtempSync(path.join(tmpdir(), 'lookalike-bench-')), [values.protect]);
for (const w of warnings.filter((w) => !w.includes('no list files'))) process.stderr.write(`warning: ${w}\n`);
const policy = new Policy(lists, 1);
const index = policy.lookalikes;
if (!index) throw new Error(`nothing protected in ${values.protect}`);
const tldOptions = { allowPrivateDomains: true };

const readDomains = (file) =>
  readFileSync(path.join(HERE, 'data', file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
const legit = readDomains('legit-domains.txt').filter((d) => !index.isProtected(d));
const hard = readDomains('metamask-whitelist.txt').filter((d) => !index.isProtected(getDomain(d, tldOptions) ?? d));
const legitSet = new Set(legit);

const fnv = (s) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};
const protectedDomains = lists.flatMap((list) => Array.from({ length: list.size }, (_, i) => list.packed.domain(i)));
const heldAside = [...new Set(protectedDomains)].filter((d) => fnv(d) % holdout === 0).sort();

// Positives: every permutation of a held-aside domain that is neither protected nor a known legitimate name.
const TESTS = ['homoglyph', 'edit-distance', 'token', 'embedded', 'tld-swap'];
const table = new Map(PERMUTATION_KINDS.map((kind) => [kind, { total: 0, missed: 0, byTest: Object.fromEntries(TESTS.map((t) => [t, 0])) }]));
const shortOneEdit = { total: 0, missed: 0 };
const seen = new Set();
let excluded = 0;
for (const domain of heldAside) {
  const suffixStart = domain.indexOf('.');
  const label = domain.slice(0, suffixStart);
  const suffix = domain.slice(suffixStart + 1);
  for (const { kind, name } of permutations(label, suffix)) {
    if (seen.has(name)) continue;
    seen.add(name);
    const registrable = getDomain(name, tldOptions);
    if (registrable === null || index.isProtected(registrable) || legitSet.has(registrable)) {
      excluded++;
      continue;
    }
    const finding = index.judge(name, settings);
    const row = kind === 'one-edit' && label.length < 5 ? shortOneEdit : table.get(kind);
    row.total++;
    if (finding === undefined) row.missed++;
    else if (row.byTest) row.byTest[finding.test]++;
  }
}

const pct = (n, d) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)} %`);
const out = [];
out.push(`protected: ${index.size} domains (${values.protect}); held aside for permutations: ${heldAside.length}; tld swaps ${settings.protectTldSwaps ? 'on' : 'off'}; embedded ${settings.protectEmbedded ? 'on' : 'off'}`);
out.push(`permutations judged: ${[...table.values()].reduce((s, r) => s + r.total, 0) + shortOneEdit.total} (${excluded} dropped: protected or in the legitimate set)`);
out.push('');
out.push(`| permutation kind | names | caught | ${TESTS.join(' | ')} | missed |`);
out.push(`|---|---:|---:|${TESTS.map(() => '---:').join('|')}|---:|`);
for (const [kind, row] of table) {
  const caught = row.total - row.missed;
  out.push(`| ${kind}${kind === 'one-edit' ? ' (labels ≥ 5)' : ''} | ${row.total} | ${pct(caught, row.total)} | ${TESTS.map((t) => row.byTest[t]).join(' | ')} | ${row.missed} |`);
}
out.push(`| one-edit (labels < 5, by design not judged by distance) | ${shortOneEdit.total} | ${pct(shortOneEdit.total - shortOneEdit.missed, shortOneEdit.total)} |${TESTS.map(() => ' ').join('|')}| ${shortOneEdit.missed} |`);
out.push('');

// Real phishing: the shipped fraud list (MetaMask eth-phishing-detect's blacklist, crypto phishing
// and impersonation), judged whole. Most of it imitates no protected brand at all, so the rate
// that matters is among the names that spell a protected label of 5+ letters somewhere in them.
const phishing = readFileSync(values.phishing, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const protectedLabels = [...new Set(protectedDomains.map((d) => getDomain(d, tldOptions)?.split('.')[0]).filter((l) => l && l.length >= 5))];
const realByTest = Object.fromEntries(TESTS.map((t) => [t, 0]));
let realCaught = 0;
let spelling = 0;
let spellingCaught = 0;
for (const name of phishing) {
  const finding = index.judge(name, settings);
  if (finding !== undefined) {
    realCaught++;
    realByTest[finding.test]++;
  }
  if (protectedLabels.some((label) => name.includes(label) && getDomain(name, tldOptions) !== null && !index.isProtected(getDomain(name, tldOptions)))) {
    spelling++;
    if (finding !== undefined) spellingCaught++;
  }
}
out.push(`| real phishing (${path.basename(values.phishing)}) | names | caught | ${TESTS.join(' | ')} |`);
out.push(`|---|---:|---:|${TESTS.map(() => '---:').join('|')}|`);
out.push(`| all | ${phishing.length} | ${pct(realCaught, phishing.length)} | ${TESTS.map((t) => realByTest[t]).join(' | ')} |`);
out.push(`| spelling a protected label of 5+ letters | ${spelling} | ${pct(spellingCaught, spelling)} |${TESTS.map(() => ' ').join('|')}|`);
out.push('');

const falsePositives = (names) =>
  names.flatMap((name) => {
    const finding = index.judge(name, settings);
    return finding === undefined ? [] : [{ name, finding }];
  });
const legitFp = falsePositives(legit);
const hardFp = falsePositives(hard);
out.push(`| legitimate set | names | flagged | rate |`);
out.push(`|---|---:|---:|---:|`);
out.push(`| popular (top-sites + EasyList sites) | ${legit.length} | ${legitFp.length} | ${pct(legitFp.length, legit.length)} |`);
out.push(`| hard: MetaMask whitelist (near-misses of crypto brands) | ${hard.length} | ${hardFp.length} | ${pct(hardFp.length, hard.length)} |`);
out.push('');
out.push(`false positives in the popular set (${legitFp.length}):`);
for (const { name, finding } of legitFp) out.push(`  ${name}: ${finding.test}: ${describeLookalike(finding)}`);
out.push(`false positives in the hard set (${hardFp.length}):`);
for (const { name, finding } of hardFp) out.push(`  ${name}: ${finding.test}: ${describeLookalike(finding)}`);
process.stdout.write(`${out.join('\n')}\n`);
