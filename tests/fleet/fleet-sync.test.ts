/**
 * The follower's rules against a real redis-server, with Redis written to directly to make the
 * situations a healthy fleet rarely shows: a change that skips versions (a gap), a record of a newer
 * format, a password-protected Redis reached through --redis-file, and URLs that are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { metricValue, scrape } from '../helpers/metrics-text.js';
import { RedisServer } from '../helpers/redis-server.js';
import { requireTool } from '../helpers/require-tool.js';
import { admin, queryA } from '../e2e/admin-helpers.js';
import { startTestServer, TEST_TOKEN, type TestServer } from '../e2e/harness.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const token = { token: TEST_TOKEN };

describe.skipIf(!hasRedis)('fleet follower against a real Redis', () => {
  let redis: RedisServer;
  let upstream: FakeUpstream;
  let fw: TestServer;
  const blocked = async (name: string): Promise<boolean> => (await queryA(fw.port, name, 1000)).rcode === 3;
  const counter = async (name: string, reason: string): Promise<number> => metricValue(await scrape(fw.httpPort), `${name}{reason="${reason}"}`);

  beforeAll(async () => {
    redis = await RedisServer.start({ password: 'pa ss/word' });
    upstream = await startFakeUpstream();
    // The URL (with its password) from a file, as --redis-file is meant to be used.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'fraudwall-redis-url-')), 'redis-url');
    writeFileSync(file, `${redis.url}\n`, { mode: 0o600 });
    fw = await startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], 'redis-file': file }, { 'local.txt': 'local.test\n' }, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });
  }, 30_000);

  afterAll(async () => {
    await fw?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('reaches a Redis that requires a password, through --redis-file', async () => {
    const reply = await admin(fw.httpPort, 'PUT', '/v1/lists/gap', { ...token, body: 'first.gap.test\n' });
    expect(reply.status).toBe(201);
    expect(reply.body['version']).toBe(1);
    expect((await redis.command('HGET', '{fraudwall}:v1:list:gap', 'version'))).toContain('1');
  });

  it('a change that skips versions makes the instance read the list whole from Redis', async () => {
    const before = await counter('fraudwall_redis_snapshot_reloads_total', 'gap');
    // Another writer's versions 2 and 3, of which this instance only sees the stream entry for 3.
    await redis.command('HSET', '{fraudwall}:v1:list:gap', 'version', '3', 'snapshotVersion', '3', 'entries', 'whole.gap.test');
    await redis.command('XADD', '{fraudwall}:v1:changes', '*', 'format', '1', 'list', 'gap', 'version', '3', 'op', 'delta', 'origin', 'elsewhere', 'add', 'delta-only.gap.test', 'remove', '');
    expect(await waitFor(() => blocked('whole.gap.test'), 3000, 20)).toBe(true);
    // The snapshot, not the delta, is what serves: the delta alone would have kept first.gap.test.
    expect(await blocked('first.gap.test')).toBe(false);
    expect(await blocked('delta-only.gap.test')).toBe(false);
    expect(await counter('fraudwall_redis_snapshot_reloads_total', 'gap')).toBe(before + 1);
    expect((await admin(fw.httpPort, 'GET', '/v1/lists/gap', token)).body['version']).toBe(3);
  });

  it('a record written in a newer format is not applied, and counted', async () => {
    const before = await counter('fraudwall_redis_sync_errors_total', 'format');
    await redis.command('XADD', '{fraudwall}:v1:changes', '*', 'format', '2', 'list', 'gap', 'version', '4', 'op', 'put', 'origin', 'newer');
    expect(await waitFor(async () => (await counter('fraudwall_redis_sync_errors_total', 'format')) > before, 3000, 20)).toBe(true);
    expect(await blocked('whole.gap.test')).toBe(true);
    expect((await admin(fw.httpPort, 'GET', '/v1/lists/gap', token)).body['version']).toBe(3);
  });

  it('refuses an RPZ zone (the fleet shares list entries), saying what to do instead', async () => {
    const zone = '$ORIGIN rpz.test.\n@ SOA localhost. root.localhost. 1 3600 600 86400 60\n@ NS localhost.\nbad.rpz-zone.test CNAME .\n';
    const reply = await admin(fw.httpPort, 'PUT', '/v1/lists/zone?format=rpz', { ...token, body: zone });
    expect(reply.status).toBe(400);
    expect((reply.body['error'] as { message: string }).message).toContain('RPZ zones are not shared through Redis');
    expect(await redis.command('EXISTS', '{fraudwall}:v1:list:zone')).toContain(':0');
  });

  it('a protect list read back from Redis stays a protect list: the brand is never blocked (#13)', async () => {
    const reply = await admin(fw.httpPort, 'PUT', '/v1/lists/brands?kind=protect&category=payment', { ...token, body: 'paypal.com\n' });
    expect(reply.status).toBe(201);
    expect(await redis.command('HGET', '{fraudwall}:v1:list:brands', 'kind')).toContain('protect');
    // Another writer's version 3, seen only as a gap: the instance reads the list whole from Redis.
    const before = await counter('fraudwall_redis_snapshot_reloads_total', 'gap');
    await redis.command('HSET', '{fraudwall}:v1:list:brands', 'version', '3', 'snapshotVersion', '3', 'entries', 'paypal.com\nchase.com');
    await redis.command('XADD', '{fraudwall}:v1:changes', '*', 'format', '1', 'list', 'brands', 'version', '3', 'op', 'delta', 'origin', 'elsewhere', 'add', 'chase.com', 'remove', '');
    expect(await waitFor(async () => (await counter('fraudwall_redis_snapshot_reloads_total', 'gap')) > before, 3000, 20)).toBe(true);
    expect(await blocked('paypal.com')).toBe(false);
    expect(await blocked('www.chase.com')).toBe(false);
    const explained = await admin(fw.httpPort, 'GET', '/v1/explain?name=chasse.com', token);
    expect(explained.body).toMatchObject({ verdict: 'lookalike', lookalike: { protectedDomain: 'chase.com', list: 'brands' } });
  });

  it('a list a file already names is not replaced by the fleet', async () => {
    await redis.command('HSET', '{fraudwall}:v1:list:local', 'format', '1', 'name', 'local', 'version', '1', 'snapshotVersion', '1', 'kind', 'block', 'category', 'x', 'entries', 'shared-only.test', 'deleted', '0');
    await redis.command('XADD', '{fraudwall}:v1:changes', '*', 'format', '1', 'list', 'local', 'version', '1', 'op', 'put', 'origin', 'elsewhere');
    expect(await waitFor(async () => (await counter('fraudwall_redis_sync_errors_total', 'name-taken')) > 0, 3000, 20)).toBe(true);
    expect(await blocked('local.test')).toBe(true);
    expect(await blocked('shared-only.test')).toBe(false);
  });
});

describe('Redis URL settings', () => {
  it.each([
    [{ redis: 'http://127.0.0.1:6379' }, /must start with redis:\/\/ or rediss:\/\//],
    [{ redis: 'not a url' }, /not a URL/],
    [{ redis: 'redis://127.0.0.1:6379', 'redis-file': '/nonexistent' }, /not both/],
    [{ 'redis-file': '/nonexistent/redis-url' }, /cannot read the Redis URL file/],
  ])('%o is refused with E_REDIS_CONFIG', async (flags, message) => {
    const error = await startTestServer({ upstream: ['127.0.0.1:9'], ...flags }).then(
      async (fw) => {
        await fw.close();
        return undefined;
      },
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe('E_REDIS_CONFIG');
    expect(error?.message).toMatch(message);
  });
});
