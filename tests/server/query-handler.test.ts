import { describe, expect, it, vi } from 'vitest';
import { QueryHandler, type QueryHandlerObserver } from '../../src/server/query-handler.js';
import { Synthesizer } from '../../src/dns/synthesizer.js';
import { QClass, QType, Rcode, type MalformedReason } from '../../src/dns/wire.js';
import type { Answer, QueryContext, Resolver, Transport } from '../../src/query/resolver.js';
import { answerOfSize, buildQuery, decode, edesOf, headerOf, optOf, Packet, questionBytes, rawOpt, type QueryOptions } from '../dns/packet-fixtures.js';

const OUR_SIZE = 1232;
const TIMEOUT_MS = 1800;

type ChainFn = (ctx: QueryContext) => Answer | Promise<Answer>;

function setup(chainFn: ChainFn = (ctx) => ({ bytes: answerOfSize(ctx.packet, 100), source: 'upstream' })) {
  const resolve = vi.fn<ChainFn>(chainFn);
  const chain: Resolver = { resolve };
  const malformed = vi.fn<(reason: MalformedReason) => void>();
  const internalError = vi.fn<(error: unknown) => void>();
  const observer: QueryHandlerObserver = { malformed, internalError };
  const handler = new QueryHandler(chain, new Synthesizer(OUR_SIZE), { queryTimeoutMs: TIMEOUT_MS }, observer);
  return { handler, resolve, malformed, internalError };
}

/** Runs the handler and awaits the reply whether it came synchronously or not. */
async function reply(handler: QueryHandler, packet: Buffer, transport: Transport = 'udp'): Promise<Buffer | undefined> {
  return await handler.handle(packet, transport, '198.51.100.9');
}

describe('QueryHandler: packets that never reach the chain', () => {
  it.each([
    { label: 'a runt', packet: Buffer.from([1, 2, 3]), reason: 'short-header' },
    { label: 'a response (QR=1)', packet: Buffer.from(buildQuery('example.com', QType.A).map((b, i) => (i === 2 ? b | 0x80 : b))), reason: 'response' },
  ])('drops $label silently', async ({ packet, reason }) => {
    const { handler, resolve, malformed } = setup();
    expect(handler.handle(packet, 'udp', '198.51.100.9')).toBeUndefined();
    expect(malformed).toHaveBeenCalledExactlyOnceWith(reason);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('answers qdcount 2 with FORMERR and no question', async () => {
    const { handler, resolve, malformed } = setup();
    const packet = buildQuery('example.com', QType.A, { id: 0x0102 });
    packet.writeUInt16BE(2, 4);
    const bytes = await reply(handler, packet);
    expect(headerOf(bytes!)).toMatchObject({ id: 0x0102, qr: 1, rcode: Rcode.FORMERR, qdcount: 0, ancount: 0, arcount: 0 });
    expect(malformed).toHaveBeenCalledExactlyOnceWith('qdcount');
    expect(resolve).not.toHaveBeenCalled();
  });

  it('answers trailing garbage with FORMERR echoing the question', async () => {
    const { handler, malformed } = setup();
    const query = buildQuery('Example.com', QType.A, { id: 0x0103 });
    const bytes = await reply(handler, Buffer.concat([query, Buffer.from([0xde, 0xad])]));
    expect(headerOf(bytes!)).toMatchObject({ id: 0x0103, qr: 1, rcode: Rcode.FORMERR, qdcount: 1 });
    expect(questionBytes(bytes!).equals(questionBytes(query))).toBe(true);
    expect(malformed).toHaveBeenCalledExactlyOnceWith('trailing-bytes');
  });

  it('answers two OPT records with FORMERR and an OPT of its own', async () => {
    const { handler } = setup();
    const query = buildQuery('example.com', QType.A, { id: 0x0104 });
    query.writeUInt16BE(2, 10);
    const bytes = await reply(handler, Buffer.concat([query, rawOpt(4096, 0x8000), rawOpt(4096, 0)]));
    expect(headerOf(bytes!)).toMatchObject({ rcode: Rcode.FORMERR, qdcount: 1, arcount: 1 });
    expect(optOf(decode(bytes!))).toMatchObject({ class: OUR_SIZE, doFlag: true });
  });

  it.each([
    { opcode: 1, edns: false },
    { opcode: 2, edns: false },
    { opcode: 4, edns: true },
    { opcode: 5, edns: true },
  ])('answers opcode $opcode with NOTIMP (EDNS=$edns)', async ({ opcode, edns }) => {
    const { handler, resolve, malformed } = setup();
    const query = buildQuery('Zone.Example', QType.SOA, { id: 0x0105, opcode, edns: edns ? { dnssecOk: true } : undefined });
    const bytes = await reply(handler, query);
    expect(headerOf(bytes!)).toMatchObject({ id: 0x0105, qr: 1, opcode, rcode: Rcode.NOTIMP, qdcount: 1, arcount: edns ? 1 : 0 });
    expect(questionBytes(bytes!).equals(questionBytes(query))).toBe(true);
    if (edns) expect(optOf(decode(bytes!))).toMatchObject({ class: OUR_SIZE, doFlag: true });
    expect(malformed).toHaveBeenCalledExactlyOnceWith('opcode');
    expect(resolve).not.toHaveBeenCalled();
  });

  it.each([
    { label: 'class CH', type: QType.TXT, qclass: QClass.CH, rcode: Rcode.REFUSED, ede: 18 },
    { label: 'class HS', type: QType.A, qclass: 4, rcode: Rcode.REFUSED, ede: 18 },
    { label: 'class NONE', type: QType.A, qclass: 254, rcode: Rcode.REFUSED, ede: 18 },
    { label: 'AXFR', type: QType.AXFR, qclass: QClass.IN, rcode: Rcode.REFUSED, ede: 18 },
    { label: 'IXFR', type: QType.IXFR, qclass: QClass.IN, rcode: Rcode.REFUSED, ede: 18 },
    { label: 'MAILA', type: QType.MAILA, qclass: QClass.IN, rcode: Rcode.NOTIMP, ede: undefined },
    { label: 'MAILB', type: QType.MAILB, qclass: QClass.IN, rcode: Rcode.NOTIMP, ede: undefined },
  ])('answers $label with rcode $rcode without asking the chain', async ({ type, qclass, rcode, ede }) => {
    for (const edns of [false, true]) {
      const { handler, resolve, malformed } = setup();
      const query = buildQuery('Version.Bind', type, { id: 0x0106, qclass, edns: edns ? {} : undefined });
      const bytes = (await reply(handler, query))!;
      expect(headerOf(bytes)).toMatchObject({ id: 0x0106, qr: 1, ra: 1, aa: 0, rcode, qdcount: 1, ancount: 0, arcount: edns ? 1 : 0 });
      expect(questionBytes(bytes).equals(questionBytes(query))).toBe(true);
      const packet = decode(bytes);
      if (edns && ede !== undefined) {
        expect(edesOf(packet)).toEqual([expect.objectContaining({ infoCode: ede })]);
      } else {
        expect(edesOf(packet)).toEqual([]);
      }
      expect(resolve).not.toHaveBeenCalled();
      expect(malformed).not.toHaveBeenCalled();
    }
  });

  it.each([false, true])('answers EDNS version 1 with BADVERS (DO=%s), chain untouched', async (dnssecOk) => {
    const { handler, resolve } = setup();
    const query = buildQuery('example.com', QType.A, { id: 0x0107, edns: { version: 1, udpSize: 4096, dnssecOk } });
    const bytes = (await reply(handler, query))!;
    expect(headerOf(bytes)).toMatchObject({ id: 0x0107, qr: 1, rcode: 0, qdcount: 1, arcount: 1 });
    const packet = decode(bytes);
    expect(packet.header.rcode).toBe(Packet.RCODE.BADVERS);
    expect(optOf(packet)).toMatchObject({ extendedRcode: 1, version: 0, class: OUR_SIZE, doFlag: dnssecOk });
    expect(resolve).not.toHaveBeenCalled();
  });
});

describe('QueryHandler: the chain', () => {
  it('passes IN and ANY class queries with the context a resolver needs', async () => {
    for (const qclass of [QClass.IN, QClass.ANY]) {
      const { handler, resolve } = setup();
      const query = buildQuery('WWW.Example.com', QType.AAAA, { qclass, edns: { udpSize: 1400 } });
      const before = performance.now();
      const bytes = await reply(handler, query, 'tcp');
      expect(bytes).toBeDefined();
      expect(resolve).toHaveBeenCalledOnce();
      const ctx = resolve.mock.calls[0]![0];
      expect(ctx.packet).toBe(query);
      expect(ctx.transport).toBe('tcp');
      expect(ctx.clientAddress).toBe('198.51.100.9');
      expect(ctx.query).toMatchObject({ name: 'www.example.com', type: QType.AAAA, qclass, edns: { udpSize: 1400 } });
      expect(ctx.receivedAt).toBeGreaterThanOrEqual(before);
      expect(ctx.deadline - ctx.receivedAt).toBeCloseTo(TIMEOUT_MS, 6);
    }
  });

  it('returns a synchronous answer synchronously, the very bytes the chain made', () => {
    let made: Buffer | undefined;
    const { handler } = setup((ctx) => {
      made = answerOfSize(ctx.packet, 200);
      return { bytes: made, source: 'local' };
    });
    const result = handler.handle(buildQuery('localhost', QType.A), 'udp', '::1');
    expect(result).toBeInstanceOf(Buffer);
    expect(result).toBe(made);
  });

  it('returns a promise for an asynchronous answer', async () => {
    let made: Buffer | undefined;
    const { handler } = setup(async (ctx) => {
      made = answerOfSize(ctx.packet, 300);
      return { bytes: made, source: 'upstream' };
    });
    const result = handler.handle(buildQuery('example.com', QType.A), 'udp', '::1');
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(made);
  });
});

describe('QueryHandler: fitting UDP answers', () => {
  const cases: { label: string; options: QueryOptions; size: number; truncated: boolean; transport: Transport }[] = [
    { label: 'no EDNS, 512 octets', options: {}, size: 512, truncated: false, transport: 'udp' },
    { label: 'no EDNS, 513 octets', options: {}, size: 513, truncated: true, transport: 'udp' },
    { label: 'EDNS 100 (read as 512), 513 octets', options: { edns: { udpSize: 100 } }, size: 513, truncated: true, transport: 'udp' },
    { label: 'EDNS 1232, 1232 octets', options: { edns: { udpSize: 1232 } }, size: 1232, truncated: false, transport: 'udp' },
    { label: 'EDNS 1232, 1233 octets', options: { edns: { udpSize: 1232 } }, size: 1233, truncated: true, transport: 'udp' },
    { label: 'EDNS 1232 with DO, 3000 octets', options: { edns: { udpSize: 1232, dnssecOk: true } }, size: 3000, truncated: true, transport: 'udp' },
    { label: 'EDNS 4096, 3000 octets', options: { edns: { udpSize: 4096 } }, size: 3000, truncated: false, transport: 'udp' },
    { label: 'TCP without EDNS, 3000 octets', options: {}, size: 3000, truncated: false, transport: 'tcp' },
    { label: 'TCP with EDNS 1232, 20000 octets', options: { edns: { udpSize: 1232 } }, size: 20000, truncated: false, transport: 'tcp' },
  ];

  for (const sync of [true, false]) {
    it.each(cases)(`$label over $transport (${sync ? 'sync' : 'async'} chain)`, async ({ options, size, truncated, transport }) => {
      let answer: Buffer | undefined;
      const { handler } = setup((ctx) => {
        answer = answerOfSize(ctx.packet, size);
        answer[2]! |= 0x04; // AA, to see the flags carried over
        return sync ? { bytes: answer, source: 'upstream' } : Promise.resolve({ bytes: answer, source: 'upstream' });
      });
      const query = buildQuery('Big.Example.com', QType.TXT, { id: 0x0200, ...options });
      const bytes = (await reply(handler, query, transport))!;
      if (!truncated) {
        expect(bytes).toBe(answer);
        return;
      }
      const limit = options.edns ? Math.max(options.edns.udpSize ?? 1232, 512) : 512;
      expect(bytes.length).toBeLessThanOrEqual(limit);
      expect(headerOf(bytes)).toMatchObject({ id: 0x0200, qr: 1, aa: 1, tc: 1, rcode: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: options.edns ? 1 : 0 });
      expect(questionBytes(bytes).equals(questionBytes(query))).toBe(true);
      const packet = decode(bytes);
      expect(packet.answers).toEqual([]);
      if (options.edns) {
        expect(optOf(packet)).toMatchObject({ class: OUR_SIZE, doFlag: options.edns.dnssecOk ?? false });
      } else {
        expect(optOf(packet)).toBeUndefined();
      }
    });
  }
});

describe('QueryHandler: failures inside the chain', () => {
  it.each([
    { label: 'throws', chain: (): Answer => { throw new Error('boom'); } },
    { label: 'rejects', chain: (): Promise<Answer> => Promise.reject(new Error('boom')) },
    { label: 'rejects with a non-Error', chain: (): Promise<Answer> => Promise.reject('boom') },
  ])('a chain that $label → SERVFAIL and observer.internalError', async ({ chain }) => {
    for (const edns of [false, true]) {
      const { handler, internalError } = setup(chain);
      const query = buildQuery('Example.com', QType.A, { id: 0x0300, cd: true, edns: edns ? { dnssecOk: true } : undefined });
      const bytes = (await reply(handler, query))!;
      expect(headerOf(bytes)).toMatchObject({ id: 0x0300, qr: 1, ra: 1, cd: 1, rcode: Rcode.SERVFAIL, qdcount: 1, ancount: 0, arcount: edns ? 1 : 0 });
      expect(questionBytes(bytes).equals(questionBytes(query))).toBe(true);
      if (edns) expect(optOf(decode(bytes))).toMatchObject({ class: OUR_SIZE, doFlag: true });
      expect(internalError).toHaveBeenCalledOnce();
      const error = internalError.mock.calls[0]![0];
      expect(error instanceof Error ? error.message : error).toBe('boom');
    }
  });

  it('the handler itself never throws or rejects for a throwing chain', async () => {
    const { handler } = setup(() => {
      throw new TypeError('bug');
    });
    expect(() => handler.handle(buildQuery('example.com', QType.A), 'tcp', '::1')).not.toThrow();
  });

  it('works without an observer', async () => {
    const handler = new QueryHandler({ resolve: () => Promise.reject(new Error('x')) }, new Synthesizer(OUR_SIZE), { queryTimeoutMs: 100 });
    const bytes = await handler.handle(buildQuery('example.com', QType.A), 'udp', '::1');
    expect(headerOf(bytes!).rcode).toBe(Rcode.SERVFAIL);
    expect(handler.handle(Buffer.alloc(3), 'udp', '::1')).toBeUndefined();
  });
});
