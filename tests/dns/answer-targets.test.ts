import { describe, expect, it } from 'vitest';
import { collectAnswerTargets, emptyTargets, readName } from '../../src/dns/answer-targets.js';
import { encodeHeader, encodeIPv4, encodeIPv6, encodeName, encodeRecord } from '../helpers/dns-wire.js';

const IN = 1;
const question = Buffer.concat([encodeName('q.example'), Buffer.from([0, 1, 0, 1])]);

function message(records: Buffer[], ancount = records.length): Buffer {
  return Buffer.concat([encodeHeader({ id: 1, qr: true, qdcount: 1, ancount }), question, ...records]);
}

function svcbRdata(priority: number, target: string, params: [number, Buffer][]): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(priority);
  const encoded = params.map(([key, value]) => {
    const kv = Buffer.alloc(4);
    kv.writeUInt16BE(key, 0);
    kv.writeUInt16BE(value.length, 2);
    return Buffer.concat([kv, value]);
  });
  return Buffer.concat([head, encodeName(target), ...encoded]);
}

function collect(buf: Buffer, max = 16) {
  const out = emptyTargets();
  const ok = collectAnswerTargets(buf, buf.length, max, out);
  return { ok, ...out };
}

describe('collectAnswerTargets', () => {
  it('reads CNAME and DNAME targets (lowercased), and A/AAAA offsets, in answer order', () => {
    const buf = message([
      encodeRecord('q.example', 5, IN, 60, encodeName('Hop.Example')),
      encodeRecord('hop.example', 39, IN, 60, encodeName('target.test')),
      encodeRecord('x.target.test', 1, IN, 60, encodeIPv4('192.0.2.1')),
      encodeRecord('x.target.test', 28, IN, 60, encodeIPv6('2001:db8::1')),
    ]);
    const r = collect(buf);
    expect(r.ok).toBe(true);
    expect(r.names).toEqual(['hop.example', 'target.test']);
    expect(r.records).toEqual(['CNAME', 'DNAME']);
    expect(r.addressLengths).toEqual([4, 16]);
    expect([...buf.subarray(r.addressOffsets[0]!, r.addressOffsets[0]! + 4)]).toEqual([192, 0, 2, 1]);
  });

  it('follows compression pointers in a target name', () => {
    // The CNAME target is "www" + a pointer to the question name (offset 12).
    const rdata = Buffer.concat([Buffer.from([3]), Buffer.from('www'), Buffer.from([0xc0, 12])]);
    const r = collect(message([encodeRecord(Buffer.from([0xc0, 12]), 5, IN, 60, rdata)]));
    expect(r.names).toEqual(['www.q.example']);
  });

  it('reads SVCB/HTTPS TargetName (not ".") and ipv4hint/ipv6hint addresses', () => {
    const hints = Buffer.concat([encodeIPv4('192.0.2.7'), encodeIPv4('203.0.113.9')]);
    const r = collect(
      message([
        encodeRecord('q.example', 65, IN, 60, svcbRdata(1, 'svc.target.test', [[1, Buffer.from([2, 104, 50])], [4, hints], [6, encodeIPv6('2001:db8::9')]])),
        encodeRecord('q.example', 64, IN, 60, svcbRdata(1, '', [])),
      ]),
    );
    expect(r.ok).toBe(true);
    expect(r.names).toEqual(['svc.target.test']);
    expect(r.records).toEqual(['HTTPS']);
    expect(r.addressLengths).toEqual([4, 4, 16]);
  });

  it('stops reading names after the limit and says so', () => {
    const chain = Array.from({ length: 20 }, (_, i) => encodeRecord(`h${i}.example`, 5, IN, 60, encodeName(`h${i + 1}.example`)));
    const r = collect(message(chain), 16);
    expect(r.names).toHaveLength(16);
    expect(r.chainLimitHit).toBe(true);
  });

  it.each([
    ['ancount beyond the bytes', message([encodeRecord('q.example', 1, IN, 60, encodeIPv4('192.0.2.1'))], 2)],
    ['rdata length beyond the message', message([encodeRecord('q.example', 5, IN, 60, encodeName('a.example'))]).subarray(0, -3)],
    ['a forward compression pointer in a target', message([encodeRecord('q.example', 5, IN, 60, Buffer.from([0xc0, 0xff]))])],
    ['no question', Buffer.concat([encodeHeader({ id: 1, qr: true, qdcount: 0, ancount: 0 })])],
  ])('refuses a malformed answer: %s', (_label, buf) => {
    expect(collect(buf).ok).toBe(false);
  });

  it('readName refuses pointer loops and over-long names', () => {
    const loop = Buffer.from([0xc0, 0x00]);
    expect(readName(loop, 0, loop.length)).toBeUndefined();
    const long = Buffer.concat([...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 97)])), Buffer.from([0])]);
    expect(readName(long, 0, long.length)).toBeUndefined();
  });
});
