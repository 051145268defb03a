/**
 * Shared helpers of the live-update e2e suites: the admin API over HTTP, the client commands of
 * `dist/cli.js`, and DNS checks. Everything talks to 127.0.0.1 only, and every wait is bounded.
 */
import { CLI, childEnv } from '../helpers/built-cli.js';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import type { DecodedMessage } from '../helpers/dns-client.js';
import { runProgram } from '../helpers/run-program.js';

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

/** A UDP A query for `name`; the decoded reply (rejects on timeout). */
export async function queryA(port: number, name: string, timeoutMs = 2000): Promise<DecodedMessage> {
  return decode(await udpQuery(port, buildQuery(name, 'A'), { timeoutMs }));
}

/** True when `name` is answered NXDOMAIN (the default block answer). */
export async function isBlocked(port: number, name: string): Promise<boolean> {
  return (await queryA(port, name)).rcode === 3;
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
export async function runCli(args: readonly string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const { code, signal, stdout, stderr } = await runProgram(process.execPath, [CLI, ...args], { env: childEnv(options.env), input: options.input ?? '', timeoutMs });
  return { status: code, stdout, stderr: signal === null ? stderr : `${stderr}\n[killed by ${signal} after ${timeoutMs} ms]` };
}
