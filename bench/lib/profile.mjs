// Summary of a V8 .cpuprofile (node --cpu-prof): self time by function and by file.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function summarizeProfile(file, root, top = 20) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const totalUs = profile.endTime - profile.startTime;
  const interval = profile.samples.length > 0 ? totalUs / profile.samples.length : 0;
  const byFunction = new Map();
  const byFile = new Map();
  let idle = 0;
  for (const node of profile.nodes) {
    const self = (node.hitCount ?? 0) * interval;
    if (self === 0) continue;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') idle += self;
    let where = frame.url ? frame.url.replace(/^file:\/\//, '') : '';
    if (where.startsWith(root)) where = path.relative(root, where);
    const key = `${name} ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + self);
    const fileKey = where ? (where.startsWith('node:') ? 'node: internals' : where.includes('node_modules/') ? where.replace(/^.*node_modules\/([^/]+).*$/, 'node_modules/$1') : where) : name.startsWith('(') ? name : '(native/V8)';
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + self);
  }
  const busy = totalUs - idle;
  const rank = (map) =>
    [...map.entries()]
      .filter(([key]) => !key.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => ({ what: key, ms: Math.round(us / 1000), pctOfBusy: busy > 0 ? Math.round((1000 * us) / busy) / 10 : 0 }));
  return { file, seconds: Math.round(totalUs / 1e5) / 10, busySeconds: Math.round(busy / 1e5) / 10, functions: rank(byFunction), files: rank(byFile) };
}

/**
 * Where the event loop stalled: stretches of a .cpuprofile (recorded with a fine
 * --cpu-prof-interval) in which the main thread was busy without a break for more than
 * `thresholdMs`, with the functions that took the time in each (self time). A gap between two
 * samples much longer than the interval means the thread was not running at all (another thread
 * or process had the core): it is reported as "(not scheduled)". `window`: only stretches that overlap
 * it, in µs of the monotonic clock the profile's timestamps use (process.hrtime in any process).
 */
export function findStalls(file, root, thresholdMs = 3, top = 6, window = { fromUs: -Infinity, toUs: Infinity }) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const label = (node) => {
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    let where = frame.url ? frame.url.replace(/^file:\/\//, '') : '';
    if (where.startsWith(root)) where = path.relative(root, where);
    return where ? `${name} ${where}:${frame.lineNumber + 1}` : name;
  };
  const deltas = profile.timeDeltas;
  const sorted = [...deltas].slice(1).sort((a, b) => a - b);
  const interval = sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : 100;
  const stalls = [];
  let current = null;
  let t = profile.startTime;
  const close = () => {
    if (current && (current.end - current.start) / 1000 > thresholdMs && current.end >= window.fromUs && current.start <= window.toUs) stalls.push(current);
    current = null;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = deltas[i] ?? 0;
    t += delta;
    const node = nodes.get(profile.samples[i]);
    const name = node ? label(node) : '?';
    if (name === '(idle)') {
      close();
      continue;
    }
    if (!current) current = { start: t - Math.min(delta, interval), end: t, by: new Map() };
    // A sample taken long after the previous one: the thread was off the core for most of that gap.
    const missing = delta > 3 * interval ? delta - interval : 0;
    const own = delta - missing;
    current.by.set(name, (current.by.get(name) ?? 0) + own);
    if (missing > 0) current.by.set('(not scheduled)', (current.by.get('(not scheduled)') ?? 0) + missing);
    current.end = t;
  }
  close();
  const startedAt = profile.startTime;
  return {
    file,
    intervalUs: interval,
    seconds: Math.round((profile.endTime - profile.startTime) / 1e5) / 10,
    stalls: stalls.map((s) => ({
      atMs: Math.round((s.start - startedAt) / 100) / 10,
      ms: Math.round((s.end - s.start) / 100) / 10,
      top: [...s.by.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([what, us]) => ({ what, ms: Math.round(us / 100) / 10 })),
    })),
  };
}
