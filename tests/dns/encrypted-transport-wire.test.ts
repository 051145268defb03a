import { describe, expect, it } from 'vitest';
import { cacheLifetimeSeconds } from '../../src/dns/cache-lifetime.js';
import { padResponse, queryAsksForPadding } from '../../src/dns/padding.js';
import { certificateNames, clientNameFromPath, clientNameFromSni } from '../../src/server/client-name.js';
import { buildQuery, decode } from '../helpers/dns-client.js';
import { encodeHeader, encodeName, encodeOpt, encodeRecord, ednsOption, RRType, soaRdata } from '../helpers/dns-wire.js';

const question = Buffer.concat([encodeName('www.example.test'), Buffer.from([0, 1, 0, 1])]);
const soa = (ttl: number, minimum: number): Buffer =>
  encodeRecord('example.test', RRType.SOA, 1, ttl, soaRdata({ mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } as never));
const a = (ttl: number): Buffer => encodeRecord(Buffer.from([0xc0, 12]), RRType.A, 1, ttl, Buffer.from([192, 0, 2, 1]));

function response(rcode: number, answers: Buffer[], authority: Buffer[], additional: Buffer[] = []): Buffer {
  return Buffer.concat([
    encodeHeader({ id: 0, qr: true, rcode, qdcount: 1, ancount: answers.length, nscount: authority.length, arcount: additional.length }),
    question,
    ...answers,
    ...authority,
    ...additional,
  ]);
}

describe('cacheLifetimeSeconds (RFC 8484 §5.1)', () => {
  it('is the smallest TTL of the records, ignoring the OPT record', () => {
    expect(cacheLifetimeSeconds(response(0, [a(300), a(120)], [], [encodeOpt()]))).toBe(120);
  });

  it('for a negative answer, is at most the SOA MINIMUM', () => {
    expect(cacheLifetimeSeconds(response(3, [], [soa(3600, 60)]))).toBe(60);
    expect(cacheLifetimeSeconds(response(0, [], [soa(30, 900)]))).toBe(30);
  });

  it('is undefined (no-store) for SERVFAIL and for a message that cannot be read', () => {
    expect(cacheLifetimeSeconds(response(2, [], []))).toBeUndefined();
    expect(cacheLifetimeSeconds(response(0, [a(300)], []).subarray(0, 40))).toBeUndefined();
  });

  it('is 0 for an answer with no records at all', () => {
    expect(cacheLifetimeSeconds(response(5, [], []))).toBe(0);
  });
});

describe('padding (RFC 8467)', () => {
  it('sees a Padding option in a query, and none when absent', () => {
    expect(queryAsksForPadding(buildQuery('www.example.test', 'A', { edns: { options: ednsOption(12, Buffer.alloc(20)) } }))).toBe(true);
    expect(queryAsksForPadding(buildQuery('www.example.test', 'A', { edns: { options: ednsOption(10, Buffer.alloc(8)) } }))).toBe(false);
    expect(queryAsksForPadding(buildQuery('www.example.test', 'A', { edns: {} }))).toBe(false);
    expect(queryAsksForPadding(buildQuery('www.example.test', 'A'))).toBe(false);
    expect(queryAsksForPadding(Buffer.from([1, 2, 3]))).toBe(false);
  });

  it('pads a response with OPT to a multiple of 468 bytes, keeping every record readable', () => {
    const plain = response(0, [a(300)], [], [encodeOpt({ options: ednsOption(15, Buffer.from([0, 15])) })]);
    const padded = padResponse(plain);
    expect(padded.length % 468).toBe(0);
    const decoded = decode(padded);
    expect(decoded.answers).toHaveLength(1);
    expect(decoded.opt?.options.map((o) => o.code)).toEqual([15, 12]);
    expect(decoded.opt?.options[1]!.data.every((byte) => byte === 0)).toBe(true);
  });

  it('leaves a response alone without OPT, or already padded', () => {
    const noOpt = response(0, [a(300)], []);
    expect(padResponse(noOpt)).toBe(noOpt);
    const once = padResponse(response(0, [a(300)], [], [encodeOpt()]));
    expect(padResponse(once)).toBe(once);
  });
});

describe('client names', () => {
  const names = certificateNames('DNS:dot.example.net, DNS:*.dot.example.net, IP Address:127.0.0.1');

  it('reads the DNS names of a certificate', () => {
    expect(names).toEqual({ exact: new Set(['dot.example.net']), wildcardParents: new Set(['dot.example.net']) });
  });

  it('takes the first label of an SNI the certificate covers by its wildcard, not the server name itself', () => {
    expect(clientNameFromSni('Kitchen-Tablet.dot.example.net', names)).toBe('kitchen-tablet');
    expect(clientNameFromSni('dot.example.net', names)).toBeUndefined();
    expect(clientNameFromSni('a.b.dot.example.net', names)).toBeUndefined();
    expect(clientNameFromSni('x.other.example', names)).toBeUndefined();
    expect(clientNameFromSni(false, names)).toBeUndefined();
    expect(clientNameFromSni('bad_name.dot.example.net', names)).toBeUndefined();
  });

  it('accepts one label as a DoH path suffix', () => {
    expect(clientNameFromPath('office-pc')).toBe('office-pc');
    expect(clientNameFromPath('a/b')).toBeUndefined();
    expect(clientNameFromPath('-x')).toBeUndefined();
  });
});
