import type http from 'node:http';
import { HttpError } from './http-server.js';

/** Reads a request body, refusing (413) more than `maxBytes` without buffering past the limit. */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new HttpError(413, 'E_TOO_LARGE', `request body of ${declared} bytes is over the limit of ${maxBytes}; split the list or raise --admin-max-body-bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.destroy();
      throw new HttpError(413, 'E_TOO_LARGE', `request body is over the limit of ${maxBytes} bytes; split the list or raise --admin-max-body-bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** JSON.parse with a nesting limit checked first, so a deeply nested body cannot exhaust the stack. */
export function parseJsonBody(text: string, maxDepth = 8): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) throw new HttpError(400, 'E_BAD_JSON', `JSON nested deeper than ${maxDepth} levels`);
    } else if (c === 125 || c === 93) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, 'E_BAD_JSON', `body is not valid JSON: ${(error as Error).message}`);
  }
}
