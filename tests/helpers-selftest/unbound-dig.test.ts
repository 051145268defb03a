import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { parseDig, runDig } from '../helpers/dig.js';
import { encodeHeader, encodeOpt, edeOption, questionEnd } from '../helpers/dns-wire.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { BIG_TXT_COUNT, startUnbound, unboundConfig } from '../helpers/unbound.js';
import type { UnboundHandle } from '../helpers/unbound.js';

const hasUnbound = requireTool('unbound', 'unbound') && requireTool('unbound-checkconf', 'unbound');
const hasDig = requireTool('dig', 'bind9-dnsutils');

describe.skipIf(!hasUnbound)('unbound helper', () => {
  it('generates a config that unbound-checkconf accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fraudwall-checkconf-'));
    try {
      const conf = join(dir, 'unbound.conf');
      await writeFile(conf, unboundConfig(5353, dir, { records: ['extra.example.test. 60 IN TXT "it\'s fine"'] }));
      const { stdout } = await promisify(execFile)(findTool('unbound-checkconf')!, [conf]);
      expect(stdout).toContain('no errors');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports unbound stderr when startup fails', async () => {
    await expect(startUnbound({ serverLines: ['no-such-option: yes'] })).rejects.toThrow(/unbound exited early[\s\S]*unknown keyword 'no-such-option'/);
  });
});

describe.skipIf(!hasUnbound)('unbound over raw sockets', () => {
  let ub: UnboundHandle;
  beforeAll(async () => {
    ub = await startUnbound({ records: ['extra.example.test. 60 IN A 192.0.2.99', 'note.example.org. 60 IN TXT "with \'quotes\'"'] });
  });
  afterAll(async () => {
    await ub.stop();
  });

  it('serves the local data and extra records', async () => {
    const a = decode(await udpQuery(ub.port, buildQuery('www.example.test', 'A')));
    expect(a.answers.map((r) => r.data)).toEqual(['192.0.2.10']);
    expect(decode(await udpQuery(ub.port, buildQuery('www.example.test', 'AAAA'))).answers[0]?.data).toBe('2001:db8::10');
    expect(decode(await udpQuery(ub.port, buildQuery('www.example.org', 'A'))).answers[0]?.data).toBe('192.0.2.20');
    expect(decode(await udpQuery(ub.port, buildQuery('extra.example.test', 'A'))).answers[0]?.data).toBe('192.0.2.99');
    expect(decode(await udpQuery(ub.port, buildQuery('note.example.org', 'TXT'))).answers[0]?.data).toBe("with 'quotes'");
    expect(decode(await udpQuery(ub.port, buildQuery('txt.example.test', 'TXT'))).answers[0]?.data).toBe('hello world');
    for (const [name, ip] of [['shop.fraud.test', '192.0.2.66'], ['evil.fraud.test', '192.0.2.67'], ['ok.evil.fraud.test', '192.0.2.68']] as const) {
      expect(decode(await udpQuery(ub.port, buildQuery(name, 'A'))).answers[0]?.data).toBe(ip);
    }
  });

  it('NXDOMAIN with SOA inside a zone, and for any name outside the local zones (no internet)', async () => {
    const nx = decode(await udpQuery(ub.port, buildQuery('nope.example.test', 'A')));
    expect(nx.rcode).toBe(3);
    expect(nx.authorities[0]?.data).toMatchObject({ mname: 'ns.example.test', minimum: 60 });
    const t0 = Date.now();
    expect(decode(await udpQuery(ub.port, buildQuery('www.google.com', 'A'))).rcode).toBe(3);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('big TXT: TC over UDP (with EDNS 1232 and without EDNS), complete over TCP', async () => {
    const u = decode(await udpQuery(ub.port, buildQuery('big.example.test', 'TXT', { edns: {} })));
    expect(u.tc).toBe(true);
    expect(decode(await udpQuery(ub.port, buildQuery('big.example.test', 'TXT'))).tc).toBe(true);
    const [t] = await tcpQuery(ub.port, [buildQuery('big.example.test', 'TXT', { edns: {} })]);
    expect(t!.length).toBeGreaterThan(1232);
    const tm = decode(t!);
    expect(tm.tc).toBe(false);
    expect(tm.answers).toHaveLength(BIG_TXT_COUNT);
    expect(tm.answers.every((r) => typeof r.data === 'string' && r.data.length === 100)).toBe(true);
  });

  it('answers pipelined TCP queries', async () => {
    const rs = (await tcpQuery(ub.port, [buildQuery('www.example.test', 'A', { id: 1 }), buildQuery('mail.example.test', 'MX', { id: 2 })])).map(decode);
    expect(rs.map((r) => r.id).sort()).toEqual([1, 2]);
    expect(rs.find((r) => r.id === 2)?.answers[0]?.data).toEqual({ preference: 10, exchange: 'mx.example.test' });
  });
});

describe.skipIf(!hasUnbound || !hasDig)('runDig against unbound', () => {
  let ub: UnboundHandle;
  beforeAll(async () => {
    ub = await startUnbound();
  });
  afterAll(async () => {
    await ub.stop();
  });

  it('A', async () => {
    const r = await runDig(ub.port, ['www.example.test', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toEqual(expect.arrayContaining(['qr', 'aa', 'rd', 'ra']));
    expect(r.question).toEqual([{ name: 'www.example.test.', class: 'IN', type: 'A' }]);
    expect(r.answers).toEqual([{ name: 'www.example.test.', ttl: 300, class: 'IN', type: 'A', data: '192.0.2.10' }]);
    expect(r.edns).toEqual({ version: 0, flags: [], udp: 1232 });
    expect(r.retriedOverTcp).toBe(false);
    expect(r.protocol).toBe('UDP');
    expect(r.server).toBe(`127.0.0.1#${ub.port}(127.0.0.1) (UDP)`);
    expect(r.ede).toBeUndefined();
  });

  it('MX, CNAME, TXT, DO flag', async () => {
    expect((await runDig(ub.port, ['mail.example.test', 'MX'])).answers[0]).toMatchObject({ type: 'MX', data: '10 mx.example.test.' });
    const cname = await runDig(ub.port, ['alias.example.test', 'A']);
    expect(cname.answers[0]).toMatchObject({ name: 'alias.example.test.', type: 'CNAME', data: 'www.example.test.' });
    const txt = await runDig(ub.port, ['txt.example.test', 'TXT']);
    expect(txt.answers[0]?.data).toBe('"hello world"');
    expect((await runDig(ub.port, ['+dnssec', 'www.example.test'])).edns?.flags).toEqual(['do']);
  });

  it('NXDOMAIN with SOA in authority', async () => {
    const r = await runDig(ub.port, ['missing.example.test', 'A']);
    expect(r.status).toBe('NXDOMAIN');
    expect(r.answers).toEqual([]);
    expect(r.authority[0]).toMatchObject({ name: 'example.test.', type: 'SOA', ttl: 60 });
  });

  it('big TXT: dig retries over TCP and gets every record', async () => {
    const r = await runDig(ub.port, ['big.example.test', 'TXT']);
    expect(r.retriedOverTcp).toBe(true);
    expect(r.protocol).toBe('TCP');
    expect(r.flags).not.toContain('tc');
    expect(r.answers).toHaveLength(BIG_TXT_COUNT);
    const ignore = await runDig(ub.port, ['+ignore', 'big.example.test', 'TXT']);
    expect(ignore.retriedOverTcp).toBe(false);
    expect(ignore.flags).toContain('tc');
  });

  it('+short', async () => {
    expect((await runDig(ub.port, ['+short', 'www.example.test'])).shortLines).toEqual(['192.0.2.10']);
  });

  it('rejects with dig output when there is no answer', async () => {
    const { freePort } = await import('../helpers/ports.js');
    const port = await freePort();
    await expect(runDig(port, ['+time=1', 'www.example.test'])).rejects.toThrow(/exited with 9[\s\S]*(timed out|connection refused)/);
  });
});

describe.skipIf(!hasDig)('runDig EDE parsing', () => {
  it('parses EDE lines from a live server that sends them', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.on('message', (msg, rinfo) => {
      const end = questionEnd(msg);
      if (end === null) return;
      const options = Buffer.concat([edeOption(15, 'blocked by fraudwall: list fraud (phishing)'), edeOption(17)]);
      const hdr = encodeHeader({ id: msg.readUInt16BE(0), qr: true, rd: true, ra: true, rcode: 3, qdcount: 1, arcount: 1 });
      sock.send(Buffer.concat([hdr, msg.subarray(12, end), encodeOpt({ udpSize: 1232, options })]), rinfo.port, rinfo.address);
    });
    try {
      const r = await runDig(sock.address().port, ['shop.fraud.test']);
      expect(r.status).toBe('NXDOMAIN');
      expect(r.ede).toEqual({ code: 15, text: 'blocked by fraudwall: list fraud (phishing)' });
      expect(r.edes).toEqual([
        { code: 15, text: 'blocked by fraudwall: list fraud (phishing)' },
        { code: 17, text: '' },
      ]);
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
  });

  it('parses captured dig 9.18 text', () => {
    const r = parseDig(
      [
        ';; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 1',
        ';; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1',
        '',
        ';; OPT PSEUDOSECTION:',
        '; EDNS: version: 0, flags:; udp: 1232',
        '; EDE: 18 (Prohibited)',
        ';; QUESTION SECTION:',
        ';x.test.\t\t\tIN\tA',
        '',
        ';; SERVER: ::1#53(::1) (TCP)',
      ].join('\n'),
    );
    expect(r).toMatchObject({ status: 'REFUSED', flags: ['qr', 'rd', 'ra'], ede: { code: 18, text: '' }, protocol: 'TCP' });
  });
});
