#!/usr/bin/env node
// Per-client policy groups (issue #14): the two ways to give each group its own subset of the
// lists, measured on the same data so the choice is a figure, not a guess.
//
//   npm run build && node bench/group-matchers.mjs [--per-list 200000] [--lists 5] [--groups 4] [--lookups 100000]
//
//   A "per-group matchers" (what fraudwall does): on every policy change, one RuleIndex per group
//     over the lists it names, built from the same packed lists (no copy of any name); a lookup is
//     one suffix walk in the group's own table.
//   B "filter at lookup": one RuleIndex per list, built only when that list changes and shared by
//     every group; a lookup walks the index of each list the group names and keeps the deciding
//     entry (deepest match, allow over block at equal depth), as one combined index would.
//
// Columns: table MB (the index tables; the packed lists are shared by both and shown once), build
// ms of what a push of ONE list rebuilds (A: the full matcher plus the tables of the groups that
// name the list; B: that list's index), and ns per lookup (no verdict cache in front: what a verdict-cache miss costs), for a
// group naming 3 lists and for the default group (every list), on listed and unlisted names.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TLDS } from './lib/gen.mjs';
import { prng, randomLabel } from './lib/util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const load = (file) => import(pathToFileURL(path.join(here, '..', 'dist', file)).href);
const { parseList } = await load('policy/parse-list.js');
const { RuleIndex } = await load('policy/rule-index.js');
const { Policy } = await load('policy/policy.js');
const { ClientGroups } = await load('policy/client-groups.js');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}
const perList = arg('per-list', 200_000);
const listCount = arg('lists', 5);
const groupCount = arg('groups', 4);
const lookups = arg('lookups', 100_000);
const MB = 1024 * 1024;

const rand = prng(0x9005);
const sampled = [];
const lists = [];
for (let l = 0; l < listCount; l++) {
  const names = [];
  for (let i = 0; i < perList; i++) {
    const domain = `${randomLabel(rand, 8, 14)}.${TLDS[Math.floor(rand() * TLDS.length)]}`;
    names.push(domain);
    if (sampled.length < lookups && i % Math.max(1, Math.floor((perList * listCount) / lookups)) === 0) sampled.push(i % 2 === 0 ? domain : `www.${domain}`);
  }
  // One list in five is an allow list, as operators keep a few.
  lists.push(parseList(`${names.join('\n')}\n`, { name: `list${l}`, kind: l === listCount - 1 ? 'allow' : 'block' }));
}
const unlisted = Array.from({ length: lookups }, (_, i) => `${i % 2 ? 'cdn.' : ''}${randomLabel(rand, 16, 20)}.${TLDS[i % TLDS.length]}`);
// Group g names 3 consecutive lists (wrapping): groups overlap, as real ones do.
const specs = Array.from({ length: groupCount }, (_, g) => ({
  name: `g${g}`,
  clients: [`10.${g}.0.0/16`],
  lists: [0, 1, 2].map((k) => `list${(g + k) % listCount}`),
  blockMode: undefined,
}));
const groups = new ClientGroups(specs);
const packedBytes = lists.reduce((sum, l) => sum + l.packed.byteSize, 0);

/** Best of 3 runs (the machine is shared: the minimum is the least disturbed figure). */
function time(fn) {
  let best = { ms: Infinity, result: undefined };
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    const result = fn();
    const ms = performance.now() - start;
    if (ms < best.ms) best = { ms, result };
  }
  return best;
}
function nsPerLookup(names, fn) {
  let best = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < names.length; i++) fn(names[i]);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / names.length);
  }
  return best;
}

// A: per-group matchers.
const plain = time(() => new Policy(lists, 1));
const grouped = time(() => new Policy(lists, 2, groups));
const aTables = grouped.result.byteSize - packedBytes;
// A push of list0: a new ParsedList object for it, the others unchanged; groups not naming list0 keep their tables.
// (A copy of the list object: the same entries, a new identity, as a re-parsed list would be.)
const pushedLists = [{ ...lists[0] }, ...lists.slice(1)];
const pushed = time(() => new Policy(pushedLists, 3, groups, grouped.result));
const namingList0 = specs.filter((spec) => spec.lists.includes('list0')).length;
const aNamed = { listed: nsPerLookup(sampled, (n) => grouped.result.evaluate(n, 1)), unlisted: nsPerLookup(unlisted, (n) => grouped.result.evaluate(n, 1)) };
const aAll = { listed: nsPerLookup(sampled, (n) => grouped.result.evaluate(n, 0)), unlisted: nsPerLookup(unlisted, (n) => grouped.result.evaluate(n, 0)) };

// B: one index per list, combined at lookup.
const perListIndexes = lists.map((l) => RuleIndex.build([l]));
const oneList = time(() => RuleIndex.build([lists[0]]));
const bTables = perListIndexes.reduce((sum, index) => sum + index.byteSize, 0);
function combined(indexes, name) {
  let best;
  for (const index of indexes) {
    const rule = index.match(name);
    if (rule === undefined) continue;
    if (best === undefined || rule.domain.length > best.domain.length || (rule.domain.length === best.domain.length && rule.kind === 'allow')) best = rule;
  }
  return best;
}
const named = [0, 1, 2].map((k) => perListIndexes[(0 + k) % listCount]);
const bNamed = { listed: nsPerLookup(sampled, (n) => combined(named, n)), unlisted: nsPerLookup(unlisted, (n) => combined(named, n)) };
const bAll = { listed: nsPerLookup(sampled, (n) => combined(perListIndexes, n)), unlisted: nsPerLookup(unlisted, (n) => combined(perListIndexes, n)) };

const fmt = (n, d = 1) => n.toFixed(d);
console.log(`${listCount} lists × ${perList.toLocaleString('en')} names (packed lists ${fmt(packedBytes / MB)} MB, shared by both), ${groupCount} groups of 3 lists + default (all)`);
console.log('| way | table MB | build ms per list push | ns/lookup 3-list group listed / unlisted | ns/lookup default listed / unlisted |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| no groups (reference) | ${fmt((plain.result.byteSize - packedBytes) / MB)} | ${fmt(plain.ms, 0)} | – | ${fmt(nsPerLookup(sampled, (n) => plain.result.evaluate(n)), 0)} / ${fmt(nsPerLookup(unlisted, (n) => plain.result.evaluate(n)), 0)} |`);
console.log(`| A per-group matchers | ${fmt(aTables / MB)} | ${fmt(pushed.ms, 0)} (full + ${namingList0} of ${groupCount} groups; ${fmt(grouped.ms, 0)} for all) | ${fmt(aNamed.listed, 0)} / ${fmt(aNamed.unlisted, 0)} | ${fmt(aAll.listed, 0)} / ${fmt(aAll.unlisted, 0)} |`);
console.log(`| B filter at lookup (index per list) | ${fmt(bTables / MB)} | ${fmt(oneList.ms, 0)} | ${fmt(bNamed.listed, 0)} / ${fmt(bNamed.unlisted, 0)} | ${fmt(bAll.listed, 0)} / ${fmt(bAll.unlisted, 0)} |`);

// Group selection per query (server/query-handler.ts): 64 groups of 2 ranges each (the most a server may define).
const many = new ClientGroups(
  Array.from({ length: 63 }, (_, g) => ({ name: `s${g}`, clients: [`10.${g}.0.0/16`, `10.${g}.${g}.0/24`, `dev${g}`], lists: undefined, blockMode: undefined })),
);
const clients = Array.from({ length: 10_000 }, (_, i) => `10.${i % 70}.${i % 63}.${i % 250}`);
const selectNs = nsPerLookup(clients, (address) => many.select(address, undefined));
const namedNs = nsPerLookup(clients, (address) => many.select(address, 'dev5'));
const mapped = clients.map((c) => `::ffff:${c}`);
const mappedNs = nsPerLookup(mapped, (address) => many.select(address, undefined));
console.log(`\ngroup selection, 64 groups / 126 ranges: ${fmt(selectNs, 0)} ns per IPv4 client, ${fmt(namedNs, 0)} ns with a client name, ${fmt(mappedNs, 0)} ns IPv4-mapped IPv6`);
