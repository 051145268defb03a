import { describe, expect, it } from 'vitest';
import { Synthesizer } from '../../src/dns/synthesizer.js';
import { QType, Rcode } from '../../src/dns/wire.js';
import type { Rule } from '../../src/query/rule.js';
import type { BlockMode } from '../../src/config/options.js';
import { BLOCK_SOA_MNAME, BLOCK_SOA_RNAME, BlockAnswers } from '../../src/resolver/block-answers.js';
import { buildQuery, decode, edesOf, headerOf, optOf, Packet, parsed, questionBytes } from '../dns/packet-fixtures.js';

const TTL = 77;
const OUR_SIZE = 1232;

function rule(domain: string, list = 'fraud', category = 'phishing'): Rule {
  return { domain, scope: 'domain', kind: 'block', list, category, line: 3, text: domain };
}

const evil = rule('evil.example');

type Expectation = {
  rcode: number;
  aa: 0 | 1;
  answer?: { type: number; address: string };
  soa: boolean;
};

const expectations: Record<BlockMode, Record<'A' | 'AAAA' | 'MX', Expectation>> = {
  nxdomain: {
    A: { rcode: Rcode.NXDOMAIN, aa: 1, soa: true },
    AAAA: { rcode: Rcode.NXDOMAIN, aa: 1, soa: true },
    MX: { rcode: Rcode.NXDOMAIN, aa: 1, soa: true },
  },
  null: {
    A: { rcode: Rcode.NOERROR, aa: 1, answer: { type: QType.A, address: '0.0.0.0' }, soa: false },
    AAAA: { rcode: Rcode.NOERROR, aa: 1, answer: { type: QType.AAAA, address: '::' }, soa: false },
    MX: { rcode: Rcode.NOERROR, aa: 1, soa: true },
  },
  refused: {
    A: { rcode: Rcode.REFUSED, aa: 0, soa: false },
    AAAA: { rcode: Rcode.REFUSED, aa: 0, soa: false },
    MX: { rcode: Rcode.REFUSED, aa: 0, soa: false },
  },
};

const table = (['nxdomain', 'null', 'refused'] as const).flatMap((mode) =>
  (['A', 'AAAA', 'MX'] as const).flatMap((type) =>
    [false, true].map((edns) => ({ mode, type, edns, expected: expectations[mode][type] })),
  ),
);

describe('BlockAnswers', () => {
  it.each(table)('$mode mode, $type query, EDNS=$edns', ({ mode, type, edns, expected }) => {
    const answers = new BlockAnswers(mode, TTL, new Synthesizer(OUR_SIZE));
    const name = 'Login.EVIL.example';
    const query = buildQuery(name, Packet.TYPE[type], { id: 0x6666, edns: edns ? { udpSize: 4096, dnssecOk: true } : undefined });
    const reply = answers.answer(query, parsed(query), evil);

    expect(headerOf(reply)).toMatchObject({
      id: 0x6666,
      qr: 1,
      rcode: expected.rcode,
      aa: expected.aa,
      tc: 0,
      rd: 1,
      ra: 1,
      ad: 0,
      qdcount: 1,
      ancount: expected.answer ? 1 : 0,
      nscount: expected.soa ? 1 : 0,
      arcount: edns ? 1 : 0,
    });
    expect(questionBytes(reply).equals(questionBytes(query))).toBe(true);

    const packet = decode(reply);
    if (expected.answer) {
      expect(packet.answers).toEqual([expect.objectContaining({ name, class: 1, ttl: TTL, ...expected.answer })]);
    }
    if (expected.soa) {
      // The owner points into the question, so it keeps the client's case (names compare case-insensitively).
      expect(packet.authorities[0]?.name.toLowerCase()).toBe('evil.example');
      expect(packet.authorities).toEqual([
        expect.objectContaining({
          type: QType.SOA,
          class: 1,
          ttl: TTL,
          primary: BLOCK_SOA_MNAME,
          admin: BLOCK_SOA_RNAME,
          minimum: TTL,
        }),
      ]);
    }
    if (edns) {
      expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: true, version: 0, extendedRcode: 0 });
      const edes = edesOf(packet);
      expect(edes).toHaveLength(1);
      expect(edes[0]?.infoCode).toBe(Packet.EDE.BLOCKED);
      expect(edes[0]?.extraText).toBe('blocked by fraudwall list fraud (phishing)');
    } else {
      expect(optOf(packet)).toBeUndefined();
    }
  });

  it('owns each SOA by its own rule, even when answers are built alternately', () => {
    const answers = new BlockAnswers('nxdomain', TTL, new Synthesizer(OUR_SIZE));
    const other = rule('scam.test', 'scams', 'fake-shop');
    for (const [r, name] of [
      [evil, 'a.evil.example'],
      [other, 'b.scam.test'],
      [evil, 'c.evil.example'],
    ] as const) {
      const query = buildQuery(name, QType.A, { edns: {} });
      const packet = decode(answers.answer(query, parsed(query), r));
      expect(packet.authorities[0]?.name).toBe(r.domain);
      expect(edesOf(packet)[0]?.extraText).toContain(`list ${r.list}`);
    }
  });

  it('writes the SOA owner as a compression pointer to the rule domain inside the question', () => {
    const answers = new BlockAnswers('nxdomain', TTL, new Synthesizer(OUR_SIZE));
    for (const [name, suffixAt] of [
      ['evil.example', 12],
      ['login.evil.example', 12 + 6],
      ['a.b.login.evil.example', 12 + 2 + 2 + 6],
    ] as const) {
      const query = buildQuery(name, QType.A);
      const reply = answers.answer(query, parsed(query), evil);
      const authorityStart = parsed(query).questionEnd;
      expect(reply.readUInt16BE(authorityStart)).toBe(0xc000 | suffixAt);
      expect(decode(reply).authorities[0]?.name).toBe('evil.example');
    }
  });

  it('writes the owner out in full when the rule domain is not a suffix of the question', () => {
    const answers = new BlockAnswers('nxdomain', TTL, new Synthesizer(OUR_SIZE));
    const query = buildQuery('a.evil.example', QType.A);
    const reply = answers.answer(query, parsed(query), rule('scam.test'));
    expect(reply[parsed(query).questionEnd]).toBe(4); // the length of the label "scam"
    expect(decode(reply).authorities[0]?.name).toBe('scam.test');
  });

  it('a block TTL of 0 gives TTL 0 and SOA minimum 0', () => {
    const answers = new BlockAnswers('nxdomain', 0, new Synthesizer(OUR_SIZE));
    const query = buildQuery('evil.example', QType.A);
    const soa = decode(answers.answer(query, parsed(query), evil)).authorities[0];
    expect(soa).toMatchObject({ ttl: 0, minimum: 0 });
  });

  it('EDE text names the category of the rule that blocked, even after the same list was seen with another one', () => {
    // A reload can change a list's category header; BlockAnswers lives across reloads.
    const answers = new BlockAnswers('refused', TTL, new Synthesizer(OUR_SIZE));
    const before = rule('evil.example', 'fraud', 'phishing');
    const after = rule('evil.example', 'fraud', 'malware');
    const query = buildQuery('evil.example', QType.A, { edns: {} });
    answers.answer(query, parsed(query), before);
    const text = edesOf(decode(answers.answer(query, parsed(query), after)))[0]?.extraText;
    expect(text).toBe('blocked by fraudwall list fraud (malware)');
  });
});
