import { describe, expect, it } from 'vitest';
import { ipv4Bytes } from '../../src/config/ip-address.js';
import { parseRpz } from '../../src/policy/parse-rpz.js';
import { Policy } from '../../src/policy/policy.js';

const ZONE = `$TTL 300
$ORIGIN rpz.example.
@ SOA ns.rpz.example. hostmaster.rpz.example. ( 1 3600
   900 604800 60 )  ; multi-line SOA
  NS ns
; category: phishing
bad.example.com CNAME .
*.bad.example.com CNAME .
ok.bad.example.com CNAME rpz-passthru.
nodata.example.com 60 IN CNAME *.
drop.example.com IN 60 CNAME rpz-drop.
tcp.example.com CNAME rpz-tcp-only.
garden.example.com A 192.0.2.7
  AAAA 2001:db8::7
  TXT "see the warning page"
redir.example.com CNAME walled.garden.test.
abs.example.net.rpz.example. CNAME .
24.0.113.0.203.rpz-ip CNAME .
48.zz.bad.db8.2001.rpz-ip CNAME .
32.9.113.0.203.rpz-ip CNAME rpz-passthru.
ns.evil.rpz-nsdname CNAME .
32.1.0.0.10.rpz-client-ip CNAME .
$INCLUDE other.zone
$GENERATE 1-10 h$ CNAME .
com CNAME .
elsewhere.example. CNAME .
`;

const list = parseRpz(ZONE, { name: 'feed', kind: 'block' });
const policy = new Policy([list], 1);

describe('parseRpz', () => {
  it('reads triggers, actions and local data with their lines; the category from a comment', () => {
    expect(list.category).toBe('phishing');
    expect([...list.rules].map((r) => `${r.line} ${r.scope} ${r.kind} ${r.rpz} ${r.domain}`)).toEqual([
      '7 exact block nxdomain bad.example.com',
      '8 subdomains block nxdomain bad.example.com',
      '9 exact allow passthru ok.bad.example.com',
      '10 exact block nodata nodata.example.com',
      '11 exact block drop drop.example.com',
      '12 exact block tcp-only tcp.example.com',
      '13 exact block local garden.example.com',
      '16 exact block local redir.example.com',
      '17 exact block nxdomain abs.example.net',
      '18 domain block nxdomain 203.0.113.0/24',
      '19 domain block nxdomain 2001:db8:bad::/48',
      '20 domain allow passthru 203.0.113.9/32',
    ]);
  });

  it('reports what it does not follow or support, with lines, and never fails', () => {
    expect(list.skipped.map((s) => [s.line, s.reason])).toEqual([
      [21, 'rpz-nsdname triggers are not supported (skipped)'],
      [22, 'rpz-client-ip triggers are not supported (skipped)'],
      [23, '$INCLUDE is never followed (put the records in the file itself)'],
      [24, '$GENERATE is never followed (put the records in the file itself)'],
      [25, 'public suffix'],
      [26, 'owner elsewhere.example. is outside the zone rpz.example.'],
    ]);
  });

  it.each([
    ['bad.example.com', 'block nxdomain'], // exact trigger
    ['x.bad.example.com', 'block nxdomain'], // wildcard
    ['ok.bad.example.com', 'allow passthru'], // exact beats the wildcard
    ['deep.ok.bad.example.com', 'block nxdomain'], // exact covers the name only
    ['nodata.example.com', 'block nodata'],
    ['x.nodata.example.com', 'none'], // no wildcard: not covered (a plain list line would cover it)
    ['example.com', 'none'],
    ['abs.example.net', 'block nxdomain'],
  ])('%s → %s', (name, expected) => {
    const v = policy.evaluate(name);
    expect(v.rule === undefined ? 'none' : `${v.action} ${v.rule.rpz}`).toBe(expected);
  });

  it('keeps local data as records in wire form', () => {
    const local = policy.evaluate('garden.example.com').rule?.localData;
    expect(local).toBeDefined();
    const view = Buffer.from(local!);
    const types: number[] = [];
    for (let at = 0; at < view.length; at += 8 + view.readUInt16BE(at + 6)) types.push(view.readUInt16BE(at));
    expect(types).toEqual([1, 28, 16]);
    expect([...view.subarray(8, 12)]).toEqual([192, 0, 2, 7]);
  });

  it('turns rpz-ip triggers into answer-IP rules (longest prefix, passthru allows)', () => {
    expect(policy.evaluateAddress(ipv4Bytes('203.0.113.5'), 0, 4)).toMatchObject({ action: 'block', reason: 'ip' });
    expect(policy.evaluateAddress(ipv4Bytes('203.0.113.9'), 0, 4)).toMatchObject({ action: 'allow' });
  });

  it('relative owners without $ORIGIN take the SOA owner as the zone', () => {
    const l = parseRpz('rpz.test. 60 SOA ns.rpz.test. h.rpz.test. 1 2 3 4 5\nevil.test.rpz.test. CNAME .\nbad CNAME .\n', { name: 'x', kind: 'block' });
    expect([...l.rules].map((r) => r.domain)).toEqual(['evil.test', 'bad']);
  });
});
