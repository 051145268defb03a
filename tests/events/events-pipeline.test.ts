import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { BlockedLookup } from '../../src/events/blocked-lookup.js';
import type { Post } from '../../src/events/event-delivery.js';
import { EventsPipeline } from '../../src/events/events-pipeline.js';
import { silentLogger } from '../../src/log/logger.js';
import { waitFor } from '../helpers/built-cli.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
let state: string;
beforeEach(async () => {
  state = await mkdtemp(path.join(tmpdir(), 'fraudwall-pipeline-'));
});
afterEach(async () => {
  await rm(state, { recursive: true, force: true });
});

function options(flags: Record<string, string> = {}) {
  return loadConfig({ flags: { 'events-url': 'http://127.0.0.1:9/hook', state, 'events-batch-ms': '20', ...flags }, env: {} });
}

function collecting() {
  const bodies: unknown[][] = [];
  const post: Post = async (_url, _headers, body) => {
    bodies.push(JSON.parse(body.toString()) as unknown[]);
    return { status: 200 };
  };
  return { post, bodies };
}

const deps = (post: Post, env: NodeJS.ProcessEnv = { FRAUDWALL_EVENTS_SECRET: SECRET }) => ({
  logger: silentLogger,
  userAgent: 'test',
  env,
  qtypeName: (qtype: number) => (qtype === 1 ? 'A' : `TYPE${qtype}`),
  post,
});

const lookup = (name: string, client = '192.168.1.20', at = Date.now()): BlockedLookup => ({
  at,
  clientAddress: client,
  name,
  qtype: 1,
  transport: 'udp',
  list: 'fraud',
  category: 'phishing',
  rule: name,
  reason: 'name',
});

describe('EventsPipeline', () => {
  it('turns blocked lookups into events: one per client and registrable domain per window', async () => {
    const { post, bodies } = collecting();
    const pipeline = await EventsPipeline.start(options(), deps(post));
    for (const name of ['a.scam.test', 'b.scam.test', 'scam.test', 'other.test']) pipeline.record(lookup(name));
    pipeline.record(lookup('scam.test', '192.168.1.21'));
    expect(await waitFor(() => bodies.flat().length === 3, 2000, 5)).toBe(true);
    expect(bodies.flat().map((event) => (event as { data: { name: string; client: string } }).data.name)).toEqual(['a.scam.test', 'other.test', 'scam.test']);
    expect(pipeline.stats).toMatchObject({ emitted: 3, deduplicated: 2, delivered: 3 });
    await pipeline.close();
  });

  it('drops and counts lookups over the per-client rate, never queueing them', async () => {
    const { post, bodies } = collecting();
    const pipeline = await EventsPipeline.start(options({ 'events-client-rate': '2' }), deps(post));
    for (let i = 0; i < 5; i++) pipeline.record(lookup(`s${i}.test`));
    expect(await waitFor(() => bodies.flat().length === 2, 2000, 5)).toBe(true);
    expect(pipeline.stats.dropped['client-rate']).toBe(3);
    await pipeline.close();
  });

  it('a full queue drops and counts instead of growing (the event loop never got to drain it)', async () => {
    const { post } = collecting();
    const pipeline = await EventsPipeline.start(options({ 'events-rate': '100000', 'events-client-rate': '100000', 'events-dedupe': '0' }), deps(post));
    for (let i = 0; i < 10_050; i++) pipeline.record(lookup(`s${i}.test`));
    expect(pipeline.stats.dropped['queue-full']).toBe(50);
    await pipeline.close();
  });

  it('refuses to start without a secret, with a bad secret file, or with plain http to a public host', async () => {
    const { post } = collecting();
    await expect(EventsPipeline.start(options(), deps(post, {}))).rejects.toMatchObject({ code: 'E_EVENTS_SECRET' });
    const file = path.join(state, 'secret');
    await writeFile(file, 'hunter2\n');
    await expect(EventsPipeline.start(options({ 'events-secret-file': file }), deps(post, {}))).rejects.toMatchObject({ code: 'E_EVENTS_SECRET' });
    await writeFile(file, `${SECRET}\n`);
    await expect(EventsPipeline.start(options({ 'events-secret-file': file, 'events-url': 'http://198.51.100.7/x' }), deps(post, {}))).rejects.toMatchObject({
      code: 'E_EVENTS_URL',
    });
    const pipeline = await EventsPipeline.start(options({ 'events-secret-file': file }), deps(post, {}));
    await pipeline.close();
  });

});
