/**
 * Shared tools of the hostile-network suites: /proc readings of a served process, raw UDP/TCP
 * sockets bound to chosen loopback addresses, and a fast upstream. Traffic goes to 127.0.0.0/8
 * only; every wait is bounded.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { assertLoopback } from '../helpers/loopback.js';
import { LOOPBACK_SERVE_ARGS } from '../helpers/served-process.js';

/** What the hostile suites serve with before their own arguments: loopback ports picked by the kernel, no list watcher. */
export const HOSTILE_SERVE_ARGS: readonly string[] = [...LOOPBACK_SERVE_ARGS, '--watch-lists', 'false'];

/** Resident set size of a process in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export const MB = 1024 * 1024;

/** Open file descriptors of a process (-1 when it is gone). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** The soft limit on open files of this process (`ulimit -n`). */
export function fdLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!match || match[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(match[1]);
}

/** A UDP socket bound to `address` (a loopback address) and `port` (0: any). */
export function bindUdpSocket(address = '127.0.0.1', port = 0, bufferBytes?: number): Promise<UdpSocket> {
  assertLoopback(address);
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ...(bufferBytes ? { recvBufferSize: bufferBytes, sendBufferSize: bufferBytes } : {}) });
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

export function closeUdpSocket(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * A UDP client on one bound socket that matches replies to queries by message ID, so many queries
 * can be outstanding at once. Replies with an unknown ID are counted in `stray`.
 */
export class UdpClient {
  private readonly pending = new Map<number, { resolve: (reply: Buffer | null) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  stray = 0;
  received = 0;

  private constructor(
    readonly socket: UdpSocket,
    private readonly serverPort: number,
    private readonly serverHost: string,
  ) {
    socket.on('message', (reply: Buffer) => {
      this.received++;
      const id = reply.length >= 2 ? reply.readUInt16BE(0) : -1;
      const waiting = this.pending.get(id);
      if (waiting === undefined) {
        this.stray++;
        return;
      }
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.resolve(reply);
    });
  }

  static async open(serverPort: number, localAddress = '127.0.0.1', localPort = 0, serverHost = '127.0.0.1'): Promise<UdpClient> {
    assertLoopback(serverHost);
    return new UdpClient(await bindUdpSocket(localAddress, localPort, 1024 * 1024), serverPort, serverHost);
  }

  /** A fresh ID not in flight (1…65535, wrapping). */
  takeId(): number {
    for (let i = 0; i < 65_536; i++) {
      const id = this.nextId;
      this.nextId = this.nextId === 0xffff ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('UdpClient: all 65535 IDs in flight');
  }

  /** Sends `packet` (its ID must come from takeId) and resolves with the reply, or null after `timeoutMs`. */
  ask(packet: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
    const id = packet.readUInt16BE(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.socket.send(packet, this.serverPort, this.serverHost);
    });
  }

  /** Fire and forget. */
  send(packet: Buffer): void {
    this.socket.send(packet, this.serverPort, this.serverHost);
  }

  get port(): number {
    return this.socket.address().port;
  }

  async close(): Promise<void> {
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.resolve(null);
    }
    this.pending.clear();
    await closeUdpSocket(this.socket);
  }
}

/** A TCP connection from `localAddress` to 127.0.0.1:`port`; rejects on error or after `timeoutMs`. */
export function connectTcp(port: number, localAddress = '127.0.0.1', timeoutMs = 3000): Promise<Socket> {
  assertLoopback(localAddress);
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to 127.0.0.1#${port} from ${localAddress}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.on('error', () => {});
      resolve(socket);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once('error', onError);
  });
}

/** Resolves with the ms from now until `socket` closes, or null when it is still open after `timeoutMs`. */
export function closedWithin(socket: Socket, timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  if (socket.destroyed || socket.closed) return Promise.resolve(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('close', onClose);
      resolve(null);
    }, timeoutMs);
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    socket.once('close', onClose);
  });
}

/** Splits a TCP byte stream into DNS messages (2-byte length framing); the rest stays in `state.buffer`. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  readonly messages: Buffer[] = [];

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Buffer[] = [];
    while (this.buffer.length >= 2) {
      const length = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + length) break;
      out.push(Buffer.from(this.buffer.subarray(2, 2 + length)));
      this.buffer = this.buffer.subarray(2 + length);
    }
    this.messages.push(...out);
    return out;
  }
}

/** Datagrams the kernel dropped on the UDP socket(s) bound to local `port` (the drops column of /proc/net/udp). */
export function udpSocketDrops(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 13 || !fields[1]!.endsWith(`:${hexPort}`)) continue;
      drops += Number(fields[fields.length - 1]);
    }
  }
  return drops;
}

/** One DNS-over-TCP connection with replies matched to queries by message ID. */
export class TcpClient {
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, (reply: Buffer | null) => void>();
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const message of this.reader.push(chunk)) {
        if (message.length < 2) continue;
        const waiting = this.pending.get(message.readUInt16BE(0));
        if (waiting === undefined) continue;
        this.pending.delete(message.readUInt16BE(0));
        waiting(message);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiting of this.pending.values()) waiting(null);
      this.pending.clear();
    });
  }

  static async open(port: number, localAddress = '127.0.0.1'): Promise<TcpClient> {
    return new TcpClient(await connectTcp(port, localAddress));
  }

  /** All replies received so far, in arrival order. */
  get replies(): readonly Buffer[] {
    return this.reader.messages;
  }

  /** Sends `packet` framed; resolves with the reply carrying its ID, or null on timeout or close. */
  ask(packet: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
    const id = packet.readUInt16BE(0);
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(null);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      const length = Buffer.alloc(2);
      length.writeUInt16BE(packet.length, 0);
      this.socket.write(Buffer.concat([length, packet]));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Live heap sizes in MB after each full (mark-compact) GC, from V8's --trace-gc lines of a child
 * started with nodeArgs ['--trace-gc']: the memory really retained, garbage excluded.
 */
export function liveHeapAfterFullGc(lines: readonly string[]): number[] {
  const out: number[] = [];
  for (const line of lines) {
    const match = /Mark-Compact(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    if (match) out.push(Number(match[1]));
  }
  return out;
}

export interface FastUpstream {
  readonly port: number;
  /** Queries answered (fraudwall's loop probes included). */
  answered: number;
  close(): Promise<void>;
}

/**
 * A minimal UDP-only upstream for high query rates: answers every A query with one A record
 * (`address`, TTL 300) from a socket with large buffers, so that it never drops what fraudwall
 * forwards (the general fake upstream keeps a log of every query and has default buffers).
 */
export async function startFastUpstream(address = '192.0.2.90'): Promise<FastUpstream> {
  const socket = await bindUdpSocket('127.0.0.1', 0, 8 * 1024 * 1024);
  const rdata = Buffer.from(address.split('.').map(Number));
  const state: FastUpstream = {
    port: socket.address().port,
    answered: 0,
    close: () => closeUdpSocket(socket),
  };
  socket.on('message', (query: Buffer, remote) => {
    if (query.length < 17 || (query[2]! & 0x80) !== 0) return;
    let end = 12;
    while (end < query.length && query[end]! !== 0) end += query[end]! + 1;
    end += 5; // root label, type, class
    if (end > query.length) return;
    const reply = Buffer.allocUnsafe(end + 16);
    query.copy(reply, 0, 0, end);
    reply[2] = (query[2]! | 0x80) & ~0x02; // QR, no TC
    reply[3] = 0x80; // RA, NOERROR
    reply.writeUInt16BE(1, 4);
    reply.writeUInt16BE(1, 6);
    reply.writeUInt32BE(0, 8); // nscount, arcount
    reply.writeUInt16BE(0xc00c, end);
    reply.writeUInt16BE(1, end + 2);
    reply.writeUInt16BE(1, end + 4);
    reply.writeUInt32BE(300, end + 6);
    reply.writeUInt16BE(4, end + 10);
    rdata.copy(reply, end + 12);
    state.answered++;
    socket.send(reply, remote.port, remote.address);
  });
  return state;
}
