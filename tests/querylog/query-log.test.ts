/**
 * QueryLog: lines are batched (written every flushIntervalMs or at 64 KiB, in order, never split),
 * a congested stream buffers up to maxBufferedBytes and drops (and counts) beyond, a stream error
 * stops the log without crashing, and close() writes what is buffered and ends the stream. Also the
 * NDJSON lines QueryLogResolver writes through it, one per answered query.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueryLog, type QueryLogOptions } from '../../src/querylog/query-log.js';
import { QueryLogResolver } from '../../src/resolver/query-log-resolver.js';
import type { Answer, Resolver } from '../../src/query/resolver.js';
import { Packet, buildQuery, buildResponse, contextFor } from '../dns/packet-fixtures.js';
import { sleep, waitFor } from '../helpers/built-cli.js';

/** A sink that records each write() call; `accept` says whether write() reports room (true) or congestion. */
class RecordingSink extends Writable {
  readonly writes: string[] = [];
  private pending: (() => void)[] = [];
  private flowing = false;
  constructor(private readonly congested = false) {
    super({ highWaterMark: congested ? 1 : 1 << 30, decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes.push(chunk.toString());
    if (this.congested && !this.flowing) this.pending.push(() => callback());
    else callback();
  }
  /** Completes the writes held back, and every later one at once: the stream drains and stays clear. */
  release(): void {
    this.flowing = true;
    const pending = this.pending;
    this.pending = [];
    for (const done of pending) done();
  }
  get text(): string {
    return this.writes.join('');
  }
}

let logs: QueryLog[] = [];
let dir: string;
beforeEach(async () => {
  logs = [];
  dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-query-log-'));
});
afterEach(async () => {
  for (const log of logs) await log.close();
  await rm(dir, { recursive: true, force: true });
});

function open(stream: Writable, options: Partial<QueryLogOptions> = {}): { log: QueryLog; drops: () => number } {
  let drops = 0;
  const log = new QueryLog(stream, { maxBufferedBytes: 1 << 20, flushIntervalMs: 60_000, onDrop: () => drops++, ...options });
  logs.push(log);
  return { log, drops: () => drops };
}

const line = (i: number, pad = 0): string => `${JSON.stringify({ i, pad: 'x'.repeat(pad) })}\n`;

describe('batching', () => {
  it('holds lines until flush, then writes them in order in one write', () => {
    const sink = new RecordingSink();
    const { log } = open(sink);
    for (let i = 0; i < 5; i++) log.write(line(i));
    expect(sink.writes).toEqual([]);
    log.flush();
    expect(sink.writes).toEqual([[0, 1, 2, 3, 4].map((i) => line(i)).join('')]);
    log.flush(); // nothing new: no empty write
    expect(sink.writes).toHaveLength(1);
  });

  it('flushes on its own every flushIntervalMs', async () => {
    const sink = new RecordingSink();
    const { log } = open(sink, { flushIntervalMs: 30 });
    log.write(line(1));
    expect(await waitFor(() => sink.writes.length === 1, 5000, 5)).toBe(true);
    log.write(line(2));
    expect(await waitFor(() => sink.writes.length === 2, 5000, 5)).toBe(true);
    expect(sink.text).toBe(line(1) + line(2));
  });

  it('flushes at once when 64 KiB are waiting', () => {
    const sink = new RecordingSink();
    const { log } = open(sink);
    const big = line(0, 1000);
    let written = 0;
    while (sink.writes.length === 0) {
      log.write(big);
      written += big.length;
    }
    expect(written).toBeGreaterThanOrEqual(64 * 1024);
    expect(written).toBeLessThan(64 * 1024 + big.length);
    expect(sink.text).toBe(big.repeat(written / big.length));
  });
});

describe('a congested stream', () => {
  it('buffers up to maxBufferedBytes while waiting for drain, drops (and counts) beyond, resumes after drain', async () => {
    const sink = new RecordingSink(true);
    const one = line(0, 80);
    const { log, drops } = open(sink, { maxBufferedBytes: one.length * 10 });
    log.write(one);
    log.flush(); // write() reports congestion: the log waits for 'drain'
    expect(sink.writes).toHaveLength(1);
    for (let i = 0; i < 15; i++) log.write(one);
    log.flush(); // still waiting: nothing is written
    expect(sink.writes).toHaveLength(1);
    expect(drops()).toBe(5);
    sink.release();
    // On drain the ten buffered lines go out in one write.
    expect(await waitFor(() => sink.writes.length === 2, 5000, 5)).toBe(true);
    expect(sink.writes[1]).toBe(one.repeat(10));
    // Whole lines only: every line written is complete JSON.
    for (const text of sink.text.split('\n').filter(Boolean)) expect(JSON.parse(text)).toMatchObject({ i: 0 });
  });

  it('a single line larger than maxBufferedBytes is dropped, not cut', () => {
    const sink = new RecordingSink();
    const { log, drops } = open(sink, { maxBufferedBytes: 100 });
    log.write(line(1, 200));
    log.write(line(2));
    log.flush();
    expect(drops()).toBe(1);
    expect(sink.text).toBe(line(2));
  });
});

describe('stream errors', () => {
  it('an unwritable file stops the log without crashing; later lines are dropped; close resolves', async () => {
    const stream = createWriteStream(path.join(dir, 'no', 'such', 'dir', 'queries.ndjson'), { flags: 'a' });
    const { log, drops } = open(stream, { maxBufferedBytes: 1000 });
    await new Promise((resolve) => stream.once('error', resolve));
    for (let i = 0; i < 100; i++) log.write(line(i));
    log.flush();
    expect(drops()).toBeGreaterThan(0);
    await expect(Promise.race([log.close().then(() => 'closed'), sleep(5000).then(() => 'hung')])).resolves.toBe('closed');
  });

  it('an error emitted mid-stream (broken pipe) is absorbed and the log stops writing', async () => {
    const sink = new RecordingSink();
    const { log } = open(sink, { maxBufferedBytes: 1000 });
    log.write(line(1));
    log.flush();
    sink.destroy(new Error('EPIPE'));
    await sleep(10);
    log.write(line(2));
    log.flush();
    expect(sink.text).toBe(line(1));
  });
});

describe('switchTo (the file reopened on SIGHUP)', () => {
  it('flushed lines stay in the old stream, buffered and later ones go to the new one, and the old one is ended', async () => {
    const old = new RecordingSink();
    const { log } = open(old);
    log.write(line(1));
    log.flush();
    log.write(line(2)); // buffered, not yet written
    const next = new RecordingSink();
    await log.switchTo(next);
    log.write(line(3));
    log.flush();
    expect(old.text).toBe(line(1));
    expect(old.writableEnded).toBe(true);
    expect(next.text).toBe(line(2) + line(3));
  });

  it('a log stopped by a stream error writes again after switching, and reports each stream\'s error', async () => {
    const errors: string[] = [];
    const broken = new RecordingSink();
    const { log } = open(broken, { onError: (error) => errors.push(error.message) });
    broken.destroy(new Error('ENOSPC'));
    await sleep(10);
    log.write(line(1)); // kept in the buffer while the stream is broken
    log.flush();
    const fresh = new RecordingSink();
    await log.switchTo(fresh);
    log.write(line(2));
    log.flush();
    expect(fresh.text).toBe(line(1) + line(2));
    expect(errors).toEqual(['ENOSPC']);
  });
});

describe('close', () => {
  it('writes what is buffered and ends the stream; the file holds every line, in order', async () => {
    const file = path.join(dir, 'queries.ndjson');
    const stream = createWriteStream(file, { flags: 'a' });
    const { log } = open(stream);
    const lines = Array.from({ length: 1000 }, (_, i) => line(i, i % 50));
    for (const l of lines) log.write(l);
    await log.close();
    expect(stream.writableFinished).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(lines.join(''));
  });

  it('appends to an existing log', async () => {
    const file = path.join(dir, 'queries.ndjson');
    for (const i of [1, 2]) {
      const { log } = open(createWriteStream(file, { flags: 'a' }));
      log.write(line(i));
      await log.close();
    }
    expect(await readFile(file, 'utf8')).toBe(line(1) + line(2));
  });

  it('writes out even while the stream was congested', async () => {
    const sink = new RecordingSink(true);
    const { log } = open(sink);
    log.write(line(1));
    log.flush();
    log.write(line(2));
    const closing = log.close();
    sink.release();
    await closing;
    expect(sink.text).toBe(line(1) + line(2));
  });

  it('leaves stdout open', async () => {
    const log = new QueryLog(process.stdout, { maxBufferedBytes: 1000, flushIntervalMs: 60_000, onDrop: () => undefined });
    await log.close();
    expect(process.stdout.writableEnded).toBe(false);
  });
});

describe('NDJSON lines from QueryLogResolver', () => {
  /** Blocks names under evil.example with a rule of list "fraud"; answers everything else from "upstream". */
  const chain: Resolver = {
    resolve: (ctx) => {
      if (ctx.query.name.endsWith('evil.example')) {
        const rule = { domain: 'evil.example', scope: 'domain', kind: 'block', list: 'fraud', category: 'phishing', line: 3, text: 'evil.example' } as const;
        return { bytes: buildResponse(ctx.packet, { rcode: 3 }), source: 'blocked', verdict: { action: 'block', rule, reason: 'name' } } satisfies Answer;
      }
      return Promise.resolve({
        bytes: buildResponse(ctx.packet, { answers: [{ name: ctx.query.name, type: 1, class: 1, ttl: 60, address: '192.0.2.1' }] }),
        source: 'upstream',
      } satisfies Answer);
    },
  };

  async function logOf(options: { anonymize: boolean; blockedOnly: boolean }, queries: [string, number, string, ('udp' | 'tcp')?][]): Promise<Record<string, unknown>[]> {
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const log = new QueryLog(sink, { maxBufferedBytes: 1 << 20, flushIntervalMs: 60_000, onDrop: () => undefined });
    const resolver = new QueryLogResolver(log, { queryLogAnonymize: options.anonymize, queryLogBlockedOnly: options.blockedOnly }, chain);
    for (const [name, type, clientAddress, transport] of queries) {
      await resolver.resolve({ ...contextFor(buildQuery(name, type), transport ?? 'udp'), clientAddress });
    }
    await log.close();
    const text = chunks.join('');
    if (text === '') return [];
    expect(text.endsWith('\n')).toBe(true);
    return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('writes one JSON object per line per answered query, with the anonymized client', async () => {
    const entries = await logOf({ anonymize: true, blockedOnly: false }, [
      ['a.example', Packet.TYPE.A, '198.51.100.77'],
      ['b.example', Packet.TYPE.AAAA, '2001:db8:1:2::3', 'tcp'],
      ['www.evil.example', Packet.TYPE.A, '::ffff:203.0.113.9'],
    ]);
    expect(entries).toEqual([
      expect.objectContaining({ client: '198.51.100.0', transport: 'udp', name: 'a.example', type: 'A', verdict: 'none', rcode: 'NOERROR', source: 'upstream' }),
      expect.objectContaining({ client: '2001:db8:1::', transport: 'tcp', name: 'b.example', type: 'AAAA' }),
      expect.objectContaining({
        client: '203.0.113.0',
        name: 'www.evil.example',
        verdict: 'block',
        list: 'fraud',
        category: 'phishing',
        rule: 'evil.example',
        rcode: 'NXDOMAIN',
        source: 'blocked',
      }),
    ]);
    for (const entry of entries) {
      expect(Date.parse(String(entry['time']))).not.toBeNaN();
      expect(typeof entry['ms']).toBe('number');
    }
    expect(JSON.stringify(entries)).not.toMatch(/198\.51\.100\.77|2001:db8:1:2::3|203\.0\.113\.9/);
  });

  it('keeps the full client address when anonymizing is off', async () => {
    expect(await logOf({ anonymize: false, blockedOnly: false }, [['a.example', Packet.TYPE.A, '198.51.100.77']])).toEqual([
      expect.objectContaining({ client: '198.51.100.77' }),
    ]);
  });

  // Node reports a client at ::102:304 as "::1.2.3.4" (see anonymize.test.ts).
  it('a client Node reports as ::1.2.3.4 is logged under its /48, not turned into an exception', async () => {
    expect(await logOf({ anonymize: true, blockedOnly: false }, [['a.example', Packet.TYPE.A, '::1.2.3.4']])).toEqual([
      expect.objectContaining({ client: '0:0:0::', name: 'a.example' }),
    ]);
  });

  it('logs only blocked answers when asked', async () => {
    const entries = await logOf({ anonymize: true, blockedOnly: true }, [
      ['a.example', Packet.TYPE.A, '192.0.2.1'],
      ['evil.example', Packet.TYPE.A, '192.0.2.2'],
      ['b.example', Packet.TYPE.A, '192.0.2.3'],
    ]);
    expect(entries.map((e) => [e['name'], e['source']])).toEqual([['evil.example', 'blocked']]);
  });
});
