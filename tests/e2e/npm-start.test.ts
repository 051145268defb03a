/**
 * `npm start` as a supervisor or a terminal uses it (issue #17): SIGTERM to npm stops fraudwall
 * too (no orphaned node still serving), and the start needs TypeScript only to build: with a
 * prebuilt dist/ and `npm ci --omit=dev` (no tsc) it starts without building.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childEnv, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The parent pid of `pid`, from /proc. */
const parentOf = (pid: number): number => Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('npm start', () => {
  it('SIGTERM to npm reaches fraudwall: node is npm\'s own child (exec) and is gone after npm', async () => {
    requireBuiltCli();
    // --ignore-scripts skips prestart (the build, done already by `npm test`), not start itself.
    const npm = spawn('npm', ['start', '--ignore-scripts', '--', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--upstream', '127.0.0.1:9'], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      expect(await waitFor(() => stderr.includes('"fraudwall ready"'), 20_000), stderr).toBe(true);
      const pid = Number(/"msg":"fraudwall ready".*"pid":(\d+)/.exec(stderr)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(parentOf(pid), 'no shell between npm and node').toBe(npm.pid);
      npm.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      expect(await waitFor(() => !alive(pid), 6000), `node ${pid} still runs after npm got SIGTERM`).toBe(true);
      expect(stderr).toContain('SIGTERM: shutting down');
    } finally {
      npm.kill('SIGKILL');
    }
  });

  describe('prestart', () => {
    it('starts from a prebuilt dist/ without TypeScript (npm ci --omit=dev), and says what to do without either', async () => {
      const withDist = mkdtempSync(path.join(tmpdir(), 'fraudwall-prestart-'));
      const without = mkdtempSync(path.join(tmpdir(), 'fraudwall-prestart-'));
      try {
        mkdirSync(path.join(withDist, 'dist'));
        writeFileSync(path.join(withDist, 'dist', 'cli.js'), '');
        const prebuilt = await runIn(withDist);
        expect(prebuilt).toEqual({ code: 0, output: '' });
        const nothing = await runIn(without);
        expect(nothing.code).toBe(1);
        expect(nothing.output).toContain('fraudwall: dist/ is missing and TypeScript is not installed');
      } finally {
        for (const dir of [withDist, without]) rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** Runs the prestart script in `dir` (spawned there, as npm would in the package directory). */
function runIn(dir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', scripts['prestart']!], { cwd: dir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}
