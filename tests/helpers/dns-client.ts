/**
 * Raw DNS client for tests: builds queries by hand, talks over real UDP/TCP sockets on loopback, decodes replies.
 * Nothing here shares code with src/, so the resolver cannot pass its tests by agreeing with its own bugs.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { assertLoopback, loopbackFor } from './loopback.js';
import { RRClass, decodeMessage, encodeHeader, encodeName, encodeOpt, typeCode } from './dns-wire.js';
import type { DecodedMessage } from './dns-wire.js';

export type {
  DecodedMessage,
  DecodedOpt,
  DecodedOption,
  DecodedQuestion,
  DecodedRecord,
  MxData,
  RecordData,
  SoaData,
  SrvData,
} from './dns-wire.js';
export { EdeCode, RRClass, RRType, Rcode, WireError, edeOption, ednsOption, typeCode, typeName } from './dns-wire.js';

export interface EdnsOpts {
  /** Advertised UDP payload size (OPT CLASS). Default 1232. */
  udpSize?: number;
  /** DNSSEC OK bit. Default false. */
  do?: boolean;
  /** Already-encoded EDNS options (use `ednsOption(code, data)` / `edeOption(...)`). */
  options?: Buffer;
  /** EDNS version, default 0 (set 1 to test BADVERS handling). */
  version?: number;
}

export interface QueryOpts {
  /** Message ID; random when absent. */
  id?: number;
  /** Recursion desired, default true. */
  rd?: boolean;
  /** Checking disabled bit, default false. */
  cd?: boolean;
  /** Authentic data bit, default false. */
  ad?: boolean;
  /** EDNS OPT record; none unless given (`{}` gives the defaults: 1232, DO clear, no options). */
  edns?: EdnsOpts | false;
  /** Opcode, default 0 (QUERY). */
  opcode?: number;
  /** Question class, default IN (1). */
  qclass?: number;
}

export interface SocketOpts {
  /** Loopback address of the server, default 127.0.0.1 (or ::1). */
  host?: string;
  /** Default 3000 ms. */
  timeoutMs?: number;
}

/**
 * A standard query with one question. `name` may end with a dot; '' or '.' is the root.
 * Labels must be 1..63 bytes (longer ones cannot be encoded); the 255-byte total limit is NOT enforced, so tests
 * can send over-long names. Build anything stranger by hand.
 */
export function buildQuery(name: string, type: string | number, opts: QueryOpts = {}): Buffer {
  const id = opts.id ?? randomInt(0, 0x10000);
  const edns = opts.edns === undefined || opts.edns === false ? undefined : opts.edns;
  const header = encodeHeader({
    id,
    opcode: opts.opcode ?? 0,
    rd: opts.rd ?? true,
    cd: opts.cd ?? false,
    ad: opts.ad ?? false,
    qdcount: 1,
    arcount: edns === undefined ? 0 : 1,
  });
  const qfixed = Buffer.alloc(4);
  qfixed.writeUInt16BE(typeCode(type), 0);
  qfixed.writeUInt16BE(opts.qclass ?? RRClass.IN, 2);
  const parts = [header, encodeName(name), qfixed];
  if (edns !== undefined) {
    const spec: Parameters<typeof encodeOpt>[0] = { udpSize: edns.udpSize ?? 1232, do: edns.do ?? false };
    if (edns.options !== undefined) spec.options = edns.options;
    if (edns.version !== undefined) spec.version = edns.version;
    parts.push(encodeOpt(spec));
  }
  return Buffer.concat(parts);
}

/** Decodes a DNS message (see DecodedMessage). Throws WireError when malformed. OPT goes to `opt`, not `additionals`. */
export function decode(buf: Buffer): DecodedMessage {
  return decodeMessage(buf);
}

/** Sends `packet` from a fresh UDP socket; resolves with the first datagram that comes back, rejects on timeout. */
export async function udpQuery(port: number, packet: Buffer, opts: SocketOpts = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const reply = await udpExchange(port, packet, opts.host ?? '127.0.0.1', timeoutMs);
  if (reply === null) throw new Error(`udpQuery: no reply from ${opts.host ?? '127.0.0.1'}#${port} within ${timeoutMs} ms`);
  return reply;
}

/** For "dropped" assertions: resolves null when nothing came back within `waitMs`, else the reply. */
export function udpSendNoReply(port: number, packet: Buffer, waitMs: number, opts: { host?: string } = {}): Promise<Buffer | null> {
  return udpExchange(port, packet, opts.host ?? '127.0.0.1', waitMs);
}

function udpExchange(port: number, packet: Buffer, host: string, waitMs: number): Promise<Buffer | null> {
  assertLoopback(host);
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | null, value: Buffer | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err !== null) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(null, null), waitMs);
    socket.on('error', (err) => finish(err, null));
    socket.on('message', (msg) => finish(null, msg));
    socket.bind(0, loopbackFor(host), () => {
      socket.send(packet, port, host, (err) => {
        if (err) finish(err, null);
      });
    });
  });
}

/** Prefixes a message with its 2-byte length (RFC 1035 4.2.2 / RFC 7766). */
export function frame(packet: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(packet.length, 0);
  return Buffer.concat([len, packet]);
}

/**
 * One TCP connection: writes all packets framed and pipelined in a single write, collects as many responses as
 * packets were sent (in whatever order they arrive), then closes. Rejects on timeout or early close, saying how
 * many had arrived.
 */
export function tcpQuery(port: number, packets: Buffer[], opts: SocketOpts = {}): Promise<Buffer[]> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 3000;
  assertLoopback(host);
  return new Promise((resolve, reject) => {
    const responses: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let done = false;
    const socket = connect({ port, host, localAddress: loopbackFor(host) });
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(responses);
    };
    const timer = setTimeout(
      () => finish(new Error(`tcpQuery: ${responses.length}/${packets.length} response(s) from ${host}#${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => {
      socket.write(Buffer.concat(packets.map(frame)));
      if (packets.length === 0) finish(null);
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        responses.push(Buffer.from(pending.subarray(2, 2 + len)));
        pending = pending.subarray(2 + len);
      }
      if (responses.length >= packets.length) finish(null);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () =>
      finish(new Error(`tcpQuery: connection to ${host}#${port} closed after ${responses.length}/${packets.length} response(s)` +
        (pending.length > 0 ? ` and ${pending.length} byte(s) of an incomplete frame` : ''))),
    );
  });
}
