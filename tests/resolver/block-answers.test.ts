import { describe, expect, it } from 'vitest';
import { Synthesizer } from '../../src/dns/synthesizer.js';
import { QType, Rcode } from '../../src/dns/wire.js';
import type { Rule } from '../../src/query/rule.js';
import type { BlockMode } from '../../src/config/options.js';
import { BLOCK_SOA_MNAME, BLOCK_SOA_RNAME, BlockAnswers, type BlockAnswerSettings } from '../../src/resolver/block-answers.js';
import { buildQuery, contextFor, decode, edesOf, headerOf, optOf, Packet, parsed, questionBytes, rawOpt, rawOption } from '../dns/packet-fixtures.js';

const TTL = 77;
const OUR_SIZE = 1232;

function rule(domain: string, list = 'fraud', category = 'phishing'): Rule {
  return { domain, scope: 'domain', kind: 'block', list, category, line: 3, text: domain };
}

const evil = rule('evil.example');

const DEFAULTS: BlockAnswerSettings = {
  blockMode: 'nxdomain',
  blockTtl: TTL,
  sinkholeIpv4: '',
  sinkholeIpv6: '',
  edeText: '',
  hotline: '',
  operator: '',
  sdeOptionCode: 0,
};

function makeAnswers(settings: Partial<BlockAnswerSettings> = {}): BlockAnswers {
  return new BlockAnswers({ ...DEFAULTS, ...settings }, new Synthesizer(OUR_SIZE));
}

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
  // Sinkhole with an IPv4 address only: AAAA gets NODATA, as other types do.
  sinkhole: {
    A: { rcode: Rcode.NOERROR, aa: 1, answer: { type: QType.A, address: '192.0.2.80' }, soa: false },
    AAAA: { rcode: Rcode.NOERROR, aa: 1, soa: true },
    MX: { rcode: Rcode.NOERROR, aa: 1, soa: true },
  },
  refused: {
    A: { rcode: Rcode.REFUSED, aa: 0, soa: false },
    AAAA: { rcode: Rcode.REFUSED, aa: 0, soa: false },
    MX: { rcode: Rcode.REFUSED, aa: 0, soa: false },
  },
};

const table = (['nxdomain', 'null', 'sinkhole', 'refused'] as const).flatMap((mode) =>
  (['A', 'AAAA', 'MX'] as const).flatMap((type) =>
    [false, true].map((edns) => ({ mode, type, edns, expected: expectations[mode][type] })),
  ),
);

describe('BlockAnswers', () => {
  it.each(table)('$mode mode, $type query, EDNS=$edns', ({ mode, type, edns, expected }) => {
    const answers = makeAnswers({ blockMode: mode, sinkholeIpv4: '192.0.2.80' });
    const name = 'Login.EVIL.example';
    const query = buildQuery(name, Packet.TYPE[type], { id: 0x6666, edns: edns ? { udpSize: 4096, dnssecOk: true } : undefined });
    const reply = answers.answer(contextFor(query), evil);

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
    const answers = makeAnswers();
    const other = rule('scam.test', 'scams', 'fake-shop');
    for (const [r, name] of [
      [evil, 'a.evil.example'],
      [other, 'b.scam.test'],
      [evil, 'c.evil.example'],
    ] as const) {
      const query = buildQuery(name, QType.A, { edns: {} });
      const packet = decode(answers.answer(contextFor(query), r));
      expect(packet.authorities[0]?.name).toBe(r.domain);
      expect(edesOf(packet)[0]?.extraText).toContain(`list ${r.list}`);
    }
  });

  it('writes the SOA owner as a compression pointer to the rule domain inside the question', () => {
    const answers = makeAnswers();
    for (const [name, suffixAt] of [
      ['evil.example', 12],
      ['login.evil.example', 12 + 6],
      ['a.b.login.evil.example', 12 + 2 + 2 + 6],
    ] as const) {
      const query = buildQuery(name, QType.A);
      const reply = answers.answer(contextFor(query), evil);
      const authorityStart = parsed(query).questionEnd;
      expect(reply.readUInt16BE(authorityStart)).toBe(0xc000 | suffixAt);
      expect(decode(reply).authorities[0]?.name).toBe('evil.example');
    }
  });

  it('writes the owner out in full when the rule domain is not a suffix of the question', () => {
    const answers = makeAnswers();
    const query = buildQuery('a.evil.example', QType.A);
    const reply = answers.answer(contextFor(query), rule('scam.test'));
    expect(reply[parsed(query).questionEnd]).toBe(4); // the length of the label "scam"
    expect(decode(reply).authorities[0]?.name).toBe('scam.test');
  });

  it('a block TTL of 0 gives TTL 0 and SOA minimum 0', () => {
    const answers = makeAnswers({ blockTtl: 0 });
    const query = buildQuery('evil.example', QType.A);
    const soa = decode(answers.answer(contextFor(query), evil)).authorities[0];
    expect(soa).toMatchObject({ ttl: 0, minimum: 0 });
  });

  it('EDE text names the category of the rule that blocked, even after the same list was seen with another one', () => {
    // A reload can change a list's category header; BlockAnswers lives across reloads.
    const answers = makeAnswers({ blockMode: 'refused' });
    const before = rule('evil.example', 'fraud', 'phishing');
    const after = rule('evil.example', 'fraud', 'malware');
    const query = buildQuery('evil.example', QType.A, { edns: {} });
    answers.answer(contextFor(query), before);
    const text = edesOf(decode(answers.answer(contextFor(query), after)))[0]?.extraText;
    expect(text).toBe('blocked by fraudwall list fraud (malware)');
  });
});

/** `query` (built without EDNS) with an OPT record carrying the given options. */
function withOptions(query: Buffer, udpSize: number, options: Buffer[]): Buffer {
  const out = Buffer.concat([query, rawOpt(udpSize, 0, Buffer.concat(options))]);
  out.writeUInt16BE(1, 10);
  return out;
}

const SDE_CODE = 65001;
const sdeSettings: Partial<BlockAnswerSettings> = { sdeOptionCode: SDE_CODE, hotline: 'tel:96110', operator: 'Example Anti-Fraud Centre' };

describe('BlockAnswers: sinkhole', () => {
  const both = makeAnswers({ blockMode: 'sinkhole', sinkholeIpv4: '192.0.2.80', sinkholeIpv6: '2001:db8::80' });

  it.each([
    [QType.A, '192.0.2.80'],
    [QType.AAAA, '2001:db8::80'],
  ])('answers type %i with the sinkhole address, TTL = block-ttl, EDE 15', (type, address) => {
    const query = buildQuery('www.evil.example', type, { edns: {} });
    const packet = decode(both.answer(contextFor(query), evil));
    expect(headerOf(both.answer(contextFor(query), evil))).toMatchObject({ rcode: Rcode.NOERROR, aa: 1, ancount: 1, nscount: 0 });
    expect(packet.answers).toEqual([expect.objectContaining({ name: 'www.evil.example', type, ttl: TTL, address })]);
    expect(edesOf(packet)[0]?.infoCode).toBe(Packet.EDE.BLOCKED);
  });

  it('answers other types (HTTPS, TXT) NODATA with the SOA', () => {
    for (const type of [QType.HTTPS, QType.TXT]) {
      const query = buildQuery('evil.example', type);
      const reply = both.answer(contextFor(query), evil);
      expect(headerOf(reply)).toMatchObject({ rcode: Rcode.NOERROR, ancount: 0, nscount: 1 });
      expect(decode(reply).authorities[0]).toMatchObject({ type: QType.SOA, minimum: TTL });
    }
  });

  it('a family without an address gets NODATA with the SOA', () => {
    const v6only = makeAnswers({ blockMode: 'sinkhole', sinkholeIpv6: '2001:db8::80' });
    const query = buildQuery('evil.example', QType.A);
    const reply = v6only.answer(contextFor(query), evil);
    expect(headerOf(reply)).toMatchObject({ rcode: Rcode.NOERROR, ancount: 0, nscount: 1 });
  });
});

describe('BlockAnswers: EDE text', () => {
  const textOf = (answers: BlockAnswers, reason?: 'name' | 'cname'): string | undefined => {
    const query = buildQuery('evil.example', QType.A, { edns: {} });
    return edesOf(decode(answers.answer(contextFor(query), evil, reason)))[0]?.extraText;
  };

  it('keeps the built-in text and adds the hotline as a person dials it', () => {
    expect(textOf(makeAnswers({ hotline: 'tel:96110' }))).toBe('blocked by fraudwall list fraud (phishing); anti-fraud hotline 96110');
  });

  it('fills an --ede-text template, {reason} defaulting to name', () => {
    const answers = makeAnswers({ hotline: 'tel:+86-10-96110', edeText: '{category} site ({list}, by {reason}): call {hotline}' });
    expect(textOf(answers)).toBe('phishing site (fraud, by name): call +86-10-96110');
    expect(textOf(answers, 'cname')).toBe('phishing site (fraud, by cname): call +86-10-96110');
  });

  it('cuts a rendered text at 200 bytes without splitting a character', () => {
    const longList = rule('evil.example', 'l'.repeat(64), 'c'.repeat(64));
    const answers = makeAnswers({ edeText: `诈骗网站 ${'字'.repeat(40)} {list} {category}` });
    const query = buildQuery('evil.example', QType.A, { edns: {} });
    const text = edesOf(decode(answers.answer(contextFor(query), longList)))[0]!.extraText;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(200);
    expect(text).not.toContain('\ufffd');
    expect(text.startsWith('诈骗网站 字')).toBe(true);
  });
});

describe('BlockAnswers: Structured DNS Errors', () => {
  const sdeQuery = (name: string, udpSize = 1232, code = SDE_CODE): Buffer => withOptions(buildQuery(name, QType.A), udpSize, [rawOption(code, Buffer.alloc(0))]);
  const jsonOf = (reply: Buffer): Record<string, unknown> => JSON.parse(edesOf(decode(reply))[0]!.extraText) as Record<string, unknown>;

  it('answers a query carrying the SDE option with the draft JSON; s from the category', () => {
    const answers = makeAnswers(sdeSettings);
    const reply = answers.answer(contextFor(sdeQuery('evil.example')), evil);
    expect(edesOf(decode(reply))[0]?.infoCode).toBe(Packet.EDE.BLOCKED);
    expect(jsonOf(reply)).toEqual({ c: ['tel:96110'], j: 'blocked by fraudwall list fraud (phishing, name)', s: 2, o: 'Example Anti-Fraud Centre', l: 'en' });
    expect(jsonOf(answers.answer(contextFor(sdeQuery('evil.example')), rule('evil.example', 'mal', 'malware')))['s']).toBe(1);
    expect(jsonOf(answers.answer(contextFor(sdeQuery('evil.example')), rule('evil.example', 'loans', 'fake-loan')))['s']).toBe(6);
  });

  it('leaves o out when no operator is set', () => {
    const answers = makeAnswers({ ...sdeSettings, operator: '' });
    expect(Object.keys(jsonOf(answers.answer(contextFor(sdeQuery('evil.example')), evil)))).toEqual(['c', 'j', 's', 'l']);
  });

  it('gives the plain text to a query without the option, or with another option', () => {
    const answers = makeAnswers(sdeSettings);
    for (const query of [buildQuery('evil.example', QType.A, { edns: {} }), sdeQuery('evil.example', 1232, 65002)]) {
      expect(edesOf(decode(answers.answer(contextFor(query), evil)))[0]?.extraText).toBe('blocked by fraudwall list fraud (phishing); anti-fraud hotline 96110');
    }
  });

  it('drops j and o when the UDP answer would not fit the client size, and keeps them over TCP', () => {
    const answers = makeAnswers({ ...sdeSettings, operator: 'O'.repeat(400) });
    const name = `${'a'.repeat(60)}.${'b'.repeat(60)}.evil.example`;
    const udp = answers.answer(contextFor(sdeQuery(name, 512), 'udp'), evil);
    expect(udp.length).toBeLessThanOrEqual(512);
    expect(jsonOf(udp)).toEqual({ c: ['tel:96110'], s: 2, l: 'en' });
    const tcp = answers.answer(contextFor(sdeQuery(name, 512), 'tcp'), evil);
    expect(tcp.length).toBeGreaterThan(512);
    expect(jsonOf(tcp)['o']).toBe('O'.repeat(400));
  });
});

describe('RPZ answers and answers blocked by inspection', () => {
  const answers = makeAnswers();
  const local = (() => {
    const a = Buffer.from([0, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, 7]);
    return new Uint8Array(a);
  })();
  const rpz = (action: Rule['rpz'], localData?: Uint8Array): Rule => ({ ...rule('feed.example', 'feed', 'scam'), scope: 'exact', rpz: action, localData });
  const ask = (r: Rule, type: number, transport: 'udp' | 'tcp' | 'dot' | 'doh' = 'udp') =>
    answers.rpzAnswer(contextFor(buildQuery('feed.example', type, { edns: {} }), transport), r);

  it('nxdomain and nodata carry a SOA owned by the question name and EDE 15', () => {
    for (const [action, rcode] of [['nxdomain', Rcode.NXDOMAIN], ['nodata', Rcode.NOERROR]] as const) {
      const bytes = ask(rpz(action), QType.A)!;
      const reply = decode(bytes);
      expect(headerOf(bytes).rcode).toBe(rcode);
      expect(reply.answers).toEqual([]);
      expect(reply.authorities.map((r) => [r.name, r.type])).toEqual([['feed.example', QType.SOA]]);
      expect(edesOf(reply)[0]?.extraText).toBe('blocked by fraudwall list feed (scam)');
    }
  });

  it('local data answers its own type, NODATA for another; tcp-only is TC over UDP and resolves over streams', () => {
    const a = decode(ask(rpz('local', local), QType.A)!);
    expect(a.answers.map((r) => [r.name, r.type, r.ttl, (r as { address?: string }).address])).toEqual([['feed.example', QType.A, 120, '192.0.2.7']]);
    const mxBytes = ask(rpz('local', local), QType.MX)!;
    const mx = decode(mxBytes);
    expect([headerOf(mxBytes).rcode, mx.answers.length, mx.authorities.length]).toEqual([Rcode.NOERROR, 0, 1]);
    expect(headerOf(ask(rpz('tcp-only'), QType.A, 'udp')!).tc).toBe(1);
    for (const stream of ['tcp', 'dot', 'doh'] as const) expect(ask(rpz('tcp-only'), QType.A, stream)).toBeUndefined();
  });

  it('an inspection block names how it matched and owns its SOA by the question name, not the target', () => {
    const ctx = contextFor(buildQuery('alias.clean.example', QType.A, { edns: {} }));
    const bytes = answers.answerVia(ctx, rule('0xproject.io'), 'cname', 'CNAME www.0xproject.io');
    const reply = decode(bytes);
    expect(headerOf(bytes).rcode).toBe(Rcode.NXDOMAIN);
    expect(reply.authorities.map((r) => r.name)).toEqual(['alias.clean.example']);
    expect(edesOf(reply)[0]?.extraText).toBe('blocked by fraudwall list fraud (phishing) via CNAME www.0xproject.io');
  });
});
