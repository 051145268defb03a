import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, frame, tcpQuery, udpQuery, udpSendNoReply } from '../helpers/dns-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import type { FakeUpstream } from '../helpers/fake-upstream.js';

describe('fake upstream', () => {
  let up: FakeUpstream;
  beforeAll(async () => {
    up = await startFakeUpstream();
    up.setBehaviour('silent.test', { kind: 'silent' });
    up.setBehaviour('slow.test', { kind: 'delay', ms: 300, then: { kind: 'answer', a: '192.0.2.7' } });
    up.setBehaviour('servfail.test', { kind: 'rcode', rcode: 2 });
    up.setBehaviour('refused.test', { kind: 'rcode', rcode: 5 });
    up.setBehaviour('nx.test', { kind: 'rcode', rcode: 3 });
    up.setBehaviour('tc.test', { kind: 'truncate' });
    up.setBehaviour('big.test', { kind: 'big', records: 200 });
    up.setBehaviour('wrong-id.test', { kind: 'wrong-id' });
    up.setBehaviour('wrong-question.test', { kind: 'wrong-question' });
    up.setBehaviour('garbage.test', { kind: 'garbage' });
    up.setBehaviour('cut.test', { kind: 'tcp-close-mid-answer' });
    up.setBehaviour('Custom.Test.', { kind: 'answer', a: '198.51.100.5', ttl: 42 });
  });
  afterAll(async () => {
    await up.close();
  });

  it('answers A, AAAA and NODATA by default and logs queries', async () => {
    up.queries.length = 0;
    const q = buildQuery('WWW.anything.test', 'A', { id: 4242 });
    const a = decode(await udpQuery(up.port, q));
    expect(a).toMatchObject({ id: 4242, qr: true, rd: true, ra: true, rcode: 0 });
    expect(a.questions).toEqual([{ name: 'WWW.anything.test', type: 1, class: 1 }]);
    expect(a.answers).toMatchObject([{ name: 'WWW.anything.test', type: 1, ttl: 300, data: '192.0.2.1' }]);
    const aaaa = decode(await udpQuery(up.port, buildQuery('x.test', 'AAAA')));
    expect(aaaa.answers[0]?.data).toBe('2001:db8::1');
    const mx = decode(await udpQuery(up.port, buildQuery('x.test', 'MX')));
    expect(mx.rcode).toBe(0);
    expect(mx.answers).toEqual([]);
    expect(mx.authorities[0]?.type).toBe(6);
    expect(up.queries.map((x) => [x.transport, x.name, x.type])).toEqual([
      ['udp', 'www.anything.test', 1],
      ['udp', 'x.test', 28],
      ['udp', 'x.test', 15],
    ]);
    expect(up.queries[0]?.id).toBe(4242);
    expect(up.queries[0]?.raw).toEqual(q);
  });

  it('echoes the question bytes exactly and adds its own OPT only when the query had one', async () => {
    const q = buildQuery('MiXeD.CaSe.test', 'A', { edns: { udpSize: 4096, do: true } });
    const r = await udpQuery(up.port, q);
    const qEnd = 12 + q.subarray(12).indexOf(0) + 5;
    expect(r.subarray(12, qEnd)).toEqual(q.subarray(12, qEnd));
    const m = decode(r);
    expect(m.opt).toMatchObject({ udpSize: 1232, do: true });
    expect(decode(await udpQuery(up.port, buildQuery('a.test', 'A'))).opt).toBeUndefined();
  });

  it('matches behaviours by lowercased name without trailing dot', async () => {
    const m = decode(await udpQuery(up.port, buildQuery('CUSTOM.test', 'A')));
    expect(m.answers[0]).toMatchObject({ data: '198.51.100.5', ttl: 42 });
  });

  it('silent never answers; delay answers late', async () => {
    expect(await udpSendNoReply(up.port, buildQuery('silent.test', 'A'), 300)).toBeNull();
    const t0 = Date.now();
    const m = decode(await udpQuery(up.port, buildQuery('slow.test', 'A')));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(m.answers[0]?.data).toBe('192.0.2.7');
  });

  it('rcode: SERVFAIL, REFUSED, NXDOMAIN with SOA', async () => {
    expect(decode(await udpQuery(up.port, buildQuery('servfail.test', 'A'))).rcode).toBe(2);
    expect(decode(await udpQuery(up.port, buildQuery('refused.test', 'A'))).rcode).toBe(5);
    const nx = decode(await udpQuery(up.port, buildQuery('nx.test', 'A')));
    expect(nx.rcode).toBe(3);
    expect(nx.authorities).toHaveLength(1);
  });

  it('truncate: TC over UDP, 40 records over TCP', async () => {
    const u = decode(await udpQuery(up.port, buildQuery('tc.test', 'A')));
    expect(u.tc).toBe(true);
    expect(u.answers).toEqual([]);
    const [t] = await tcpQuery(up.port, [buildQuery('tc.test', 'A')]);
    const tm = decode(t!);
    expect(tm.tc).toBe(false);
    expect(tm.answers).toHaveLength(40);
    expect(tm.answers[0]?.data).toBe('10.0.0.1');
    expect(tm.answers[39]?.data).toBe('10.0.0.40');
  });

  it('big: many records on both transports', async () => {
    const raw = await udpQuery(up.port, buildQuery('big.test', 'A'));
    expect(raw.length).toBeGreaterThan(1232);
    expect(decode(raw).answers).toHaveLength(200);
    const [t] = await tcpQuery(up.port, [buildQuery('big.test', 'AAAA')]);
    expect(decode(t!).answers).toHaveLength(200);
    expect(decode(t!).answers[0]?.type).toBe(28);
  });

  it('wrong-id, wrong-question, garbage', async () => {
    const wi = decode(await udpQuery(up.port, buildQuery('wrong-id.test', 'A', { id: 100 })));
    expect(wi.id).toBe(101);
    expect(wi.answers).toHaveLength(1);
    const wq = decode(await udpQuery(up.port, buildQuery('wrong-question.test', 'A', { id: 200 })));
    expect(wq.id).toBe(200);
    expect(wq.questions[0]?.name).toBe('not-what-you-asked.test');
    expect(wq.answers[0]?.name).toBe('not-what-you-asked.test');
    const g = await udpQuery(up.port, buildQuery('garbage.test', 'A', { id: 300 }));
    expect(g).toHaveLength(30);
    expect(g.readUInt16BE(0)).toBe(300);
  });

  it('tcp-close-mid-answer: half a message then the connection closes; silent over UDP', async () => {
    await expect(tcpQuery(up.port, [buildQuery('cut.test', 'A')])).rejects.toThrow(/closed after 0\/1 response\(s\) and \d+ byte\(s\) of an incomplete frame/);
    expect(await udpSendNoReply(up.port, buildQuery('cut.test', 'A'), 200)).toBeNull();
  });

  it('answers several pipelined TCP queries on one connection', async () => {
    up.queries.length = 0;
    const qs = [buildQuery('a.test', 'A', { id: 1 }), buildQuery('slow.test', 'A', { id: 2 }), buildQuery('c.test', 'AAAA', { id: 3 })];
    const rs = (await tcpQuery(up.port, qs)).map(decode);
    expect(rs.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(rs[rs.length - 1]?.id).toBe(2); // the delayed one arrives last
    expect(up.queries.every((q) => q.transport === 'tcp')).toBe(true);
  });

  it('survives odd input: short datagrams, responses, junk, bad TCP frames', async () => {
    const junk: Buffer[] = [Buffer.alloc(0), Buffer.alloc(5), Buffer.from('ffffffffffffffffffffffffff', 'hex'), Buffer.alloc(12)];
    const resp = buildQuery('a.test', 'A');
    resp[2] = resp[2]! | 0x80; // QR=1: must not be answered
    junk.push(resp);
    for (const j of junk) expect(await udpSendNoReply(up.port, j, 50)).toBeNull();
    await new Promise<void>((resolve) => {
      const s = connect(up.port, '127.0.0.1', () => {
        s.end(Buffer.concat([frame(Buffer.from('00', 'hex')), Buffer.from([0xff, 0xff, 1, 2, 3])]));
      });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    expect(decode(await udpQuery(up.port, buildQuery('still-alive.test', 'A'))).answers).toHaveLength(1);
  });

  it('binds on ::1 too', async () => {
    const v6 = await startFakeUpstream({ host: '::1' }).catch(() => null);
    if (v6 === null) return; // no IPv6 loopback here
    const m = decode(await udpQuery(v6.port, buildQuery('a.test', 'A'), { host: '::1' }));
    expect(m.answers).toHaveLength(1);
    const [t] = await tcpQuery(v6.port, [buildQuery('a.test', 'A')], { host: '::1' });
    expect(decode(t!).answers).toHaveLength(1);
    await v6.close();
  });
});
