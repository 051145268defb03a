import type http from 'node:http';
import { HttpError } from './http-server.js';

/** 413 with what to do; the connection closes after the answer, since the rest of the body is not read. */
function tooLarge(what: string): HttpError {
  return new HttpError(413, 'E_TOO_LARGE', `${what}; split the list or raise --admin-max-body-bytes`, undefined, { connection: 'close' });
}

/** Reads a request body, refusing (413) more than `maxBytes` without buffering past the limit. */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge(`request body of ${declared} bytes is over the limit of ${maxBytes}`);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      // Stop reading and drop what was kept, but leave the socket open so the 413 reaches the
      // client (destroying the request would close it before any answer); the connection closes
      // after the answer.
      chunks.length = 0;
      req.off('data', onData);
      req.pause();
      reject(tooLarge(`request body is over the limit of ${maxBytes} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= maxBytes) resolve(Buffer.concat(chunks, size).toString('utf8'));
    });
    req.once('error', reject);
  });
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
