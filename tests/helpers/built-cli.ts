/**
 * What every suite that runs `dist/cli.js` as a child process needs: where the build is, the
 * environment a child gets, waiting (bounded) for a condition, and killing a child for good.
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

/** An environment for child processes: PATH only, plus `extra` (nothing from this process leaks in). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', ...extra };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it returns true; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** SIGKILLs `child` (if still running) and waits, at most `waitMs`, for it to be gone. */
export async function killHard(child: ChildProcess, waitMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await Promise.race([gone, sleep(waitMs)]);
}
