import http from 'node:http';
import { AdminClientError, type AdminClientOptions } from './admin-client.js';

/**
 * `fraudwall events tail`: streams GET /v1/events/tail to `out`, one CloudEvent JSON per line,
 * until the server closes the stream. Resolves with the HTTP status, and the error body when it is not 200.
 */
export function tailEvents(options: AdminClientOptions, out: NodeJS.WritableStream): Promise<{ status: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/x-ndjson' };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const request = http.get(new URL('/v1/events/tail', options.url), { headers }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          let message = body.trim();
          try {
            message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? message;
          } catch {
            // not JSON: print as is
          }
          resolve({ status, error: message });
        });
        return;
      }
      response.pipe(out, { end: false });
      response.on('end', () => resolve({ status }));
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(new AdminClientError(`cannot reach fraudwall at ${options.url} (${error.code ?? error.message}); is it running, and is --url its --http address?`)),
    );
  });
}
