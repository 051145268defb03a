import { describe, expect, it } from 'vitest';
import { encodeOpt, EDE_PROHIBITED } from '../../src/dns/response-writer.js';
import { negativeSoa, Synthesizer } from '../../src/dns/synthesizer.js';
import { parseQuery, Rcode, type EdnsInfo } from '../../src/dns/wire.js';
import {
  aRecords,
  buildQuery,
  buildResponse,
  decode,
  edesOf,
  headerOf,
  optOf,
  Packet,
  parsed,
  questionBytes,
  type QueryOptions,
} from './packet-fixtures.js';

const OUR_SIZE = 1400;
const synthesizer = new Synthesizer(OUR_SIZE);

/** Raw OPT of a reply: the last 11 + rdlength octets, checked to be root/type 41. */
function rawOptOf(reply: Buffer): { udpSize: number; extRcode: number; version: number; flags: number; rdata: Buffer } {
  const opt = optOf(decode(reply));
  expect(opt).toBeDefined();
  // The OPT is the only additional record and the last record: find it by walking back from the end.
  for (let start = reply.length - 11; start >= 12; start--) {
    if (reply[start] === 0 && reply.readUInt16BE(start + 1) === 41 && start + 11 + reply.readUInt16BE(start + 9) === reply.length) {
      return {
        udpSize: reply.readUInt16BE(start + 3),
        extRcode: reply[start + 5]!,
        version: reply[start + 6]!,
        flags: reply.readUInt16BE(start + 7),
        rdata: reply.subarray(start + 11),
      };
    }
  }
  throw new Error('no OPT at the end of the reply');
}

describe('Synthesizer.error', () => {
  const rcodes = [Rcode.FORMERR, Rcode.SERVFAIL, Rcode.NOTIMP, Rcode.REFUSED, Rcode.NXDOMAIN];
  const variants: { label: string; options: QueryOptions }[] = [
    { label: 'RD, no EDNS', options: { id: 0x0001 } },
    { label: 'no RD, CD, AD', options: { id: 0xfffe, rd: false, cd: true, ad: true } },
    { label: 'EDNS, DO clear', options: { id: 0x8000, edns: { udpSize: 4096 } } },
    { label: 'EDNS, DO set, CD', options: { id: 0x7fff, cd: true, edns: { udpSize: 512, dnssecOk: true } } },
  ];
  const table = rcodes.flatMap((rcode) => variants.map((variant) => ({ rcode, ...variant })));

  it.each(table)('rcode $rcode, $label', ({ rcode, options }) => {
    const query = buildQuery('WwW.ExAmPlE.oRg', Packet.TYPE.AAAA, options);
    const q = parsed(query);
    const reply = synthesizer.error(query, q.questionEnd, q.edns, rcode);

    const h = headerOf(reply);
    expect(h).toMatchObject({
      id: options.id,
      qr: 1,
      opcode: 0,
      aa: 0,
      tc: 0,
      rd: options.rd === false ? 0 : 1,
      ra: 1,
      z: 0,
      ad: 0,
      cd: options.cd ? 1 : 0,
      rcode,
      qdcount: 1,
      ancount: 0,
      nscount: 0,
      arcount: options.edns ? 1 : 0,
    });
    // The question exactly as the client sent it, 0x20 case included.
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);

    const packet = decode(reply);
    expect(packet.questions).toEqual([expect.objectContaining({ name: 'WwW.ExAmPlE.oRg', type: Packet.TYPE.AAAA, class: Packet.CLASS.IN })]);
    const opt = optOf(packet);
    if (options.edns) {
      expect(opt).toMatchObject({ class: OUR_SIZE, version: 0, extendedRcode: 0, doFlag: options.edns.dnssecOk ?? false });
      expect(opt?.rdata).toEqual([]);
      expect(reply.length).toBe(12 + questionBytes(query).length + 11);
    } else {
      expect(opt).toBeUndefined();
      expect(reply.length).toBe(12 + questionBytes(query).length);
    }
  });

  it.each([1, 2, 4, 5, 6, 15])('echoes opcode %i', (opcode) => {
    const query = buildQuery('example.com', Packet.TYPE.SOA, { opcode });
    const outcome = parseQuery(query);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const reply = synthesizer.error(query, outcome.questionEnd, outcome.edns, Rcode.NOTIMP);
    expect(headerOf(reply)).toMatchObject({ opcode, qr: 1, rcode: Rcode.NOTIMP, qdcount: 1 });
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);
  });

  it('writes no question when none could be read', () => {
    const query = Buffer.from(buildQuery('example.com', Packet.TYPE.A, { id: 0x4242 }));
    query.writeUInt16BE(2, 4); // qdcount 2
    const reply = synthesizer.error(query, 0, undefined, Rcode.FORMERR);
    expect(reply.length).toBe(12);
    expect(headerOf(reply)).toMatchObject({ id: 0x4242, qr: 1, rcode: Rcode.FORMERR, qdcount: 0, arcount: 0 });
    expect(decode(reply).questions).toEqual([]);
  });

  it('carries an Extended DNS Error that dns2 decodes (code 15, info code, text)', () => {
    const query = buildQuery('example.com', Packet.TYPE.A, { edns: { dnssecOk: true } });
    const q = parsed(query);
    const reply = synthesizer.error(query, q.questionEnd, q.edns, Rcode.REFUSED, { infoCode: EDE_PROHIBITED, text: 'not here' });
    expect(edesOf(decode(reply))).toEqual([{ ednsCode: 15, infoCode: 18, extraText: 'not here' }]);
    const raw = rawOptOf(reply);
    expect(raw).toMatchObject({ udpSize: OUR_SIZE, extRcode: 0, version: 0, flags: 0x8000 });
    expect(raw.rdata.toString('hex')).toBe('000f' + '000a' + '0012' + Buffer.from('not here').toString('hex'));
  });

  it('drops the EDE when the client sent no EDNS', () => {
    const query = buildQuery('example.com', Packet.TYPE.A);
    const q = parsed(query);
    const reply = synthesizer.error(query, q.questionEnd, q.edns, Rcode.REFUSED, { infoCode: EDE_PROHIBITED, text: 'not here' });
    expect(headerOf(reply).arcount).toBe(0);
    expect(optOf(decode(reply))).toBeUndefined();
  });

  it('encodes an EDE with empty text as just the info code', () => {
    const query = buildQuery('example.com', Packet.TYPE.A, { edns: {} });
    const q = parsed(query);
    const reply = synthesizer.error(query, q.questionEnd, q.edns, Rcode.SERVFAIL, { infoCode: 23, text: '' });
    expect(edesOf(decode(reply))).toEqual([{ ednsCode: 15, infoCode: 23, extraText: '' }]);
    expect(rawOptOf(reply).rdata.toString('hex')).toBe('000f00020017');
  });

  it('keeps EDE text at 200 octets', () => {
    const query = buildQuery('example.com', Packet.TYPE.A, { edns: {} });
    const q = parsed(query);
    const reply = synthesizer.error(query, q.questionEnd, q.edns, Rcode.SERVFAIL, { infoCode: 23, text: 'y'.repeat(500) });
    expect(edesOf(decode(reply))[0]?.extraText).toBe('y'.repeat(200));
  });

  it('never cuts EDE text inside a UTF-8 character (RFC 8914 §2: EXTRA-TEXT is UTF-8)', () => {
    const query = buildQuery('example.com', Packet.TYPE.A, { edns: {} });
    const q = parsed(query);
    // 199 ASCII octets, then 'é' (2 octets) straddling the 200-octet cap.
    const reply = synthesizer.error(query, q.questionEnd, q.edns, Rcode.SERVFAIL, { infoCode: 0, text: `${'y'.repeat(199)}é and more` });
    const text = rawOptOf(reply).rdata.subarray(6);
    expect(text.length).toBeLessThanOrEqual(200);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(text)).not.toThrow();
  });

  it('shares the plain OPT between replies but builds a fresh one per EDE', () => {
    const info: EdnsInfo = { udpSize: 1232, version: 0, dnssecOk: true, offset: 0 };
    expect(synthesizer.opt(undefined)).toBeUndefined();
    expect(synthesizer.opt(undefined, { infoCode: 15, text: 'x' })).toBeUndefined();
    expect(synthesizer.opt(info)?.equals(encodeOpt({ udpSize: OUR_SIZE, dnssecOk: true }))).toBe(true);
    expect(synthesizer.opt({ ...info, dnssecOk: false })?.equals(encodeOpt({ udpSize: OUR_SIZE, dnssecOk: false }))).toBe(true);
  });
});

describe('Synthesizer.badVersion', () => {
  it.each([false, true])('answers BADVERS (extended rcode 1) with version 0, DO=%s echoed', (dnssecOk) => {
    const query = buildQuery('Example.COM', Packet.TYPE.A, { id: 0x0bad, cd: true, edns: { version: 1, udpSize: 4096, dnssecOk } });
    const q = parsed(query);
    expect(q.edns?.version).toBe(1);
    const reply = synthesizer.badVersion(query, q.questionEnd, q.edns!);
    expect(headerOf(reply)).toMatchObject({ id: 0x0bad, qr: 1, ra: 1, ad: 0, cd: 1, rd: 1, rcode: 0, qdcount: 1, arcount: 1 });
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);
    const raw = rawOptOf(reply);
    expect(raw).toMatchObject({ udpSize: OUR_SIZE, extRcode: 1, version: 0, flags: dnssecOk ? 0x8000 : 0 });
    const packet = decode(reply);
    expect(packet.header.rcode).toBe(Packet.RCODE.BADVERS);
    expect(optOf(packet)).toMatchObject({ extendedRcode: 1, version: 0, doFlag: dnssecOk });
  });
});

describe('Synthesizer.truncated', () => {
  const name = 'Big.Example.NET';

  function bigAnswer(options: QueryOptions): { query: Buffer; answer: Buffer } {
    const query = buildQuery(name, Packet.TYPE.A, options);
    const answer = buildResponse(query, {
      aa: true,
      answers: aRecords(name, 60),
      authorities: [{ name: 'example.net', type: Packet.TYPE.NS, class: 1, ttl: 60, ns: 'ns1.example.net' }],
      additionals: options.edns ? [Packet.Resource.EDNS([], { udpPayloadSize: 4096 })] : [],
    });
    return { query, answer };
  }

  it.each([
    { label: 'without EDNS', options: { id: 0x1111 } as QueryOptions },
    { label: 'with EDNS, DO clear', options: { id: 0x2222, edns: { udpSize: 1232 } } as QueryOptions },
    { label: 'with EDNS, DO set', options: { id: 0x3333, cd: true, edns: { udpSize: 600, dnssecOk: true } } as QueryOptions },
  ])('keeps header and question, sets TC, drops the records ($label)', ({ options }) => {
    const { query, answer } = bigAnswer(options);
    const q = parsed(query);
    const reply = synthesizer.truncated(answer, q.questionEnd, q.edns);

    expect(headerOf(reply)).toMatchObject({
      id: options.id,
      qr: 1,
      aa: 1,
      tc: 1,
      rd: 1,
      ra: 1,
      rcode: 0,
      qdcount: 1,
      ancount: 0,
      nscount: 0,
      arcount: options.edns ? 1 : 0,
    });
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);
    const packet = decode(reply);
    expect(packet.questions[0]).toMatchObject({ name, type: Packet.TYPE.A });
    expect(packet.answers).toEqual([]);
    expect(packet.authorities).toEqual([]);
    if (options.edns) {
      expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: options.edns.dnssecOk ?? false, version: 0, extendedRcode: 0 });
      expect(reply.length).toBe(q.questionEnd + 11);
    } else {
      expect(optOf(packet)).toBeUndefined();
      expect(reply.length).toBe(q.questionEnd);
    }
  });

  it('keeps the answer rcode', () => {
    const query = buildQuery(name, Packet.TYPE.A);
    const answer = buildResponse(query, { rcode: Rcode.NXDOMAIN, authorities: aRecords(name, 40) });
    const reply = synthesizer.truncated(answer, parsed(query).questionEnd, undefined);
    expect(headerOf(reply)).toMatchObject({ rcode: Rcode.NXDOMAIN, tc: 1, nscount: 0 });
  });
});

describe('negativeSoa', () => {
  it('builds a SOA owned by the zone with minimum and TTL = the negative TTL', () => {
    const record = negativeSoa('Zone.Example', 42, 'ns.zone.example', 'hostmaster.zone.example');
    const query = buildQuery('x.zone.example', Packet.TYPE.A);
    const q = parsed(query);
    // Decode the record inside a message so dns2 reads it as an authority.
    const reply = Buffer.concat([query.subarray(0, q.questionEnd), record.bytes]);
    reply.writeUInt16BE(0x8180, 2);
    reply.writeUInt16BE(1, 8);
    const soa = decode(reply).authorities[0];
    expect(soa).toMatchObject({
      name: 'Zone.Example',
      type: Packet.TYPE.SOA,
      class: 1,
      ttl: 42,
      primary: 'ns.zone.example',
      admin: 'hostmaster.zone.example',
      serial: 1,
      refresh: 3600,
      retry: 1200,
      expiration: 604800,
      minimum: 42,
    });
  });
});
