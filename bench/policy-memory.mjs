#!/usr/bin/env node
// Memory and speed of the blocklist policy alone (no DNS): how long N domains take to load, what the
// process holds with the policy live, how fast lookups are, and how high memory goes while a second
// policy is built beside the first (a reload).
//
//   npm run build && node bench/policy-memory.mjs [--n 1000000[,200000,10000000...]] [--lookups 100000] [--keep]
//
// (It runs against any build of dist/, including the one before packed lists: "data MB" is then "-".)
//
// The parent generates the list (random `label.tld` names, one a line, `# category: fraud` header) in a
// temp directory and runs one fresh `node --expose-gc` child per size, so every figure starts from a
// clean process. It loads through the same code as `fraudwall serve`: loadListsDir() + new Policy(),
// with the parsed lists kept alive next to the policy, as ListRegistry keeps them.
//
// Columns:
//   load ms      loadListsDir (read + parse) + new Policy (matcher build), and the two parts
//   rss / heap   process.memoryUsage() after two full GCs with lists + policy live (MB)
//   base rss     the same child before loading anything (node itself + the lookup samples)
//   data MB      bytes of packed list storage + matcher table actually in use (new layout only);
//                process.memoryUsage().external is not shown: it counts the address space the large
//                arrays reserve (see src/policy/typed-memory.ts), not what is resident
//   load peak    VmHWM during the load (the highest RSS the process reached)
//   swap peak    VmHWM while reading the lists again and building policy #2 with #1 live
//   2 live rss   RSS after GC with both policies (and both list sets) live
//   reloaded     RSS after GC once #1 and its lists are dropped (the state after a reload)
//   blocked/unlisted ns   Policy.evaluate() per name (no verdict cache in front; best of 7 passes
//                over 100k names: listed names, half of them as www.<name>; unlisted 2-3 label names
//                under the same TLDs)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// The same deterministic generator and TLDs as the benchmark's lists (bench/lib).
import { TLDS } from './lib/gen.mjs';
import { prng, randomLabel } from './lib/util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const MB = 1024 * 1024;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// ------------------------------------------------------------------------------------------------
// Parent: generate, run one child per size, print the table.

function generate(dir, n, lookups) {
  const rand = prng(0x5eed ^ n);
  // The list gets a directory of its own: loadListsDir reads every *.txt there.
  mkdirSync(path.join(dir, 'lists'));
  const file = path.join(dir, 'lists', 'blocked.txt');
  const fd = openSync(file, 'w');
  writeSync(fd, `# ${n} synthetic blocked domains (bench/policy-memory.mjs)\n# category: fraud\n`);
  // Every k-th domain is kept as a lookup sample (spread over the whole list).
  const every = Math.max(1, Math.floor(n / lookups));
  const blocked = [];
  let chunk = '';
  for (let i = 0; i < n; i++) {
    const domain = `${randomLabel(rand, 8, 14)}.${TLDS[Math.floor(rand() * TLDS.length)]}`;
    chunk += `${domain}\n`;
    if (i % every === 0 && blocked.length < lookups) blocked.push(i % 2 === 0 ? domain : `www.${domain}`);
    if ((i & 16383) === 16383) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  // Unlisted: realistic shapes under the same TLDs (2 and 3 labels), so every suffix walk probes
  // the TLD and the registrable name; the random 16-20 character label never collides with the list.
  const urand = prng(0xc1ea ^ n);
  const unlisted = [];
  for (let i = 0; i < lookups; i++) {
    const base = `${randomLabel(urand, 16, 20)}.${TLDS[Math.floor(urand() * TLDS.length)]}`;
    unlisted.push(i % 2 === 0 ? base : `cdn.${base}`);
  }
  writeFileSync(path.join(dir, 'blocked-sample.txt'), blocked.join('\n'));
  writeFileSync(path.join(dir, 'unlisted-sample.txt'), unlisted.join('\n'));
  return dir;
}

function parent() {
  const sizes = String(arg('n', '1000000'))
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  // Names sampled per kind. A small sample keeps the baseline honest (1M sample strings alone
  // would add ~80 MB of heap).
  const lookups = Number(arg('lookups', '100000'));
  const keep = process.argv.includes('--keep');
  const rows = [];
  for (const n of sizes) {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--n: not a positive integer: ${n}`);
    const dir = mkdtempSync(path.join(tmpdir(), `fraudwall-policy-mem-${n}-`));
    try {
      const started = performance.now();
      generate(dir, n, Math.min(lookups, n));
      process.stderr.write(`generated ${n.toLocaleString('en')} domains in ${((performance.now() - started) / 1000).toFixed(1)} s (${dir})\n`);
      const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', dir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 16 * MB,
      });
      if (child.status !== 0) throw new Error(`child for n=${n} failed (status ${child.status}, signal ${child.signal})`);
      rows.push({ n, ...JSON.parse(child.stdout.trim().split('\n').pop()) });
    } finally {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(rows);
}

/** A figure for the table; '-' when unknown (JSON turns NaN into null). */
const fmt = (x, digits = 1) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(digits));

function printTable(rows) {
  const cols = [
    ['domains', (r) => r.n.toLocaleString('en')],
    ['load ms', (r) => `${Math.round(r.loadMs)} (${Math.round(r.parseMs)}+${Math.round(r.buildMs)})`],
    ['rss MB', (r) => fmt(r.rss)],
    ['heap MB', (r) => fmt(r.heap)],
    ['data MB', (r) => fmt(r.data)],
    ['base rss', (r) => fmt(r.baseRss)],
    ['rss-base', (r) => fmt(r.rss - r.baseRss)],
    ['load peak', (r) => fmt(r.loadPeak)],
    ['swap peak', (r) => fmt(r.swapPeak)],
    ['2 live rss', (r) => fmt(r.twoLiveRss)],
    ['reloaded', (r) => fmt(r.reloadedRss)],
    ['blocked ns', (r) => fmt(r.blockedNs, 0)],
    ['unlisted ns', (r) => fmt(r.unlistedNs, 0)],
    ['rules', (r) => r.ruleCount.toLocaleString('en')],
  ];
  const cells = rows.map((r) => cols.map(([, f]) => f(r)));
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values) => values.map((v, i) => v.padStart(widths[i])).join('  ');
  console.log(`node ${process.version}, ${process.platform}/${process.arch}; MB = MiB`);
  console.log(line(cols.map(([h]) => h)));
  for (const c of cells) console.log(line(c));
}

// ------------------------------------------------------------------------------------------------
// Child: one size, fresh process.

function vm(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Resets VmHWM to the current RSS (Linux: "5" > clear_refs), so the next reading is a fresh peak. */
function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function fullGc() {
  globalThis.gc();
  globalThis.gc();
}

const ROUNDS = 7;

/**
 * ns per Policy.evaluate: the best of ROUNDS passes over `names` (the machine may be shared; the
 * best pass is the least disturbed one). `hits` counts one pass.
 */
function measureLookups(policy, names) {
  let hits = 0;
  // One untimed pass: JIT warm-up, and the hit count.
  for (let i = 0; i < names.length; i++) if (policy.evaluate(names[i]).action !== 'none') hits++;
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < names.length; i++) if (policy.evaluate(names[i]).action !== 'none') sink++;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / names.length);
  }
  return { ns: best, hits: hits + (sink & 0) };
}

/** Bytes of packed list storage and matcher table, where the build exposes them (not before this change). */
function dataBytes(lists, policy) {
  const table = policy.trie?.byteSize;
  const packed = lists.map((l) => l.packed?.byteSize);
  if (table === undefined || packed.some((b) => b === undefined)) return Number.NaN;
  return packed.reduce((sum, b) => sum + b, table);
}

async function child(dir) {
  const { loadListsDir } = await import(pathToFileURL(path.join(dist, 'lists', 'load-lists.js')).href);
  const { Policy } = await import(pathToFileURL(path.join(dist, 'policy', 'policy.js')).href);
  const blocked = readFileSync(path.join(dir, 'blocked-sample.txt'), 'utf8').split('\n');
  const unlisted = readFileSync(path.join(dir, 'unlisted-sample.txt'), 'utf8').split('\n');
  fullGc();
  const base = process.memoryUsage();
  const canReset = resetPeak();

  const t0 = performance.now();
  let { lists } = await loadListsDir(path.join(dir, 'lists'));
  const t1 = performance.now();
  let policy = new Policy(lists, 1);
  const t2 = performance.now();
  const loadPeak = vm('VmHWM');
  fullGc();
  const live = process.memoryUsage();
  const data = dataBytes(lists, policy);

  // Swap: a reload reads every list again and builds the next policy while the live one serves.
  // (Before the lookups: their garbage grows V8's young generation, which would blur the figures.)
  resetPeak();
  let again = await loadListsDir(path.join(dir, 'lists'));
  const next = new Policy(again.lists, 2);
  const swapPeak = vm('VmHWM');
  fullGc();
  const twoLive = process.memoryUsage();
  if (next.ruleCount !== policy.ruleCount) throw new Error('second policy differs');
  // The old policy and lists are dropped, as the registry drops them after the swap.
  const entries = lists.reduce((sum, l) => sum + (l.size ?? l.rules.length), 0);
  policy = next;
  lists = again.lists;
  again = undefined;
  fullGc();
  const reloaded = process.memoryUsage();

  const b = measureLookups(policy, blocked);
  const u = measureLookups(policy, unlisted);
  if (b.hits !== blocked.length) throw new Error(`only ${b.hits} of ${blocked.length} sampled list names were blocked`);
  if (u.hits !== 0) throw new Error(`${u.hits} unlisted names matched`);

  const mb = (x) => x / MB;
  console.log(
    JSON.stringify({
      parseMs: t1 - t0,
      buildMs: t2 - t1,
      loadMs: t2 - t0,
      baseRss: mb(base.rss),
      rss: mb(live.rss),
      heap: mb(live.heapUsed),
      external: mb(live.external),
      heapTotal: mb(live.heapTotal),
      data: mb(data),
      loadPeak: canReset ? loadPeak : Number.NaN,
      swapPeak: canReset ? swapPeak : Number.NaN,
      twoLiveRss: mb(twoLive.rss),
      reloadedRss: mb(reloaded.rss),
      blockedNs: b.ns,
      unlistedNs: u.ns,
      ruleCount: policy.ruleCount,
      entries,
    }),
  );
}

if (process.argv.includes('--child')) await child(process.argv[process.argv.indexOf('--child') + 1]);
else parent();
