/**
 * What every suite that runs `dist/cli.js` as a child process needs: where the build is, waiting
 * (bounded) for a condition, killing a child for good, and reading /metrics.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI; FRAUDWALL_CLI points the suites at another build (e.g. a patched copy to check a fix). */
export const CLI = process.env['FRAUDWALL_CLI'] ?? fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Throws with the fix when `dist/` has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does it)`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it returns true; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** SIGKILLs `child` (if still running) and waits, at most `waitMs`, for it to be gone. */
export async function killHard(child: ChildProcess, waitMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await Promise.race([gone, sleep(waitMs)]);
}

/** The /metrics text of a server on 127.0.0.1. */
export async function scrape(httpPort: number): Promise<string> {
  // A fresh connection per scrape (no keep-alive) so no HTTP socket outlives the call.
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000), headers: { connection: 'close' } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}
