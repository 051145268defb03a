import { describe, expect, it } from 'vitest';
import { blockedCloudEvent } from '../../src/events/cloud-event.js';
import type { BlockedLookup } from '../../src/events/blocked-lookup.js';

const lookup: BlockedLookup = {
  at: Date.UTC(2026, 11, 6),
  clientAddress: '192.168.1.23',
  name: 'casino.test',
  qtype: 1,
  transport: 'udp',
  list: 'gambling',
  category: 'gambling',
  rule: 'casino.test',
  reason: 'name',
};
const options = { eventsClient: 'anonymized' as const, instance: 'resolver-1', qtypeName: () => 'A' };

describe('blocked event data.group', () => {
  it('carries the client group that decided when there is one, and no group field otherwise', () => {
    const grouped = JSON.parse(blockedCloudEvent({ ...lookup, group: 'kids' }, 'casino.test', options)) as { data: Record<string, unknown> };
    expect(grouped.data['group']).toBe('kids');
    const plain = JSON.parse(blockedCloudEvent(lookup, 'casino.test', options)) as { data: Record<string, unknown> };
    expect('group' in plain.data).toBe(false);
  });
});

describe('blocked event data.target and data.clientName', () => {
  const dataOf = (l: BlockedLookup, eventsClient: 'anonymized' | 'full' | 'none'): Record<string, unknown> =>
    (JSON.parse(blockedCloudEvent(l, 'casino.test', { ...options, eventsClient })) as { data: Record<string, unknown> }).data;

  it('carries the matched CNAME target or answer address when inspection decided, and no target field otherwise', () => {
    expect(dataOf({ ...lookup, reason: 'cname', target: 'www.casino.test' }, 'anonymized')).toMatchObject({ reason: 'cname', target: 'www.casino.test' });
    expect(dataOf({ ...lookup, reason: 'ip', target: '203.0.113.66' }, 'none')).toMatchObject({ reason: 'ip', target: '203.0.113.66' });
    expect('target' in dataOf(lookup, 'full')).toBe(false);
  });

  it('writes the DoT/DoH client name only with --events-client full: it names a device like the address does', () => {
    const named = { ...lookup, transport: 'dot', clientName: 'alice-phone' };
    expect(dataOf(named, 'full')).toMatchObject({ client: '192.168.1.23', clientName: 'alice-phone' });
    expect('clientName' in dataOf(named, 'anonymized')).toBe(false);
    expect('clientName' in dataOf(named, 'none')).toBe(false);
    expect('clientName' in dataOf(lookup, 'full')).toBe(false);
  });
});

