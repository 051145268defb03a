import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { BUILT_IN_TEXTS } from '../../src/warning-page/page-texts.js';
import { WarningPageServer, type PageOutcome } from '../../src/warning-page/warning-page-server.js';
import { getWithHost, rawExchange } from './raw-http.js';

const blocking = new Policy([parseList('# category: phishing\nevil.test\n', { name: 'fraud', kind: 'block' })], 1);
const empty = new Policy([], 2);

let server: WarningPageServer;
let live: Policy = blocking;
const outcomes: PageOutcome[] = [];

beforeAll(async () => {
  server = await WarningPageServer.start(
    { host: '127.0.0.1', port: 0, family: 4 },
    {
      texts: () => BUILT_IN_TEXTS,
      hotline: 'tel:96110',
      operator: 'Example Anti-Fraud Centre',
      policy: () => live,
      limits: { headersTimeoutMs: 600, requestTimeoutMs: 1500, idleTimeoutMs: 2000, maxConnectionsPerClient: 8 },
      onRequest: (outcome) => outcomes.push(outcome),
    },
  );
});
afterAll(() => server.close());

describe('WarningPageServer', () => {
  it('answers 403 with exactly the page headers, naming a blocked Host', async () => {
    const res = await rawExchange(server.port, [getWithHost('login.evil.test')]);
    expect(res.status).toBe(403);
    expect(res.headers).toMatchObject({
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'content-type': 'text/html; charset=utf-8',
      'content-language': 'en',
    });
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect(res.body).toContain('<strong class="name">login.evil.test</strong>');
    expect(res.body).toContain('96110');
    expect(outcomes.at(-1)).toBe('named');
  });

  it('serves every path the same page and never reads a file', async () => {
    for (const path of ['/', '/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/shadow', '/index.php?x=<script>', '/a'.repeat(500)]) {
      const res = await rawExchange(server.port, [getWithHost('evil.test', [], path)]);
      expect(res.status, path).toBe(403);
      expect(res.body).toContain('<strong class="name">evil.test</strong>');
      expect(res.text).not.toContain('root:');
      expect(res.text).not.toContain('<script>');
      expect(res.text).not.toContain('etc/');
    }
  });

  it('chooses Chinese by Accept-Language', async () => {
    const res = await rawExchange(server.port, [getWithHost('evil.test', ['Accept-Language: zh-CN,zh;q=0.9,en;q=0.5'])]);
    expect(res.headers['content-language']).toBe('zh-CN');
    expect(res.body).toContain('钓鱼网站');
    expect(res.body).toContain('反诈骗热线');
  });

  it('never reflects a hostile Host: the generic page, with none of its bytes', async () => {
    const hostile = ['<script>alert(1)</script>', 'evil.test"><img src=x onerror=alert(1)>', 'not-blocked.example', '127.0.0.1:80', '[::1]', 'evil.test\u00e9'];
    for (const host of hostile) {
      const res = await rawExchange(server.port, [getWithHost(host)]);
      expect(res.status, host).toBe(403);
      expect(res.body).not.toContain('class="name"');
      expect(res.text).not.toContain(host);
      expect(res.text).not.toContain('onerror');
      expect(outcomes.at(-1)).toBe('generic');
    }
  });

  it('judges by the live policy: a name unblocked a moment ago gets the generic page', async () => {
    live = empty;
    try {
      const res = await rawExchange(server.port, [getWithHost('evil.test')]);
      expect(res.body).not.toContain('evil.test');
    } finally {
      live = blocking;
    }
  });

  it('HEAD gets the headers only; other methods 405 without reading the body', async () => {
    const head = await rawExchange(server.port, ['HEAD / HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n']);
    expect(head.status).toBe(403);
    expect(head.body).toBe('');
    const post = await rawExchange(server.port, ['POST / HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 1000000\r\n\r\nabc']);
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect(post.headers['connection']).toBe('close');
    expect(post.closed).toBe(true);
  });

  it('64 KB of headers: 431, connection closed, the server keeps serving', async () => {
    const big = await rawExchange(server.port, [getWithHost('evil.test', [`X-Big: ${'a'.repeat(64 * 1024)}`])]);
    expect(big.status).toBe(431);
    expect(big.closed).toBe(true);
    expect(big.text).not.toContain('aaaa');
    const many = await rawExchange(server.port, [getWithHost('evil.test', Array.from({ length: 2000 }, (_, i) => `X-${i}: 1`))]);
    expect([403, 431]).toContain(many.status);
    expect((await rawExchange(server.port, [getWithHost('evil.test')])).status).toBe(403);
  });

  it('garbage instead of HTTP: 400, closed, nothing reflected', async () => {
    const res = await rawExchange(server.port, ['<script>alert(1)</script>\r\n\r\n']);
    expect(res.status).toBe(400);
    expect(res.closed).toBe(true);
    expect(res.text).not.toContain('script');
  });

  it('slowloris: a client trickling its headers is cut off at the header deadline, not kept alive by each byte', async () => {
    const started = performance.now();
    const trickle = Array.from({ length: 40 }, (_, i) => (i === 0 ? 'GET / HTTP/1.1\r\nHost: evil.test\r\n' : `X-${i}: 1\r\n`));
    const res = await rawExchange(server.port, trickle, { gapMs: 100, waitMs: 500 });
    const elapsed = performance.now() - started;
    expect(res.closed).toBe(true);
    expect(res.body).not.toContain('evil.test');
    // 40 chunks 100 ms apart would take 4 s; the 600 ms deadline is checked every 600 ms at most.
    expect(elapsed).toBeLessThan(3000);
  });

  it('an idle connection that never sends a byte is closed', async () => {
    const res = await rawExchange(server.port, [], { waitMs: 5000 });
    expect(res.closed).toBe(true);
  });

  it('one client cannot hold more than its share of connections; once they close, it is served again', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 12 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => resolve(socket));
        socket.on('error', () => {});
      })),
    );
    await new Promise((r) => setTimeout(r, 200));
    // The first 8 stay open (idle, within their deadline); the others were closed at once.
    expect(sockets.filter((socket) => socket.destroyed || socket.readyState !== 'open').length).toBe(4);
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await rawExchange(server.port, [getWithHost('evil.test')])).status).toBe(403);
  });

  it('keep-alive: several requests on one connection each get the page', async () => {
    const one = 'GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n';
    const res = await rawExchange(server.port, [one + one + 'GET / HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n']);
    expect(res.text.match(/HTTP\/1\.1 403/g)).toHaveLength(3);
  });
});
