/**
 * A programmable in-process upstream for failure injection: UDP and TCP on the same port of 127.0.0.1 (or ::1).
 * Behaviours are chosen per lowercased query name, else the default (`answer`).
 * It never throws on odd input: unreadable datagrams / frames are ignored, responses (QR=1) are never answered.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { LOOP_PROBE_SUFFIX } from '../../src/upstream/loop-guard.js';
import { assertLoopback } from './loopback.js';
import { bindUdp, closeTcp, closeUdp, listenTcp } from './ports.js';
import {
  RRClass,
  RRType,
  encodeHeader,
  encodeIPv4,
  encodeIPv6,
  encodeName,
  encodeOpt,
  encodeRecord,
  questionEnd,
  readName,
  soaRdata,
} from './dns-wire.js';

export type Behaviour =
  /** A → `a` (default 192.0.2.1), AAAA → `aaaa` (default 2001:db8::1), other types NOERROR/NODATA with an SOA. */
  | { kind: 'answer'; a?: string; aaaa?: string; ttl?: number }
  /** Never answers. */
  | { kind: 'silent' }
  /** Waits `ms`, then behaves like `then`. */
  | { kind: 'delay'; ms: number; then: Behaviour }
  /** Header RCODE (2 SERVFAIL, 3 NXDOMAIN with an SOA, 5 REFUSED…), no answers. */
  | { kind: 'rcode'; rcode: number }
  /** UDP: TC=1 and no answers. TCP: a full answer of 40 A records 10.0.0.1…10.0.0.40 (AAAA for AAAA queries). */
  | { kind: 'truncate' }
  /** `records` A records (AAAA for AAAA queries) on either transport, to exceed 512 / 1232 bytes. */
  | { kind: 'big'; records: number }
  /** A correct answer with a different message ID. */
  | { kind: 'wrong-id' }
  /** The right ID, but question and answer are for `not-what-you-asked.test`. */
  | { kind: 'wrong-question' }
  /** 30 bytes: the query's ID, QR set, the rest random (gets past an ID check, then fails to parse). */
  | { kind: 'garbage' }
  /** TCP: length prefix plus half the message, then the connection is destroyed. UDP: silent. */
  | { kind: 'tcp-close-mid-answer' };

export interface FakeQuery {
  transport: 'udp' | 'tcp';
  /** Lowercased, no trailing dot (the exact bytes are in `raw`). */
  name: string;
  type: number;
  id: number;
  raw: Buffer;
}

export interface FakeUpstream {
  port: number;
  host: string;
  /** Every query that could be parsed, in arrival order. Safe to reset with `queries.length = 0`. */
  queries: FakeQuery[];
  setBehaviour(name: string, b: Behaviour): void;
  setDefault(b: Behaviour): void;
  close(): Promise<void>;
}

/** What clients caused at a fake upstream, without fraudwall's own forwarding-loop probes. */
export function forwarded(upstream: FakeUpstream): FakeQuery[] {
  return upstream.queries.filter((q) => !q.name.endsWith(LOOP_PROBE_SUFFIX));
}

const DEFAULT_TTL = 300;
const WRONG_NAME = 'not-what-you-asked.test';
const MAX_UDP = 65_507;
const MAX_TCP = 65_535;

interface ParsedQuery {
  id: number;
  flags: number;
  name: string;
  type: number;
  klass: number;
  /** Raw question bytes (name + type + class) exactly as received. */
  question: Buffer;
  /** The query carried an OPT record; its DO bit. */
  edns: { do: boolean } | null;
}

function normalise(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Reads header + first question + OPT (if it is the only additional record). Null when it is not a usable query. */
function parseQuery(buf: Buffer): ParsedQuery | null {
  if (buf.length < 12) return null;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return null; // a response: never answer it
  const qEnd = questionEnd(buf);
  if (qEnd === null) return null;
  let name: string;
  try {
    name = readName(buf, 12).name;
  } catch {
    return null;
  }
  const type = buf.readUInt16BE(qEnd - 4);
  const klass = buf.readUInt16BE(qEnd - 2);
  let edns: ParsedQuery['edns'] = null;
  // An OPT right after a single question: root name (0), type 41.
  if (buf.readUInt16BE(4) === 1 && buf.readUInt16BE(10) >= 1 && qEnd + 11 <= buf.length && buf[qEnd] === 0 && buf.readUInt16BE(qEnd + 1) === RRType.OPT) {
    edns = { do: (buf.readUInt16BE(qEnd + 7) & 0x8000) !== 0 };
  }
  return { id: buf.readUInt16BE(0), flags, name, type, klass, question: Buffer.from(buf.subarray(12, qEnd)), edns };
}

const QNAME_PTR = Buffer.from([0xc0, 0x0c]);

interface ResponseSpec {
  id?: number;
  rcode?: number;
  tc?: boolean;
  question?: Buffer;
  answers?: Buffer[];
  authorities?: Buffer[];
}

function buildResponse(q: ParsedQuery, spec: ResponseSpec = {}): Buffer {
  const answers = spec.answers ?? [];
  const authorities = spec.authorities ?? [];
  const rcode = spec.rcode ?? 0;
  const header = encodeHeader({
    id: spec.id ?? q.id,
    qr: true,
    opcode: (q.flags >>> 11) & 0xf,
    rd: (q.flags & 0x0100) !== 0,
    cd: (q.flags & 0x0010) !== 0,
    ra: true,
    tc: spec.tc ?? false,
    rcode: rcode & 0xf,
    qdcount: 1,
    ancount: answers.length,
    nscount: authorities.length,
    arcount: q.edns === null ? 0 : 1,
  });
  const parts = [header, spec.question ?? q.question, ...answers, ...authorities];
  if (q.edns !== null) parts.push(encodeOpt({ udpSize: 1232, do: q.edns.do, extendedRcode: rcode >>> 4 }));
  return Buffer.concat(parts);
}

function soaRecord(ttl: number): Buffer {
  return encodeRecord(QNAME_PTR, RRType.SOA, RRClass.IN, ttl, soaRdata({
    mname: 'ns.fake-upstream.test',
    rname: 'hostmaster.fake-upstream.test',
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 60,
  }));
}

/** `count` address records for the question (AAAA for AAAA queries, A otherwise), capped to what fits in `limit`. */
function manyAddresses(q: ParsedQuery, count: number, limit: number): Buffer[] {
  const v6 = q.type === RRType.AAAA;
  const perRecord = 2 + 10 + (v6 ? 16 : 4);
  const room = Math.floor((limit - 12 - q.question.length - 11) / perRecord);
  const n = Math.max(0, Math.min(count, room, 0xffff));
  const out: Buffer[] = [];
  for (let i = 1; i <= n; i++) {
    const rdata = v6
      ? encodeIPv6(`2001:db8::a:${i.toString(16)}`)
      : encodeIPv4(`10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`);
    out.push(encodeRecord(QNAME_PTR, v6 ? RRType.AAAA : RRType.A, RRClass.IN, DEFAULT_TTL, rdata));
  }
  return out;
}

function answerFor(q: ParsedQuery, b: { a?: string; aaaa?: string; ttl?: number }): Buffer {
  const ttl = b.ttl ?? DEFAULT_TTL;
  if (q.klass === RRClass.IN && q.type === RRType.A) {
    return buildResponse(q, { answers: [encodeRecord(QNAME_PTR, RRType.A, RRClass.IN, ttl, encodeIPv4(b.a ?? '192.0.2.1'))] });
  }
  if (q.klass === RRClass.IN && q.type === RRType.AAAA) {
    return buildResponse(q, { answers: [encodeRecord(QNAME_PTR, RRType.AAAA, RRClass.IN, ttl, encodeIPv6(b.aaaa ?? '2001:db8::1'))] });
  }
  return buildResponse(q, { authorities: [soaRecord(ttl)] });
}

/** What to send for `q` under `b`: a reply, 'close-mid' (TCP only) or nothing. Delays are handled by the caller. */
type Action = { send: Buffer } | { closeMid: Buffer } | null;

function act(q: ParsedQuery, b: Behaviour, transport: 'udp' | 'tcp'): Action {
  const limit = transport === 'udp' ? MAX_UDP : MAX_TCP;
  switch (b.kind) {
    case 'answer':
      return { send: answerFor(q, b) };
    case 'silent':
    case 'delay': // resolved by the caller
      return null;
    case 'rcode':
      return { send: buildResponse(q, { rcode: b.rcode, authorities: b.rcode === 3 ? [soaRecord(DEFAULT_TTL)] : [] }) };
    case 'truncate':
      return transport === 'udp'
        ? { send: buildResponse(q, { tc: true }) }
        : { send: buildResponse(q, { answers: manyAddresses(q, 40, limit) }) };
    case 'big':
      return { send: buildResponse(q, { answers: manyAddresses(q, b.records, limit) }) };
    case 'wrong-id':
      return { send: withId(answerFor(q, {}), (q.id + 1) & 0xffff) };
    case 'wrong-question': {
      const question = Buffer.concat([encodeName(WRONG_NAME), q.question.subarray(q.question.length - 4)]);
      const type = q.type === RRType.AAAA ? RRType.AAAA : RRType.A;
      const rdata = type === RRType.AAAA ? encodeIPv6('2001:db8::99') : encodeIPv4('192.0.2.99');
      return { send: buildResponse(q, { question, answers: [encodeRecord(QNAME_PTR, type, RRClass.IN, DEFAULT_TTL, rdata)] }) };
    }
    case 'garbage': {
      const junk = randomBytes(30);
      junk.writeUInt16BE(q.id, 0);
      junk[2] = junk[2]! | 0x80;
      return { send: junk };
    }
    case 'tcp-close-mid-answer':
      return transport === 'tcp' ? { closeMid: answerFor(q, {}) } : null;
    default:
      return null;
  }
}

function withId(msg: Buffer, id: number): Buffer {
  msg.writeUInt16BE(id, 0);
  return msg;
}

export async function startFakeUpstream(opts: { host?: string } = {}): Promise<FakeUpstream> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const behaviours = new Map<string, Behaviour>();
  let defaultBehaviour: Behaviour = { kind: 'answer' };
  const queries: FakeQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;

  const behaviourFor = (name: string): Behaviour => behaviours.get(normalise(name)) ?? defaultBehaviour;

  /** Runs `b` (following delays) and hands the resulting action to `deliver`, unless closed meanwhile. */
  const run = (q: ParsedQuery, b: Behaviour, transport: 'udp' | 'tcp', deliver: (a: Exclude<Action, null>) => void): void => {
    if (closed) return;
    if (b.kind === 'delay') {
      const t = setTimeout(() => {
        timers.delete(t);
        run(q, b.then, transport, deliver);
      }, Math.max(0, b.ms));
      timers.add(t);
      return;
    }
    let action: Action;
    try {
      action = act(q, b, transport);
    } catch {
      return; // e.g. a bad address in a behaviour: behave like 'silent' rather than crash
    }
    if (action !== null) deliver(action);
  };

  const record = (q: ParsedQuery, transport: 'udp' | 'tcp', raw: Buffer): void => {
    queries.push({ transport, name: normalise(q.name), type: q.type, id: q.id, raw: Buffer.from(raw) });
  };

  const onUdpMessage = (udp: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void => {
    const q = parseQuery(msg);
    if (q === null) return;
    record(q, 'udp', msg);
    run(q, behaviourFor(q.name), 'udp', (a) => {
      if ('send' in a && !closed) {
        udp.send(a.send, rinfo.port, rinfo.address, () => {
          // errors ignored: the client may be gone
        });
      }
    });
  };

  const onTcpConnection = (sock: Socket): void => {
    sockets.add(sock);
    let pending = Buffer.alloc(0);
    sock.on('error', () => {
      // client reset etc.
    });
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = Buffer.from(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        const q = parseQuery(msg);
        if (q === null) continue;
        record(q, 'tcp', msg);
        run(q, behaviourFor(q.name), 'tcp', (a) => {
          if (sock.destroyed || closed) return;
          const body = 'send' in a ? a.send : a.closeMid;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(Math.min(body.length, 0xffff), 0);
          if ('send' in a) {
            sock.write(Buffer.concat([prefix, body]));
          } else {
            sock.write(Buffer.concat([prefix, body.subarray(0, Math.floor(body.length / 2))]), () => sock.destroy());
          }
        });
      }
    });
  };

  // Bind UDP and TCP on the same port: UDP picks an ephemeral port, TCP must get it too; fresh sockets on conflict.
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 50 && port === 0; attempt++) {
    const u = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    const t = createServer(onTcpConnection);
    try {
      const p = await bindUdp(u, 0, host);
      await listenTcp(t, p, host);
      port = p;
      udp = u;
      tcp = t;
    } catch (err) {
      lastError = err;
      await Promise.all([closeUdp(u), closeTcp(t)]);
    }
  }
  if (udp === undefined || tcp === undefined) {
    throw new Error(`startFakeUpstream: could not bind UDP+TCP on one port of ${host}: ${String(lastError)}`);
  }
  const udpSocket = udp;
  const tcpServer = tcp;
  udpSocket.on('error', () => {
    // ignore (e.g. ICMP-driven errors); the socket stays usable
  });
  udpSocket.on('message', (msg: Buffer, rinfo: RemoteInfo) => onUdpMessage(udpSocket, msg, rinfo));
  tcpServer.on('error', () => {
    // not fatal for tests
  });

  return {
    port,
    host,
    queries,
    setBehaviour(name: string, b: Behaviour): void {
      behaviours.set(normalise(name), b);
    },
    setDefault(b: Behaviour): void {
      defaultBehaviour = b;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      sockets.clear();
      await Promise.all([closeUdp(udpSocket), closeTcp(tcpServer)]);
    },
  };
}
