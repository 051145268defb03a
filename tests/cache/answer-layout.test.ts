/**
 * layoutOf over answers built by dns2 (another implementation, which compresses names): every TTL
 * offset really is a TTL field (patched and decoded back by dns2), the OPT span, the answer and
 * negative TTLs; and undefined for anything malformed (such an answer is never cached).
 */
import { describe, expect, it } from 'vitest';
import { layoutOf } from '../../src/cache/answer-layout.js';
import { Packet, buildQuery, buildResponse, decode, questionEndOf } from '../dns/packet-fixtures.js';
import { soaRecord } from '../helpers/dns-records.js';

const NAME = 'www.Example.com';
const query = buildQuery(NAME, Packet.TYPE.A, { edns: {} });

const a = (ttl: number, address: string, name = NAME): object => ({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address });
const cname = (ttl: number): object => ({ name: NAME, type: Packet.TYPE.CNAME, class: Packet.CLASS.IN, ttl, domain: 'edge.example.net' });
const opt = (): object => Packet.Resource.EDNS([], { udpPayloadSize: 1232 });

/** An answer with records in all three sections, each with its own TTL, and an OPT between the additionals. */
function fullAnswer(): Buffer {
  return buildResponse(query, {
    answers: [cname(300), a(120, '192.0.2.1', 'edge.example.net'), a(90, '192.0.2.2', 'edge.example.net')],
    authorities: [soaRecord(3600, 600)],
    additionals: [a(45, '198.51.100.1', 'ns1.example.com'), opt(), a(30, '198.51.100.2', 'ns2.example.com')],
  });
}

const recordTtls = (bytes: Buffer): number[] => {
  const packet = decode(bytes);
  return [...packet.answers, ...packet.authorities, ...packet.additionals.filter((r) => r.type !== Packet.TYPE.EDNS)].map((r) => r.ttl);
};

describe('layoutOf on well-formed answers', () => {
  it('finds every TTL field but the OPT one, in message order', () => {
    const bytes = fullAnswer();
    const layout = layoutOf(bytes)!;
    expect(layout).toBeDefined();
    expect(layout.ttlOffsets.map((offset) => bytes.readUInt32BE(offset))).toEqual([300, 120, 90, 3600, 45, 30]);
    expect(layout.answerCount).toBe(3);
    expect(layout.questionEnd).toBe(questionEndOf(bytes));
  });

  it('the offsets are the TTL fields as another decoder sees them: patching them changes exactly those TTLs', () => {
    const bytes = fullAnswer();
    const layout = layoutOf(bytes)!;
    const patched = Buffer.from(bytes);
    layout.ttlOffsets.forEach((offset, i) => patched.writeUInt32BE(1000 + i, offset));
    expect(recordTtls(patched)).toEqual([1000, 1001, 1002, 1003, 1004, 1005]);
    const before = decode(bytes);
    const after = decode(patched);
    expect(after.answers.map((r) => r.address ?? r.domain)).toEqual(before.answers.map((r) => r.address ?? r.domain));
    expect(after.additionals.find((r) => r.type === Packet.TYPE.EDNS)).toEqual(before.additionals.find((r) => r.type === Packet.TYPE.EDNS));
  });

  it('minAnswerTtl is the smallest TTL of the answer section only; negativeTtl is min(SOA TTL, SOA MINIMUM)', () => {
    const layout = layoutOf(fullAnswer())!;
    expect(layout.minAnswerTtl).toBe(90);
    expect(layout.negativeTtl).toBe(600);
    const lowTtl = layoutOf(buildResponse(query, { rcode: 3, authorities: [soaRecord(60, 600)] }))!;
    expect(lowTtl.negativeTtl).toBe(60);
    expect(lowTtl.minAnswerTtl).toBeUndefined();
    expect(lowTtl.answerCount).toBe(0);
  });

  it('only the first SOA of the authority section counts, and an SOA outside it does not', () => {
    const twoSoas = layoutOf(buildResponse(query, { authorities: [soaRecord(500, 400), soaRecord(10, 10)] }))!;
    expect(twoSoas.negativeTtl).toBe(400);
    const soaInAnswer = layoutOf(buildResponse(query, { answers: [soaRecord(70, 20)] }))!;
    expect(soaInAnswer.negativeTtl).toBeUndefined();
    expect(soaInAnswer.minAnswerTtl).toBe(70);
  });

  it('the OPT span covers exactly the OPT record', () => {
    const bytes = fullAnswer();
    const [start, end] = layoutOf(bytes)!.opt!;
    // Root owner, type 41, class = UDP size 1232, 4 bytes TTL word, RDLENGTH 0.
    expect([...bytes.subarray(start, end)]).toEqual([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const withoutOpt = Buffer.concat([bytes.subarray(0, start), bytes.subarray(end)]);
    withoutOpt.writeUInt16BE(bytes.readUInt16BE(10) - 1, 10);
    expect(recordTtls(withoutOpt)).toEqual([300, 120, 90, 3600, 45, 30]);
    expect(layoutOf(withoutOpt)!.opt).toBeUndefined();
  });

  it('an answer with only a question is a layout with no records', () => {
    const bytes = buildResponse(buildQuery('nodata.example', Packet.TYPE.AAAA));
    expect(layoutOf(bytes)).toEqual({
      questionEnd: bytes.length,
      ttlOffsets: [],
      opt: undefined,
      minAnswerTtl: undefined,
      negativeTtl: undefined,
      answerCount: 0,
    });
  });

  it('an SOA whose rdata is too short for MINIMUM falls back to its TTL', () => {
    const bytes = buildResponse(query, { authorities: [soaRecord(77, 5)] });
    const layout = layoutOf(bytes)!;
    // Cut the SOA rdata to 2 bytes (RDLENGTH 2): still well-formed framing, no MINIMUM field.
    const soaTtlOffset = layout.ttlOffsets[0]!;
    const rdata = soaTtlOffset + 6;
    const short = Buffer.concat([bytes.subarray(0, rdata - 2), Buffer.from([0, 2, 0xc0, 0x0c])]);
    expect(layoutOf(short)!.negativeTtl).toBe(77);
  });
});

describe('layoutOf on malformed input', () => {
  const good = fullAnswer();

  it('every strict prefix of a good answer is refused', () => {
    for (let length = 0; length < good.length; length++) {
      expect(layoutOf(good.subarray(0, length)), `prefix of ${length} bytes`).toBeUndefined();
    }
  });

  it('trailing bytes are refused', () => {
    expect(layoutOf(Buffer.concat([good, Buffer.from([0])]))).toBeUndefined();
  });

  /** `good` with one change applied. */
  const variant = (change: (bytes: Buffer) => void): Buffer => {
    const bytes = Buffer.from(good);
    change(bytes);
    return bytes;
  };
  const layout = layoutOf(good)!;
  const [optStart] = layout.opt!;

  it.each<[string, () => Buffer]>([
    ['no question', () => variant((b) => b.writeUInt16BE(0, 4))],
    ['two questions', () => variant((b) => b.writeUInt16BE(2, 4))],
    ['one answer record more than present', () => variant((b) => b.writeUInt16BE(b.readUInt16BE(6) + 1, 6))],
    ['one additional record fewer than present (bytes left over)', () => variant((b) => b.writeUInt16BE(b.readUInt16BE(10) - 1, 10))],
    ['a label length of 64 in the question', () => variant((b) => (b[12] = 64))],
    ['a reserved label type (0x80) in the question', () => variant((b) => (b[12] = 0x80))],
    ['an RDLENGTH running past the end', () => variant((b) => b.writeUInt16BE(0xffff, layout.ttlOffsets[5]! + 4))],
    ['a second OPT record', () => variant((b) => b.writeUInt16BE(41, layout.ttlOffsets[5]! - 4))],
  ])('%s', (_label, make) => {
    expect(layoutOf(make())).toBeUndefined();
  });

  it('an OPT record outside the additional section is refused', () => {
    const optRecord = good.subarray(optStart, layout.opt![1]);
    const bytes = buildResponse(query, { answers: [a(60, '192.0.2.1')] });
    // Append the OPT as a second answer record.
    const moved = Buffer.concat([bytes, optRecord]);
    moved.writeUInt16BE(2, 6);
    expect(layoutOf(moved)).toBeUndefined();
  });

  it('a name of more than 127 labels is refused without looping', () => {
    const header = Buffer.from(good.subarray(0, 12));
    header.writeUInt16BE(0, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(0, 10);
    const labels = Buffer.alloc(130 * 2, 0);
    for (let i = 0; i < 130; i++) labels.write('\u0001a', i * 2, 'latin1');
    expect(layoutOf(Buffer.concat([header, labels, Buffer.from([0, 0, 1, 0, 1])]))).toBeUndefined();
  });

  it('a compression pointer cut in half is refused', () => {
    const header = Buffer.from(good.subarray(0, 12));
    header.writeUInt16BE(0, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(0, 10);
    expect(layoutOf(Buffer.concat([header, Buffer.from([0xc0])]))).toBeUndefined();
  });
});
