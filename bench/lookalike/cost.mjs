// Lookalike cost benchmark (#13): what judging one verdict-cache miss costs with 1,000 protected
// domains, and what share of a cold (forwarded) query's CPU that is.
//
//   npm run bench:lookalike:cost [-- --protected 1000] [--rounds 5] [--cold-us 28]
//
// Protected: the shipped example protect lists (257 domains) topped up to --protected with real
// domains of the legitimate set (so label lengths and letters are those of real names). Queries:
// (a) clean names, the other legitimate domains under www./api./cdn./mail. prefixes, each name once
// (every one a verdict-cache miss); (b) lookalikes, permutations of protected domains (the
// expensive case: they have candidates to verify). Timed in-process over the judge alone
// (Policy.lookalikes.judge), best of --rounds passes; the matcher lookup that precedes it is
// measured by bench/policy-memory.mjs. --cold-us is the CPU one cold query takes in the server
// (default 28 µs: 1 / 35,290 q/s, the one-core cold figure of the README's Performance section).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadListsDir } from '../../dist/lists/load-lists.js';
import { Policy } from '../../dist/policy/policy.js';
import { permutations } from './permutations.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    protected: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '10' },
    'cold-us': { type: 'string', default: '28' },
    embedded: { type: 'boolean', default: false },
  },
});
const wanted = Number(values.protected);
const rounds = Number(values.rounds);
const coldUs = Number(values['cold-us']);

const legit = readFileSync(path.join(HERE, 'data', 'legit-domains.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const dir = mkdtempSync(path.join(tmpdir(), 'lookalike-cost-'));
const shipped = await loadListsDir(dir, [path.join(HERE, '../../blocklists/protect')]);
const shippedCount = shipped.lists.reduce((sum, list) => sum + list.size, 0);
// Every 8th legitimate domain tops the list up; the rest are the clean queries.
const extra = legit.filter((_, i) => i % 8 === 0).slice(0, Math.max(0, wanted - shippedCount));
writeFileSync(path.join(dir, 'extra.protect.txt'), `# category: extra\n${extra.join('\n')}\n`);
const started = performance.now();
const { lists } = await loadListsDir(dir, [path.join(HERE, '../../blocklists/protect')]);
const policy = new Policy(lists, 1);
const buildMs = performance.now() - started;
const index = policy.lookalikes;
const protectedSet = new Set(lists.flatMap((l) => Array.from({ length: l.size }, (_, i) => l.packed.domain(i))));

const clean = [];
for (const domain of legit) {
  if (protectedSet.has(domain)) continue;
  for (const prefix of ['www.', 'api.', 'cdn.', 'mail.']) clean.push(prefix + domain);
}
const lookalikes = [];
for (const domain of [...protectedSet].slice(0, 200)) {
  const dot = domain.indexOf('.');
  for (const { name } of permutations(domain.slice(0, dot), domain.slice(dot + 1))) lookalikes.push(name);
}

const settings = { protectTldSwaps: false, protectEmbedded: values.embedded };
function time(names) {
  let best = Infinity;
  let flagged = 0;
  for (let round = 0; round < rounds; round++) {
    flagged = 0;
    const t0 = performance.now();
    for (const name of names) if (index.judge(name, settings) !== undefined) flagged++;
    best = Math.min(best, ((performance.now() - t0) * 1000) / names.length);
  }
  return { us: best, flagged };
}
// Warm up the JIT on both sets first.
time(clean);
time(lookalikes);
const cleanCost = time(clean);
const lookalikeCost = time(lookalikes);
const heap = process.memoryUsage().heapUsed;

const fmt = (n) => n.toFixed(2);
console.log(`protected domains: ${index.size} (index keys ${index.keys}, built with the lists in ${buildMs.toFixed(0)} ms; heap now ${(heap / 1e6).toFixed(0)} MB)`);
console.log(`| queries | names | flagged | µs per miss (best of ${rounds}) | share of a cold query (${coldUs} µs) |`);
console.log('|---|---:|---:|---:|---:|');
console.log(`| clean names (www./api./cdn./mail. + legitimate domains) | ${clean.length} | ${cleanCost.flagged} | ${fmt(cleanCost.us)} | ${((100 * cleanCost.us) / coldUs).toFixed(1)} % |`);
console.log(`| lookalikes (permutations of 200 protected domains) | ${lookalikes.length} | ${lookalikeCost.flagged} | ${fmt(lookalikeCost.us)} | ${((100 * lookalikeCost.us) / coldUs).toFixed(1)} % |`);
