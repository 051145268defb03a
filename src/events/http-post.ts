import http from 'node:http';
import https from 'node:https';

export type PostResult = { readonly status: number } | { readonly error: string };

/** Bytes of the receiver's response body read (and discarded) at most: it only has to say yes or no. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One POST with a hard deadline over node:http/https. Never throws and never follows redirects;
 * the caller decides what a status means. Each attempt opens its own connection (no agent reuse):
 * at most one request is in flight, at most once per batch interval, so keep-alive would save little
 * and a stale pooled socket would cost a spurious failure.
 */
export function postOnce(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PostResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    const timer = setTimeout(() => {
      finish({ error: 'timeout' });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    request.on('response', (response) => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) response.destroy();
      });
      const done = (): void => finish({ status: response.statusCode ?? 0 });
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.end(body);
  });
}

/** What a delivery attempt's result means for the batch. */
export type Outcome = 'delivered' | 'retry' | 'split' | 'unauthorized' | 'gone' | 'rejected';

export function classifyResult(result: PostResult): Outcome {
  if ('error' in result) return 'retry';
  const { status } = result;
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  if (status === 413) return 'split';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 410) return 'gone';
  return 'rejected';
}
