/**
 * A seeded generator of hostile DNS packets: truncated headers, random bytes, garbage questions,
 * compression pointers and pointer loops, reserved label types, over-long names, wrong section
 * counts, broken OPT records, responses, odd opcodes, oversized packets and mutations of real
 * queries (bit flips, truncation at every offset). The same seed gives the same packets, so a
 * failure is reproducible with FUZZ_SEED=<seed>.
 */

export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, good enough to spread test inputs and fully reproducible. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi]. */
export function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (rng() * 256) | 0;
  return out;
}

const RD = 0x0100;

export function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id & 0xffff, 0);
  out.writeUInt16BE(flags & 0xffff, 2);
  out.writeUInt16BE(qd & 0xffff, 4);
  out.writeUInt16BE(an & 0xffff, 6);
  out.writeUInt16BE(ns & 0xffff, 8);
  out.writeUInt16BE(ar & 0xffff, 10);
  return out;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789-';

function label(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length + 1);
  out[0] = length;
  for (let i = 1; i <= length; i++) out[i] = LETTERS.charCodeAt((rng() * LETTERS.length) | 0);
  return out;
}

/** A valid uncompressed name of 1–4 labels. */
export function wireName(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  const count = int(rng, 1, 4);
  for (let i = 0; i < count; i++) parts.push(label(rng, int(rng, 1, 20)));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function typeClass(type: number, qclass = 1): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(type & 0xffff, 0);
  out.writeUInt16BE(qclass & 0xffff, 2);
  return out;
}

const COMMON_TYPES = [1, 28, 15, 16, 2, 6, 12, 33, 65, 64, 5, 43, 48] as const;

export interface OptShape {
  udpSize?: number;
  version?: number;
  flags?: number;
  /** rdata bytes (options); default none. */
  rdata?: Buffer;
  /** rdlength written in the record; default rdata's length. */
  rdLength?: number;
  owner?: number;
  type?: number;
}

export function optRecord(shape: OptShape = {}): Buffer {
  const rdata = shape.rdata ?? Buffer.alloc(0);
  const out = Buffer.alloc(11);
  out[0] = shape.owner ?? 0;
  out.writeUInt16BE(shape.type ?? 41, 1);
  out.writeUInt16BE(shape.udpSize ?? 1232, 3);
  out[5] = 0;
  out[6] = shape.version ?? 0;
  out.writeUInt16BE(shape.flags ?? 0, 7);
  out.writeUInt16BE((shape.rdLength ?? rdata.length) & 0xffff, 9);
  return Buffer.concat([out, rdata]);
}

function option(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** A well-formed query: one question, optionally one OPT with a few options. */
export function validQuery(rng: Rng, withOpt = rng() < 0.5): Buffer {
  const parts = [header(int(rng, 0, 0xffff), rng() < 0.9 ? RD : 0, 1, 0, 0, withOpt ? 1 : 0), wireName(rng), typeClass(pick(rng, COMMON_TYPES))];
  if (withOpt) {
    const options: Buffer[] = [];
    if (rng() < 0.3) options.push(option(10, randomBytes(rng, 8))); // cookie
    if (rng() < 0.3) options.push(option(8, Buffer.from([0, 1, 24, 0, 192, 0, 2]))); // ECS
    if (rng() < 0.2) options.push(option(12, Buffer.alloc(int(rng, 0, 64)))); // padding
    parts.push(optRecord({ udpSize: pick(rng, [512, 1232, 4096, 0, 65535]), flags: rng() < 0.5 ? 0x8000 : 0, rdata: Buffer.concat(options) }));
  }
  return Buffer.concat(parts);
}

/** Real queries whose every truncation and every single-bit flip is part of the corpus. */
export function realQueries(): Buffer[] {
  const q = (id: number, name: string, type: number, opt?: Buffer): Buffer => {
    const labels = name.split('.').map((part) => Buffer.concat([Buffer.from([part.length]), Buffer.from(part, 'ascii')]));
    return Buffer.concat([header(id, RD, 1, 0, 0, opt ? 1 : 0), ...labels, Buffer.from([0]), typeClass(type), ...(opt ? [opt] : [])]);
  };
  return [
    q(0x1234, 'www.example.com', 1),
    q(0xbeef, 'evil.fraud.test', 28, optRecord({ udpSize: 1232, flags: 0x8000 })),
    q(0x0001, 'a.b.c.d.e.f.g.example.org', 16, optRecord({ udpSize: 4096, rdata: option(8, Buffer.from([0, 1, 24, 0, 198, 51, 100])) })),
    q(0xffff, 'mail.casino.test', 15, optRecord({ rdata: Buffer.concat([option(10, Buffer.alloc(8, 7)), option(12, Buffer.alloc(20))]) })),
  ];
}

type Generator = (rng: Rng) => Buffer;

const qid = (rng: Rng): number => int(rng, 0, 0xffff);

const GENERATORS: readonly (readonly [string, number, Generator])[] = [
  ['short-header', 3, (rng) => randomBytes(rng, int(rng, 0, 11))],
  ['random-bytes', 8, (rng) => randomBytes(rng, int(rng, 12, 512))],
  ['random-header-valid-question', 4, (rng) => Buffer.concat([randomBytes(rng, 12), wireName(rng), typeClass(1)])],
  ['garbage-question', 8, (rng) => Buffer.concat([header(qid(rng), RD, 1, 0, 0, int(rng, 0, 1)), randomBytes(rng, int(rng, 1, 300))])],
  [
    'compression-pointer',
    6,
    (rng) => {
      const prefix = rng() < 0.5 ? Buffer.alloc(0) : label(rng, int(rng, 1, 10));
      const pointer = Buffer.from([0xc0 | int(rng, 0, 0x3f), int(rng, 0, 255)]);
      return Buffer.concat([header(qid(rng), RD, 1), prefix, pointer, typeClass(1)]);
    },
  ],
  [
    'pointer-loop',
    4,
    (rng) => {
      const variant = int(rng, 0, 2);
      if (variant === 0) return Buffer.concat([header(qid(rng), RD, 1), Buffer.from([0xc0, 12]), typeClass(1)]); // points at itself
      if (variant === 1) return Buffer.concat([header(qid(rng), RD, 1), Buffer.from([0xc0, 14, 0xc0, 12]), typeClass(1)]); // two pointing at each other
      return Buffer.concat([header(qid(rng), RD, 1), label(rng, 3), Buffer.from([0xc0, 12]), typeClass(28)]); // label then back to start
    },
  ],
  [
    'label-over-63',
    5,
    (rng) => {
      const length = int(rng, 64, 191); // 0x40 and 0x80 label types, and lengths > 63
      const body = randomBytes(rng, Math.min(length, int(rng, 0, 200)));
      const lead = rng() < 0.5 ? label(rng, 5) : Buffer.alloc(0);
      return Buffer.concat([header(qid(rng), RD, 1), lead, Buffer.from([length]), body, Buffer.from([0]), typeClass(1)]);
    },
  ],
  [
    'name-over-255',
    4,
    (rng) => {
      // 4 × 63-byte labels = 256 wire octets with the root; more labels push further.
      const labels: Buffer[] = [];
      const count = int(rng, 4, 6);
      for (let i = 0; i < count; i++) labels.push(label(rng, i === count - 1 ? int(rng, 1, 63) : 63));
      return Buffer.concat([header(qid(rng), RD, 1), ...labels, Buffer.from([0]), typeClass(1)]);
    },
  ],
  [
    'qdcount',
    6,
    (rng) => {
      const qd = pick(rng, [0, 2, 3, 65535, int(rng, 2, 65535)]);
      const questions = qd === 0 ? (rng() < 0.5 ? [] : [wireName(rng), typeClass(1)]) : [wireName(rng), typeClass(1), wireName(rng), typeClass(28)];
      return Buffer.concat([header(qid(rng), RD, qd), ...questions]);
    },
  ],
  [
    'an-ns-counts',
    6,
    (rng) => {
      const an = rng() < 0.5 ? int(rng, 1, 65535) : 0;
      const ns = an === 0 || rng() < 0.5 ? int(rng, 1, 65535) : 0;
      const record = rng() < 0.5 ? Buffer.concat([Buffer.from([0xc0, 12]), typeClass(1), Buffer.from([0, 0, 0, 60, 0, 4, 192, 0, 2, 1])]) : Buffer.alloc(0);
      return Buffer.concat([header(qid(rng), RD, 1, an, ns, int(rng, 0, 1)), wireName(rng), typeClass(1), record]);
    },
  ],
  [
    'multiple-opt',
    4,
    (rng) => {
      const count = int(rng, 2, 4);
      const opts = Array.from({ length: count }, () => optRecord({ udpSize: int(rng, 0, 65535) }));
      return Buffer.concat([header(qid(rng), RD, 1, 0, 0, count), wireName(rng), typeClass(1), ...opts]);
    },
  ],
  [
    'opt-rdlength-past-end',
    4,
    (rng) => {
      const rdata = option(10, randomBytes(rng, 8));
      return Buffer.concat([header(qid(rng), RD, 1, 0, 0, 1), wireName(rng), typeClass(1), optRecord({ rdata, rdLength: rdata.length + int(rng, 1, 65000) })]);
    },
  ],
  [
    'opt-options-not-tiling',
    4,
    (rng) => {
      const variant = int(rng, 0, 2);
      let rdata: Buffer;
      if (variant === 0) {
        // an option whose length runs past the rdata
        rdata = Buffer.concat([Buffer.from([0, 10, 0, int(rng, 9, 255)]), randomBytes(rng, 8)]);
      } else if (variant === 1) {
        // 1–3 stray bytes after whole options
        rdata = Buffer.concat([option(10, randomBytes(rng, 8)), randomBytes(rng, int(rng, 1, 3))]);
      } else {
        rdata = randomBytes(rng, int(rng, 1, 3));
      }
      return Buffer.concat([header(qid(rng), RD, 1, 0, 0, 1), wireName(rng), typeClass(1), optRecord({ rdata })]);
    },
  ],
  [
    'opt-wrong-owner-or-type',
    2,
    (rng) =>
      Buffer.concat([
        header(qid(rng), RD, 1, 0, 0, 1),
        wireName(rng),
        typeClass(1),
        rng() < 0.5 ? optRecord({ owner: int(rng, 1, 63) }) : optRecord({ type: pick(rng, [1, 28, 40, 42, 250]) }),
      ]),
  ],
  [
    'arcount-without-record',
    2,
    (rng) => Buffer.concat([header(qid(rng), RD, 1, 0, 0, int(rng, 1, 65535)), wireName(rng), typeClass(1)]),
  ],
  [
    'qr-set',
    4,
    (rng) => {
      const packet = validQuery(rng);
      packet.writeUInt16BE(packet.readUInt16BE(2) | 0x8000 | (rng() < 0.5 ? 0x0080 : 0), 2);
      return packet;
    },
  ],
  [
    'opcode',
    5,
    (rng) => {
      const packet = validQuery(rng);
      packet.writeUInt16BE((packet.readUInt16BE(2) & ~0x7800) | (int(rng, 1, 15) << 11), 2);
      return packet;
    },
  ],
  [
    'oversized',
    0.4,
    (rng) => {
      const target = int(rng, 4097, 65_000);
      if (rng() < 0.5) return Buffer.concat([header(qid(rng), RD, 1), randomBytes(rng, target - 12)]);
      // A well-formed query padded past 4096 bytes with an EDNS padding option.
      const base = Buffer.concat([header(qid(rng), RD, 1, 0, 0, 1), wireName(rng), typeClass(1)]);
      const padding = Math.max(0, target - base.length - 11 - 4);
      return Buffer.concat([base, optRecord({ rdata: option(12, Buffer.alloc(padding)) })]);
    },
  ],
  ['trailing-bytes', 4, (rng) => Buffer.concat([validQuery(rng, false), randomBytes(rng, int(rng, 1, 100))])],
  [
    'bit-flip',
    10,
    (rng) => {
      const packet = validQuery(rng);
      const flips = int(rng, 1, 4);
      for (let i = 0; i < flips; i++) {
        const bit = int(rng, 0, packet.length * 8 - 1);
        packet[bit >> 3] = packet[bit >> 3]! ^ (1 << (bit & 7));
      }
      return packet;
    },
  ],
  [
    'truncated-valid',
    10,
    (rng) => {
      const packet = validQuery(rng);
      return packet.subarray(0, int(rng, 0, packet.length - 1));
    },
  ],
  // Well-formed but unusual: these must be answered, not counted as malformed.
  [
    'edns-version',
    1,
    (rng) => Buffer.concat([header(qid(rng), RD, 1, 0, 0, 1), wireName(rng), typeClass(1), optRecord({ version: int(rng, 1, 255) })]),
  ],
  ['odd-class', 1, (rng) => Buffer.concat([header(qid(rng), RD, 1), wireName(rng), typeClass(pick(rng, [1, 252, 255, 251, 253]), pick(rng, [3, 4, 254, 255, 0]))])],
];

const TOTAL_WEIGHT = GENERATORS.reduce((sum, [, weight]) => sum + weight, 0);

export interface FuzzPacket {
  readonly kind: string;
  readonly bytes: Buffer;
}

/** Every truncation and every single-bit flip of the real queries (deterministic). */
export function exhaustiveMutations(): FuzzPacket[] {
  const out: FuzzPacket[] = [];
  for (const query of realQueries()) {
    for (let end = 0; end < query.length; end++) out.push({ kind: 'truncate-every-offset', bytes: Buffer.from(query.subarray(0, end)) });
  }
  const first = realQueries()[1]!;
  for (let bit = 0; bit < first.length * 8; bit++) {
    const flipped = Buffer.from(first);
    flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
    out.push({ kind: 'every-bit-flip', bytes: flipped });
  }
  return out;
}

/** `count` packets: the exhaustive mutations first, then weighted random ones; each at most `maxSize` bytes. */
export function generateCorpus(rng: Rng, count: number, maxSize: number): FuzzPacket[] {
  const out = exhaustiveMutations().slice(0, count);
  while (out.length < count) {
    let roll = rng() * TOTAL_WEIGHT;
    let chosen = GENERATORS[0]!;
    for (const generator of GENERATORS) {
      roll -= generator[1];
      if (roll <= 0) {
        chosen = generator;
        break;
      }
    }
    const bytes = chosen[2](rng);
    if (bytes.length > maxSize) continue;
    out.push({ kind: chosen[0], bytes });
  }
  return out;
}
