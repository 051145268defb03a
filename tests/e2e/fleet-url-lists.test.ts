/**
 * --redis-share-url-lists with a real redis-server and a list publisher on 127.0.0.1: three
 * instances hit the feed once per refresh between them (not three times), all serve its changes,
 * and when the downloader goes away another takes over once its lease runs out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { RedisServer } from '../helpers/redis-server.js';
import { requireTool } from '../helpers/require-tool.js';
import { admin, queryA } from './admin-helpers.js';
import { startTestServer, TEST_TOKEN, type TestServer } from './harness.js';

const hasRedis = requireTool('redis-server', 'redis-server');

describe.skipIf(!hasRedis)('fleet: one download of each URL list per fleet', () => {
  let redis: RedisServer;
  let upstream: FakeUpstream;
  let feed: http.Server;
  let body = 'first.feed.test\n';
  let hits = 0;
  const fleet: TestServer[] = [];

  const blocked = async (fw: TestServer, name: string): Promise<boolean> => (await queryA(fw.port, name, 1000)).rcode === 3;

  beforeAll(async () => {
    redis = await RedisServer.start();
    upstream = await startFakeUpstream();
    // No validators: every request is a full download, so each one counts.
    feed = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/feed.txt`;
    for (let i = 0; i < 3; i++) {
      fleet.push(
        await startTestServer(
          {
            upstream: [`127.0.0.1:${upstream.port}`],
            redis: redis.url,
            'redis-share-url-lists': 'true',
            'url-lists': JSON.stringify([{ name: 'feed', url, refresh: 1 }]),
          },
          { 'local.txt': 'local.test\n' },
          { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
        ),
      );
    }
  }, 30_000);

  afterAll(async () => {
    for (const fw of fleet) await fw.close().catch(() => undefined);
    await new Promise((resolve) => feed?.close(resolve));
    await upstream?.close();
    await redis?.stop();
  });

  it('the fleet fetches the feed about once per refresh interval, and every instance serves it', async () => {
    for (const fw of fleet) expect(await waitFor(() => blocked(fw, 'first.feed.test'), 3000, 50)).toBe(true);
    const before = hits;
    await sleep(4000);
    const perSecond = (hits - before) / 4;
    console.log(`feed requests over 4 s of 1-s refreshes by 3 instances: ${hits - before}`);
    // One downloader: ~1 a second (timers drift, so allow up to 2); three would make ~3.
    expect(perSecond).toBeLessThanOrEqual(2);
    expect(hits - before).toBeGreaterThanOrEqual(2);

    body = 'second.feed.test\n';
    for (const fw of fleet) expect(await waitFor(() => blocked(fw, 'second.feed.test'), 5000, 50), 'new feed content everywhere').toBe(true);
    expect(await blocked(fleet[2]!, 'first.feed.test')).toBe(false);
  }, 20_000);

  it('when the downloader stops, another instance takes the lease and the feed keeps flowing', async () => {
    const leaseHolder = async (): Promise<string> => (await redis.command('GET', '{fraudwall}:v1:lease:url:feed')).split('\r\n')[1] ?? '';
    const holder = await leaseHolder();
    const ids = await Promise.all(fleet.map(async (fw) => (await admin(fw.httpPort, 'GET', '/v1/lists', { token: TEST_TOKEN })).body['instance'] as string));
    const index = ids.indexOf(holder);
    expect(index, `lease ${holder} held by one of ${ids.join(', ')}`).toBeGreaterThanOrEqual(0);
    const [downloader] = fleet.splice(index, 1);
    await downloader!.close();
    body = 'third.feed.test\n';
    // The lease (2 refresh intervals) runs out, a survivor takes it and downloads.
    for (const fw of fleet) expect(await waitFor(() => blocked(fw, 'third.feed.test'), 8000, 50), 'served after the downloader left').toBe(true);
    const next = await leaseHolder();
    expect(next).not.toBe(holder);
    expect(ids).toContain(next);
  }, 20_000);
});
