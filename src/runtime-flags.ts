// How the fraudwall process is launched and tuned (issue #16; measured with bench/memory-probe.mjs,
// README "Performance" and bench/README.md "Node flags"). The one list: package.json `start`,
// docker/Dockerfile, the systemd unit, the CLI's shebang and the benchmark's FW_NODE_FLAGS carry
// exactly these (tests/deploy/launch-flags.test.ts checks each of them against this file).
import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags that only work on the command line (read when the heap is set up): a young generation
 * of 2 MB semi-spaces. Node 24 would grow it to 16 MB semi-spaces under a cold run's allocation
 * rate, and every page it ever had stays resident.
 */
export const NODE_LAUNCH_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/**
 * Environment of the launch: glibc malloc with at most two arenas. Without it each thread that
 * allocates (V8's GC and compiler workers, libuv's pool) gets an arena of its own, a few MB each
 * that are never given back (measured: 27 MB of them at the peak of a cold run, 6.6 MB with two).
 */
export const LAUNCH_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * V8 flags that take effect after start, so the CLI applies them itself and every launch gets them
 * (`node dist/cli.js` as well as `npm start`). The old generation may grow by 40 % of what was live
 * after the last full collection before the next one starts, instead of up to 4x: a forwarded
 * query that waits for its upstream across two young-generation collections is promoted, so a cold
 * run fills the old generation with garbage, and V8 keeps every page it once used in its page
 * pool, resident. With the cap the heap stayed under 45 MB instead of 110 MB through the bench's
 * closed-loop cold run, at the price of more (short) full collections.
 */
export const RUNTIME_V8_FLAGS: readonly string[] = ['--heap-growing-percent=40'];

/** The name part of a flag: `--heap-growing-percent=40` → `--heap-growing-percent`. */
function flagName(flag: string): string {
  const eq = flag.indexOf('=');
  return (eq < 0 ? flag : flag.slice(0, eq)).replaceAll('_', '-');
}

/**
 * Applies RUNTIME_V8_FLAGS, except those the operator set on node's command line or in
 * NODE_OPTIONS (their choice wins). Returns the flags applied.
 */
export function applyRuntimeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((arg) => arg.startsWith('--')).map(flagName));
  const applied: string[] = [];
  for (const flag of RUNTIME_V8_FLAGS) {
    if (given.has(flagName(flag))) continue;
    setFlagsFromString(flag);
    applied.push(flag);
  }
  return applied;
}
