import { describe, expect, it } from 'vitest';
import { ipv4Bytes, ipv6Bytes } from '../../src/config/ip-address.js';
import {
  encodeName,
  encodeOpt,
  encodeRecord,
  QUESTION_NAME_POINTER,
  soaRdata,
  writeResponse,
  writeTruncated,
} from '../../src/dns/response-writer.js';
import { QType, Rcode } from '../../src/dns/wire.js';
import { buildQuery, decode, edesOf, headerOf, optOf, Packet, parsed, questionBytes } from './packet-fixtures.js';

describe('encodeName', () => {
  it.each([
    { name: '', hex: '00' },
    { name: '.', hex: '00' },
    { name: 'a', hex: '016100' },
    { name: 'a.bc', hex: '0161026263' + '00' },
    { name: 'a.bc.', hex: '0161026263' + '00' },
    { name: 'Mixed.CASE', hex: '054d69786564' + '0443415345' + '00' },
    { name: 'x'.repeat(63), hex: '3f' + '78'.repeat(63) + '00' },
  ])('"$name"', ({ name, hex }) => {
    expect(encodeName(name).toString('hex')).toBe(hex);
  });

  it('round-trips through dns2', () => {
    const wire = encodeName('Foo.Example.ORG');
    expect(Packet.Name.decode(wire)).toBe('Foo.Example.ORG');
  });

  it.each([
    { label: '64-octet label', name: `${'x'.repeat(64)}.com` },
    { label: 'empty label inside', name: 'a..b' },
    { label: 'leading dot', name: '.a' },
    { label: 'two trailing dots', name: 'a..' },
  ])('throws on $label', ({ name }) => {
    expect(() => encodeName(name)).toThrow(/invalid DNS label/);
  });
});

describe('encodeOpt', () => {
  it('writes root owner, type 41, size, extended rcode, version 0, DO, no rdata', () => {
    expect(encodeOpt({ udpSize: 1232, dnssecOk: true, extendedRcode: 1 }).toString('hex')).toBe('00' + '0029' + '04d0' + '01' + '00' + '8000' + '0000');
    expect(encodeOpt({ udpSize: 512, dnssecOk: false }).toString('hex')).toBe('00' + '0029' + '0200' + '00' + '00' + '0000' + '0000');
  });
});

describe('writeResponse', () => {
  const name = 'Host.Example.COM';
  const query = buildQuery(name, QType.A, { id: 0x5150, cd: true, ad: true, edns: { dnssecOk: true } });
  const q = parsed(query);
  const a = encodeRecord(QUESTION_NAME_POINTER, QType.A, 300, ipv4Bytes('192.0.2.1'));
  const aaaa = encodeRecord(QUESTION_NAME_POINTER, QType.AAAA, 300, ipv6Bytes('2001:db8::1'));
  const soa = encodeRecord(
    encodeName('example.com'),
    QType.SOA,
    60,
    soaRdata({ mname: 'ns.example.com', rname: 'root.example.com', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 60 }),
  );

  it('writes answers, authorities and the OPT in order, every one readable by dns2', () => {
    const opt = encodeOpt({ udpSize: 1232, dnssecOk: true, ede: { infoCode: 15, text: 'why' } });
    const reply = writeResponse(query, q.questionEnd, { rcode: Rcode.NOERROR, authoritative: true, answers: [a, aaaa], authorities: [soa], opt });
    expect(headerOf(reply)).toMatchObject({ id: 0x5150, qr: 1, aa: 1, tc: 0, rd: 1, ra: 1, ad: 0, cd: 1, rcode: 0, qdcount: 1, ancount: 2, nscount: 1, arcount: 1 });
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);
    const packet = decode(reply);
    // The answers' owner is a pointer to the question, so they carry the client's own case.
    expect(packet.answers).toEqual([
      expect.objectContaining({ name, type: QType.A, class: 1, ttl: 300, address: '192.0.2.1' }),
      expect.objectContaining({ name, type: QType.AAAA, class: 1, ttl: 300, address: '2001:db8::1' }),
    ]);
    expect(packet.authorities).toEqual([
      expect.objectContaining({ name: 'example.com', type: QType.SOA, ttl: 60, primary: 'ns.example.com', admin: 'root.example.com', serial: 7, minimum: 60 }),
    ]);
    expect(edesOf(packet)).toEqual([{ ednsCode: 15, infoCode: 15, extraText: 'why' }]);
    expect(reply.length).toBe(q.questionEnd + a.bytes.length + aaaa.bytes.length + soa.bytes.length + opt.length);
  });

  it('sets TC only when asked', () => {
    expect(headerOf(writeResponse(query, q.questionEnd, { rcode: 0, truncated: true })).tc).toBe(1);
    expect(headerOf(writeResponse(query, q.questionEnd, { rcode: 0 })).tc).toBe(0);
  });

  it('writes only the low 4 bits of the rcode into the header', () => {
    expect(headerOf(writeResponse(query, q.questionEnd, { rcode: Rcode.BADVERS })).rcode).toBe(0);
  });

  it('copes with a packet too short to carry an ID or flags', () => {
    const reply = writeResponse(Buffer.from([0x12]), 0, { rcode: Rcode.FORMERR });
    expect(headerOf(reply)).toMatchObject({ id: 0, qr: 1, ra: 1, rd: 0, rcode: Rcode.FORMERR, qdcount: 0 });
  });
});

describe('writeTruncated', () => {
  it('keeps ID and flags of the answer, adds TC, and appends the given OPT', () => {
    const query = buildQuery('x.example', QType.TXT, { id: 9 });
    const q = parsed(query);
    const answer = writeResponse(query, q.questionEnd, { rcode: Rcode.NXDOMAIN, authoritative: true, answers: [encodeRecord(QUESTION_NAME_POINTER, QType.A, 1, ipv4Bytes('1.2.3.4'))] });
    const opt = encodeOpt({ udpSize: 1232, dnssecOk: false });
    const reply = writeTruncated(answer, q.questionEnd, opt);
    expect(headerOf(reply)).toMatchObject({ id: 9, qr: 1, aa: 1, tc: 1, rcode: Rcode.NXDOMAIN, qdcount: 1, ancount: 0, nscount: 0, arcount: 1 });
    expect(optOf(decode(reply))).toMatchObject({ class: 1232 });
  });
});
