import { readFile } from 'node:fs/promises';
import { FraudwallError } from '../errors.js';

/** What a script gets back from the admin API: the HTTP status and the parsed JSON body. */
export interface AdminResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class AdminClientError extends FraudwallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_ADMIN_UNREACHABLE', message, options);
  }
}

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly timeoutMs?: number;
}

/** Token for the client commands: --token-file, else FRAUDWALL_ADMIN_TOKEN. */
export async function clientToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (tokenFile !== undefined) return (await readFile(tokenFile, 'utf8')).trim();
  return env['FRAUDWALL_ADMIN_TOKEN']?.trim() || undefined;
}

/** A minimal client of the /v1 admin API for the `push`, `lists`, `explain`, `delete` and `reload` commands. */
export async function adminRequest(
  options: AdminClientOptions,
  method: string,
  path: string,
  body?: { contentType: string; data: string | Buffer },
): Promise<AdminResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (body) headers['content-type'] = body.contentType;
  let response: Response;
  try {
    response = await fetch(new URL(path, options.url), {
      method,
      headers,
      body: body?.data,
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new AdminClientError(`cannot reach fraudwall at ${options.url} (${cause}); is it running, and is --url its --http address?`);
  }
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { error: { message: text.trim() } };
  }
  return { status: response.status, body: parsed };
}
