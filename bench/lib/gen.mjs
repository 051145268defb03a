// Synthetic data: blocklists of N random domains in fraudwall's, Unbound's and dnsmasq's formats,
// and dnsperf query files (warm: blocked + a small repeated clean set; cold: unique clean names).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { prng, randomLabel } from './util.mjs';

export const TLDS = ['com', 'net', 'org', 'info', 'biz', 'xyz', 'top', 'site', 'online', 'shop', 'club', 'ru', 'cn', 'io', 'co', 'me', 'tk', 'ml', 'ga', 'cf'];
export const ZONE = 'bench.test';
const FORMAT_VERSION = 2;
/** Distinct clean names in the warm mix: after the first round they are all in the response cache. */
export const WARM_CLEAN_NAMES = 1000;
/** Blocked names drawn (with replacement) for the warm pool. */
const BLOCKED_SAMPLE = 200_000;

/** Writes text in chunks (10M-line files do not fit one string comfortably). */
class ChunkWriter {
  constructor(file) {
    this.fd = openSync(file, 'w');
    this.parts = [];
    this.size = 0;
  }
  write(text) {
    this.parts.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush() {
    if (this.parts.length > 0) writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
  }
}

/**
 * Makes (or reuses, when already made with the same parameters) the lists for size n:
 *   .bench/lists-N/blocked.txt          fraudwall: one domain a line, `# category: fraud`
 *   .bench/data-N/unbound-blocked.conf  local-zone: "d." always_nxdomain
 *   .bench/data-N/dnsmasq-blocked.conf  local=/d/   (NXDOMAIN for d and its subdomains)
 *   .bench/data-N/blocked-sample.txt    names drawn from the list for the warm query mix
 */
export function ensureLists(benchDir, n, log) {
  const listsDir = path.join(benchDir, `lists-${n}`);
  const dataDir = path.join(benchDir, `data-${n}`);
  const metaFile = path.join(dataDir, 'meta.json');
  const seed = 0x5eed ^ n;
  const files = {
    listsDir,
    fraudwall: path.join(listsDir, 'blocked.txt'),
    unbound: path.join(dataDir, 'unbound-blocked.conf'),
    dnsmasq: path.join(dataDir, 'dnsmasq-blocked.conf'),
    sample: path.join(dataDir, 'blocked-sample.txt'),
  };
  const wanted = { n, seed, version: FORMAT_VERSION, tlds: TLDS.length };
  let meta = null;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch {
    // not made yet
  }
  const fresh = meta && meta.n === n && meta.seed === seed && meta.version === FORMAT_VERSION && Object.values(files).every((f) => existsSync(f));
  if (!fresh) {
    const started = performance.now();
    mkdirSync(listsDir, { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const rand = prng(seed);
    const fw = new ChunkWriter(files.fraudwall);
    const ub = new ChunkWriter(files.unbound);
    const dm = new ChunkWriter(files.dnsmasq);
    fw.write(`# fraudwall benchmark: ${n} synthetic blocked domains (seed ${seed}); made by bench/run.mjs, not real data\n# category: fraud\n`);
    ub.write(`# ${n} synthetic blocked domains for the Unbound peer (include inside server:)\n`);
    dm.write(`# ${n} synthetic blocked domains for the dnsmasq peer\n`);
    // Sample indices drawn up front so the list is streamed without being kept in memory.
    const sampleRand = prng(seed ^ 0xabcdef);
    const picks = new Map(); // index -> how many times drawn
    for (let i = 0; i < BLOCKED_SAMPLE; i++) {
      const index = Math.floor(sampleRand() * n);
      picks.set(index, (picks.get(index) ?? 0) + 1);
    }
    const sample = [];
    let last = '';
    let fwChunk = '';
    let ubChunk = '';
    let dmChunk = '';
    for (let i = 0; i < n; i++) {
      // Collisions are negligible: >= 36^8 labels per TLD (expected duplicates at 10M: ~0.02).
      const domain = `${randomLabel(rand, 8, 14)}.${TLDS[Math.floor(rand() * TLDS.length)]}`;
      fwChunk += `${domain}\n`;
      ubChunk += `local-zone: "${domain}." always_nxdomain\n`;
      dmChunk += `local=/${domain}/\n`;
      const drawn = picks.get(i);
      if (drawn !== undefined) for (let k = 0; k < drawn; k++) sample.push(domain);
      last = domain;
      if ((i & 8191) === 8191) {
        fw.write(fwChunk);
        ub.write(ubChunk);
        dm.write(dmChunk);
        fwChunk = ubChunk = dmChunk = '';
      }
    }
    fw.write(fwChunk);
    ub.write(ubChunk);
    dm.write(dmChunk);
    fw.close();
    ub.close();
    dm.close();
    // Shuffle the sample (it was collected in list order).
    const shuffle = prng(seed ^ 0x1234);
    for (let i = sample.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [sample[i], sample[j]] = [sample[j], sample[i]];
    }
    writeFileSync(files.sample, `${sample.join('\n')}\n`);
    writeFileSync(metaFile, JSON.stringify({ ...wanted, last }, null, 2));
    meta = { ...wanted, last };
    log(`  generated ${n.toLocaleString('en')} domains (3 formats) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } else {
    log(`  reusing ${n.toLocaleString('en')}-domain lists in ${path.relative(process.cwd(), listsDir)} and ${path.relative(process.cwd(), dataDir)}`);
  }
  const blockedSample = readFileSync(files.sample, 'utf8').split('\n').filter(Boolean);
  return { ...files, lastBlocked: meta.last, blockedSample };
}

/** The fixed clean names of the warm mix. */
export function warmCleanNames() {
  const rand = prng(0xc1ea);
  return Array.from({ length: WARM_CLEAN_NAMES }, (_, i) => `w${i}-${randomLabel(rand, 6, 10)}.${ZONE}`);
}

/** Warm pool: 1/3 blocked (drawn from the list), 2/3 the repeated clean names; shuffled. */
export function warmPool(blockedSample, cleanNames, seed = 7) {
  const rand = prng(seed);
  const pool = [];
  for (const blocked of blockedSample) {
    pool.push(blocked);
    pool.push(cleanNames[Math.floor(rand() * cleanNames.length)]);
    pool.push(cleanNames[Math.floor(rand() * cleanNames.length)]);
  }
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool;
}

/** A dnsperf input file of `lines` A queries, the i-th for `nameAt(i)` (ChunkWriter batches the writes). */
function writeQueries(file, lines, nameAt) {
  const writer = new ChunkWriter(file);
  for (let i = 0; i < lines; i++) writer.write(`${nameAt(i)} A\n`);
  writer.close();
  return file;
}

/** A dnsperf input file of exactly `lines` queries taken round-robin from `pool` starting at `offset`. */
export function writeFromPool(file, pool, lines, offset = 0) {
  return writeQueries(file, lines, (i) => pool[(offset + i) % pool.length]);
}

let coldSerial = 0;
/** A dnsperf input file of `lines` unique names under the zone: never seen before by any server. */
export function writeCold(file, lines) {
  const rand = prng((Date.now() ^ (process.pid << 8) ^ (++coldSerial * 0x9e3779b1)) >>> 0);
  const tag = `${(coldSerial % 1296).toString(36).padStart(2, '0')}`;
  return writeQueries(file, lines, () => `c${tag}${randomLabel(rand, 10, 14)}.${ZONE}`);
}
