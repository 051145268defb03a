import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { Packet } from 'dns2';
import { buildQuery, decode, edeOption, ednsOption, RRType, udpSendNoReply, WireError } from '../helpers/dns-client.js';
import { encodeHeader, encodeIPv6, encodeName, encodeOpt, encodeRecord, soaRdata, txtRdata } from '../helpers/dns-wire.js';

describe('buildQuery', () => {
  it('encodes header and question exactly', () => {
    const q = buildQuery('www.Example.test.', 'AAAA', { id: 0x1234 });
    expect(q.toString('hex')).toBe(
      '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + '03777777' + '074578616d706c65' + '0474657374' + '00' + '001c' + '0001',
    );
  });

  it('defaults: rd=1, random id, no EDNS', () => {
    const ids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const m = decode(buildQuery('a.test', 'A'));
      ids.add(m.id);
      expect(m.rd).toBe(true);
      expect(m.qr).toBe(false);
      expect(m.opt).toBeUndefined();
      expect(m.counts.ar).toBe(0);
    }
    expect(ids.size).toBeGreaterThan(1);
  });

  it('builds a correct OPT record (root, type 41, class = udp size, DO in the flags half of the TTL)', () => {
    const q = buildQuery('a.test', 'A', { id: 1, edns: { udpSize: 4096, do: true, options: ednsOption(10, Buffer.from('0102030405060708', 'hex')) } });
    const opt = q.subarray(q.length - 23);
    expect(opt.toString('hex')).toBe('00' + '0029' + '1000' + '00' + '00' + '8000' + '000c' + '000a' + '0008' + '0102030405060708');
    const m = decode(q);
    expect(m.counts.ar).toBe(1);
    expect(m.opt).toEqual({ udpSize: 4096, do: true, version: 0, extendedRcode: 0, options: [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }] });
  });

  it('sets opcode, cd, rd=0, class and accepts numeric types', () => {
    const m = decode(buildQuery('.', 65, { rd: false, cd: true, opcode: 4, qclass: 3 }));
    expect(m).toMatchObject({ rd: false, cd: true, opcode: 4, questions: [{ name: '', type: 65, class: 3 }] });
  });

  it('agrees with dns2 on the question', () => {
    const parsed = Packet.parse(buildQuery('www.example.test', 'MX', { id: 77 }));
    expect(parsed.header.id).toBe(77);
    expect(parsed.questions[0]?.name).toBe('www.example.test');
    expect(parsed.questions[0]?.type).toBe(Packet.TYPE.MX);
  });

  it('rejects labels that cannot be encoded and unknown types', () => {
    expect(() => buildQuery(`${'a'.repeat(64)}.test`, 'A')).toThrow(WireError);
    expect(() => buildQuery('a..test', 'A')).toThrow(WireError);
    expect(() => buildQuery('a.test', 'BOGUS')).toThrow(/unknown RR type/);
  });
});

describe('decode', () => {
  const question = Buffer.concat([encodeName('x.test'), Buffer.from('00010001', 'hex')]);
  const ptr = Buffer.from([0xc0, 0x0c]);

  it('decodes flags from the raw header, including ad and cd, and the 4-bit rcode', () => {
    const hdr = encodeHeader({ id: 9, qr: true, aa: true, tc: true, rd: true, ra: true, ad: true, cd: true, rcode: 5, qdcount: 1 });
    const m = decode(Buffer.concat([hdr, question]));
    expect(m).toMatchObject({ id: 9, qr: true, aa: true, tc: true, rd: true, ra: true, ad: true, cd: true, z: false, rcode: 5, opcode: 0 });
  });

  it('decodes A, AAAA, CNAME, NS, PTR, TXT, MX, SOA with compression and EDE', () => {
    const answers = [
      encodeRecord(ptr, RRType.A, 1, 60, Buffer.from([192, 0, 2, 1])),
      encodeRecord(ptr, RRType.AAAA, 1, 60, encodeIPv6('2001:db8::1')),
      encodeRecord(ptr, RRType.CNAME, 1, 60, Buffer.concat([Buffer.from([3]), Buffer.from('www'), ptr])),
      encodeRecord(ptr, RRType.NS, 1, 60, encodeName('ns1.test')),
      encodeRecord(ptr, RRType.PTR, 1, 60, encodeName('host.test')),
      encodeRecord(ptr, RRType.TXT, 1, 60, txtRdata(['hello ', 'world'])),
      encodeRecord(ptr, RRType.MX, 1, 60, Buffer.concat([Buffer.from([0, 10]), encodeName('mx.test')])),
    ];
    const soa = encodeRecord(ptr, RRType.SOA, 1, 30, soaRdata({ mname: 'ns.test', rname: 'h.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 }));
    const opt = encodeOpt({ udpSize: 1232, do: true, options: edeOption(15, 'blocked: fraud') });
    const msg = Buffer.concat([
      encodeHeader({ id: 1, qr: true, rcode: 3, qdcount: 1, ancount: answers.length, nscount: 1, arcount: 1 }),
      question,
      ...answers,
      soa,
      opt,
    ]);
    const m = decode(msg);
    expect(m.questions).toEqual([{ name: 'x.test', type: 1, class: 1 }]);
    expect(m.answers.map((a) => a.data)).toEqual([
      '192.0.2.1',
      '2001:db8::1',
      'www.x.test',
      'ns1.test',
      'host.test',
      'hello world',
      { preference: 10, exchange: 'mx.test' },
    ]);
    expect(m.answers[0]).toMatchObject({ name: 'x.test', type: 1, class: 1, ttl: 60 });
    expect(m.answers[5]?.strings).toEqual(['hello ', 'world']);
    expect(m.authorities[0]?.data).toEqual({ mname: 'ns.test', rname: 'h.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 });
    expect(m.additionals).toEqual([]);
    expect(m.opt?.do).toBe(true);
    expect(m.opt?.ede).toEqual({ infoCode: 15, text: 'blocked: fraud' });
  });

  it('formats IPv6 per RFC 5952', () => {
    const cases: [string, string][] = [
      ['::', '::'],
      ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, expected] of cases) {
      const msg = Buffer.concat([encodeHeader({ id: 1, qr: true, qdcount: 1, ancount: 1 }), question, encodeRecord(ptr, RRType.AAAA, 1, 1, encodeIPv6(input))]);
      expect(decode(msg).answers[0]?.data).toBe(expected);
    }
  });

  it('throws WireError (never hangs or reads past the end) on malformed input', () => {
    const bad: Buffer[] = [
      Buffer.alloc(0),
      Buffer.alloc(11),
      Buffer.concat([encodeHeader({ id: 1, qdcount: 1 }), Buffer.from([0xc0, 0x0c])]), // pointer to itself
      Buffer.concat([encodeHeader({ id: 1, qdcount: 1 }), Buffer.from([5, 0x61])]), // label past end
      Buffer.concat([encodeHeader({ id: 1, qdcount: 1 }), Buffer.from([0x40, 0])]), // extended label type
      Buffer.concat([encodeHeader({ id: 1, qdcount: 1, ancount: 1 }), question, ptr, Buffer.from('00010001000000010004c000', 'hex')]), // rdata short
      Buffer.concat([encodeHeader({ id: 1, qdcount: 1 }), question, Buffer.from([0])]), // trailing byte
    ];
    for (const b of bad) expect(() => decode(b), b.toString('hex')).toThrow(WireError);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: 12 + (i % 60) }, () => Math.floor(Math.random() * 256)));
      try {
        decode(junk);
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
      }
    }
  });
});

describe('udpSendNoReply', () => {
  it('resolves null when nothing answers, the reply when something does', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    let answer = false;
    sock.on('message', (msg, rinfo) => {
      if (answer) sock.send(msg, rinfo.port, rinfo.address);
    });
    expect(await udpSendNoReply(port, buildQuery('a.test', 'A'), 150)).toBeNull();
    answer = true;
    const q = buildQuery('a.test', 'A');
    expect(await udpSendNoReply(port, q, 1000)).toEqual(q);
    await new Promise<void>((r) => sock.close(() => r()));
  });
});
