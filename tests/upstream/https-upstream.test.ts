/**
 * HttpsUpstream against an in-process HTTP/2 server (failure injection): session reuse, HTTP
 * errors, wrong answers and timeouts. The real-Unbound path is in tests/e2e/encrypted-upstreams.
 */
import http2 from 'node:http2';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpsUpstream } from '../../src/upstream/https-upstream.js';
import { UpstreamError } from '../../src/upstream/upstream-error.js';
import { buildQuery } from '../helpers/dns-client.js';
import { requireTool } from '../helpers/require-tool.js';
import { createTestCa, type TestCa } from '../helpers/test-certificates.js';

type Behaviour = 'answer' | 'http-500' | 'wrong-question' | 'silent';

describe.skipIf(!requireTool('openssl', 'openssl'))('HttpsUpstream', () => {
  let ca: TestCa;
  let caPem: Buffer;
  let server: http2.Http2SecureServer;
  let port: number;
  let behaviour: Behaviour = 'answer';
  let sessions = 0;
  const paths: string[] = [];

  beforeAll(async () => {
    ca = await createTestCa();
    const leaf = await ca.issue('doh');
    caPem = await readFile(ca.caFile);
    server = http2.createSecureServer({ cert: await readFile(leaf.certFile), key: await readFile(leaf.keyFile) });
    server.on('session', () => sessions++);
    server.on('stream', (stream, headers) => {
      paths.push(String(headers[':path']));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const query = Buffer.concat(chunks);
        if (behaviour === 'silent') return;
        if (behaviour === 'http-500') {
          stream.respond({ ':status': 500 });
          stream.end();
          return;
        }
        const answer = behaviour === 'wrong-question' ? buildQuery('other.example', 'A') : Buffer.from(query);
        answer[2] = answer[2]! | 0x80; // QR
        stream.respond({ ':status': 200, 'content-type': 'application/dns-message' });
        stream.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await ca.remove();
  });

  const upstream = () => new HttpsUpstream({ label: 'test', host: '127.0.0.1', port, path: '/dns-query', serverName: 'dns.test', ca: caPem });
  const query = (name: string) => {
    const message = buildQuery(name, 'A', { id: 4242 });
    return { message, questionEnd: message.length };
  };
  const failureOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: unknown) => (error instanceof UpstreamError ? error.reason : String(error)));

  it('sends concurrent queries as streams of one HTTP/2 session, with ID 0 (RFC 8484 §4.1)', async () => {
    behaviour = 'answer';
    const client = upstream();
    const before = sessions;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const { message, questionEnd } = query(`n${i}.example.test`);
        return client.query(message, questionEnd, 3000);
      }),
    );
    expect(answers).toHaveLength(40);
    expect(answers.every((answer) => answer.readUInt16BE(0) === 0)).toBe(true);
    expect(sessions - before).toBe(1);
    expect(client.stats.opened).toBe(1);
    expect(paths.at(-1)).toBe('/dns-query');
    client.close();
  });

  it('reports HTTP errors, wrong answers and silence with their own reasons', async () => {
    const client = upstream();
    behaviour = 'http-500';
    let q = query('a.example.test');
    expect(await failureOf(client.query(q.message, q.questionEnd, 2000))).toBe('http');
    behaviour = 'wrong-question';
    q = query('b.example.test');
    expect(await failureOf(client.query(q.message, q.questionEnd, 2000))).toBe('mismatch');
    behaviour = 'silent';
    q = query('c.example.test');
    expect(await failureOf(client.query(q.message, q.questionEnd, 200))).toBe('timeout');
    client.close();
  });

  it('opens a new session after the server closed the old one', async () => {
    behaviour = 'answer';
    const client = upstream();
    let q = query('d.example.test');
    await client.query(q.message, q.questionEnd, 2000);
    // Close every server-side session (a restart, an idle timeout on the server).
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      setTimeout(resolve, 200);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    q = query('e.example.test');
    let outcome = await failureOf(client.query(q.message, q.questionEnd, 2000));
    // The first query may meet the dying session; the next one gets a fresh session.
    if (outcome !== 'resolved') outcome = await failureOf(client.query(query('f.example.test').message, query('f.example.test').questionEnd, 2000));
    expect(outcome).toBe('resolved');
    expect(client.stats.opened).toBe(2);
    client.close();
  });
});
