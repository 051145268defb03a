import { describe, expect, it, vi } from 'vitest';
import { QType, Rcode } from '../../src/dns/wire.js';
import type { Transport } from '../../src/query/resolver.js';
import { Forwarder, type ForwarderObserver, type ForwardRequest, type UpstreamServer } from '../../src/upstream/forwarder.js';
import type { TcpUpstream } from '../../src/upstream/tcp-upstream.js';
import type { UdpUpstream } from '../../src/upstream/udp-upstream.js';
import { UpstreamError, type UpstreamFailure } from '../../src/upstream/upstream-error.js';
import { aRecords, buildQuery, buildResponse, decode, headerOf, optOf, Packet, parsed, type QueryOptions } from '../dns/packet-fixtures.js';

/** What a fake upstream does with one query. */
type Behaviour =
  | { kind: 'answer'; rcode?: number; delayMs?: number }
  | { kind: 'fail'; reason: UpstreamFailure }
  /** Waits the whole attempt timeout, then rejects like the real clients do. */
  | { kind: 'timeout' }
  | { kind: 'throw'; error: Error };

interface Received {
  readonly message: Buffer;
  readonly questionEnd: number;
  readonly timeoutMs: number;
  readonly at: number;
}

/** An in-process stand-in for UdpUpstream / TcpUpstream: picks a fresh ID, as they do, and answers with it. */
class FakeClient {
  readonly received: Received[] = [];
  private nextId = 0x4000;

  constructor(
    private readonly label: string,
    private readonly behaviours: Behaviour[],
  ) {}

  query = vi.fn(async (message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> => {
    const id = this.nextId++;
    message.writeUInt16BE(id, 0);
    this.received.push({ message: Buffer.from(message), questionEnd, timeoutMs, at: performance.now() });
    const behaviour = this.behaviours.length > 1 ? this.behaviours.shift()! : this.behaviours[0]!;
    switch (behaviour.kind) {
      case 'answer': {
        if (behaviour.delayMs) await sleep(behaviour.delayMs);
        const name = Packet.parse(message).questions[0]!.name;
        const answer = buildResponse(message, {
          rcode: behaviour.rcode ?? Rcode.NOERROR,
          answers: (behaviour.rcode ?? 0) === Rcode.NOERROR ? aRecords(name, 1) : [],
        });
        answer.writeUInt16BE(id, 0);
        return answer;
      }
      case 'fail':
        throw new UpstreamError(behaviour.reason, this.label, 'injected');
      case 'timeout':
        await sleep(timeoutMs);
        throw new UpstreamError('timeout', this.label, `no answer within ${timeoutMs} ms`);
      case 'throw':
        throw behaviour.error;
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface FakeServer {
  readonly server: UpstreamServer;
  readonly udp: FakeClient;
  readonly tcp: FakeClient;
}

function fakeServer(label: string, udp: Behaviour[], tcp: Behaviour[] = udp): FakeServer {
  const udpClient = new FakeClient(label, [...udp]);
  const tcpClient = new FakeClient(label, [...tcp]);
  const server: UpstreamServer = {
    label,
    udp: udpClient as unknown as UdpUpstream,
    tcp: tcpClient as unknown as TcpUpstream,
  };
  return { server, udp: udpClient, tcp: tcpClient };
}

function request(options: QueryOptions & { transport?: Transport; deadlineMs?: number; name?: string } = {}): ForwardRequest {
  const packet = buildQuery(options.name ?? 'www.Example.com', QType.A, { id: 0x1357, ...options });
  return { packet, query: parsed(packet), transport: options.transport ?? 'udp', deadline: performance.now() + (options.deadlineMs ?? 2000) };
}

const attempts = (observer: { attempt: ReturnType<typeof vi.fn> }): unknown[][] => observer.attempt.mock.calls.map(([label, , failure]) => [label, failure]);

function observer(): ForwarderObserver & { attempt: ReturnType<typeof vi.fn<ForwarderObserver['attempt']>> } {
  return { attempt: vi.fn<ForwarderObserver['attempt']>() };
}

describe('Forwarder: failover', () => {
  it('needs at least one upstream', () => {
    expect(() => new Forwarder([], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 })).toThrow(/at least one upstream/);
  });

  it('the first answer wins and carries the client ID', async () => {
    const a = fakeServer('a', [{ kind: 'answer' }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const obs = observer();
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 200, ednsUdpSize: 1232 }, obs);
    const req = request();
    const answer = await forwarder.forward(req);
    expect(headerOf(answer)).toMatchObject({ id: 0x1357, qr: 1, rcode: Rcode.NOERROR, ancount: 1 });
    expect(decode(answer).answers[0]).toMatchObject({ address: '10.0.0.1' });
    expect(b.udp.query).not.toHaveBeenCalled();
    expect(attempts(obs)).toEqual([['a', undefined]]);
    // The upstream got its own ID, not the client's; the client's packet is untouched.
    expect(a.udp.received[0]!.message.readUInt16BE(0)).not.toBe(0x1357);
    expect(req.packet.readUInt16BE(0)).toBe(0x1357);
    expect(a.udp.received[0]!.questionEnd).toBe(req.query.questionEnd);
  });

  it('first upstream times out → the second answers', async () => {
    const a = fakeServer('a', [{ kind: 'timeout' }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const obs = observer();
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 50, ednsUdpSize: 1232 }, obs);
    const answer = await forwarder.forward(request());
    expect(headerOf(answer)).toMatchObject({ id: 0x1357, rcode: Rcode.NOERROR });
    expect(a.udp.received[0]!.timeoutMs).toBe(50);
    expect(b.udp.query).toHaveBeenCalledOnce();
    expect(attempts(obs)).toEqual([
      ['a', 'timeout'],
      ['b', undefined],
    ]);
  });

  it.each(['network', 'refused', 'mismatch'] as const)('first upstream fails with %s → the second answers', async (reason) => {
    const a = fakeServer('a', [{ kind: 'fail', reason }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    expect(rcodeOfAnswer(await forwarder.forward(request()))).toBe(Rcode.NOERROR);
  });

  it.each([
    { first: Rcode.SERVFAIL, failure: 'servfail' },
    { first: Rcode.REFUSED, failure: 'refused' },
  ])('rcode $first from the first, NOERROR from the second → NOERROR', async ({ first, failure }) => {
    const a = fakeServer('a', [{ kind: 'answer', rcode: first }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const obs = observer();
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 }, obs);
    const answer = await forwarder.forward(request());
    expect(headerOf(answer)).toMatchObject({ id: 0x1357, rcode: Rcode.NOERROR });
    expect(attempts(obs)).toEqual([
      ['a', failure],
      ['b', undefined],
    ]);
  });

  it('NXDOMAIN is an answer, not a reason to fail over', async () => {
    const a = fakeServer('a', [{ kind: 'answer', rcode: Rcode.NXDOMAIN }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    expect(headerOf(await forwarder.forward(request()))).toMatchObject({ id: 0x1357, rcode: Rcode.NXDOMAIN });
    expect(b.udp.query).not.toHaveBeenCalled();
  });

  it('all SERVFAIL → the SERVFAIL answer comes back with the client ID', async () => {
    const servers = ['a', 'b', 'c'].map((label) => fakeServer(label, [{ kind: 'answer', rcode: Rcode.SERVFAIL }]));
    const forwarder = new Forwarder(
      servers.map((s) => s.server),
      { upstreamTimeoutMs: 100, ednsUdpSize: 1232 },
    );
    const answer = await forwarder.forward(request());
    expect(headerOf(answer)).toMatchObject({ id: 0x1357, qr: 1, rcode: Rcode.SERVFAIL });
    for (const s of servers) expect(s.udp.query).toHaveBeenCalledOnce();
  });

  it('a SERVFAIL answer beats a later failure', async () => {
    const a = fakeServer('a', [{ kind: 'answer', rcode: Rcode.REFUSED }]);
    const b = fakeServer('b', [{ kind: 'fail', reason: 'network' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    expect(headerOf(await forwarder.forward(request()))).toMatchObject({ id: 0x1357, rcode: Rcode.REFUSED });
  });

  it('all fail → throws the last UpstreamError', async () => {
    const a = fakeServer('a', [{ kind: 'fail', reason: 'refused' }]);
    const b = fakeServer('b', [{ kind: 'fail', reason: 'network' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    const error = await forwarder.forward(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'network', upstream: 'b', code: 'E_UPSTREAM_NETWORK' });
  });

  it('an error that is not an UpstreamError is a bug and is not swallowed', async () => {
    const a = fakeServer('a', [{ kind: 'throw', error: new TypeError('bug') }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    await expect(forwarder.forward(request())).rejects.toThrow(TypeError);
    expect(b.udp.query).not.toHaveBeenCalled();
  });

  it('starts from the upstream that answered last', async () => {
    const a = fakeServer('a', [{ kind: 'fail', reason: 'refused' }, { kind: 'answer' }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    await forwarder.forward(request());
    expect(a.udp.query).toHaveBeenCalledTimes(1);
    expect(b.udp.query).toHaveBeenCalledTimes(1);
    await forwarder.forward(request());
    expect(a.udp.query).toHaveBeenCalledTimes(1);
    expect(b.udp.query).toHaveBeenCalledTimes(2);
  });

  it('wraps around the list from the preferred upstream', async () => {
    const a = fakeServer('a', [{ kind: 'fail', reason: 'refused' }, { kind: 'answer' }]);
    const b = fakeServer('b', [{ kind: 'answer' }, { kind: 'fail', reason: 'refused' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    await forwarder.forward(request()); // a fails, b answers → b preferred
    const answer = await forwarder.forward(request()); // b fails, a answers
    expect(rcodeOfAnswer(answer)).toBe(Rcode.NOERROR);
    expect(a.udp.query).toHaveBeenCalledTimes(2);
    expect(b.udp.query).toHaveBeenCalledTimes(2);
    expect(b.udp.received[1]!.at).toBeLessThan(a.udp.received[1]!.at);
  });

  it('SERVFAIL does not make an upstream preferred', async () => {
    const a = fakeServer('a', [{ kind: 'answer' }]);
    const b = fakeServer('b', [{ kind: 'answer', rcode: Rcode.SERVFAIL }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    await forwarder.forward(request());
    await forwarder.forward(request());
    expect(b.udp.query).not.toHaveBeenCalled();
  });
});

describe('Forwarder: transports and EDNS size', () => {
  it.each([
    { label: 'UDP, client 4096 → clamped to 1232', transport: 'udp' as const, sent: 4096, forwarded: 1232 },
    { label: 'UDP, client 1400 → clamped to 1232', transport: 'udp' as const, sent: 1400, forwarded: 1232 },
    { label: 'UDP, client 1000 → kept', transport: 'udp' as const, sent: 1000, forwarded: 1000 },
    { label: 'UDP, client 100 → 512 (RFC 6891 floor)', transport: 'udp' as const, sent: 100, forwarded: 512 },
    { label: 'TCP, client 4096 → untouched', transport: 'tcp' as const, sent: 4096, forwarded: 4096 },
    { label: 'TCP, client 100 → untouched', transport: 'tcp' as const, sent: 100, forwarded: 100 },
  ])('$label', async ({ transport, sent, forwarded }) => {
    const a = fakeServer('a', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    const req = request({ transport, edns: { udpSize: sent, dnssecOk: true } });
    const original = Buffer.from(req.packet);
    await forwarder.forward(req);

    const used = transport === 'udp' ? a.udp : a.tcp;
    const other = transport === 'udp' ? a.tcp : a.udp;
    expect(used.query).toHaveBeenCalledOnce();
    expect(other.query).not.toHaveBeenCalled();
    const message = used.received[0]!.message;
    expect(optOf(decode(message))).toMatchObject({ class: forwarded, doFlag: true });
    // Apart from the ID and the size, the upstream sees the client's bytes.
    const expected = Buffer.from(original);
    expected.writeUInt16BE(message.readUInt16BE(0), 0);
    expected.writeUInt16BE(forwarded, req.query.edns!.offset + 3);
    expect(message.equals(expected)).toBe(true);
    // The client's packet is never modified.
    expect(req.packet.equals(original)).toBe(true);
  });

  it('a query without EDNS is forwarded as sent (new ID only), on either transport', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const a = fakeServer('a', [{ kind: 'answer' }]);
      const forwarder = new Forwarder([a.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
      const req = request({ transport, cd: true });
      await forwarder.forward(req);
      const message = (transport === 'udp' ? a.udp : a.tcp).received[0]!.message;
      expect(message.subarray(2).equals(req.packet.subarray(2))).toBe(true);
    }
  });

  it('restores the client ID on a TCP answer too', async () => {
    const a = fakeServer('a', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    const answer = await forwarder.forward(request({ transport: 'tcp', id: 0xfedc }));
    expect(headerOf(answer).id).toBe(0xfedc);
  });
});

describe('Forwarder: deadline', () => {
  it('caps each attempt timeout by the time left before the deadline', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const servers = ['a', 'b', 'c'].map((label) => fakeServer(label, [{ kind: 'timeout' }]));
      const forwarder = new Forwarder(
        servers.map((s) => s.server),
        { upstreamTimeoutMs: 200, ednsUdpSize: 1232 },
      );
      const req = request({ deadlineMs: 300 });
      const started = performance.now();
      const outcome = forwarder.forward(req).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(1000);
      const error = await outcome;

      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).reason).toBe('timeout');
      // 200 ms for the first, the 100 ms left for the second, none for the third.
      expect(servers.map((s) => s.udp.received.map((r) => [r.at - started, r.timeoutMs]))).toEqual([[[0, 200]], [[200, 100]], []]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives the full attempt timeout while the deadline is far', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const servers = ['a', 'b'].map((label) => fakeServer(label, [{ kind: 'timeout' }]));
      const forwarder = new Forwarder(
        servers.map((s) => s.server),
        { upstreamTimeoutMs: 200, ednsUdpSize: 1232 },
      );
      const outcome = forwarder.forward(request({ deadlineMs: 5000 })).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await outcome).toBeInstanceOf(UpstreamError);
      expect(servers.map((s) => s.udp.received.map((r) => r.timeoutMs))).toEqual([[200], [200]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never starts an attempt once the deadline has passed', async () => {
    const a = fakeServer('a', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server], { upstreamTimeoutMs: 100, ednsUdpSize: 1232 });
    const req = { ...request(), deadline: performance.now() - 1 };
    const error = await forwarder.forward(req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'timeout', upstream: 'all upstreams' });
    expect(a.udp.query).not.toHaveBeenCalled();
  });

  it('returns an earlier SERVFAIL when the deadline cuts the failover short', async () => {
    const a = fakeServer('a', [{ kind: 'answer', rcode: Rcode.SERVFAIL, delayMs: 80 }]);
    const b = fakeServer('b', [{ kind: 'answer' }]);
    const forwarder = new Forwarder([a.server, b.server], { upstreamTimeoutMs: 1000, ednsUdpSize: 1232 });
    const answer = await forwarder.forward(request({ deadlineMs: 60 }));
    expect(headerOf(answer)).toMatchObject({ id: 0x1357, rcode: Rcode.SERVFAIL });
    expect(b.udp.query).not.toHaveBeenCalled();
  });
});

function rcodeOfAnswer(answer: Buffer): number {
  return headerOf(answer).rcode;
}
