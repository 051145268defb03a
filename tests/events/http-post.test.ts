import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postOnce } from '../../src/events/http-post.js';

let server: http.Server | undefined;
afterEach(async () => {
  const open = server;
  server = undefined;
  if (open === undefined) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
});

async function serve(handler: http.RequestListener): Promise<URL> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
}

describe('postOnce (a real HTTP server on 127.0.0.1)', () => {
  it('sends the body with its Content-Length and the given headers, and returns the status', async () => {
    let seen: { length?: string; type?: string; body?: string } = {};
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { length: req.headers['content-length'], type: req.headers['content-type'], body };
        res.writeHead(202).end('ok');
      });
    });
    const result = await postOnce(url, { 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[1,2]'), 2000);
    expect(result).toEqual({ status: 202 });
    expect(seen).toEqual({ length: '5', type: 'application/cloudevents-batch+json', body: '[1,2]' });
  });

  it('gives up on a receiver that never answers, within the timeout', async () => {
    const url = await serve(() => {});
    const started = performance.now();
    expect(await postOnce(url, {}, Buffer.from('[]'), 300)).toEqual({ error: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('does not follow a redirect and does not read an endless body', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/hook') {
        res.writeHead(307, { location: '/elsewhere' }).end();
        return;
      }
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
    });
    expect(await postOnce(url, {}, Buffer.from('[]'), 2000)).toEqual({ status: 307 });
    expect(await postOnce(new URL('/endless', url), {}, Buffer.from('[]'), 2000)).toEqual({ status: 200 });
  });

  it('reports a refused connection as an error, never a throw', async () => {
    const url = await serve(() => {});
    const closing = server!;
    server = undefined;
    await new Promise((resolve) => closing.close(resolve));
    expect(await postOnce(url, {}, Buffer.from('[]'), 1000)).toEqual({ error: 'ECONNREFUSED' });
  });
});
