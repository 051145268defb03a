#!/usr/bin/env node
// In-process cost of a delta on a big list (no server, no network): what one instance spends per delta.
//
//   npm run build && node bench/delta-cost.mjs [--size 1000000] [--deltas 50]
//
// 1. applies --deltas deltas of 100 domains (every other one also removing 100 listed domains) to a
//    --size list and patches the policy after each, printing the median and worst CPU time of both
//    steps (process.cpuUsage: other load on the machine inflates it far less than wall time), next
//    to a full policy build for comparison;
// 2. saves the list to a state directory as a single JSON text (how lists were written before) and
//    in slices from the packed bytes (StateStore.saveParsedList, how they are written now), printing
//    each one's total time and the longest the event loop was held meanwhile (a 1 ms timer's
//    longest gap, and perf_hooks' monitorEventLoopDelay).
// Prints figures, not pass/fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { parseList } = await import(path.join(DIST, 'policy/parse-list.js'));
const { Policy } = await import(path.join(DIST, 'policy/policy.js'));
const { applyPackedDeltas } = await import(path.join(DIST, 'lists/packed-delta.js'));
const { packedCanonicalText } = await import(path.join(DIST, 'lists/packed-text.js'));
const { StateStore } = await import(path.join(DIST, 'lists/state-store.js'));

const { values } = parseArgs({ options: { size: { type: 'string', default: '1000000' }, deltas: { type: 'string', default: '50' } } });
const SIZE = Number(values.size);
const DELTAS = Number(values.deltas);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => x.toFixed(1);
/** CPU time of this process so far, ms. */
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

console.log(`delta cost, in process: list of ${SIZE.toLocaleString('en')} domains, ${DELTAS} deltas; load average ${load()}`);
const list = parseList(Array.from({ length: SIZE }, (_, i) => `d${i}.fraud-bench.test`).join('\n'), { name: 'big', kind: 'block', category: 'bench' });
let started = cpu();
let policy = new Policy([list], 1);
console.log(`full policy build: ${ms(cpu() - started)} ms CPU`);

const steps = { add: { apply: [], patch: [] }, both: { apply: [], patch: [] } };
let current = list;
for (let d = 0; d < DELTAS; d++) {
  const add = Array.from({ length: 100 }, (_, i) => `delta${d}-${i}.fraud-bench.test`);
  const remove = d % 2 === 1 ? Array.from({ length: 100 }, (_, i) => `d${((d * 100 + i) * 7) % SIZE}.fraud-bench.test`) : [];
  const before = current;
  const live = policy;
  started = cpu();
  current = applyPackedDeltas(before, [{ add, remove }], (bytes, start, end, flags) => live.mayHold(before, bytes, start, end, flags)).list;
  const applied = cpu();
  policy = new Policy([current], d + 2, undefined, policy);
  const kind = remove.length > 0 ? steps.both : steps.add;
  kind.apply.push(applied - started);
  kind.patch.push(cpu() - applied);
  // Each delta in its own task, as in the server (a WeakRef's target stays alive to the end of a task).
  await new Promise((resolve) => setImmediate(resolve));
}
for (const [name, step] of [['+100', steps.add], ['+100 −100', steps.both]]) {
  console.log(
    `delta ${name}: apply median ${ms(median(step.apply))} ms CPU (worst ${ms(Math.max(...step.apply))}), policy patch median ${ms(median(step.patch))} ms CPU (worst ${ms(Math.max(...step.patch))})`,
  );
}

const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-bench-save-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const store = new StateStore(dir);
async function measure(label, save) {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const begin = performance.now();
  await save();
  const total = performance.now() - begin;
  longest = Math.max(longest, performance.now() - last);
  clearInterval(tick);
  histogram.disable();
  console.log(`${label}: ${ms(total)} ms in all, event loop held at most ${ms(longest)} ms (delay histogram max ${ms(histogram.max / 1e6)} ms)`);
}
for (let round = 0; round < 2; round++) {
  await measure('save as one JSON text (before)', () =>
    store.saveList({ name: 'big', kind: 'block', category: 'bench', entries: packedCanonicalText(current).split('\n'), updatedAt: Date.now() }),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await measure('save in slices from the packed bytes (now)', () => store.saveParsedList(current, Date.now()));
  await new Promise((resolve) => setTimeout(resolve, 200));
}
console.log(`load average now ${load()}`);
