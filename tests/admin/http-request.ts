/**
 * A raw HTTP/1.1 client for the admin unit tests: the path is sent byte for byte (fetch would
 * normalise it and reject some methods), and the answer comes back whole with its headers.
 */
import http from 'node:http';
import { assertLoopback } from '../helpers/loopback.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

export interface RawRequest {
  readonly host?: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Sent with a content-length, unless `chunked` (then as chunks of at most 16 KiB, no length). */
  readonly body?: string | Buffer;
  readonly chunked?: boolean;
}

export function request(options: RawRequest): Promise<RawResponse> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined && !options.chunked) headers['content-length'] = String(body.length);
    const req = http.request({ host, port: options.port, method: options.method, path: options.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined && options.chunked) {
      for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
    } else if (body !== undefined) {
      req.write(body);
    }
    req.end();
  });
}
