/**
 * Raw HTTP over a TCP socket for the warning-page tests: hostile Host values, oversized headers
 * and slow clients need bytes no HTTP client library would send.
 */
import net from 'node:net';
import { assertLoopback } from '../helpers/loopback.js';

export interface RawExchange {
  /** Everything the server sent before it closed (or before the wait ended). */
  readonly text: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** True when the server closed the connection. */
  readonly closed: boolean;
}

export function parseResponse(text: string, closed: boolean): RawExchange {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { text, status: Number(statusLine.split(' ')[1] ?? 0), headers, body: split < 0 ? '' : text.slice(split + 4), closed };
}

/**
 * Sends `chunks` (with `gapMs` between them) and collects the answer until the server closes the
 * connection or `waitMs` passes after the last chunk.
 */
export function rawExchange(port: number, chunks: (string | Buffer)[], options: { host?: string; gapMs?: number; waitMs?: number } = {}): Promise<RawExchange> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(received).toString('utf8'), closed));
    };
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answer still counts as closed by the server.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
      else reject(error);
    });
    socket.on('connect', async () => {
      for (let i = 0; i < chunks.length && !socket.destroyed; i++) {
        if (i > 0 && options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
        if (!socket.destroyed) socket.write(chunks[i]!);
      }
      timer = setTimeout(() => finish(false), options.waitMs ?? 2000);
    });
  });
}

/** A GET with the given Host (sent byte for byte) and extra header lines. */
export function getWithHost(host: string, extra: string[] = [], path = '/'): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...extra, 'Connection: close', '', ''].join('\r\n');
}
