import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/built-cli.js';
import { EventDelivery, type DeliveryCounters, type Post } from '../../src/events/event-delivery.js';
import { EventSpool } from '../../src/events/event-spool.js';
import type { PostResult } from '../../src/events/http-post.js';
import { WebhookSigner } from '../../src/events/webhook-signer.js';
import { silentLogger } from '../../src/log/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A receiver in memory: `respond` decides each attempt's result; accepted events are kept in order. */
function fakeReceiver(respond: (events: number[], attempt: number) => PostResult) {
  const accepted: number[] = [];
  const attempts: { id: string; events: number[] }[] = [];
  const post: Post = async (_url, headers, body) => {
    const events = (JSON.parse(body.toString()) as { n: number }[]).map((event) => event.n);
    attempts.push({ id: headers['webhook-id']!, events });
    const result = respond(events, attempts.length);
    if ('status' in result && result.status >= 200 && result.status < 300) accepted.push(...events);
    return result;
  };
  return { post, accepted, attempts };
}

function counters() {
  const seen = { delivered: 0, retried: 0, spooled: 0, spoolBytes: 0, dropped: {} as Record<string, number>, refusing: { unauthorized: false, gone: false } };
  const sink: DeliveryCounters = {
    delivered: (count) => (seen.delivered += count),
    retried: () => seen.retried++,
    spooled: (count) => (seen.spooled += count),
    dropped: (reason, count) => (seen.dropped[reason] = (seen.dropped[reason] ?? 0) + count),
    spoolBytes: (bytes) => (seen.spoolBytes = bytes),
    refusing: (reason, on) => (seen.refusing[reason] = on),
  };
  return { seen, sink };
}

const signer = new WebhookSigner([Buffer.alloc(32, 1)]);
const options = { url: new URL('http://127.0.0.1:1/'), userAgent: 'test', eventsTimeoutMs: 1000, eventsRetryMaxMs: 20, eventsSpoolMaxBytes: 1 << 20 };
const events = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => JSON.stringify({ n: from + i }));

async function open(post: Post, sink: DeliveryCounters, overrides: Partial<typeof options> = {}): Promise<EventDelivery> {
  return EventDelivery.open({ ...options, ...overrides }, new EventSpool(dir), signer, post, sink, silentLogger);
}

const spoolFiles = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.json'));

describe('EventDelivery', () => {
  it('delivers from memory without touching the disk when the receiver takes the batch', async () => {
    const receiver = fakeReceiver(() => ({ status: 200 }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 3), Date.now());
    expect(await waitFor(() => receiver.accepted.length === 3, 2000, 5)).toBe(true);
    expect(seen).toMatchObject({ delivered: 3, spooled: 0, retried: 0 });
    expect(await spoolFiles()).toEqual([]);
    await delivery.close();
  });

  it('retries a failed batch with the same webhook-id, spooling it and every batch behind it, in order', async () => {
    let up = false;
    const receiver = fakeReceiver(() => (up ? { status: 200 } : { error: 'ECONNREFUSED' }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 2), Date.now());
    delivery.enqueue(events(2, 2), Date.now());
    delivery.enqueue(events(4, 2), Date.now());
    expect(await waitFor(async () => (await spoolFiles()).length === 3 && receiver.attempts.length >= 3 && seen.spooled === 6, 3000, 5)).toBe(true);
    expect(seen.spoolBytes).toBeGreaterThan(0);
    up = true;
    expect(await waitFor(() => receiver.accepted.length === 6, 3000, 5)).toBe(true);
    expect(receiver.accepted).toEqual([0, 1, 2, 3, 4, 5]);
    const failedAttempts = receiver.attempts.filter((attempt) => attempt.events[0] === 0);
    expect(failedAttempts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(failedAttempts.map((a) => a.id)).size).toBe(1);
    expect(await waitFor(async () => (await spoolFiles()).length === 0 && seen.spoolBytes === 0, 1000, 5)).toBe(true);
    expect(seen).toMatchObject({ delivered: 6, spooled: 6 });
    expect(seen.retried).toBe(failedAttempts.length - 1);
    await delivery.close();
  });

  it('413 splits the batch in halves and sends each in its place', async () => {
    const receiver = fakeReceiver((batch) => (batch.length > 2 ? { status: 413 } : { status: 200 }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 7), Date.now());
    delivery.enqueue(events(7, 1), Date.now());
    expect(await waitFor(() => receiver.accepted.length === 8, 3000, 5)).toBe(true);
    expect(receiver.accepted).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Math.max(...receiver.attempts.filter((a) => a.events.length <= 2).map((a) => a.events.length))).toBe(2);
    expect(seen.dropped).toEqual({});
    await delivery.close();
  });

  it('other 4xx drop that batch (counted) and delivery goes on', async () => {
    const receiver = fakeReceiver((batch) => (batch.includes(0) ? { status: 400 } : { status: 200 }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 2), Date.now());
    delivery.enqueue(events(2, 2), Date.now());
    expect(await waitFor(() => receiver.accepted.length === 2, 2000, 5)).toBe(true);
    expect(receiver.accepted).toEqual([2, 3]);
    expect(seen.dropped).toEqual({ rejected: 2 });
    await delivery.close();
  });

  it('401/403 keep everything spooled and retry, raising the alert until the receiver accepts again', async () => {
    let status = 401;
    const receiver = fakeReceiver(() => ({ status }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 2), Date.now());
    expect(await waitFor(() => receiver.attempts.length >= 4, 2000, 5)).toBe(true);
    expect(seen.refusing.unauthorized).toBe(true);
    expect(seen.dropped).toEqual({});
    expect(await waitFor(async () => (await spoolFiles()).length === 1, 2000, 5)).toBe(true);
    status = 200;
    expect(await waitFor(() => receiver.accepted.length === 2, 2000, 5)).toBe(true);
    expect(seen.refusing.unauthorized).toBe(false);
    await delivery.close();
  });

  it('410 stops delivery: no further attempts, the batches stay in the spool for the next start', async () => {
    const receiver = fakeReceiver(() => ({ status: 410 }));
    const { seen, sink } = counters();
    const delivery = await open(receiver.post, sink);
    delivery.enqueue(events(0, 2), Date.now());
    expect(await waitFor(() => seen.refusing.gone, 2000, 5)).toBe(true);
    delivery.enqueue(events(2, 2), Date.now());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.attempts).toHaveLength(1);
    await delivery.close();
    expect(await spoolFiles()).toHaveLength(2);
  });

  it('beyond events-spool-max-bytes the oldest waiting batches are dropped and counted, never the one being sent', async () => {
    const receiver = fakeReceiver(() => ({ error: 'timeout' }));
    const { seen, sink } = counters();
    const one = Buffer.byteLength(`[${events(50, 10).join(',')}]`); // the largest of the six
    const delivery = await open(receiver.post, sink, { eventsSpoolMaxBytes: one * 3 + 10, eventsRetryMaxMs: 1000 });
    for (let i = 0; i < 6; i++) delivery.enqueue(events(i * 10, 10), Date.now());
    expect(await waitFor(async () => (seen.dropped['spool-full'] ?? 0) === 30 && (await spoolFiles()).length === 3, 2000, 5)).toBe(true);
    const keys = (await spoolFiles()).map((name) => name.split('_')[0]).sort();
    expect(keys).toEqual(['0000000000000001', '0000000000000005', '0000000000000006']);
    expect(seen.spoolBytes).toBeLessThanOrEqual(one * 3 + 10);
    await delivery.close();
  });

  it('a graceful close writes every undelivered batch; the next start delivers them first, in order, with their ids', async () => {
    const down = fakeReceiver(() => ({ error: 'ECONNREFUSED' }));
    const first = await open(down.post, counters().sink, { eventsRetryMaxMs: 5000 });
    first.enqueue(events(0, 3), Date.now());
    await waitFor(() => down.attempts.length === 1, 1000, 5);
    first.enqueue(events(3, 3), Date.now());
    await first.close();
    expect(await spoolFiles()).toHaveLength(2);

    const up = fakeReceiver(() => ({ status: 200 }));
    const second = await open(up.post, counters().sink);
    second.enqueue(events(6, 1), Date.now());
    expect(await waitFor(() => up.accepted.length === 7, 2000, 5)).toBe(true);
    expect(up.accepted).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(up.attempts[0]!.id).toBe(down.attempts[0]!.id);
    expect(await waitFor(async () => (await spoolFiles()).length === 0, 1000, 5)).toBe(true);
    await second.close();
  });
});
