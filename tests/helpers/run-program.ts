/**
 * Running a program to completion (dig, promtool, the Docker HEALTHCHECK, `fraudwall` client commands)
 * without blocking this process's event loop, so that in-process servers keep answering meanwhile.
 */
import { spawn } from 'node:child_process';

export interface ProgramResult {
  /** The exit code; null when the program ended by a signal (e.g. the timeout's SIGKILL). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, in the order they arrived. */
  readonly output: string;
}

export interface RunOptions {
  /** The program's whole environment; default this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is not connected. */
  readonly input?: string;
  /** SIGKILL after this long; default 15 s. */
  readonly timeoutMs?: number;
}

/** Runs `bin ARGS` and resolves once it has exited and its output is read; rejects only when it cannot start. */
export function runProgram(bin: string, args: readonly string[], options: RunOptions = {}): Promise<ProgramResult> {
  const child = spawn(bin, args, { env: options.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  if (options.input !== undefined) {
    child.stdin!.on('error', () => undefined); // the program may exit before reading all of stdin
    child.stdin!.end(options.input);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output });
    });
  });
}
