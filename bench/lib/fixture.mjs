// What the single-server benches (memory-probe, stalls, workers-cost) set up before starting
// fraudwall: this harness pinned to the load core, a fresh run directory under .bench/, the list
// files for N domains, the warm query pool, and the upstream (stopped on exit or Ctrl-C).
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureLists, warmCleanNames, warmPool } from './gen.mjs';
import { startUpstream, LOAD_CORE } from './servers.mjs';
import { installCleanupHooks, pinSelf } from './util.mjs';

/** Returns { runDir, lists, clean, pool, upstream }; `runName` names the directory .bench/<runName>. */
export async function benchFixture(benchDir, runName, n, log) {
  let upstream = null;
  installCleanupHooks(() => upstream?.stop());
  pinSelf(LOAD_CORE);
  const runDir = path.join(benchDir, runName);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const lists = ensureLists(benchDir, n, log);
  const clean = warmCleanNames();
  const pool = warmPool(lists.blockedSample, clean);
  upstream = await startUpstream(runDir);
  return { runDir, lists, clean, pool, upstream };
}
