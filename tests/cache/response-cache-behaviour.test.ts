/**
 * ResponseCache through its public API only (store, lookup, render, key, size, bytes), so the tests
 * hold whatever the internals become: hit and miss, the answer rendered in the client's terms with
 * TTLs decremented by age, TTL clamps, serve-stale, what is never stored, and the byte bound.
 * Answers are built and rendered ones decoded with dns2, not with our own parser.
 */
import { describe, expect, it } from 'vitest';
import { ResponseCache, STALE_TTL, type ResponseCacheOptions } from '../../src/cache/response-cache.js';
import { Packet, buildQuery, buildResponse, decode, headerOf, parsed, rawOpt, rawOption } from '../dns/packet-fixtures.js';
import { aRecord, soaRecord } from '../helpers/dns-records.js';

const OPTIONS: ResponseCacheOptions = { cacheSize: 1000, cacheMaxBytes: 1_000_000, cacheMinTtl: 0, cacheMaxTtl: 86_400, cacheMaxNegativeTtl: 3600, serveStaleSeconds: 30 };
const T0 = 1_000_000; // ms; any clock works, the cache only compares


/** The upstream's view: a query for `name` and an answer with `ttls`, one A record each. */
function upstreamAnswer(name: string, ttls: number[], spec: { rcode?: number; authorities?: object[] } = {}): Buffer {
  const query = buildQuery(name, Packet.TYPE.A, { id: 0x0101 });
  return buildResponse(query, { answers: ttls.map((ttl, i) => aRecord(name, ttl, `192.0.2.${i + 1}`)), ...spec });
}

/** A client's query, as the resolver would hand it to the cache. */
function clientQuery(name: string, options: Parameters<typeof buildQuery>[2] = {}) {
  const packet = buildQuery(name, Packet.TYPE.A, options);
  const query = parsed(packet);
  return { packet, query, key: ResponseCache.key(query) };
}

/** Stores `answer` for `name` at T0 and renders it `ageMs` later for a client asking `clientName`. */
function storeThenRender(cache: ResponseCache, name: string, answer: Buffer, ageMs: number, clientName = name) {
  const client = clientQuery(clientName, { id: 0x4321, rd: false });
  expect(cache.store(client.key, answer, T0)).toBe(true);
  const lookup = cache.lookup(client.key, T0 + ageMs);
  expect(lookup).toBeDefined();
  return { lookup: lookup!, rendered: cache.render(lookup!, client.packet, client.query, undefined, false) };
}

describe('hit and miss', () => {
  it('a lookup before any store is a miss; after it, a fresh hit of age 0', () => {
    const cache = new ResponseCache(OPTIONS);
    const { key } = clientQuery('www.example.com');
    expect(cache.lookup(key, T0)).toBeUndefined();
    expect(cache.store(key, upstreamAnswer('www.example.com', [300]), T0)).toBe(true);
    expect(cache.size).toBe(1);
    expect(cache.lookup(key, T0)).toMatchObject({ age: 0, fresh: true });
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, inserts: 1 });
  });

  it('keys differ by type, DO bit and CD bit, not by name case', () => {
    const base = ResponseCache.key(parsed(buildQuery('www.example.com', Packet.TYPE.A)));
    expect(ResponseCache.key(parsed(buildQuery('WWW.Example.COM', Packet.TYPE.A)))).toBe(base);
    expect(ResponseCache.key(parsed(buildQuery('www.example.com', Packet.TYPE.A, { id: 9, rd: false })))).toBe(base);
    const others = [
      ResponseCache.key(parsed(buildQuery('www.example.com', Packet.TYPE.AAAA))),
      ResponseCache.key(parsed(buildQuery('www.example.com', Packet.TYPE.A, { edns: { dnssecOk: true } }))),
      ResponseCache.key(parsed(buildQuery('www.example.com', Packet.TYPE.A, { cd: true }))),
      ResponseCache.key(parsed(buildQuery('www.example.org', Packet.TYPE.A))),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('lookupQuery (the hit path, no key string) finds exactly what lookup(key) finds', () => {
    const cache = new ResponseCache(OPTIONS);
    const variants = [
      buildQuery('www.example.com', Packet.TYPE.A),
      buildQuery('www.example.com', Packet.TYPE.AAAA),
      buildQuery('www.example.com', 256 + Packet.TYPE.A), // type bytes 1,1: a trailer byte must not alias
      buildQuery('www.example.com', Packet.TYPE.A, { edns: { dnssecOk: true } }),
      buildQuery('www.example.com', Packet.TYPE.A, { cd: true }),
      buildQuery('www.example.co', Packet.TYPE.A),
    ].map(parsed);
    // Stored one by one: each variant finds only itself (or nothing) through either path.
    for (const [stored, query] of variants.entries()) {
      cache.store(ResponseCache.key(query), upstreamAnswer(query.name, [300 + stored]), T0);
      for (const [i, other] of variants.entries()) {
        const viaQuery = cache.lookupQuery(other, T0);
        expect(viaQuery?.ttl, `stored ${stored}, asked ${i}`).toBe(cache.lookup(ResponseCache.key(other), T0)?.ttl);
        expect(viaQuery?.ttl, `stored ${stored}, asked ${i}`).toBe(i <= stored ? 300 + i : undefined);
      }
    }
    // Case does not matter to either.
    expect(cache.lookupQuery(parsed(buildQuery('WWW.Example.COM', Packet.TYPE.A)), T0)?.ttl).toBe(300);
  });
});

describe('render', () => {
  it('answers in the client terms: its ID, its question bytes (0x20 case) and its RD bit', () => {
    const cache = new ResponseCache(OPTIONS);
    const { rendered } = storeThenRender(cache, 'www.example.com', upstreamAnswer('www.example.com', [300]), 0, 'wWw.ExAmPlE.cOm');
    const header = headerOf(rendered);
    expect(header).toMatchObject({ id: 0x4321, qr: 1, rd: 0, rcode: 0, qdcount: 1, ancount: 1, arcount: 0 });
    const packet = decode(rendered);
    expect(packet.questions[0]!.name).toBe('wWw.ExAmPlE.cOm');
    expect(packet.answers.map((r) => r.address)).toEqual(['192.0.2.1']);
  });

  it.each([
    [0, [300], [300]],
    [1_999, [300], [299]], // whole seconds, rounded down
    [100_400, [300], [200]],
    [299_999, [300], [1]],
    // The entry lives as long as its shortest TTL; no record is rendered with more than what is left of it.
    [10_000, [60, 300], [50, 50]],
    [10_000, [300, 45, 120], [35, 35, 35]],
  ])('rendered %d ms after storing, TTLs %j become %j', (ageMs, ttls, expected) => {
    const cache = new ResponseCache(OPTIONS);
    const { rendered } = storeThenRender(cache, 'a.example', upstreamAnswer('a.example', ttls), ageMs);
    expect(decode(rendered).answers.map((r) => r.ttl)).toEqual(expected);
  });

  it('rendering twice from one entry gives the same bytes (the stored copy is not patched)', () => {
    const cache = new ResponseCache(OPTIONS);
    const { lookup } = storeThenRender(cache, 'a.example', upstreamAnswer('a.example', [300]), 5_000);
    const client = clientQuery('a.example', { id: 0x4321, rd: false });
    const first = cache.render(lookup, client.packet, client.query, undefined, false);
    const second = cache.render(lookup, client.packet, client.query, undefined, false);
    expect(second.equals(first)).toBe(true);
    const later = cache.lookup(client.key, T0 + 200_000)!;
    expect(decode(cache.render(later, client.packet, client.query, undefined, false)).answers[0]!.ttl).toBe(100);
  });

  it("never passes the upstream's OPT on: the client gets its own OPT, or none", () => {
    const cache = new ResponseCache(OPTIONS);
    const plain = upstreamAnswer('a.example', [300]);
    const upstreamOpt = rawOpt(4096, 0, rawOption(3, Buffer.from('upstream-nsid')));
    const withOpt = Buffer.concat([plain, upstreamOpt]);
    withOpt.writeUInt16BE(1, 10);
    const client = clientQuery('a.example', { edns: { udpSize: 1400 } });
    cache.store(client.key, withOpt, T0);
    const lookup = cache.lookup(client.key, T0)!;

    const none = cache.render(lookup, client.packet, client.query, undefined, false);
    expect(headerOf(none).arcount).toBe(0);
    expect(none.includes(Buffer.from('upstream-nsid'))).toBe(false);
    expect(decode(none).answers).toHaveLength(1);

    const clientOpt = rawOpt(1232, 0);
    const own = cache.render(lookup, client.packet, client.query, clientOpt, false);
    expect(headerOf(own).arcount).toBe(1);
    expect(own.subarray(own.length - clientOpt.length).equals(clientOpt)).toBe(true);
    expect(own.includes(Buffer.from('upstream-nsid'))).toBe(false);
    expect(decode(own).additionals[0]!.type).toBe(Packet.TYPE.EDNS);
  });
});

describe('TTL clamps', () => {
  const freshAt = (cache: ResponseCache, key: string, seconds: number): boolean | undefined => cache.lookup(key, T0 + seconds * 1000)?.fresh;

  it('cacheMinTtl raises a short TTL, cacheMaxTtl caps a long one', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheMinTtl: 120, cacheMaxTtl: 600, serveStaleSeconds: 0 });
    const short = clientQuery('short.example');
    const long = clientQuery('long.example');
    cache.store(short.key, upstreamAnswer('short.example', [5]), T0);
    cache.store(long.key, upstreamAnswer('long.example', [86_400]), T0);
    expect(freshAt(cache, short.key, 119)).toBe(true);
    expect(freshAt(cache, short.key, 120)).toBeUndefined();
    expect(freshAt(cache, long.key, 599)).toBe(true);
    expect(freshAt(cache, long.key, 600)).toBeUndefined();
  });

  it.each([
    [2_000, 3],
    [10_000, 0],
  ])('an entry kept longer by cacheMinTtl still renders its own TTL minus age (%d ms → %d), never below 0', (ageMs, ttl) => {
    const cache = new ResponseCache({ ...OPTIONS, cacheMinTtl: 120 });
    const { lookup, rendered } = storeThenRender(cache, 'short.example', upstreamAnswer('short.example', [5]), ageMs);
    expect(lookup.fresh).toBe(true);
    expect(decode(rendered).answers[0]!.ttl).toBe(ttl);
  });

  it('negative answers live min(SOA TTL, MINIMUM), capped by cacheMaxNegativeTtl', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheMaxNegativeTtl: 300, serveStaleSeconds: 0 });
    const nx = clientQuery('nx.example');
    const nodata = clientQuery('nodata.example');
    cache.store(nx.key, upstreamAnswer('nx.example', [], { rcode: 3, authorities: [soaRecord(3600, 900)] }), T0);
    cache.store(nodata.key, upstreamAnswer('nodata.example', [], { authorities: [soaRecord(100, 900)] }), T0);
    expect(freshAt(cache, nx.key, 299)).toBe(true);
    expect(freshAt(cache, nx.key, 300)).toBeUndefined();
    expect(freshAt(cache, nodata.key, 99)).toBe(true);
    expect(freshAt(cache, nodata.key, 100)).toBeUndefined();
  });
});

describe('expiry and serve-stale', () => {
  it('past its TTL an entry is stale for serveStaleSeconds, then gone', () => {
    const cache = new ResponseCache({ ...OPTIONS, serveStaleSeconds: 30 });
    const { key } = clientQuery('s.example');
    cache.store(key, upstreamAnswer('s.example', [60]), T0);
    expect(cache.lookup(key, T0 + 59_999)).toMatchObject({ fresh: true, age: 59 });
    expect(cache.lookup(key, T0 + 60_000)).toMatchObject({ fresh: false, age: 60 });
    expect(cache.lookup(key, T0 + 89_999)).toMatchObject({ fresh: false });
    expect(cache.lookup(key, T0 + 90_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    // Only the fresh lookup counted as a hit.
    expect(cache.stats.hits).toBe(1);
  });

  it('a stale render carries STALE_TTL on every record', () => {
    const cache = new ResponseCache({ ...OPTIONS, serveStaleSeconds: 3600 });
    const client = clientQuery('s.example');
    cache.store(client.key, upstreamAnswer('s.example', [60, 120], { authorities: [soaRecord(500, 500)] }), T0);
    const lookup = cache.lookup(client.key, T0 + 1_000_000)!;
    expect(lookup.fresh).toBe(false);
    const packet = decode(cache.render(lookup, client.packet, client.query, undefined, true));
    expect([...packet.answers, ...packet.authorities].map((r) => r.ttl)).toEqual([STALE_TTL, STALE_TTL, STALE_TTL]);
  });

  it('serveStaleSeconds 0 disables serve-stale', () => {
    const cache = new ResponseCache({ ...OPTIONS, serveStaleSeconds: 0 });
    const { key } = clientQuery('s.example');
    cache.store(key, upstreamAnswer('s.example', [60]), T0);
    expect(cache.lookup(key, T0 + 60_000)).toBeUndefined();
  });
});

describe('what is never stored', () => {
  const name = 'x.example';
  const good = upstreamAnswer(name, [300]);
  const withFlags = (bytes: Buffer, set: number, rcode?: number): Buffer => {
    const copy = Buffer.from(bytes);
    const flags = (copy.readUInt16BE(2) | set) & (rcode === undefined ? 0xffff : 0xfff0);
    copy.writeUInt16BE(rcode === undefined ? flags : flags | rcode, 2);
    return copy;
  };

  it.each<[string, Buffer]>([
    ['a truncated (TC) answer', withFlags(good, 0x0200)],
    ['SERVFAIL', withFlags(good, 0, 2)],
    ['REFUSED', withFlags(good, 0, 5)],
    ['NOTIMP', withFlags(good, 0, 4)],
    ['NXDOMAIN without an SOA (no negative TTL)', upstreamAnswer(name, [], { rcode: 3 })],
    ['NODATA without an SOA', upstreamAnswer(name, [])],
    ['an answer whose TTL is 0', upstreamAnswer(name, [0])],
    ['a malformed answer (cut short)', good.subarray(0, good.length - 2)],
    ['a header alone', good.subarray(0, 12)],
    ['fewer bytes than a header', good.subarray(0, 5)],
  ])('%s', (_label, answer) => {
    const cache = new ResponseCache(OPTIONS);
    const { key } = clientQuery(name);
    expect(cache.store(key, answer, T0)).toBe(false);
    expect(cache.size).toBe(0);
    expect(cache.lookup(key, T0)).toBeUndefined();
  });

  it('an answer whose TTL is 0 is stored when cacheMinTtl raises it', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheMinTtl: 10 });
    expect(cache.store(clientQuery(name).key, upstreamAnswer(name, [0]), T0)).toBe(true);
  });
});

describe('bounds', () => {
  const names = Array.from({ length: 60 }, (_, i) => `n${i}.example`);

  it('stays within cacheMaxBytes, evicting the least recently used first', () => {
    const one = upstreamAnswer(names[0]!, [300]).length;
    const cacheMaxBytes = 10 * (one + 1000); // room for a few dozen entries at most, whatever the per-entry overhead
    const cache = new ResponseCache({ ...OPTIONS, cacheMaxBytes });
    const many = Array.from({ length: 1000 }, (_, i) => `n${i}.example`);
    for (const name of many) {
      expect(cache.store(clientQuery(name).key, upstreamAnswer(name, [300]), T0)).toBe(true);
      expect(cache.bytes).toBeLessThanOrEqual(cacheMaxBytes);
    }
    expect(cache.size).toBeGreaterThan(1);
    expect(cache.size).toBeLessThan(many.length);
    expect(cache.reservedBytes).toBeLessThanOrEqual(cacheMaxBytes); // the memory taken, not only an account of it
    expect(cache.bytes).toBeGreaterThan(cache.size * one); // bytes counts at least the answers themselves
    // The newest are there, the oldest are not.
    expect(cache.lookup(clientQuery(many.at(-1)!).key, T0)).toBeDefined();
    expect(cache.lookup(clientQuery(many[0]!).key, T0)).toBeUndefined();
  });

  it('a hit keeps an entry from being the next evicted', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheSize: 3 });
    const [a, b, c, d] = names.slice(0, 4).map((name) => ({ name, key: clientQuery(name).key }));
    for (const entry of [a!, b!, c!]) cache.store(entry.key, upstreamAnswer(entry.name, [300]), T0);
    expect(cache.lookup(a!.key, T0)).toBeDefined();
    cache.store(d!.key, upstreamAnswer(d!.name, [300]), T0);
    expect(cache.size).toBe(3);
    expect(cache.lookup(b!.key, T0)).toBeUndefined();
    expect(cache.lookup(a!.key, T0)).toBeDefined();
  });

  it('storing a new answer under the same key replaces the old one', () => {
    const cache = new ResponseCache(OPTIONS);
    const client = clientQuery('r.example');
    cache.store(client.key, upstreamAnswer('r.example', [300]), T0);
    const bytes = cache.bytes;
    cache.store(client.key, upstreamAnswer('r.example', [600]), T0 + 10_000);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(bytes);
    const lookup = cache.lookup(client.key, T0 + 10_000)!;
    expect(decode(cache.render(lookup, client.packet, client.query, undefined, false)).answers[0]!.ttl).toBe(600);
  });

  // An answer larger than the whole bound is not cached, and store() says so (it once said true).
  it('store() says false for an answer too large for cacheMaxBytes', () => {
    const cache = new ResponseCache({ ...OPTIONS, cacheMaxBytes: 256 });
    const { key } = clientQuery('big.example');
    const answer = upstreamAnswer('big.example', Array.from({ length: 20 }, () => 300));
    expect(answer.length).toBeGreaterThan(256);
    const stored = cache.store(key, answer, T0);
    expect(cache.lookup(key, T0)).toBeUndefined();
    expect(stored).toBe(false);
    expect(cache.reservedBytes).toBeLessThanOrEqual(256);
  });
});
