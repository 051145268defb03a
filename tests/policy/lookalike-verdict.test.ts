import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadListsDir } from '../../src/lists/load-lists.js';
import { explainLocalZones, explainName, formatExplanation, isBlocking } from '../../src/policy/explain.js';
import { withLookalike, type LookalikeSettings } from '../../src/policy/lookalike-verdict.js';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';

const protect = parseList('# category: payment\npaypal.com\n', { name: 'brands', kind: 'protect' });
const fraud = parseList('# category: phishing\npaypal-secure.com\n', { name: 'fraud', kind: 'block' });
const allow = parseList('paypa1.com\n', { name: 'fp-allow', kind: 'allow' });
const OBSERVE: LookalikeSettings = { lookalike: 'observe', protectTldSwaps: false, protectEmbedded: false };
const BLOCK: LookalikeSettings = { lookalike: 'block', protectTldSwaps: false, protectEmbedded: false };
const OFF: LookalikeSettings = { lookalike: 'off', protectTldSwaps: false, protectEmbedded: false };

const verdict = (policy: Policy, name: string, settings: LookalikeSettings) => withLookalike(policy, name, policy.evaluate(name), settings);

describe('protect lists in a policy', () => {
  const policy = new Policy([fraud, protect], 1);

  it('are not rules: the protected domain itself is not blocked', () => {
    expect(policy.evaluate('paypal.com')).toMatchObject({ action: 'none' });
    expect(policy.ruleCount).toBe(1);
    expect(policy.lists.find((l) => l.name === 'brands')).toMatchObject({ kind: 'protect', entries: 1 });
  });

  it('observe: action none, the finding attached, reason lookalike', () => {
    expect(verdict(policy, 'paypa1.com', OBSERVE)).toMatchObject({
      action: 'none',
      rule: undefined,
      reason: 'lookalike',
      lookalike: { test: 'edit-distance', protectedDomain: 'paypal.com', category: 'payment', list: 'brands', distance: 1 },
    });
  });

  it('block: a block whose rule names the protect list and carries the EDE text', () => {
    const blocked = verdict(policy, 'www.paypa1.com', BLOCK);
    expect(blocked).toMatchObject({ action: 'block', reason: 'lookalike' });
    expect(blocked.rule).toMatchObject({ list: 'brands', category: 'payment', domain: 'paypa1.com', text: 'lookalike of paypal.com (edit distance 1)', kind: 'block' });
  });

  it('off: nothing is judged', () => {
    expect(verdict(policy, 'paypa1.com', OFF)).toMatchObject({ action: 'none' });
    expect(verdict(policy, 'paypa1.com', OFF).lookalike).toBeUndefined();
  });

  it('a list rule decides before the judge: a listed lookalike is blocked by its list', () => {
    expect(verdict(policy, 'paypal-secure.com', BLOCK)).toMatchObject({ action: 'block', rule: { list: 'fraud' } });
    expect(verdict(policy, 'paypal-secure.com', BLOCK).lookalike).toBeUndefined();
  });

  it('an allow rule always wins: one allow entry fixes a false positive', () => {
    const allowed = new Policy([fraud, protect, allow], 2);
    expect(verdict(allowed, 'paypa1.com', BLOCK)).toMatchObject({ action: 'allow', rule: { list: 'fp-allow' } });
    expect(verdict(allowed, 'www.paypa1.com', BLOCK).lookalike).toBeUndefined();
  });

  it('reuses the index while the protect lists are the same objects', () => {
    const next = new Policy([fraud, protect, allow], 3);
    expect(next.lookalikes).toBe(new Policy([protect], 4).lookalikes);
    expect(new Policy([parseList('paypal.com\n', { name: 'brands', kind: 'protect' })], 5).lookalikes).not.toBe(next.lookalikes);
    expect(new Policy([fraud], 6).lookalikes).toBeUndefined();
  });
});

describe('PolicyStore with lookalikes', () => {
  it('judges on a verdict-cache miss and serves the cached verdict after; a swap re-judges', () => {
    const cache = new VerdictCache({ verdictCacheSize: 10 });
    const store = new PolicyStore(new Policy([protect], 1), cache, BLOCK);
    const first = store.verdict('paypa1.com');
    expect(first).toMatchObject({ action: 'block', reason: 'lookalike' });
    expect(store.verdict('paypa1.com')).toBe(first);
    expect(cache.hits).toBe(1);
    store.swap(new Policy([protect, allow], 2));
    expect(store.verdict('paypa1.com')).toMatchObject({ action: 'allow' });
  });
});

describe('explain and check', () => {
  const policy = new Policy([fraud, protect], 1);
  const localZones = explainLocalZones({ localZones: true, blockDohCanaries: true });

  it('shows an observed lookalike with its test and protected domain', () => {
    const e = explainName('PAYPA1.com.', { policy, localZones, lookalikeSettings: OBSERVE });
    expect(e).toMatchObject({ valid: true, verdict: 'lookalike', lookalike: { test: 'edit-distance', protectedDomain: 'paypal.com', distance: 1 } });
    expect(formatExplanation(e)).toBe(
      'paypa1.com: LOOKALIKE: lookalike of paypal.com (edit distance 1); protect list "brands" (category payment), test edit-distance; observed only, resolved normally (--lookalike block would block it)',
    );
  });

  it('says BLOCKED in block mode, and takes Unicode input as a user types it', () => {
    const e = explainName('pаypal.com', { policy, localZones, lookalikeSettings: BLOCK });
    expect(e).toMatchObject({ verdict: 'blocked', lookalike: { test: 'homoglyph' } });
    expect(formatExplanation(e)).toContain('BLOCKED as a lookalike of paypal.com (homoglyph)');
    expect(isBlocking(e)).toBe(true);
    expect(isBlocking(explainName('paypa1.com', { policy, localZones, lookalikeSettings: OBSERVE }))).toBe(false);
    expect(explainName('paypa1.com', { policy, localZones })).toMatchObject({ verdict: 'not-listed' }); // no settings: off
  });

  it('shows nothing for the protected domain itself', () => {
    expect(explainName('www.paypal.com', { policy, localZones, lookalikeSettings: BLOCK })).toMatchObject({ verdict: 'not-listed' });
  });
});

describe('protect lists from files', () => {
  it('loads *.protect.txt from the lists directory and --protect files and directories, warning about unusable entries', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-protect-'));
    const extra = mkdtempSync(path.join(tmpdir(), 'fraudwall-protect-extra-'));
    try {
      writeFileSync(path.join(dir, 'fraud.txt'), 'evil.test\n');
      writeFileSync(path.join(dir, 'banks.protect.txt'), '# category: bank\nchase.com\nwww.hsbc.com\ncom\n');
      writeFileSync(path.join(extra, 'couriers.txt'), '# category: courier\ndhl.com\n');
      writeFileSync(path.join(extra, 'one.list'), 'fedex.com\n');
      const { lists, warnings } = await loadListsDir(dir, [extra, path.join(extra, 'one.list'), path.join(extra, 'missing.txt')]);
      expect(lists.map((l) => [l.name, l.kind, l.category])).toEqual([
        ['banks-protect', 'protect', 'bank'],
        ['fraud', 'block', 'uncategorized'],
        ['couriers', 'protect', 'courier'],
        ['one', 'protect', 'uncategorized'],
      ]);
      expect(warnings.some((w) => w.includes('one') && w.includes('already used'))).toBe(true);
      expect(warnings).toContainEqual(expect.stringMatching(/banks\.protect\.txt: 1 entry is not protected \(first: line 3: .*protect "hsbc\.com"/));
      expect(warnings).toContainEqual(expect.stringMatching(/banks\.protect\.txt: skipped 1 public-suffix entry \(first: line 4: com\)/));
      expect(warnings).toContainEqual(expect.stringContaining('--protect ' + path.join(extra, 'missing.txt')));
      const policy = new Policy(lists, 1);
      expect(policy.lookalikes?.size).toBe(3);
      expect(policy.lookalikes?.judge('dhi.com', { protectTldSwaps: false })).toBeUndefined(); // 3 letters: no distance test
      expect(policy.lookalikes?.judge('dh1.com', { protectTldSwaps: false })).toMatchObject({ test: 'homoglyph', category: 'courier' }); // but homoglyphs
      expect(policy.lookalikes?.judge('fedexx.com', { protectTldSwaps: false })).toMatchObject({ protectedDomain: 'fedex.com', list: 'one' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(extra, { recursive: true, force: true });
    }
  });
});
