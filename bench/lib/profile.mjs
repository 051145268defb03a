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
