/**
 * Test-side packet tools for the dns, resolver and upstream unit tests. Queries are built and replies
 * decoded with dns2, an implementation independent of src/, so a test fails when our writer is wrong
 * even if our own parser agrees with it. Header bits dns2's typings leave out (AD, CD, Z) are read
 * from the raw bytes.
 */
import dns2 from 'dns2';
import { parseQuery, type ParsedQuery } from '../../src/dns/wire.js';
import type { QueryContext, Transport } from '../../src/query/resolver.js';

export const { Packet } = dns2;
export type DnsPacket = dns2.Packet;
export type DnsResource = dns2.Packet.Resource;
export type EdeOption = dns2.Packet.EdeOption;

export interface EdnsOptions {
  readonly udpSize?: number;
  readonly dnssecOk?: boolean;
  readonly version?: number;
  /** dns2 option objects, e.g. Packet.Resource.EDNS.ECS('192.0.2.0/24'). */
  readonly options?: object[];
}

export interface QueryOptions {
  readonly id?: number;
  readonly rd?: boolean;
  readonly cd?: boolean;
  readonly ad?: boolean;
  readonly opcode?: number;
  readonly qclass?: number;
  readonly edns?: EdnsOptions;
}

/** A query built by dns2: header, one question (the name's case kept byte for byte), optional OPT. */
export function buildQuery(name: string, type: number, options: QueryOptions = {}): Buffer {
  const packet = new Packet();
  packet.header = new Packet.Header({ id: options.id ?? 0x1234, rd: options.rd === false ? 0 : 1, opcode: options.opcode ?? 0 });
  packet.questions.push(new Packet.Question(name, type, options.qclass ?? Packet.CLASS.IN));
  if (options.edns) {
    packet.additionals.push(
      Packet.Resource.EDNS(options.edns.options ?? [], {
        udpPayloadSize: options.edns.udpSize ?? 1232,
        doFlag: options.edns.dnssecOk ?? false,
        version: options.edns.version ?? 0,
      }),
    );
  }
  const bytes = packet.toBuffer();
  if (options.cd) bytes[3]! |= 0x10;
  if (options.ad) bytes[3]! |= 0x20;
  return bytes;
}

/** Decodes with dns2 and insists that every record decoded cleanly. */
export function decode(bytes: Buffer): DnsPacket {
  const packet = Packet.parse(bytes);
  if (packet.errors.length > 0) {
    throw new Error(`dns2 could not decode the message: ${packet.errors.map((e) => e.message).join('; ')}`);
  }
  return packet;
}

export interface HeaderBits {
  readonly id: number;
  readonly qr: number;
  readonly opcode: number;
  readonly aa: number;
  readonly tc: number;
  readonly rd: number;
  readonly ra: number;
  readonly z: number;
  readonly ad: number;
  readonly cd: number;
  /** The 4-bit header rcode (without any OPT extension). */
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

/** The header straight from the bytes (dns2's typings miss AD and CD). */
export function headerOf(bytes: Buffer): HeaderBits {
  const flags = bytes.readUInt16BE(2);
  return {
    id: bytes.readUInt16BE(0),
    qr: (flags >> 15) & 1,
    opcode: (flags >> 11) & 0xf,
    aa: (flags >> 10) & 1,
    tc: (flags >> 9) & 1,
    rd: (flags >> 8) & 1,
    ra: (flags >> 7) & 1,
    z: (flags >> 6) & 1,
    ad: (flags >> 5) & 1,
    cd: (flags >> 4) & 1,
    rcode: flags & 0xf,
    qdcount: bytes.readUInt16BE(4),
    ancount: bytes.readUInt16BE(6),
    nscount: bytes.readUInt16BE(8),
    arcount: bytes.readUInt16BE(10),
  };
}

/** The OPT record of a decoded message, if any. */
export function optOf(packet: DnsPacket): DnsResource | undefined {
  return packet.additionals.find((record) => record.type === Packet.TYPE.EDNS);
}

/** The Extended DNS Error options of a decoded message. */
export function edesOf(packet: DnsPacket): EdeOption[] {
  const opt = optOf(packet);
  return (opt?.rdata ?? []).filter((option): option is EdeOption => option.ednsCode === Packet.EDNS_OPTION_CODE.EDE);
}

/** Offset just past the question of a one-question message whose name is uncompressed. */
export function questionEndOf(bytes: Buffer): number {
  let pos = 12;
  while (bytes[pos]! !== 0) pos += bytes[pos]! + 1;
  return pos + 1 + 4;
}

/** The question bytes [12, questionEnd) of a one-question message. */
export function questionBytes(bytes: Buffer): Buffer {
  return bytes.subarray(12, questionEndOf(bytes));
}

/** Parses a query with our parser and insists it is accepted. */
export function parsed(bytes: Buffer): ParsedQuery {
  const outcome = parseQuery(bytes);
  if (!outcome.ok) throw new Error(`query rejected as ${outcome.reason}`);
  return outcome.query;
}

/** A chain context for `bytes`, as a transport would build it. */
export function contextFor(bytes: Buffer, transport: Transport = 'udp', deadlineMs = 2500): QueryContext {
  const receivedAt = performance.now();
  return { packet: bytes, query: parsed(bytes), transport, clientAddress: '192.0.2.7', receivedAt, deadline: receivedAt + deadlineMs };
}

/** A raw OPT record: root owner, type 41, class = udp size, the given TTL word and rdata. */
export function rawOpt(udpSize: number, ttl: number, rdata: Buffer = Buffer.alloc(0), rdLength = rdata.length): Buffer {
  const out = Buffer.alloc(11 + rdata.length);
  out[0] = 0;
  out.writeUInt16BE(41, 1);
  out.writeUInt16BE(udpSize, 3);
  out.writeUInt32BE(ttl >>> 0, 5);
  out.writeUInt16BE(rdLength, 9);
  rdata.copy(out, 11);
  return out;
}

/** One EDNS option in wire form. */
export function rawOption(code: number, data: Buffer): Buffer {
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt16BE(code, 0);
  out.writeUInt16BE(data.length, 2);
  data.copy(out, 4);
  return out;
}

/** A response to `query` built by dns2 (another implementation than ours) with the given records. */
export function buildResponse(
  query: Buffer,
  spec: { rcode?: number; aa?: boolean; answers?: object[]; authorities?: object[]; additionals?: object[] } = {},
): Buffer {
  const request = Packet.parse(query);
  const response = Packet.createResponseFromRequest(request);
  response.header.qr = 1;
  response.header.ra = 1;
  response.header.aa = spec.aa ? 1 : 0;
  response.header.rcode = spec.rcode ?? 0;
  response.answers = (spec.answers ?? []) as DnsResource[];
  response.authorities = (spec.authorities ?? []) as DnsResource[];
  response.additionals = (spec.additionals ?? []) as DnsResource[];
  return response.toBuffer();
}

/** `count` A records for the question name of `query` (10.0.0.1, 10.0.0.2, ...). */
export function aRecords(name: string, count: number): object[] {
  return Array.from({ length: count }, (_, i) => ({
    name,
    type: Packet.TYPE.A,
    class: Packet.CLASS.IN,
    ttl: 60,
    address: `10.0.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`,
  }));
}

/**
 * A dns2-built NOERROR answer to `query` whose length is exactly `size` octets: one TXT record whose
 * strings are sized to fit (a TXT string is at most 255 octets, so several are used).
 */
export function answerOfSize(query: Buffer, size: number): Buffer {
  const name = Packet.parse(query).questions[0]!.name;
  const txt = (payload: number): object => {
    const strings: string[] = [];
    let left = payload;
    while (left > 0) {
      const chunk = Math.min(255, left - 1);
      strings.push('x'.repeat(Math.max(chunk, 0)));
      left -= chunk + 1;
    }
    return { name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 60, data: strings };
  };
  const base = buildResponse(query, { answers: [txt(0)] }).length;
  const bytes = buildResponse(query, { answers: [txt(size - base)] });
  if (bytes.length !== size) throw new Error(`answerOfSize: wanted ${size} octets, built ${bytes.length}`);
  return bytes;
}
