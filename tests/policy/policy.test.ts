import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/policy/policy-error.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';

const fraud = parseList('# category: phishing\nevil.com\n*.scam.net\nbad/path\n', { name: 'fraud', kind: 'block' });
const allow = parseList('good.evil.com\n', { name: 'fraud-allow', kind: 'allow' });

describe('Policy', () => {
  const policy = new Policy([fraud, allow], 7);

  it.each([
    ['evil.com', 'block', 'evil.com'],
    ['a.evil.com', 'block', 'evil.com'],
    ['good.evil.com', 'allow', 'good.evil.com'],
    ['x.good.evil.com', 'allow', 'good.evil.com'],
    ['scam.net', 'none', undefined],
    ['a.scam.net', 'block', 'scam.net'],
    ['example.org', 'none', undefined],
    ['', 'none', undefined],
  ])('evaluate(%j) -> %s', (name, action, domain) => {
    const verdict = policy.evaluate(name);
    expect(verdict.action).toBe(action);
    expect(verdict.rule?.domain).toBe(domain);
  });

  it('returns the rule that decided, with its list and category', () => {
    expect(policy.evaluate('a.evil.com').rule).toMatchObject({ list: 'fraud', category: 'phishing', line: 2, text: 'evil.com' });
  });

  it('summarises its lists and counts entries', () => {
    expect(policy.generation).toBe(7);
    expect(policy.lists).toEqual([
      { name: 'fraud', kind: 'block', category: 'phishing', entries: 2, skipped: 1 },
      { name: 'fraud-allow', kind: 'allow', category: 'uncategorized', entries: 1, skipped: 0 },
    ]);
    expect(policy.ruleCount).toBe(3);
  });

  it('is a snapshot: the parsed lists it shares are immutable', () => {
    const list = parseList('x.com\n', { name: 'l', kind: 'block' });
    const p = new Policy([list], 1);
    // The policy references the list's packed entries instead of copying them; nothing can change them.
    expect(Object.isFrozen(list)).toBe(true);
    expect(Object.isFrozen(list.packed)).toBe(true);
    expect(Object.isFrozen(list.skipped)).toBe(true);
    expect(() => {
      (list as { size: number }).size = 0;
    }).toThrow(TypeError);
    expect(() => {
      (list as { name: string }).name = 'other';
    }).toThrow(TypeError);
    expect(p.evaluate('x.com').action).toBe('block');
    expect(p.evaluate('x.com').rule).toMatchObject({ list: 'l', domain: 'x.com' });
    expect(p.lists[0]?.entries).toBe(1);
  });

  it.each([-1, 1.5, Number.NaN])('rejects generation %s', (generation) => {
    expect(() => new Policy([], generation)).toThrow(PolicyError);
  });
});
