/**
 * TcpUpstream against an in-process DNS-over-TCP server on 127.0.0.1 (real sockets): connection
 * reuse and pipelining (RFC 7766 §6.2.1), out-of-order answers, stream framing, transparent retry
 * when the server closes a connection, timeouts, refusal, mismatches, idle close and close().
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageIdSource } from '../../src/upstream/message-id.js';
import { TcpUpstream, type TcpUpstreamOptions } from '../../src/upstream/tcp-upstream.js';
import { UpstreamError, type UpstreamFailure } from '../../src/upstream/upstream-error.js';
import { RRClass, RRType, encodeHeader, encodeIPv4, encodeName, encodeRecord, readName } from '../helpers/dns-wire.js';
import { closeTcp, freePort, listenTcp } from '../helpers/ports.js';

const HOST = '127.0.0.1';

/** One accepted connection, as the server sees it. */
interface ServerConn {
  readonly index: number;
  readonly socket: Socket;
  /** Every query received on it, in order. */
  readonly queries: Buffer[];
  /** IDs received and not yet answered: must never hold a duplicate. */
  readonly outstanding: Set<number>;
  closed: boolean;
  closedAt: number;
}

type Handler = (query: Buffer, conn: ServerConn, server: FakeTcpDns) => void;

/** A DNS-over-TCP server whose behaviour per query is the test's `handler`; by default it answers at once. */
class FakeTcpDns {
  readonly conns: ServerConn[] = [];
  /** Set when a client sent an ID that was still unanswered on the same connection. */
  duplicateIds = 0;
  /** Most queries unanswered at once on one connection. */
  maxOutstanding = 0;
  port = 0;
  handler: Handler = (query, conn) => this.reply(conn, answerTo(query));
  private readonly server: Server;

  constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  async start(): Promise<this> {
    this.port = await listenTcp(this.server, 0, HOST);
    return this;
  }

  get accepted(): number {
    return this.conns.length;
  }

  get open(): number {
    return this.conns.filter((c) => !c.closed).length;
  }

  /** Writes one framed message (unless the connection is already closing). */
  reply(conn: ServerConn, message: Buffer): void {
    conn.outstanding.delete(message.readUInt16BE(0));
    if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.write(frame(message));
  }

  writeRaw(conn: ServerConn, bytes: Buffer): void {
    if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.write(bytes);
  }

  async close(): Promise<void> {
    for (const conn of this.conns) conn.socket.destroy();
    await closeTcp(this.server);
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn: ServerConn = { index: this.conns.length, socket, queries: [], outstanding: new Set(), closed: false, closedAt: 0 };
    this.conns.push(conn);
    let pending = Buffer.alloc(0);
    socket.on('error', () => {
      // the client reset the connection: fine
    });
    socket.on('close', () => {
      conn.closed = true;
      conn.closedAt = performance.now();
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + query.length);
        const id = query.readUInt16BE(0);
        if (conn.outstanding.has(id)) this.duplicateIds++;
        conn.outstanding.add(id);
        this.maxOutstanding = Math.max(this.maxOutstanding, conn.outstanding.size);
        conn.queries.push(query);
        this.handler(query, conn, this);
      }
    });
  }
}

function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length, 0);
  return Buffer.concat([prefix, message]);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}

/** A query for `name` (ID 0: TcpUpstream picks it) and where its question ends. */
function makeQuery(name: string, type: number = RRType.A): { message: Buffer; questionEnd: number } {
  const message = Buffer.concat([encodeHeader({ id: 0, rd: true, qdcount: 1 }), encodeName(name), u16(type), u16(RRClass.IN)]);
  return { message, questionEnd: message.length };
}

/** The query with QR and RA set and one A record 192.0.2.1. */
function answerTo(query: Buffer, overrides: { id?: number; name?: string } = {}): Buffer {
  const questionEnd = readName(query, 12).end + 4;
  const question = overrides.name === undefined ? query.subarray(12, questionEnd) : Buffer.concat([encodeName(overrides.name), u16(RRType.A), u16(RRClass.IN)]);
  const header = encodeHeader({ id: overrides.id ?? query.readUInt16BE(0), qr: true, rd: true, ra: true, qdcount: 1, ancount: 1 });
  const record = encodeRecord(Buffer.from([0xc0, 0x0c]), RRType.A, RRClass.IN, 60, encodeIPv4('192.0.2.1'));
  return Buffer.concat([header, question, record]);
}

function questionName(message: Buffer): string {
  return readName(message, 12).name.replace(/\.$/, '').toLowerCase();
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The UpstreamError reason the promise rejects with (fails the test if it resolves or throws something else). */
async function failureOf(promise: Promise<Buffer>): Promise<UpstreamFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return (error as UpstreamError).reason;
  }
  throw new Error('expected the query to fail');
}

const servers: FakeTcpDns[] = [];
const upstreams: TcpUpstream[] = [];

async function setup(options?: TcpUpstreamOptions, ids: MessageIdSource = new MessageIdSource()): Promise<{ server: FakeTcpDns; upstream: TcpUpstream }> {
  const server = await new FakeTcpDns().start();
  servers.push(server);
  const upstream = new TcpUpstream({ host: HOST, port: server.port, family: 4 }, ids, options);
  upstreams.push(upstream);
  return { server, upstream };
}

/** Sends a query for `name` and checks the answer is for it, with the ID the query was given. */
async function ask(upstream: TcpUpstream, name: string, timeoutMs = 2000): Promise<Buffer> {
  const { message, questionEnd } = makeQuery(name);
  const answer = await upstream.query(message, questionEnd, timeoutMs);
  expect(questionName(answer)).toBe(name);
  expect(answer.readUInt16BE(2) & 0x8000).toBe(0x8000);
  return answer;
}

afterEach(async () => {
  for (const upstream of upstreams.splice(0)) upstream.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('TcpUpstream connection reuse', () => {
  it('answers 200 concurrent queries over at most 4 pipelined connections, with unique IDs per connection', async () => {
    const { server, upstream } = await setup();
    // Answer a little later, so that the queries really are in flight together.
    server.handler = (query, conn) => setTimeout(() => server.reply(conn, answerTo(query)), 5);
    const names = Array.from({ length: 200 }, (_, i) => `q${i}.example.test`);
    const answers = await Promise.all(names.map((name) => ask(upstream, name)));
    expect(answers.map(questionName)).toEqual(names);
    expect(server.accepted).toBeGreaterThanOrEqual(1);
    expect(server.accepted).toBeLessThanOrEqual(4);
    expect(server.maxOutstanding).toBeGreaterThan(1); // pipelined, not one at a time
    expect(server.maxOutstanding).toBeLessThanOrEqual(64);
    expect(server.duplicateIds).toBe(0);
    expect(server.conns.reduce((sum, c) => sum + c.queries.length, 0)).toBe(200);
  });

  it('reuses one connection for sequential queries', async () => {
    const { server, upstream } = await setup();
    for (let i = 0; i < 20; i++) await ask(upstream, `seq${i}.example.test`);
    expect(server.accepted).toBe(1);
    expect(server.conns[0]!.queries).toHaveLength(20);
    expect(upstream.stats.opened).toBe(1);
  });

  it('queues queries beyond the pool’s capacity instead of opening more connections', async () => {
    const { server, upstream } = await setup({ maxConnections: 1, maxInFlightPerConnection: 2 });
    server.handler = (query, conn) => setTimeout(() => server.reply(conn, answerTo(query)), 10);
    const names = Array.from({ length: 9 }, (_, i) => `queued${i}.example.test`);
    const answers = await Promise.all(names.map((name) => ask(upstream, name)));
    expect(answers.map(questionName)).toEqual(names);
    expect(server.accepted).toBe(1);
    expect(server.maxOutstanding).toBe(2);
  });

  it('keeps IDs unique on a connection even when the ID source repeats itself', async () => {
    class RepeatingIds extends MessageIdSource {
      private readonly sequence = [7, 7, 7, 7, 9, 9, 11];
      override take(): number {
        return this.sequence.shift() ?? 13;
      }
    }
    const { server, upstream } = await setup({}, new RepeatingIds());
    server.handler = (query, conn) => {
      if (conn.queries.length === 3) for (const q of conn.queries) server.reply(conn, answerTo(q));
    };
    const answers = await Promise.all(['a.example.test', 'b.example.test', 'c.example.test'].map((name) => ask(upstream, name)));
    expect(answers.map((a) => a.readUInt16BE(0))).toEqual([7, 9, 11]);
    expect(server.duplicateIds).toBe(0);
  });
});

describe('TcpUpstream answers and framing', () => {
  it('matches answers that come in reverse order by ID', async () => {
    const { server, upstream } = await setup();
    const names = Array.from({ length: 5 }, (_, i) => `rev${i}.example.test`);
    server.handler = (_query, conn) => {
      if (conn.queries.length === names.length) for (const q of [...conn.queries].reverse()) server.reply(conn, answerTo(q));
    };
    const answers = await Promise.all(names.map((name) => ask(upstream, name)));
    expect(answers.map(questionName)).toEqual(names);
    expect(server.accepted).toBe(1);
    // The server really answered last-first: its first query got the last frame.
    expect(questionName(server.conns[0]!.queries[0]!)).toBe(names[0]);
  });

  it('reassembles an answer written one byte at a time', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => {
      const bytes = frame(answerTo(query));
      let i = 0;
      const next = (): void => {
        if (i >= bytes.length) return;
        server.writeRaw(conn, bytes.subarray(i, i + 1));
        i++;
        setTimeout(next, 1);
      };
      next();
    };
    const answer = await ask(upstream, 'slow-bytes.example.test', 5000);
    expect(answer.subarray(answer.length - 4)).toEqual(encodeIPv4('192.0.2.1'));
    // The connection is still in step: the next query is answered on it.
    server.handler = (query, conn) => server.reply(conn, answerTo(query));
    await ask(upstream, 'after.example.test');
    expect(server.accepted).toBe(1);
  });

  it('splits two answers written at once, and an answer whose length prefix is split over writes', async () => {
    const { server, upstream } = await setup();
    server.handler = (_query, conn) => {
      if (conn.queries.length === 2) {
        server.writeRaw(conn, Buffer.concat(conn.queries.map((q) => frame(answerTo(q)))));
      } else if (conn.queries.length === 4) {
        const [third, fourth] = [frame(answerTo(conn.queries[2]!)), frame(answerTo(conn.queries[3]!))];
        // The third answer and the first byte of the fourth's length, then the rest in two pieces.
        server.writeRaw(conn, Buffer.concat([third, fourth.subarray(0, 1)]));
        setTimeout(() => server.writeRaw(conn, fourth.subarray(1, 7)), 20);
        setTimeout(() => server.writeRaw(conn, fourth.subarray(7)), 40);
      }
    };
    const first = await Promise.all([ask(upstream, 'one.example.test'), ask(upstream, 'two.example.test')]);
    expect(first.map(questionName)).toEqual(['one.example.test', 'two.example.test']);
    const second = await Promise.all([ask(upstream, 'three.example.test'), ask(upstream, 'four.example.test')]);
    expect(second.map(questionName)).toEqual(['three.example.test', 'four.example.test']);
    expect(server.accepted).toBe(1);
  });

  it('fails with mismatch on an answer for another question', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => server.reply(conn, answerTo(query, { name: 'not-what-you-asked.test' }));
    const { message, questionEnd } = makeQuery('asked.example.test');
    expect(await failureOf(upstream.query(message, questionEnd, 2000))).toBe('mismatch');
    expect(upstream.stats.mismatched).toBe(1);
    // The confused connection is closed; the next query gets a fresh one.
    await waitFor(() => server.open === 0, 'the server to see the connection closed');
    server.handler = (query, conn) => server.reply(conn, answerTo(query));
    await ask(upstream, 'next.example.test');
    expect(server.accepted).toBe(2);
  });

  it('ignores an answer with an ID nobody waits for and delivers the real one after it', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => {
      server.writeRaw(conn, frame(answerTo(query, { id: (query.readUInt16BE(0) + 1) & 0xffff })));
      setTimeout(() => server.reply(conn, answerTo(query)), 20);
    };
    const { message, questionEnd } = makeQuery('real.example.test');
    const answer = await upstream.query(message, questionEnd, 2000);
    expect(questionName(answer)).toBe('real.example.test');
    expect(answer.readUInt16BE(0)).toBe(message.readUInt16BE(0)); // the ID the query was given
    expect(upstream.stats.late).toBe(1);
  });
});

describe('TcpUpstream when the server closes connections', () => {
  it('opens a fresh connection after the server closed an idle one', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => {
      server.reply(conn, answerTo(query));
      conn.socket.end(); // like Unbound's tcp-idle-timeout, right after the answer
    };
    await ask(upstream, 'first.example.test');
    await waitFor(() => server.open === 0, 'the first connection to close');
    await ask(upstream, 'second.example.test');
    expect(server.accepted).toBe(2);
    expect(upstream.stats.retried).toBe(0);
  });

  it('retries transparently when its query crosses the server’s FIN', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => {
      server.reply(conn, answerTo(query));
      conn.socket.end();
    };
    await ask(upstream, 'first.example.test');
    // No wait: the second query may be written on the connection the server just closed.
    await ask(upstream, 'second.example.test');
    expect(server.accepted).toBe(2);
  });

  it('retries once on a new connection a query the server closed the connection on', async () => {
    const { server, upstream } = await setup();
    server.handler = (query, conn) => {
      if (conn.index === 0) conn.socket.destroy();
      else server.reply(conn, answerTo(query));
    };
    await ask(upstream, 'retry.example.test');
    expect(server.accepted).toBe(2);
    expect(server.conns.map((c) => c.queries.length)).toEqual([1, 1]);
    expect(upstream.stats.retried).toBe(1);
  });

  it('fails with network, well within the deadline, when the retry is closed too', async () => {
    const { server, upstream } = await setup();
    server.handler = (_query, conn) => conn.socket.destroy();
    const { message, questionEnd } = makeQuery('doomed.example.test');
    const started = performance.now();
    expect(await failureOf(upstream.query(message, questionEnd, 3000))).toBe('network');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(server.accepted).toBe(2); // one retry, not more
  });

  it('retries the queries still unanswered when a connection dies mid-stream', async () => {
    const { server, upstream } = await setup();
    const names = Array.from({ length: 5 }, (_, i) => `mid${i}.example.test`);
    server.handler = (_query, conn) => {
      if (conn.index > 0) {
        server.reply(conn, answerTo(_query));
      } else if (conn.queries.length === names.length) {
        server.reply(conn, answerTo(conn.queries[0]!));
        server.reply(conn, answerTo(conn.queries[1]!));
        setTimeout(() => conn.socket.destroy(), 20);
      }
    };
    const answers = await Promise.all(names.map((name) => ask(upstream, name)));
    expect(answers.map(questionName)).toEqual(names);
    expect(server.accepted).toBe(2);
    expect(server.conns[1]!.queries.map(questionName).sort()).toEqual(names.slice(2).sort());
    expect(upstream.stats.retried).toBe(3);
  });
});

describe('TcpUpstream failures, idle timeout and close', () => {
  it('times out on a silent server within the timeout plus a little', async () => {
    const { server, upstream } = await setup();
    server.handler = () => {};
    const { message, questionEnd } = makeQuery('silent.example.test');
    const started = performance.now();
    expect(await failureOf(upstream.query(message, questionEnd, 300))).toBe('timeout');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(600);
    // A connection that said nothing since the query was written may be dead: it is not reused.
    await waitFor(() => server.open === 0, 'the silent connection to be closed');
  });

  it('reports a closed port as refused', async () => {
    const port = await freePort(HOST);
    const upstream = new TcpUpstream({ host: HOST, port, family: 4 }, new MessageIdSource());
    upstreams.push(upstream);
    const { message, questionEnd } = makeQuery('refused.example.test');
    const started = performance.now();
    expect(await failureOf(upstream.query(message, questionEnd, 2000))).toBe('connection-refused');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('closes a connection idle for idleTimeoutMs, then opens a new one', async () => {
    const { server, upstream } = await setup({ idleTimeoutMs: 150 });
    await ask(upstream, 'idle.example.test');
    const answeredAt = performance.now();
    await waitFor(() => server.open === 0, 'the idle connection to be closed', 2000);
    expect(server.conns[0]!.closedAt - answeredAt).toBeGreaterThanOrEqual(100);
    await ask(upstream, 'again.example.test');
    expect(server.accepted).toBe(2);
  });

  it('does not close a connection that is busy past the idle timeout, and closes it once idle again', async () => {
    const { server, upstream } = await setup({ idleTimeoutMs: 100 });
    server.handler = (query, conn) => setTimeout(() => server.reply(conn, answerTo(query)), 250);
    await ask(upstream, 'busy.example.test');
    expect(server.open).toBe(1);
    server.handler = (query, conn) => server.reply(conn, answerTo(query));
    await ask(upstream, 'busy-again.example.test');
    const idleSince = performance.now();
    expect(server.accepted).toBe(1);
    // The idle clock restarts when the connection goes idle, not when it was opened.
    await waitFor(() => server.open === 0, 'the connection to be closed once idle', 2000);
    expect(server.conns[0]!.closedAt - idleSince).toBeGreaterThanOrEqual(70);
  });

  it('close() fails pending queries with network and closes every connection', async () => {
    const { server, upstream } = await setup({ maxInFlightPerConnection: 2 });
    server.handler = () => {};
    const queries = ['p1', 'p2', 'p3', 'p4'].map((label) => {
      const { message, questionEnd } = makeQuery(`${label}.example.test`);
      return upstream.query(message, questionEnd, 10_000);
    });
    await waitFor(() => server.conns.reduce((sum, c) => sum + c.queries.length, 0) === 4, 'the server to get all queries');
    expect(server.accepted).toBe(2);
    const started = performance.now();
    upstream.close();
    expect(await Promise.all(queries.map(failureOf))).toEqual(['network', 'network', 'network', 'network']);
    expect(performance.now() - started).toBeLessThan(500);
    await waitFor(() => server.open === 0, 'the server to see every connection closed');
    const { message, questionEnd } = makeQuery('late.example.test');
    expect(await failureOf(upstream.query(message, questionEnd, 1000))).toBe('network');
    expect(server.accepted).toBe(2);
  });
});
