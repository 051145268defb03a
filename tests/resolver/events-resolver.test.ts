import { describe, expect, it, vi } from 'vitest';
import { QType } from '../../src/dns/wire.js';
import type { BlockedLookup } from '../../src/events/blocked-lookup.js';
import type { Answer, Resolver } from '../../src/query/resolver.js';
import type { Rule } from '../../src/query/rule.js';
import { EventsResolver } from '../../src/resolver/events-resolver.js';
import { buildQuery, contextFor } from '../dns/packet-fixtures.js';

const rule: Rule = { domain: 'loan-scam.test', scope: 'domain', kind: 'block', list: 'fraud', category: 'fake-loan', line: 3, text: '||loan-scam.test^' };
const blocked: Answer = { bytes: Buffer.alloc(12), source: 'blocked', verdict: { action: 'block', rule, reason: 'name' } };

function chainWith(answer: Answer | Promise<Answer>, groupNames?: readonly string[]) {
  const records: BlockedLookup[] = [];
  const next: Resolver = { resolve: vi.fn(() => answer) };
  const admitted: string[] = [];
  const events = {
    admit: (client: string, name: string) => (admitted.push(`${client} ${name}`), name.endsWith('.repeat') ? undefined : `domain-of-${name}`),
    enqueue: (lookup: BlockedLookup, domain: string) => records.push({ ...lookup, domain } as BlockedLookup),
  };
  return { resolver: new EventsResolver(events, next, groupNames), records, admitted };
}

describe('EventsResolver', () => {
  it('hands one record per blocked answer to the pipeline and passes the answer on untouched', () => {
    const { resolver, records } = chainWith(blocked);
    const ctx = contextFor(buildQuery('www.loan-scam.test', QType.AAAA));
    expect(resolver.resolve(ctx)).toBe(blocked);
    expect(records).toEqual([
      expect.objectContaining({
        name: 'www.loan-scam.test',
        qtype: QType.AAAA,
        transport: ctx.transport,
        clientAddress: ctx.clientAddress,
        list: 'fraud',
        category: 'fake-loan',
        rule: '||loan-scam.test^',
        reason: 'name',
        domain: 'domain-of-www.loan-scam.test',
      }),
    ]);
    expect(Math.abs(records[0]!.at - Date.now())).toBeLessThan(1000);
  });

  it('names the client group whose lists decided, only when groups are configured', () => {
    const grouped = chainWith(blocked, ['default', 'kids']);
    grouped.resolver.resolve({ ...contextFor(buildQuery('loan-scam.test', QType.A)), group: 1 });
    expect(grouped.records[0]).toMatchObject({ group: 'kids' });
    const plain = chainWith(blocked);
    plain.resolver.resolve(contextFor(buildQuery('loan-scam.test', QType.A)));
    expect(plain.records[0]!.group).toBeUndefined();
  });

  it('carries what answer inspection matched and the DoT/DoH client name', () => {
    const cloaked: Answer = { bytes: Buffer.alloc(12), source: 'blocked', verdict: { action: 'block', rule, reason: 'cname', target: 'www.loan-scam.test' } };
    const { resolver, records } = chainWith(cloaked);
    resolver.resolve({ ...contextFor(buildQuery('track.shop.test', QType.A)), transport: 'dot', clientName: 'alice-phone' });
    expect(records[0]).toMatchObject({ name: 'track.shop.test', reason: 'cname', target: 'www.loan-scam.test', clientName: 'alice-phone', transport: 'dot' });
    const plain = chainWith(blocked);
    plain.resolver.resolve(contextFor(buildQuery('loan-scam.test', QType.A)));
    expect(plain.records[0]!.target).toBeUndefined();
    expect(plain.records[0]!.clientName).toBeUndefined();
  });

  it('a lookup the pipeline does not admit (a repeat) builds no record', () => {
    const { resolver, records, admitted } = chainWith(blocked);
    resolver.resolve(contextFor(buildQuery('x.repeat', QType.A)));
    expect(admitted).toEqual(['192.0.2.7 x.repeat']);
    expect(records).toEqual([]);
  });

  it('records blocks that arrive asynchronously (decided further down the chain)', async () => {
    const { resolver, records } = chainWith(Promise.resolve(blocked));
    await resolver.resolve(contextFor(buildQuery('loan-scam.test', QType.A)));
    expect(records).toHaveLength(1);
  });

  it.each(['upstream', 'cache', 'local', 'error', 'refused'] as const)('records nothing for a %s answer', (source) => {
    const { resolver, records, admitted } = chainWith({ bytes: Buffer.alloc(12), source });
    resolver.resolve(contextFor(buildQuery('example.com', QType.A)));
    expect(records).toEqual([]);
    expect(admitted).toEqual([]);
  });

  it('takes the block reason from the verdict (answer inspection, lookalikes)', () => {
    const viaCname = chainWith({ ...blocked, verdict: { ...blocked.verdict!, reason: 'cname' } });
    viaCname.resolver.resolve(contextFor(buildQuery('a.test', QType.A)));
    const viaAddress = chainWith({ ...blocked, verdict: { ...blocked.verdict!, reason: 'ip' } });
    viaAddress.resolver.resolve(contextFor(buildQuery('a.test', QType.A)));
    expect([viaCname.records[0]!.reason, viaAddress.records[0]!.reason]).toEqual(['cname', 'ip']);
  });
});
