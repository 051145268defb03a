import { describe, expect, it } from 'vitest';
import { convertGroups } from '../../src/config/group-specs.js';
import type { GroupSpec } from '../../src/config/options.js';
import { ClientGroups } from '../../src/policy/client-groups.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { explainName, explainLocalZones } from '../../src/policy/explain.js';

function specs(raw: unknown): readonly GroupSpec[] {
  const problems: string[] = [];
  const parsed = convertGroups(raw, (why) => {
    problems.push(why);
    return undefined;
  });
  if (parsed === undefined) throw new Error(problems.join('\n'));
  return parsed;
}

function problemsOf(raw: unknown): string {
  let problem = '';
  convertGroups(raw, (why) => {
    problem = why;
    return undefined;
  });
  return problem;
}

const groups = new ClientGroups(
  specs([
    { name: 'lan', clients: ['10.0.0.0/8', '2001:db8::/32'], lists: ['fraud'] },
    { name: 'office', clients: ['10.1.0.0/16', 'office-laptop'], lists: ['fraud', 'malware'] },
    { name: 'printer', clients: ['10.1.2.3'], lists: [] },
    { name: 'kids', clients: ['10.0.0.0/8', 'kids-tablet'], lists: ['fraud', 'adult'] },
    { name: 'v6office', clients: ['2001:db8:1::/48'], lists: ['malware'] },
  ]),
);

describe('client group selection', () => {
  it('the most specific CIDR wins, whatever the config order', () => {
    expect(groups.names[groups.select('10.9.9.9', undefined)]).toBe('lan');
    expect(groups.names[groups.select('10.1.9.9', undefined)]).toBe('office');
    expect(groups.names[groups.select('10.1.2.3', undefined)]).toBe('printer');
    expect(groups.names[groups.select('2001:db8::5', undefined)]).toBe('lan');
    expect(groups.names[groups.select('2001:db8:1::5', undefined)]).toBe('v6office');
  });

  it('reads IPv4-mapped IPv6 addresses as dual-stack sockets report them', () => {
    expect(groups.names[groups.select('::ffff:10.1.9.9', undefined)]).toBe('office');
  });

  it('unmatched clients fall into default', () => {
    expect(groups.select('192.0.2.1', undefined)).toBe(0);
    expect(groups.names[0]).toBe('default');
    expect(groups.select('2001:db9::1', undefined)).toBe(0);
    expect(groups.select('not-an-address', undefined)).toBe(0);
  });

  it('a client name selects its group only from inside that group\'s addresses', () => {
    // kids and lan share 10.0.0.0/8: the name picks kids there …
    expect(groups.names[groups.select('10.9.9.9', 'kids-tablet')]).toBe('kids');
    // … but a guest outside the office's 10.1.0.0/16 cannot name itself into the office.
    expect(groups.names[groups.select('10.9.9.9', 'office-laptop')]).toBe('lan');
    expect(groups.names[groups.select('192.0.2.1', 'office-laptop')]).toBe('default');
    expect(groups.names[groups.select('10.1.5.5', 'office-laptop')]).toBe('office');
    // An unknown name changes nothing.
    expect(groups.names[groups.select('10.1.5.5', 'someone')]).toBe('office');
  });

  it('without groups every client is default and no selection table exists', () => {
    const none = new ClientGroups([]);
    expect(none.configured).toBe(false);
    expect(none.select('10.0.0.1', 'x')).toBe(0);
  });
});

describe('groups: setting', () => {
  it('rejects what cannot work, saying why', () => {
    expect(problemsOf([{ name: 'a', clients: ['kitchen'] }])).toMatch(/at least one address or CIDR/);
    expect(problemsOf([{ name: 'default', clients: ['10.0.0.0/8'] }])).toMatch(/remove its clients/);
    expect(problemsOf([{ name: 'a', clients: ['10.0.0.0/33'] }])).toMatch(/prefix length/);
    expect(problemsOf([{ name: 'a', clients: ['10.0.0.0/8', 'Not A Name!'] }])).toMatch(/neither an address/);
    expect(problemsOf([{ name: 'a', clients: ['10.0.0.0/8'], 'block-mode': 'loud' }])).toMatch(/block-mode must be/);
    expect(problemsOf([{ name: 'a', clients: ['10.0.0.0/8'], colour: 'red' }])).toMatch(/unknown key/);
    expect(problemsOf([{ name: 'a', clients: ['10.0.0.0/8'] }, { name: 'a', clients: ['::1'] }])).toMatch(/used twice/);
    expect(problemsOf('{')).toMatch(/JSON array/);
  });

  it('takes a JSON string (env, flag) like the YAML list', () => {
    expect(specs('[{"name":"guests","clients":["192.168.50.0/24"],"lists":["fraud"]}]')).toEqual([
      { name: 'guests', clients: ['192.168.50.0/24'], lists: ['fraud'], blockMode: undefined },
    ]);
  });
});

describe('per-group policy', () => {
  const fraud = parseList('evil.example\n', { name: 'fraud', kind: 'block' });
  const malware = parseList('malware.example\nevil.example\n', { name: 'malware', kind: 'block' });
  const officeAllow = parseList('evil.example\n', { name: 'office-allow', kind: 'allow' });
  const grouped = new ClientGroups(
    specs([
      { name: 'default', lists: ['fraud'] },
      { name: 'office', clients: ['10.1.0.0/16'], lists: ['malware', 'office-allow'] },
    ]),
  );
  const policy = new Policy([fraud, malware, officeAllow], 1, grouped);

  it('each group applies only the lists it names', () => {
    expect(policy.evaluate('malware.example', 0).action).toBe('none');
    expect(policy.evaluate('malware.example', 1).action).toBe('block');
    expect(policy.evaluate('evil.example', 0).rule?.list).toBe('fraud');
    expect(policy.evaluate('evil.example', 1).action).toBe('allow');
  });

  it('the verdict cache keeps one verdict per group for the same name', () => {
    const store = new PolicyStore(policy, new VerdictCache({ verdictCacheSize: 16 }));
    for (let round = 0; round < 2; round++) {
      expect(store.verdict('evil.example', 0).action).toBe('block');
      expect(store.verdict('evil.example', 1).action).toBe('allow');
    }
  });

  it('explain --client says which group decided', () => {
    const sources = { policy, localZones: explainLocalZones({ localZones: false, blockDohCanaries: false }) };
    expect(explainName('evil.example', { ...sources, client: '10.1.2.3' })).toMatchObject({ verdict: 'allowed', group: 'office' });
    expect(explainName('evil.example', { ...sources, client: '192.0.2.1' })).toMatchObject({ verdict: 'blocked', group: 'default' });
  });
});

describe('per-group matchers across policy changes', () => {
  const groups = new ClientGroups(
    specs([
      { name: 'a', clients: ['10.1.0.0/16'], lists: ['one'] },
      { name: 'b', clients: ['10.2.0.0/16'], lists: ['two'] },
    ]),
  );
  const one = parseList('one.example\n', { name: 'one', kind: 'block' });
  const two = parseList('two.example\n', { name: 'two', kind: 'block' });

  it('a change of one list rebuilds only the groups that name it, and they see the new entries', () => {
    const first = new Policy([one, two], 1, groups);
    const twoAgain = parseList('two.example\nthree.example\n', { name: 'two', kind: 'block' });
    const second = new Policy([one, twoAgain], 2, groups, first);
    expect(second.evaluate('three.example', 2).action).toBe('block');
    expect(second.evaluate('three.example', 1).action).toBe('none');
    expect(second.evaluate('one.example', 1).action).toBe('block');
    // Group a's table is the very same object (its list did not change); b's is new.
    const tables = (policy: Policy) => (policy as unknown as { groupTries: unknown[] }).groupTries;
    expect(tables(second)[1]).toBe(tables(first)[1]);
    expect(tables(second)[2]).not.toBe(tables(first)[2]);
  });

  it('a list that appears later is picked up by the group that named it', () => {
    const first = new Policy([one], 1, groups);
    expect(first.evaluate('two.example', 2).action).toBe('none');
    const second = new Policy([one, two], 2, groups, first);
    expect(second.evaluate('two.example', 2).action).toBe('block');
    expect(second.evaluate('two.example', 0).action).toBe('block'); // default: every list
    expect(second.evaluate('two.example', 1).action).toBe('none');
  });
});
