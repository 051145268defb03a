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
