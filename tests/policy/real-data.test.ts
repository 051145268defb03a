// Real published lists, copied into tests/fixtures/lists (see its README for sources and licences).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RuleIndex } from '../../src/policy/rule-index.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { rulesOf } from './rules-of.js';

const read = (file: string): string => readFileSync(new URL(`../fixtures/lists/${file}`, import.meta.url), 'utf8');

describe('real lists', () => {
  it('fraud-domains.txt: all 13,734 entries accepted, unchanged', () => {
    const text = read('fraud-domains.txt');
    const list = parseList(text, { name: 'fraud', kind: 'block' });
    expect(list.skipped).toEqual([]);
    expect(list.size).toBe(13_734);
    const rules = rulesOf(list);
    const lines = text.split('\n').filter((l) => l !== '');
    expect(rules.map((r) => r.domain)).toEqual(lines);
    // Every line of this file is already canonical: each entry's text is its domain, at its line.
    expect(rules.every((r, i) => r.text === r.domain && r.line === i + 1)).toBe(true);
    expect(rules.filter((r) => r.domain.includes('_')).length).toBeGreaterThan(0);
    expect(rules.filter((r) => r.domain.includes('xn--')).length).toBeGreaterThan(1000);

    const trie = RuleIndex.build([list]);
    expect(trie.ruleCount).toBe(13_734);
    expect(trie.match('0101.systems')?.domain).toBe('0101.systems');
    expect(trie.match('login.0101.systems')?.domain).toBe('0101.systems');
    // Subdomains of shared platforms are listed; the platforms themselves must stay resolvable.
    for (const platform of ['typeform.com', 'tumblr.com', 'netlify.app', 'amazonaws.com', 'slack.com']) {
      expect(trie.match(platform)).toBeUndefined();
    }
  });

  it('eth-phishing-detect hosts file: every line is a 0.0.0.0 rule, localhost ignored', () => {
    const text = read('eth-phishing-detect-1.2.0.hosts.txt');
    const list = parseList(text, { name: 'eth', kind: 'block' });
    expect(list.skipped).toEqual([]);
    expect(list.size).toBe(1_071);
    expect(rulesOf(list).some((r) => r.domain === 'localhost')).toBe(false);
    expect(list.rule(0)).toMatchObject({ domain: 'yearnson.finance', line: 2, text: 'yearnson.finance' });
  });

  it('urlhaus adblock list: path rules skipped, IPs become answer-IP rules, hostnames kept (= malware-domains.txt)', () => {
    const list = parseList(read('urlhaus-filter-online.txt'), { name: 'urlhaus', kind: 'block' });
    const reasons = new Map<string, number>();
    for (const s of list.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).toEqual({ 'adblock rule with a path': 3_345 });

    const expected = read('malware-domains.txt').split('\n').filter((l) => l !== '');
    const rules = rulesOf(list);
    expect(rules.filter((r) => !r.domain.includes('/')).map((r) => r.domain).sort()).toEqual(expected.sort());
    expect(rules.filter((r) => r.domain.includes('/'))).toHaveLength(2_307);
    expect(new Policy([list], 1).evaluateAddress(Buffer.from([1, 1, 104, 12]), 0, 4)).toMatchObject({ action: 'block', reason: 'ip', rule: { domain: '1.1.104.12/32', line: expect.any(Number) } });

    // Path rules on legitimate hosting must not block the host.
    const trie = RuleIndex.build([list]);
    for (const host of ['github.com', 'img1.wsimg.com', 'sci-hub.se']) expect(trie.match(host)).toBeUndefined();
    expect(trie.match('wegrowcoaching.com')?.text).toBe('||wegrowcoaching.com^$all');
  });
});
