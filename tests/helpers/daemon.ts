/**
 * A third-party server (Unbound, Prometheus) as a child process in a throw-away directory: started on
 * a free port of 127.0.0.1, ready once its own probe says so, started again when another process took
 * the port between freePort() and its bind, stopped with SIGTERM (SIGKILL after 3 s) and its directory
 * removed. Whatever still runs when this process exits is SIGKILLed. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './built-cli.js';
import { freePort } from './ports.js';

export interface DaemonSpec {
  /** Names the daemon in error messages and its directory. */
  readonly name: string;
  /** The executable (see findTool). */
  readonly bin: string;
  /** Writes what the daemon needs into `dir` for `port`; returns its command-line arguments. */
  configure(dir: string, port: number): Promise<readonly string[]>;
  /** True once the daemon serves; throwing counts as not yet. */
  ready(port: number): Promise<boolean>;
  readonly readyTimeoutMs: number;
  readonly pollMs: number;
  /** Output saying that the port was taken meanwhile: worth another start (three in all). */
  readonly portTaken: RegExp;
}

export interface Daemon {
  readonly port: number;
  /** The daemon's directory (its working directory), removed by stop(). */
  readonly dir: string;
  /** stdout and stderr so far, the last 20,000 characters. */
  output(): string;
  /** How it ended ("code 1, signal null", "spawn error: …"); null while it runs. */
  exited(): string | null;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  installExitHook();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), `fraudwall-${spec.name}-`));
    try {
      return await startOnce(spec, dir);
    } catch (error) {
      lastError = error as Error;
      await rm(dir, { recursive: true, force: true });
      if (!spec.portTaken.test(lastError.message)) break;
    }
  }
  throw lastError ?? new Error(`starting ${spec.name} failed`);
}

async function startOnce(spec: DaemonSpec, dir: string): Promise<Daemon> {
  const port = await freePort();
  const args = await spec.configure(dir, port);
  const child = spawn(spec.bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    // Bounded: only the tail matters for a failure message.
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `code ${code}, signal ${signal}`;
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exited = `spawn error: ${error.message}`;
      running.delete(child);
      resolve();
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = performance.now() + spec.readyTimeoutMs;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`${spec.name} exited early (${exited as string}):\n${output}`);
    }
    if (await spec.ready(port).catch(() => false)) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} did not become ready on 127.0.0.1:${port} within ${spec.readyTimeoutMs} ms:\n${output}`);
    }
    await sleep(spec.pollMs);
  }
  return { port, dir, output: () => output, exited: () => exited, stop };
}
