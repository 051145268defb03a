/**
 * `fraudwall serve` from the build, as a child process: the one harness of every suite that needs a
 * real process (a crash, a signal, an RSS reading or a cluster worker is visible only there). It runs
 * `node NODE_ARGS dist/cli.js serve ARGS` with PATH and the given environment only, keeps the stderr
 * log lines and the tail of stdout, and resolves once the "fraudwall ready" line names the DNS and
 * HTTP ports. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, childEnv, killHard, sleep } from './built-cli.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** DNS and HTTP on 127.0.0.1, ports picked by the kernel (the ready line tells them). */
export const LOOPBACK_SERVE_ARGS: readonly string[] = ['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'];

export interface ServeOptions {
  /** Environment besides PATH; nothing else of this process leaks in. */
  readonly env?: Record<string, string>;
  /** Node.js flags before the CLI path, e.g. ['--trace-gc'] (V8 writes those lines to stdout). */
  readonly nodeArgs?: readonly string[];
  /** The child is pushed here at once, so that an afterEach can SIGKILL whatever is left. */
  readonly children?: ChildProcess[];
  /** How long to wait for the ready line; default 15 s. */
  readonly readyTimeoutMs?: number;
}

export interface ServedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The port of the first DNS listener of the ready line. */
  readonly dnsPort: number;
  readonly httpPort: number;
  /** stderr lines (JSON log lines, or a plain one-line fatal message), the first 10,000; growing while it runs. */
  readonly logs: string[];
  /** stdout lines, the last 2,000. */
  readonly stdout: string[];
  /** Resolves once the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** How the process exited; undefined while it runs. */
  readonly exit: ExitStatus | undefined;
  /** The stderr lines that are JSON, parsed. */
  logEntries(): Record<string, unknown>[];
  /** Sends SIGTERM; resolves with the exit, or 'timeout' when the process still runs after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<ExitStatus | 'timeout'>;
  /** SIGKILLs the process (if still running) and waits, at most `waitMs` (default 5 s), for it to be gone. */
  kill(waitMs?: number): Promise<void>;
}

const MAX_LOG_LINES = 10_000;
const MAX_STDOUT_LINES = 2000;

/** Calls `onLine` with each complete line of `stream`, and with the unterminated rest when it ends. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
    rest = '';
  });
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // e.g. the one-line "fraudwall: ..." fatal message
  }
}

/**
 * Starts `fraudwall serve ARGS` and waits (bounded) for its "fraudwall ready" log line. Rejects,
 * with the log so far, when the process exits first or is not ready in time (it is then SIGKILLed).
 */
export function spawnServe(args: readonly string[], options: ServeOptions = {}): Promise<ServedProcess> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, 'serve', ...args], {
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.children?.push(child);
  const logs: string[] = [];
  const stdout: string[] = [];
  let exit: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  // stderr is read to its end (a fatal message may come after 'exit'), bounded in case a worker holds it open.
  const stderrEnded = new Promise<void>((resolve) => child.stderr!.once('close', () => resolve()));
  eachLine(child.stdout!, (line) => {
    stdout.push(line);
    if (stdout.length > MAX_STDOUT_LINES) stdout.splice(0, stdout.length - MAX_STDOUT_LINES);
  });

  return new Promise((resolve, reject) => {
    let served: ServedProcess | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fraudwall serve not ready in ${readyTimeoutMs} ms:\n${logs.join('\n')}`));
    }, readyTimeoutMs);
    eachLine(child.stderr!, (line) => {
      if (logs.length < MAX_LOG_LINES) logs.push(line);
      if (served !== undefined) return;
      const entry = parseJson(line) as { msg?: string; dns?: string[]; http?: string } | undefined;
      if (entry?.msg !== 'fraudwall ready') return;
      clearTimeout(timer);
      served = {
        child,
        pid: child.pid!,
        dnsPort: Number(entry.dns![0]!.split(':').pop()),
        httpPort: Number(entry.http!.split(':').pop()),
        logs,
        stdout,
        exited,
        get exit() {
          return exit;
        },
        logEntries: () => logs.map(parseJson).filter((e): e is Record<string, unknown> => e !== undefined),
        stop: async (timeoutMs = 10_000) => {
          child.kill('SIGTERM');
          return Promise.race([exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
        },
        kill: (waitMs = 5000) => killHard(child, waitMs),
      };
      resolve(served);
    });
    void exited.then(async ({ code, signal }) => {
      if (served !== undefined) return;
      await Promise.race([stderrEnded, sleep(1000)]);
      if (served !== undefined) return;
      clearTimeout(timer);
      reject(new Error(`fraudwall serve exited (${code ?? signal}) before ready:\n${logs.join('\n')}`));
    });
  });
}
