import { describe, expect, it, vi } from 'vitest';
import { Synthesizer } from '../../src/dns/synthesizer.js';
import { QType, Rcode } from '../../src/dns/wire.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { BlockAnswers } from '../../src/resolver/block-answers.js';
import { LocalZoneResolver } from '../../src/resolver/local-zone-resolver.js';
import { PolicyResolver } from '../../src/resolver/policy-resolver.js';
import type { Answer } from '../../src/query/resolver.js';
import { UpstreamResolver } from '../../src/resolver/upstream-resolver.js';
import type { Forwarder, ForwardRequest } from '../../src/upstream/forwarder.js';
import { UpstreamError } from '../../src/upstream/upstream-error.js';
import { buildQuery, buildResponse, contextFor, decode, edesOf, headerOf, optOf, Packet, questionBytes } from '../dns/packet-fixtures.js';

const OUR_SIZE = 1232;

/** A Forwarder stand-in: `forward` answers NOERROR (one A record) or does what `impl` says. */
function fakeForwarder(impl?: (request: ForwardRequest) => Promise<Buffer>) {
  const forward = vi.fn(
    impl ??
      (async (request: ForwardRequest) =>
        buildResponse(request.packet, {
          answers: [{ name: Packet.parse(request.packet).questions[0]!.name, type: QType.A, class: 1, ttl: 30, address: '192.0.2.80' }],
        })),
  );
  return { forwarder: { forward, close: () => {} } as unknown as Forwarder, forward };
}

describe('UpstreamResolver', () => {
  it('returns the forwarder answer as an upstream answer', async () => {
    const { forwarder, forward } = fakeForwarder();
    const resolver = new UpstreamResolver(forwarder, new Synthesizer(OUR_SIZE));
    const ctx = contextFor(buildQuery('example.com', QType.A));
    const answer = await resolver.resolve(ctx);
    expect(answer.source).toBe('upstream');
    expect(decode(answer.bytes).answers[0]).toMatchObject({ address: '192.0.2.80' });
    expect(forward).toHaveBeenCalledExactlyOnceWith(ctx);
  });

  it.each([false, true])('no upstream answered → SERVFAIL (EDE 23 naming the failure when EDNS=%s)', async (edns) => {
    const { forwarder } = fakeForwarder(() => Promise.reject(new UpstreamError('timeout', '192.0.2.53:53', 'no answer within 1000 ms')));
    const resolver = new UpstreamResolver(forwarder, new Synthesizer(OUR_SIZE));
    const query = buildQuery('Example.com', QType.AAAA, { id: 0x2468, edns: edns ? { dnssecOk: true } : undefined });
    const answer = await resolver.resolve(contextFor(query));
    expect(answer.source).toBe('error');
    expect(headerOf(answer.bytes)).toMatchObject({ id: 0x2468, qr: 1, ra: 1, rcode: Rcode.SERVFAIL, qdcount: 1, ancount: 0, arcount: edns ? 1 : 0 });
    expect(questionBytes(answer.bytes).equals(questionBytes(query))).toBe(true);
    const packet = decode(answer.bytes);
    if (edns) {
      expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: true });
      expect(edesOf(packet)).toEqual([expect.objectContaining({ infoCode: Packet.EDE.NETWORK_ERROR })]);
      expect(edesOf(packet)[0]?.extraText).toContain('192.0.2.53:53');
    } else {
      expect(optOf(packet)).toBeUndefined();
    }
  });
});

describe('policy → local zones → upstream, composed in the order buildChain uses', () => {
  function chain() {
    const list = parseList('evil.example\nevil.local\nuse-application-dns.net\n', { name: 'fraud', kind: 'block', category: 'phishing' });
    const allow = parseList('ok.evil.example\n', { name: 'exceptions', kind: 'allow' });
    const policy = new PolicyStore(new Policy([list, allow], 1), new VerdictCache({ verdictCacheSize: 100 }));
    const synthesizer = new Synthesizer(OUR_SIZE);
    const { forwarder, forward } = fakeForwarder();
    const upstream = new UpstreamResolver(forwarder, synthesizer);
    const localZones = new LocalZoneResolver({ localZones: true, blockDohCanaries: true }, synthesizer, upstream);
    const resolver = new PolicyResolver(policy, new BlockAnswers(
        { blockMode: 'nxdomain', blockTtl: 60, sinkholeIpv4: '', sinkholeIpv6: '', edeText: '', hotline: '', operator: '', sdeOptionCode: 0 },
        synthesizer,
      ), localZones);
    return { resolver, forward };
  }

  it.each([
    { name: 'www.evil.example', source: 'blocked', rcode: Rcode.NXDOMAIN, soa: 'evil.example' },
    { name: 'ok.evil.example', source: 'upstream', rcode: Rcode.NOERROR, soa: undefined },
    { name: 'evil.local', source: 'blocked', rcode: Rcode.NXDOMAIN, soa: 'evil.local' },
    { name: 'printer.local', source: 'local', rcode: Rcode.NXDOMAIN, soa: 'local' },
    { name: 'use-application-dns.net', source: 'blocked', rcode: Rcode.NXDOMAIN, soa: 'use-application-dns.net' },
    { name: 'localhost', source: 'local', rcode: Rcode.NOERROR, soa: undefined },
    { name: 'example.org', source: 'upstream', rcode: Rcode.NOERROR, soa: undefined },
  ])('$name → $source', async ({ name, source, rcode, soa }) => {
    const { resolver, forward } = chain();
    const answer: Answer = await resolver.resolve(contextFor(buildQuery(name, QType.A, { edns: {} })));
    expect(answer.source).toBe(source);
    const packet = decode(answer.bytes);
    expect(headerOf(answer.bytes).rcode).toBe(rcode);
    if (soa !== undefined) expect(packet.authorities[0]?.name).toBe(soa);
    expect(forward).toHaveBeenCalledTimes(source === 'upstream' ? 1 : 0);
    if (source === 'blocked') {
      expect(answer.verdict?.action).toBe('block');
      expect(edesOf(packet)[0]).toMatchObject({ infoCode: Packet.EDE.BLOCKED });
    }
  });
});
