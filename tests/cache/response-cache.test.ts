import { describe, expect, it } from 'vitest';
import { ResponseCache, STALE_TTL, type ResponseCacheOptions } from '../../src/cache/response-cache.js';
import { QType } from '../../src/dns/wire.js';
import { aRecords, buildQuery, buildResponse, decode, headerOf, parsed, Packet } from '../dns/packet-fixtures.js';

const OPTIONS: ResponseCacheOptions = { cacheSize: 1000, cacheMaxBytes: 1024 * 1024, cacheMinTtl: 0, cacheMaxTtl: 86400, cacheMaxNegativeTtl: 3600, serveStaleSeconds: 0 };

function answerFor(name: string, ttl = 60, address = '192.0.2.1'): { query: Buffer; answer: Buffer } {
  const query = buildQuery(name, QType.A);
  const answer = buildResponse(query, { answers: [{ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address }] });
  return { query, answer };
}

function keyOf(query: Buffer): string {
  return ResponseCache.key(parsed(query));
}

/** Stores an A answer for `name` and returns its key. */
function put(cache: ResponseCache, name: string, now: number, ttl = 60, address = '192.0.2.1'): string {
  const { query, answer } = answerFor(name, ttl, address);
  const key = keyOf(query);
  expect(cache.store(key, answer, now)).toBe(true);
  return key;
}

function addressOf(cache: ResponseCache, name: string, now: number): string | undefined {
  const query = buildQuery(name, QType.A, { id: 0x4242 });
  const hit = cache.lookup(keyOf(query), now);
  if (!hit?.fresh) return undefined;
  const answer = decode(cache.render(hit, query, parsed(query), undefined, false));
  return (answer.answers[0] as { address?: string } | undefined)?.address;
}

describe('ResponseCache', () => {
  it('renders a hit with the client ID and question, TTLs decremented by age', () => {
    const cache = new ResponseCache(OPTIONS);
    put(cache, 'example.com', 1000, 300);
    const query = buildQuery('ExAmple.COM', QType.A, { id: 0x1234 });
    const hit = cache.lookup(keyOf(query), 1000 + 42_500);
    expect(hit).toMatchObject({ fresh: true, age: 42, ttl: 300, hits: 1 });
    const bytes = cache.render(hit!, query, parsed(query), undefined, false);
    expect(headerOf(bytes).id).toBe(0x1234);
    expect(bytes.subarray(12, 12 + 13).toString('latin1')).toContain('ExAmple');
    const answer = decode(bytes);
    expect(answer.answers[0]).toMatchObject({ address: '192.0.2.1', ttl: 258 });
    expect(cache.stats).toMatchObject({ hits: 1, inserts: 1 });
  });

  it('expires entries, and with serve-stale keeps a private copy that renders TTL 30 after stores moved the cache on', () => {
    const cache = new ResponseCache({ ...OPTIONS, serveStaleSeconds: 100 }, { segmentBytes: 16 * 1024 });
    const key = put(cache, 'stale.example', 0, 10, '192.0.2.7');
    const query = buildQuery('stale.example', QType.A, { id: 7 });
    const stale = cache.lookup(key, 50_000);
    expect(stale).toMatchObject({ fresh: false, age: 50 });
    // Churn the cache: the stale lookup must not depend on where its record was.
    for (let i = 0; i < 500; i++) put(cache, `churn-${i}.example`, 50_000);
    const bytes = cache.render(stale!, query, parsed(query), undefined, true);
    expect(decode(bytes).answers[0]).toMatchObject({ address: '192.0.2.7', ttl: STALE_TTL });
    expect(cache.lookup(key, 200_000)).toBeUndefined(); // past ttl + serveStaleSeconds: gone
  });

  it('does not serve an expired entry without serve-stale', () => {
    const cache = new ResponseCache(OPTIONS);
    const key = put(cache, 'short.example', 0, 5);
    expect(cache.lookup(key, 4_999)?.fresh).toBe(true);
    expect(cache.lookup(key, 5_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('replaces an entry stored again under the same key', () => {
    const cache = new ResponseCache(OPTIONS);
    put(cache, 'same.example', 0, 60, '192.0.2.1');
    put(cache, 'same.example', 0, 60, '192.0.2.2');
    expect(cache.size).toBe(1);
    expect(addressOf(cache, 'same.example', 0)).toBe('192.0.2.2');
  });

  it('keeps keys apart when every key has the same hash (a collision is a longer probe, never a wrong answer)', () => {
    const cache = new ResponseCache(OPTIONS, { hash: () => 7 });
    for (let i = 0; i < 50; i++) put(cache, `n${i}.example`, 0, 60, `192.0.2.${i + 1}`);
    for (let i = 0; i < 50; i++) expect(addressOf(cache, `n${i}.example`, 0)).toBe(`192.0.2.${i + 1}`);
    expect(addressOf(cache, 'n50.example', 0)).toBeUndefined();
    // Removals in the middle of the probe run keep the rest reachable.
    for (let i = 0; i < 50; i += 2) expect(cache.lookup(keyOf(buildQuery(`n${i}.example`, QType.A)), 120_000)).toBeUndefined();
    for (let i = 1; i < 50; i += 2) expect(cache.lookup(keyOf(buildQuery(`n${i}.example`, QType.A)), 0)?.fresh).toBe(true);
  });

  it('is bounded by entries, keeping entries that were hit (second chance) over those that were not', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheSize: 100 }, { segmentBytes: 16 * 1024 });
    for (let i = 0; i < 100; i++) put(cache, `old-${i}.example`, 0);
    for (let round = 0; round < 10; round++) {
      // old-5 is asked between rounds of new names, as a popular name would be.
      expect(addressOf(cache, 'old-5.example', 0)).toBe('192.0.2.1');
      for (let i = 0; i < 60; i++) put(cache, `new-${round}-${i}.example`, 0);
      expect(cache.size).toBeLessThanOrEqual(100);
      expect(cache.size).toBeGreaterThan(90); // evicted a few at a time, not the whole cache
    }
    expect(addressOf(cache, 'old-5.example', 0)).toBe('192.0.2.1');
    expect(addressOf(cache, 'old-6.example', 0)).toBeUndefined();
    expect(addressOf(cache, 'new-9-59.example', 0)).toBe('192.0.2.1');
  });

  it('is bounded by bytes: memory reserved never exceeds cacheMaxBytes however many answers come', () => {
    const cacheMaxBytes = 256 * 1024;
    const cache = new ResponseCache({ ...OPTIONS, cacheSize: 1_000_000, cacheMaxBytes });
    for (let i = 0; i < 20_000; i++) {
      const name = `flood-${i}.example`;
      const query = buildQuery(name, QType.A);
      cache.store(keyOf(query), buildResponse(query, { answers: aRecords(name, 3) }), 0);
      expect(cache.reservedBytes).toBeLessThanOrEqual(cacheMaxBytes);
    }
    expect(cache.bytes).toBeLessThanOrEqual(cacheMaxBytes);
    expect(cache.bytes).toBeGreaterThan(cacheMaxBytes * 0.7); // and it is used
    expect(addressOf(cache, 'flood-19999.example', 0)).toBe('10.0.0.1');
    expect(addressOf(cache, 'flood-0.example', 0)).toBeUndefined();
  });

  it('keeps every surviving entry intact through many evictions (index and records agree)', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheSize: 300, cacheMaxBytes: 128 * 1024 }, { segmentBytes: 4096 });
    const live = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const name = `r${i % 700}.example`;
      const address = `192.0.${(i >> 8) & 255}.${i & 255}`;
      put(cache, name, 0, 60, address);
      live.set(name, address);
      if (i % 3 === 0) addressOf(cache, `r${(i * 7) % 700}.example`, 0); // some hits, for second chances
    }
    let found = 0;
    for (const [name, address] of live) {
      const got = addressOf(cache, name, 0);
      if (got !== undefined) {
        expect(got).toBe(address);
        found++;
      }
    }
    expect(found).toBe(cache.size);
    expect(found).toBeGreaterThan(100);
  });

  it('takes memory for what it holds when the entry bound binds first, not the whole byte bound (a stream of new names and a warm set)', () => {
    // The soak at a fiftieth of its size: small answers, so the 2,000-entry bound is reached with
    // a fraction of the 64 segments the byte bound allows; a warm set looked up at random (and
    // stored again when its TTL has run out) leaves a few hit survivors in every swept segment.
    // Before the fix the arena grew to ~1,090 KB for ~310 KB of answers (the soak: 64 MB for 16 MB).
    const segmentBytes = 16 * 1024;
    const cache = new ResponseCache({ ...OPTIONS, cacheSize: 2000, cacheMaxBytes: 64 * segmentBytes + 64 * 1024, serveStaleSeconds: 86400 }, { segmentBytes });
    const warm = Array.from({ length: 400 }, (_, i) => `warm-${i}.example`);
    const warmQueries = warm.map((name) => buildQuery(name, QType.A));
    let seed = 42;
    let stream = 0;
    let hits = 0;
    for (let second = 0; second < 600; second++) {
      const now = second * 1000;
      for (let i = 0; i < 40; i++) put(cache, `stream-${stream++}.example`, now, 300);
      for (let i = 0; i < 30; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const w = seed % warm.length;
        if (cache.lookup(keyOf(warmQueries[w]!), now)?.fresh) hits++;
        else put(cache, warm[w]!, now, 300);
      }
    }
    expect(cache.size).toBeGreaterThan(1900);
    expect(hits).toBeGreaterThan(16_000); // the warm set stays cached
    // Segments allocated (reservedBytes - bytes = allocated - held) stay within half of what is held plus two segments.
    expect(cache.reservedBytes - cache.bytes).toBeLessThanOrEqual(cache.bytes / 2 + 2 * segmentBytes);
  });

  it('does not cache what must not be cached', () => {
    const cache = new ResponseCache(OPTIONS);
    const query = buildQuery('x.example', QType.A);
    expect(cache.store(keyOf(query), buildResponse(query, { rcode: 2 }), 0)).toBe(false); // SERVFAIL
    expect(cache.store('caf\u00e9\u0101', answerFor('x.example').answer, 0)).toBe(false); // key beyond Latin-1
    expect(cache.size).toBe(0);
  });
});
