import { describe, expect, it } from 'vitest';
import { parseList } from '../../src/policy/parse-list.js';
import { Policy } from '../../src/policy/policy.js';
import { blockedSite, hostName } from '../../src/warning-page/blocked-host.js';

const policy = new Policy(
  [
    parseList('# category: fake-loan\nloan.test\n', { name: 'loans', kind: 'block' }),
    parseList('ok.loan.test\n', { name: 'loans-allow', kind: 'allow' }),
  ],
  1,
);

describe('hostName', () => {
  it.each([
    ['loan.test', 'loan.test'],
    ['loan.test:8080', 'loan.test'],
    ['[::1]:80', undefined],
    ['loan.test:80x', undefined],
    ['', undefined],
    [undefined, undefined],
    ['a'.repeat(300), undefined],
  ])('%j → %j', (host, expected) => {
    expect(hostName(host)).toBe(expected);
  });
});

describe('blockedSite', () => {
  it('names a host the policy blocks, normalised, with its list and category', () => {
    expect(blockedSite('WWW.Loan.Test.:80', policy)).toEqual({ name: 'www.loan.test', list: 'loans', category: 'fake-loan' });
  });

  it.each([
    'ok.loan.test', // allowed
    'example.org', // not listed
    '127.0.0.1', // an address
    '<script>alert(1)</script>.loan.test',
    'loan.test/<b>',
    'loan.test%00',
    'lo an.test',
  ])('gives the generic page for %j', (host) => {
    expect(blockedSite(host, policy)).toBeUndefined();
  });
});
