import { describe, expect, it, vi } from 'vitest';
import { Synthesizer } from '../../src/dns/synthesizer.js';
import { QType, Rcode } from '../../src/dns/wire.js';
import { LocalZoneResolver } from '../../src/resolver/local-zone-resolver.js';
import { DOH_CANARIES, PRIVATE_REVERSE_ZONES, SPECIAL_USE_ZONES, type LocalZoneOptions } from '../../src/policy/local-zones.js';
import type { Answer, QueryContext, Resolver } from '../../src/query/resolver.js';
import { buildQuery, contextFor, decode, edesOf, headerOf, optOf, Packet, questionBytes, type DnsPacket } from '../dns/packet-fixtures.js';

const OUR_SIZE = 1232;
const FORWARDED = Buffer.from('forwarded');

function setup(options: LocalZoneOptions = { localZones: true, blockDohCanaries: true }): {
  resolver: LocalZoneResolver;
  next: ReturnType<typeof vi.fn<(ctx: QueryContext) => Answer>>;
} {
  const next = vi.fn<(ctx: QueryContext) => Answer>(() => ({ bytes: FORWARDED, source: 'upstream' }));
  const stub: Resolver = { resolve: next };
  return { resolver: new LocalZoneResolver(options, new Synthesizer(OUR_SIZE), stub), next };
}

/** Resolves one query; asserts it stayed local (next not called) and decodes the reply with dns2. */
function local(resolver: LocalZoneResolver, next: ReturnType<typeof setup>['next'], name: string, type: number, edns = false): { bytes: Buffer; packet: DnsPacket; query: Buffer } {
  const query = buildQuery(name, type, { id: 0x7777, edns: edns ? { dnssecOk: true } : undefined });
  const answer = resolver.resolve(contextFor(query));
  expect(answer).not.toBeInstanceOf(Promise);
  const { bytes, source } = answer as Answer;
  expect(next).not.toHaveBeenCalled();
  expect(source).toBe('local');
  expect(headerOf(bytes)).toMatchObject({ id: 0x7777, qr: 1, aa: 1, ra: 1, rd: 1, tc: 0, qdcount: 1 });
  expect(questionBytes(bytes).equals(questionBytes(query))).toBe(true);
  return { bytes, packet: decode(bytes), query };
}

function soaOwner(packet: DnsPacket): string | undefined {
  return packet.authorities.find((r) => r.type === QType.SOA)?.name;
}

describe('LocalZoneResolver: localhost (RFC 6761 §6.3)', () => {
  it.each([
    { name: 'localhost', type: QType.A, address: '127.0.0.1' },
    { name: 'LocalHost', type: QType.A, address: '127.0.0.1' },
    { name: 'localhost', type: QType.AAAA, address: '::1' },
    { name: 'sub.localhost', type: QType.A, address: '127.0.0.1' },
    { name: 'a.b.Sub.LOCALHOST', type: QType.AAAA, address: '::1' },
  ])('$name $type → $address', ({ name, type, address }) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, name, type);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([expect.objectContaining({ name, type, class: 1, ttl: 3600, address })]);
    expect(packet.authorities).toEqual([]);
  });

  it.each([
    { name: 'localhost', type: QType.MX },
    { name: 'localhost', type: QType.TXT },
    { name: 'sub.localhost', type: QType.MX },
  ])('$name type $type → NOERROR without data, SOA localhost', ({ name, type }) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, name, type);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([]);
    expect(packet.authorities).toEqual([
      expect.objectContaining({ name: 'localhost', type: QType.SOA, ttl: 3600, primary: 'localhost', admin: 'nobody.invalid', minimum: 3600 }),
    ]);
  });

  it('answers the apex SOA query with the SOA in the answer section', () => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, 'localhost', QType.SOA);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([expect.objectContaining({ name: 'localhost', type: QType.SOA, primary: 'localhost', admin: 'nobody.invalid' })]);
    expect(packet.authorities).toEqual([]);
  });

  it.each(['notlocalhost', 'localhost.example.com', 'localhostx'])('%s is not localhost', (name) => {
    const { resolver, next } = setup();
    const ctx = contextFor(buildQuery(name, QType.A));
    expect(resolver.resolve(ctx)).toEqual({ bytes: FORWARDED, source: 'upstream' });
    expect(next).toHaveBeenCalledExactlyOnceWith(ctx);
  });
});

describe('LocalZoneResolver: RFC 6303 reverse zones', () => {
  it.each([
    { name: '1.0.0.127.in-addr.arpa' },
    { name: '1.0.0.127.IN-ADDR.ARPA' },
    { name: `1${'.0'.repeat(31)}.ip6.arpa` },
  ])('$name PTR → localhost', ({ name }) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, name, QType.PTR);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([expect.objectContaining({ name, type: QType.PTR, ttl: 3600, domain: 'localhost' })]);
  });

  it('1.0.0.127.in-addr.arpa of another type → NOERROR without data', () => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, '1.0.0.127.in-addr.arpa', QType.A);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([]);
    expect(soaOwner(packet)).toBe('127.in-addr.arpa');
  });

  it.each([
    { name: '5.1.168.192.in-addr.arpa', zone: '168.192.in-addr.arpa' },
    { name: '2.0.0.127.in-addr.arpa', zone: '127.in-addr.arpa' },
    { name: '4.3.2.10.in-addr.arpa', zone: '10.in-addr.arpa' },
    { name: '9.9.20.172.in-addr.arpa', zone: '20.172.in-addr.arpa' },
    { name: '1.0.16.172.in-addr.arpa', zone: '16.172.in-addr.arpa' },
    { name: '255.255.31.172.in-addr.arpa', zone: '31.172.in-addr.arpa' },
    { name: '1.1.64.100.in-addr.arpa', zone: '64.100.in-addr.arpa' },
    { name: '1.1.127.100.in-addr.arpa', zone: '127.100.in-addr.arpa' },
    { name: '7.7.254.169.in-addr.arpa', zone: '254.169.in-addr.arpa' },
    { name: '5.2.0.192.in-addr.arpa', zone: '2.0.192.in-addr.arpa' },
    { name: `x.0${'.0'.repeat(31)}.ip6.arpa`, zone: `0${'.0'.repeat(31)}.ip6.arpa` },
    { name: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa', zone: '8.e.f.ip6.arpa' },
    { name: 'a.b.c.d.f.ip6.arpa', zone: 'd.f.ip6.arpa' },
    { name: '1.8.b.d.0.1.0.0.2.ip6.arpa', zone: '8.b.d.0.1.0.0.2.ip6.arpa' },
  ])('$name → NXDOMAIN, SOA $zone', ({ name, zone }) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, name, QType.PTR, true);
    expect(packet.header.rcode).toBe(Rcode.NXDOMAIN);
    expect(packet.answers).toEqual([]);
    expect(packet.authorities).toEqual([expect.objectContaining({ name: zone, type: QType.SOA, ttl: 3600, primary: zone, admin: 'nobody.invalid', minimum: 3600 })]);
    // EDNS in → OPT out, with our size and the DO bit echoed, no EDE.
    expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: true });
    expect(edesOf(packet)).toEqual([]);
  });

  it.each([
    '1.0.15.172.in-addr.arpa',
    '1.0.32.172.in-addr.arpa',
    '172.in-addr.arpa',
    '1.1.63.100.in-addr.arpa',
    '1.1.128.100.in-addr.arpa',
    '1.1.1.1.in-addr.arpa',
    '8.8.8.8.in-addr.arpa',
    'in-addr.arpa',
    'arpa',
    '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.3.ip6.arpa',
    `2${'.0'.repeat(31)}.ip6.arpa`,
  ])('%s is forwarded', (name) => {
    const { resolver, next } = setup();
    const ctx = contextFor(buildQuery(name, QType.PTR));
    expect(resolver.resolve(ctx)).toEqual({ bytes: FORWARDED, source: 'upstream' });
    expect(next).toHaveBeenCalledExactlyOnceWith(ctx);
  });

  it.each(['10.in-addr.arpa', '168.192.in-addr.arpa', '31.172.in-addr.arpa', 'd.f.ip6.arpa'])('apex %s SOA → the SOA as the answer', (zone) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, zone, QType.SOA);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([expect.objectContaining({ name: zone, type: QType.SOA, ttl: 3600, primary: zone, admin: 'nobody.invalid', serial: 1 })]);
    expect(packet.authorities).toEqual([]);
  });

  it('apex of another type → NOERROR without data (the zone exists)', () => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, '168.192.in-addr.arpa', QType.NS);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([]);
    expect(soaOwner(packet)).toBe('168.192.in-addr.arpa');
  });

  it('serves every listed zone', () => {
    const { resolver, next } = setup();
    for (const zone of [...PRIVATE_REVERSE_ZONES, ...SPECIAL_USE_ZONES]) {
      const { packet } = local(resolver, next, `x.${zone}`, QType.PTR);
      expect(soaOwner(packet)).toBe(zone);
    }
  });
});

describe('LocalZoneResolver: special-use names', () => {
  it.each([
    { name: 'printer.local', zone: 'local' },
    { name: 'Printer.LOCAL', zone: 'local' },
    { name: 'nas.home.arpa', zone: 'home.arpa' },
    { name: 'a.b.home.arpa', zone: 'home.arpa' },
    { name: 'foo.invalid', zone: 'invalid' },
    { name: 'duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion', zone: 'onion' },
  ])('$name → NXDOMAIN with SOA $zone', ({ name, zone }) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, name, QType.A);
    expect(packet.header.rcode).toBe(Rcode.NXDOMAIN);
    expect(soaOwner(packet)).toBe(zone);
    expect(optOf(packet)).toBeUndefined();
  });

  it.each(['home.arpa', 'local'])('apex %s → NOERROR without data', (zone) => {
    const { resolver, next } = setup();
    const { packet } = local(resolver, next, zone, QType.A);
    expect(packet.header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toEqual([]);
    expect(soaOwner(packet)).toBe(zone);
  });

  it.each(['foo.test', 'example.com', 'arpa', 'homearpa', 'notlocal', 'local.example.com', ''])('"%s" is forwarded', (name) => {
    const { resolver, next } = setup();
    const ctx = contextFor(buildQuery(name, QType.A));
    resolver.resolve(ctx);
    expect(next).toHaveBeenCalledExactlyOnceWith(ctx);
  });
});

describe('LocalZoneResolver: DoH canaries', () => {
  it.each([
    { name: 'use-application-dns.net', zone: 'use-application-dns.net' },
    { name: 'Use-Application-DNS.net', zone: 'use-application-dns.net' },
    { name: 'mask.icloud.com', zone: 'mask.icloud.com' },
    { name: 'mask-h2.icloud.com', zone: 'mask-h2.icloud.com' },
    { name: 'x.mask.icloud.com', zone: 'mask.icloud.com' },
  ])('$name → NXDOMAIN with EDE 17 (Filtered)', ({ name, zone }) => {
    const { resolver, next } = setup();
    for (const type of [QType.A, QType.AAAA, QType.HTTPS]) {
      const { packet } = local(resolver, next, name, type, true);
      expect(packet.header.rcode).toBe(Rcode.NXDOMAIN);
      expect(packet.answers).toEqual([]);
      expect(packet.authorities).toEqual([expect.objectContaining({ name: zone, type: QType.SOA, ttl: 300, minimum: 300 })]);
      expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: true });
      const edes = edesOf(packet);
      expect(edes).toHaveLength(1);
      expect(edes[0]?.infoCode).toBe(Packet.EDE.FILTERED);
      expect(edes[0]?.extraText).toMatch(/canary/);
    }
  });

  it('without EDNS: NXDOMAIN and no OPT', () => {
    const { resolver, next } = setup();
    const { bytes, packet } = local(resolver, next, 'use-application-dns.net', QType.A, false);
    expect(packet.header.rcode).toBe(Rcode.NXDOMAIN);
    expect(headerOf(bytes).arcount).toBe(0);
  });

  it.each(['icloud.com', 'www.icloud.com', 'application-dns.net'])('%s is forwarded', (name) => {
    const { resolver, next } = setup();
    resolver.resolve(contextFor(buildQuery(name, QType.A)));
    expect(next).toHaveBeenCalledOnce();
  });

  it('lists the three canaries', () => {
    expect([...DOH_CANARIES].sort()).toEqual(['mask-h2.icloud.com', 'mask.icloud.com', 'use-application-dns.net']);
  });
});

describe('LocalZoneResolver: options', () => {
  const names = ['localhost', 'sub.localhost', '1.0.0.127.in-addr.arpa', '5.1.168.192.in-addr.arpa', 'printer.local', 'nas.home.arpa', 'use-application-dns.net', 'mask.icloud.com'];

  it('both off: everything passes through to next, answered by next', () => {
    const { resolver, next } = setup({ localZones: false, blockDohCanaries: false });
    for (const name of names) {
      const ctx = contextFor(buildQuery(name, QType.A));
      expect(resolver.resolve(ctx)).toEqual({ bytes: FORWARDED, source: 'upstream' });
      expect(next).toHaveBeenLastCalledWith(ctx);
    }
    expect(next).toHaveBeenCalledTimes(names.length);
  });

  it('local zones off, canaries on: only the canaries stay local', () => {
    const { resolver, next } = setup({ localZones: false, blockDohCanaries: true });
    const sources = names.map((name) => (resolver.resolve(contextFor(buildQuery(name, QType.A))) as Answer).source);
    expect(sources).toEqual(['upstream', 'upstream', 'upstream', 'upstream', 'upstream', 'upstream', 'local', 'local']);
  });

  it('local zones on, canaries off: canaries are forwarded', () => {
    const { resolver } = setup({ localZones: true, blockDohCanaries: false });
    const sources = names.map((name) => (resolver.resolve(contextFor(buildQuery(name, QType.A))) as Answer).source);
    expect(sources).toEqual(['local', 'local', 'local', 'local', 'local', 'local', 'upstream', 'upstream']);
  });

  it('returns what next returns, promise included', async () => {
    const promised: Answer = { bytes: Buffer.from('later'), source: 'upstream' };
    const resolver = new LocalZoneResolver({ localZones: true, blockDohCanaries: true }, new Synthesizer(OUR_SIZE), {
      resolve: () => Promise.resolve(promised),
    });
    await expect(resolver.resolve(contextFor(buildQuery('example.com', QType.A)))).resolves.toBe(promised);
  });
});
