/**
 * Shared helpers of the live-update e2e suites: the admin API over HTTP, `dist/cli.js` as a child
 * process (server and client commands), polling, and Prometheus samples. Everything talks to
 * 127.0.0.1 only, and every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, killHard as killChild, waitFor as pollUntil } from '../helpers/built-cli.js';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import type { DecodedMessage } from '../helpers/dns-client.js';

export { CLI, requireBuiltCli, scrape, sleep } from '../helpers/built-cli.js';

export interface AdminReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly ms: number;
}

export interface AdminRequestOptions {
  readonly token?: string | undefined;
  /** A string is sent as text/plain unless `contentType` says otherwise; anything else as JSON. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

/** One admin API request to 127.0.0.1:`httpPort`; resolves with status, parsed JSON body and duration. */
export async function admin(httpPort: number, method: string, path: string, options: AdminRequestOptions = {}): Promise<AdminReply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let data: string | undefined;
  if (options.body !== undefined) {
    const isText = typeof options.body === 'string';
    data = isText ? (options.body as string) : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json');
  }
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
    method,
    headers,
    body: data,
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body, ms };
}

export interface ListInfoJson {
  readonly name: string;
  readonly kind: string;
  readonly category: string;
  readonly entries: number;
  readonly source: string;
  readonly generation: number;
}

/** GET /v1/lists, asserting 200. */
export async function listLists(httpPort: number, token: string): Promise<{ generation: number; lists: ListInfoJson[] }> {
  const reply = await admin(httpPort, 'GET', '/v1/lists', { token });
  if (reply.status !== 200) throw new Error(`GET /v1/lists answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body as unknown as { generation: number; lists: ListInfoJson[] };
}

/** Polls `check` every `intervalMs` until it returns true; false when `timeoutMs` passed first. */
export function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  return pollUntil(check, timeoutMs, intervalMs);
}

/** A UDP A query for `name`; the decoded reply (rejects on timeout). */
export async function queryA(port: number, name: string, timeoutMs = 2000): Promise<DecodedMessage> {
  return decode(await udpQuery(port, buildQuery(name, 'A'), { timeoutMs }));
}

/** True when `name` is answered NXDOMAIN (the default block answer). */
export async function isBlocked(port: number, name: string): Promise<boolean> {
  return (await queryA(port, name)).rcode === 3;
}

/** The value of one series in Prometheus text format (0 when absent). */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** An environment for child processes: PATH only, plus `extra` (nothing from this process leaks in). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', ...extra };
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** stderr lines so far (JSON log lines); keeps growing while the process runs. */
  readonly logs: string[];
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node dist/cli.js serve ARGS` and waits (bounded) for its "fraudwall ready" log line. The
 * child is registered in `children` so an afterEach can SIGKILL whatever is left.
 */
export function spawnServe(args: readonly string[], env: Record<string, string>, children: ChildProcess[], readyTimeoutMs = 15_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    let buffered = '';
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`fraudwall serve not ready in ${readyTimeoutMs} ms:\n${logs.join('\n')}`)), readyTimeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        if (ready) continue;
        let entry: { msg?: string; dns?: string[]; http?: string };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue; // e.g. the one-line "fraudwall: ..." fatal message
        }
        if (entry.msg === 'fraudwall ready') {
          ready = true;
          clearTimeout(timer);
          resolve({
            child,
            dnsPort: Number(entry.dns![0]!.split(':').pop()),
            httpPort: Number(entry.http!.split(':').pop()),
            logs,
            exited,
          });
        }
      }
    });
    void exited.then(({ code, signal }) => {
      if (ready) return;
      clearTimeout(timer);
      if (buffered !== '') logs.push(buffered);
      reject(new Error(`fraudwall serve exited (${code ?? signal}) before ready:\n${logs.join('\n')}`));
    });
  });
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node dist/cli.js ARGS` to completion without blocking this process's event loop (in-process
 * servers keep answering). Killed with SIGKILL after `timeoutMs`.
 */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined); // the command may exit before reading stdin
  child.stdin!.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr: signal === null ? stderr : `${stderr}\n[killed by ${signal} after ${timeoutMs} ms]` });
    });
  });
}

/** SIGKILLs `child` (if still running) and waits, bounded, for it to be gone. */
export function killHard(child: ChildProcess, waitMs = 5000): Promise<void> {
  return killChild(child, waitMs);
}
