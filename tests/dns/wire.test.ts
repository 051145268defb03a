import { describe, expect, it } from 'vitest';
import {
  hasEdnsOption,
  MAX_UDP_QUERY_SIZE,
  parseQuery,
  QClass,
  QType,
  Rcode,
  rcodeOf,
  readLowercaseName,
  sameQuestion,
  skipQuestionName,
  type MalformedReason,
} from '../../src/dns/wire.js';
import { buildQuery, Packet, rawOpt, rawOption } from './packet-fixtures.js';

/** A 12-byte header with the given counts. */
function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number } = {}): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(fields.id ?? 0xbeef, 0);
  out.writeUInt16BE(fields.flags ?? 0x0100, 2);
  out.writeUInt16BE(fields.qd ?? 1, 4);
  out.writeUInt16BE(fields.an ?? 0, 6);
  out.writeUInt16BE(fields.ns ?? 0, 8);
  out.writeUInt16BE(fields.ar ?? 0, 10);
  return out;
}

/** Uncompressed wire name from raw label strings (no validation, so over-long labels can be written). */
function wireName(...labels: string[]): Buffer {
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function typeClass(type: number = QType.A, qclass: number = QClass.IN): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(qclass, 2);
  return out;
}

/** A hand-made query: header + question for `example.com` A + `rest`. */
function handQuery(h: Parameters<typeof header>[0], ...rest: Buffer[]): Buffer {
  return Buffer.concat([header(h), wireName('example', 'com'), typeClass(), ...rest]);
}

const EXAMPLE_QUESTION_END = 12 + 13 + 4;

describe('parseQuery: accepted queries', () => {
  it('reads id, flags, name, type, class and the question end of a plain query', () => {
    const bytes = buildQuery('example.com', Packet.TYPE.AAAA, { id: 0xabcd, cd: true });
    const outcome = parseQuery(bytes);
    expect(outcome).toEqual({
      ok: true,
      query: {
        id: 0xabcd,
        flags: 0x0110,
        name: 'example.com',
        type: QType.AAAA,
        qclass: QClass.IN,
        questionEnd: EXAMPLE_QUESTION_END,
        edns: undefined,
      },
    });
  });

  it.each([
    { sent: 0, udpSize: 512 },
    { sent: 100, udpSize: 512 },
    { sent: 511, udpSize: 512 },
    { sent: 512, udpSize: 512 },
    { sent: 1232, udpSize: 1232 },
    { sent: 4096, udpSize: 4096 },
    { sent: 65535, udpSize: 65535 },
  ])('EDNS size $sent is read as $udpSize', ({ sent, udpSize }) => {
    const bytes = Buffer.concat([handQuery({ ar: 1 }), rawOpt(sent, 0)]);
    const outcome = parseQuery(bytes);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.query.edns).toEqual({ udpSize, version: 0, dnssecOk: false, offset: EXAMPLE_QUESTION_END });
  });

  it.each([
    { dnssecOk: false, version: 0 },
    { dnssecOk: true, version: 0 },
    { dnssecOk: true, version: 1 },
    { dnssecOk: false, version: 255 },
  ])('reads DO=$dnssecOk and version $version from a dns2-built OPT', ({ dnssecOk, version }) => {
    const bytes = buildQuery('example.com', Packet.TYPE.A, { edns: { udpSize: 1400, dnssecOk, version } });
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query.edns).toEqual({ udpSize: 1400, version, dnssecOk, offset: EXAMPLE_QUESTION_END });
  });

  it('does not take the extended-rcode byte or Z bits for DO or version', () => {
    // TTL = ext rcode 0xff, version 0, DO clear, all other Z bits set.
    const bytes = Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0xff007fff)]);
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query.edns).toMatchObject({ version: 0, dnssecOk: false });
  });

  it('accepts an OPT carrying options that tile its rdata exactly', () => {
    const rdata = Buffer.concat([rawOption(10, Buffer.alloc(8, 1)), rawOption(12, Buffer.alloc(0)), rawOption(8, Buffer.from([0, 1, 24, 0, 192, 0, 2]))]);
    const bytes = Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0x8000, rdata)]);
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query.edns).toMatchObject({ udpSize: 1232, dnssecOk: true });
  });

  it('accepts dns2-encoded options (ECS)', () => {
    const bytes = buildQuery('example.com', Packet.TYPE.A, { edns: { options: [Packet.Resource.EDNS.ECS('192.0.2.0/24')] } });
    expect(parseQuery(bytes).ok).toBe(true);
  });

  it('lowercases a 0x20-mixed-case name but leaves the packet bytes alone', () => {
    const bytes = buildQuery('wWw.ExAmPlE.CoM', Packet.TYPE.A);
    const copy = Buffer.from(bytes);
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query.name).toBe('www.example.com');
    expect(bytes.equals(copy)).toBe(true);
    expect(bytes.subarray(12, 29).toString('latin1')).toContain('ExAmPlE');
  });

  it('lowercases only ASCII letters: digits, hyphens, underscores and high octets are kept', () => {
    const bytes = Buffer.concat([header(), wireName('A-1_Z', '\u00c4b@['), typeClass()]);
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query.name).toBe('a-1_z.\u00c4b@[');
  });

  it('reads the root name as the empty string', () => {
    const bytes = buildQuery('', Packet.TYPE.NS);
    const outcome = parseQuery(bytes);
    expect(outcome.ok && outcome.query).toMatchObject({ name: '', type: QType.NS, questionEnd: 12 + 1 + 4 });
  });

  it('accepts a 63-octet label and a 255-octet name', () => {
    const l63 = 'a'.repeat(63);
    // 3 × (1 + 63) + (1 + 61) + 1 (root) = 255
    const bytes = Buffer.concat([header(), wireName(l63, l63, l63, 'b'.repeat(61)), typeClass()]);
    const outcome = parseQuery(bytes);
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.query.name.length).toBe(63 * 3 + 61 + 3);
  });

  it('accepts a query of exactly 4096 octets (padded with an EDNS padding option)', () => {
    const bare = Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0)]);
    const padding = rawOption(12, Buffer.alloc(MAX_UDP_QUERY_SIZE - bare.length - 4));
    const bytes = Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0, padding)]);
    expect(bytes.length).toBe(MAX_UDP_QUERY_SIZE);
    expect(parseQuery(bytes).ok).toBe(true);
  });

  it('keeps non-IN classes and meta types for the handler to judge', () => {
    const outcome = parseQuery(buildQuery('version.bind', Packet.TYPE.TXT, { qclass: QClass.CH }));
    expect(outcome.ok && outcome.query).toMatchObject({ name: 'version.bind', type: QType.TXT, qclass: QClass.CH });
  });
});

describe('parseQuery: rejected packets', () => {
  const l63 = 'a'.repeat(63);
  const cases: { name: string; bytes: Buffer; reason: MalformedReason; rcode: number | undefined; questionEnd?: number; edns?: boolean }[] = [
    { name: 'empty datagram', bytes: Buffer.alloc(0), reason: 'short-header', rcode: undefined },
    { name: '11-octet header', bytes: header().subarray(0, 11), reason: 'short-header', rcode: undefined },
    { name: 'QR=1 (a response)', bytes: handQuery({ flags: 0x8180 }), reason: 'response', rcode: undefined },
    { name: 'QR=1 even when oversized', bytes: Buffer.concat([handQuery({ flags: 0x8000 }), Buffer.alloc(5000)]), reason: 'response', rcode: undefined },
    { name: 'opcode IQUERY (1)', bytes: handQuery({ flags: 0x0800 }), reason: 'opcode', rcode: Rcode.NOTIMP, questionEnd: EXAMPLE_QUESTION_END },
    { name: 'opcode STATUS (2)', bytes: handQuery({ flags: 0x1000 }), reason: 'opcode', rcode: Rcode.NOTIMP, questionEnd: EXAMPLE_QUESTION_END },
    { name: 'opcode NOTIFY (4)', bytes: handQuery({ flags: 0x2000 }), reason: 'opcode', rcode: Rcode.NOTIMP, questionEnd: EXAMPLE_QUESTION_END },
    {
      name: 'opcode UPDATE (5) with an OPT',
      bytes: Buffer.concat([handQuery({ flags: 0x2800, ar: 1 }), rawOpt(1232, 0)]),
      reason: 'opcode',
      rcode: Rcode.NOTIMP,
      questionEnd: EXAMPLE_QUESTION_END,
      edns: true,
    },
    { name: 'opcode NOTIFY without a question', bytes: header({ flags: 0x2000, qd: 0 }), reason: 'opcode', rcode: Rcode.NOTIMP, questionEnd: 0 },
    { name: 'qdcount 0', bytes: header({ qd: 0 }), reason: 'qdcount', rcode: Rcode.FORMERR, questionEnd: 0 },
    {
      name: 'qdcount 2',
      bytes: Buffer.concat([header({ qd: 2 }), wireName('a'), typeClass(), wireName('b'), typeClass()]),
      reason: 'qdcount',
      rcode: Rcode.FORMERR,
      questionEnd: 0,
    },
    {
      name: 'compression pointer as the question name',
      bytes: Buffer.concat([header(), Buffer.from([0xc0, 0x0c]), typeClass()]),
      reason: 'bad-name',
      rcode: Rcode.FORMERR,
      questionEnd: 0,
    },
    {
      name: 'compression pointer after a label',
      bytes: Buffer.concat([header(), Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 0x0c]), typeClass()]),
      reason: 'bad-name',
      rcode: Rcode.FORMERR,
    },
    { name: 'reserved label type 0x40', bytes: Buffer.concat([header(), Buffer.from([0x41, 0]), typeClass()]), reason: 'bad-name', rcode: Rcode.FORMERR },
    { name: 'reserved label type 0x80', bytes: Buffer.concat([header(), Buffer.from([0x81, 0]), typeClass()]), reason: 'bad-name', rcode: Rcode.FORMERR },
    { name: '64-octet label', bytes: Buffer.concat([header(), wireName('a'.repeat(64)), typeClass()]), reason: 'bad-name', rcode: Rcode.FORMERR },
    {
      name: '256-octet name',
      bytes: Buffer.concat([header(), wireName(l63, l63, l63, 'b'.repeat(62)), typeClass()]),
      reason: 'bad-name',
      rcode: Rcode.FORMERR,
    },
    { name: 'name without its root label', bytes: Buffer.concat([header(), Buffer.from([7]), Buffer.from('example')]), reason: 'bad-name', rcode: Rcode.FORMERR },
    { name: 'label running past the end', bytes: Buffer.concat([header(), Buffer.from([20, 0x61])]), reason: 'bad-name', rcode: Rcode.FORMERR },
    { name: 'header only with qdcount 1', bytes: header(), reason: 'bad-name', rcode: Rcode.FORMERR },
    {
      name: 'question cut inside type/class',
      bytes: Buffer.concat([header(), wireName('example', 'com'), Buffer.from([0, 1, 0])]),
      reason: 'truncated-question',
      rcode: Rcode.FORMERR,
      questionEnd: 0,
    },
    { name: 'question without type/class', bytes: Buffer.concat([header(), wireName('example', 'com')]), reason: 'truncated-question', rcode: Rcode.FORMERR },
    { name: 'ancount 1', bytes: handQuery({ an: 1 }), reason: 'sections', rcode: Rcode.FORMERR, questionEnd: EXAMPLE_QUESTION_END },
    { name: 'nscount 1', bytes: handQuery({ ns: 1 }), reason: 'sections', rcode: Rcode.FORMERR, questionEnd: EXAMPLE_QUESTION_END },
    {
      name: 'two OPT records',
      bytes: Buffer.concat([handQuery({ ar: 2 }), rawOpt(1232, 0x8000), rawOpt(1232, 0)]),
      reason: 'sections',
      rcode: Rcode.FORMERR,
      questionEnd: EXAMPLE_QUESTION_END,
      edns: true,
    },
    {
      name: 'arcount 2 whose first record is not OPT',
      bytes: Buffer.concat([handQuery({ ar: 2 }), Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]), rawOpt(1232, 0)]),
      reason: 'sections',
      rcode: Rcode.FORMERR,
      questionEnd: EXAMPLE_QUESTION_END,
      edns: false,
    },
    {
      name: 'OPT rdlength past the end',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0, Buffer.alloc(4), 10)]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
      questionEnd: EXAMPLE_QUESTION_END,
    },
    {
      name: 'OPT option longer than the rdata',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0, Buffer.from([0, 10, 0, 8, 1, 2, 3, 4]))]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    {
      name: 'OPT rdata shorter than an option header',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0, Buffer.from([0, 10, 0]))]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    {
      name: 'OPT option followed by stray rdata octets',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0, Buffer.concat([rawOption(10, Buffer.alloc(8)), Buffer.from([0, 1])]))]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    {
      name: 'OPT with a non-root owner',
      bytes: Buffer.concat([handQuery({ ar: 1 }), Buffer.from([1, 0x61]), rawOpt(1232, 0)]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    {
      name: 'additional record that is not OPT',
      bytes: Buffer.concat([handQuery({ ar: 1 }), Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    {
      name: 'OPT cut inside its fixed part',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0).subarray(0, 9)]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    { name: 'arcount 1 but no record', bytes: handQuery({ ar: 1 }), reason: 'bad-opt', rcode: Rcode.FORMERR },
    {
      name: 'octets after the OPT',
      bytes: Buffer.concat([handQuery({ ar: 1 }), rawOpt(1232, 0), Buffer.from([0])]),
      reason: 'bad-opt',
      rcode: Rcode.FORMERR,
    },
    { name: 'octets after the question', bytes: Buffer.concat([handQuery({}), Buffer.from([0, 0])]), reason: 'trailing-bytes', rcode: Rcode.FORMERR, questionEnd: EXAMPLE_QUESTION_END },
    {
      name: 'an OPT sent with arcount 0',
      bytes: Buffer.concat([handQuery({}), rawOpt(1232, 0)]),
      reason: 'trailing-bytes',
      rcode: Rcode.FORMERR,
    },
    { name: '4097 octets', bytes: Buffer.concat([handQuery({}), Buffer.alloc(MAX_UDP_QUERY_SIZE + 1 - EXAMPLE_QUESTION_END)]), reason: 'oversized', rcode: Rcode.FORMERR, questionEnd: 0 },
  ];

  it.each(cases)('$name → $reason', ({ bytes, reason, rcode, questionEnd, edns }) => {
    const outcome = parseQuery(bytes);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toBe(reason);
    expect(outcome.rcode).toBe(rcode);
    if (questionEnd !== undefined) expect(outcome.questionEnd).toBe(questionEnd);
    if (edns === true) expect(outcome.edns).toMatchObject({ udpSize: 1232, version: 0 });
    if (edns === false) expect(outcome.edns).toBeUndefined();
  });

  it('an error reply never gets a question offset past the packet', () => {
    for (const { bytes } of cases) {
      const outcome = parseQuery(bytes);
      if (!outcome.ok) expect(outcome.questionEnd).toBeLessThanOrEqual(bytes.length);
    }
  });

  it('reports the DO bit of the first OPT when two are sent', () => {
    const outcome = parseQuery(Buffer.concat([handQuery({ ar: 2 }), rawOpt(4096, 0x8000), rawOpt(512, 0)]));
    expect(!outcome.ok && outcome.edns).toMatchObject({ udpSize: 4096, dnssecOk: true });
  });

  it('answers quickly on a pointer loop in the question and in the OPT owner', () => {
    const selfPointer = Buffer.concat([header(), Buffer.from([0xc0, 0x0c]), typeClass()]);
    const optLoop = Buffer.concat([handQuery({ ar: 1 }), Buffer.from([0xc0, EXAMPLE_QUESTION_END]), rawOpt(1232, 0).subarray(1)]);
    // A chain of pointers each pointing to the previous one fills a whole datagram.
    const chain = Buffer.alloc(4096);
    header({ ar: 0 }).copy(chain);
    for (let pos = 12; pos + 1 < chain.length; pos += 2) chain.writeUInt16BE(0xc000 | Math.max(12, pos - 2), pos);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      expect(parseQuery(selfPointer)).toMatchObject({ ok: false, reason: 'bad-name' });
      expect(parseQuery(optLoop)).toMatchObject({ ok: false, reason: 'bad-opt' });
      expect(parseQuery(chain)).toMatchObject({ ok: false, reason: 'bad-name' });
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('skipQuestionName / readLowercaseName', () => {
  it('returns the offset after the name, or -1', () => {
    const bytes = Buffer.concat([Buffer.from([9, 9]), wireName('ab', 'c')]);
    expect(skipQuestionName(bytes, 2)).toBe(2 + 6);
    expect(skipQuestionName(Buffer.from([0]), 0)).toBe(1);
    expect(skipQuestionName(Buffer.from([]), 0)).toBe(-1);
    expect(skipQuestionName(Buffer.from([0xc0, 0]), 0)).toBe(-1);
  });

  it('reads names with and without upper case the same way', () => {
    const lower = wireName('mail', 'example', 'org');
    const mixed = wireName('MAIL', 'Example', 'ORG');
    expect(readLowercaseName(lower, 0, lower.length)).toBe('mail.example.org');
    expect(readLowercaseName(mixed, 0, mixed.length)).toBe('mail.example.org');
    expect(readLowercaseName(Buffer.from([0]), 0, 1)).toBe('');
  });
});

describe('sameQuestion', () => {
  const query = buildQuery('WwW.Example.COM', Packet.TYPE.A, { id: 1 });
  const end = EXAMPLE_QUESTION_END + 4;
  const responseTo = (name: string, type: number = Packet.TYPE.A, qclass: number = QClass.IN): Buffer => {
    const bytes = buildQuery(name, type, { id: 2, qclass });
    bytes[2]! |= 0x80;
    return bytes;
  };

  it.each([
    { name: 'identical bytes', response: responseTo('WwW.Example.COM'), same: true },
    { name: 'other 0x20 case', response: responseTo('www.example.com'), same: true },
    { name: 'all upper case', response: responseTo('WWW.EXAMPLE.COM'), same: true },
    { name: 'other name of the same length', response: responseTo('www.examplf.com'), same: false },
    { name: 'other name', response: responseTo('www.example.net'), same: false },
    { name: 'other type', response: responseTo('www.example.com', Packet.TYPE.AAAA), same: false },
    { name: 'other class', response: responseTo('www.example.com', Packet.TYPE.A, QClass.CH), same: false },
    { name: 'cut-off response', response: responseTo('www.example.com').subarray(0, end - 1), same: false },
  ])('$name → $same', ({ response, same }) => {
    expect(sameQuestion(query, end, response)).toBe(same);
  });

  it('a response without a question does not match', () => {
    const response = responseTo('www.example.com');
    response.writeUInt16BE(0, 4);
    expect(sameQuestion(query, end, response)).toBe(false);
  });

  it('folds only ASCII letters: "[" and "{" differ by 0x20 but are different characters', () => {
    const a = Buffer.concat([header(), wireName('a['), typeClass()]);
    const b = Buffer.concat([header(), wireName('a{'), typeClass()]);
    expect(sameQuestion(a, a.length, b)).toBe(false);
  });
});

describe('rcodeOf', () => {
  it('reads the low 4 bits of the flags and treats a runt as SERVFAIL', () => {
    expect(rcodeOf(Buffer.from([0, 0, 0x81, 0x83]))).toBe(Rcode.NXDOMAIN);
    expect(rcodeOf(Buffer.from([0, 0, 0x81, 0xf5]))).toBe(Rcode.REFUSED);
    expect(rcodeOf(Buffer.from([0, 0, 0x81]))).toBe(Rcode.SERVFAIL);
  });
});

describe('hasEdnsOption', () => {
  const withOpt = (options: Buffer[]): Buffer => {
    const query = Buffer.concat([buildQuery('example.com', Packet.TYPE.A), rawOpt(1232, 0, Buffer.concat(options))]);
    query.writeUInt16BE(1, 10);
    return query;
  };
  const edns = (packet: Buffer) => {
    const outcome = parseQuery(packet);
    if (!outcome.ok || outcome.query.edns === undefined) throw new Error('expected a query with EDNS');
    return outcome.query.edns;
  };

  it('finds an option anywhere in the OPT record, and only that code', () => {
    const packet = withOpt([rawOption(10, Buffer.alloc(8, 1)), rawOption(65001, Buffer.alloc(0)), rawOption(12, Buffer.alloc(3))]);
    expect(hasEdnsOption(packet, edns(packet), 65001)).toBe(true);
    expect(hasEdnsOption(packet, edns(packet), 12)).toBe(true);
    expect(hasEdnsOption(packet, edns(packet), 65002)).toBe(false);
    // A code that appears only inside another option's data is not an option.
    const inside = withOpt([rawOption(10, Buffer.from([0xfd, 0xe9, 0, 0]))]);
    expect(hasEdnsOption(inside, edns(inside), 65001)).toBe(false);
  });

  it('an OPT without options has none', () => {
    const packet = withOpt([]);
    expect(hasEdnsOption(packet, edns(packet), 0)).toBe(false);
  });
});
