/**
 * fraudwall between dig (the real client) and Unbound (a real upstream on 127.0.0.1), over real sockets.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { runDig } from '../helpers/dig.js';
import { requireTool } from '../helpers/require-tool.js';
import { BIG_TXT_COUNT, startUnbound, type UnboundHandle } from '../helpers/unbound.js';
import { startTestServer, type TestServer } from './harness.js';

const haveTools = requireTool('unbound', 'unbound') && requireTool('dig', 'bind9-dnsutils');

describe.skipIf(!haveTools)('fraudwall in front of Unbound, queried with dig', () => {
  let unbound: UnboundHandle;
  let fw: TestServer;

  beforeAll(async () => {
    unbound = await startUnbound();
    fw = await startTestServer({ upstream: [`127.0.0.1:${unbound.port}`] });
  });
  afterAll(async () => {
    await fw?.close();
    await unbound?.stop();
  });

  it('Unbound itself answers the names the lists block (so a block is fraudwall’s doing)', async () => {
    const direct = await runDig(unbound.port, ['evil.fraud.test', 'A']);
    expect(direct.status).toBe('NOERROR');
    expect(direct.answers.map((a) => a.data)).toEqual(['192.0.2.67']);
  });

  it('blocks a listed name with NXDOMAIN, a SOA for negative caching and EDE 15 naming the list', async () => {
    const r = await runDig(fw.port, ['evil.fraud.test', 'A']);
    expect(r.status).toBe('NXDOMAIN');
    expect(r.answers).toEqual([]);
    expect(r.authority).toHaveLength(1);
    expect(r.authority[0]).toMatchObject({ name: 'evil.fraud.test.', type: 'SOA', ttl: 60 });
    expect(r.ede).toEqual({ code: 15, text: 'blocked by fraudwall list fraud (phishing)' });
    expect(r.flags).not.toContain('ad');
  });

  it('blocks subdomains of a listed name, and adblock-format entries', async () => {
    expect((await runDig(fw.port, ['deep.sub.evil.fraud.test', 'AAAA'])).status).toBe('NXDOMAIN');
    const casino = await runDig(fw.port, ['www.casino.test', 'A']);
    expect(casino.status).toBe('NXDOMAIN');
    expect(casino.ede?.text).toBe('blocked by fraudwall list gambling (gambling)');
  });

  it('lets an allow-listed subdomain of a blocked name through to the upstream', async () => {
    const r = await runDig(fw.port, ['ok.evil.fraud.test', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.68']);
  });

  it('does not block the parent of a listed name', async () => {
    const r = await runDig(fw.port, ['shop.fraud.test', 'A']);
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.66']);
  });

  it('forwards a clean query and returns Unbound’s answer byte for byte', async () => {
    for (const [name, type] of [
      ['WwW.ExAmPlE.tEsT', 'A'],
      ['mail.example.test', 'MX'],
      ['alias.example.test', 'A'],
      ['nothing-here.example.test', 'A'],
    ] as const) {
      for (const edns of [false, { udpSize: 1232 }] as const) {
        const query = buildQuery(name, type, { id: 0x4242, edns });
        const direct = await udpQuery(unbound.port, query);
        const viaFraudwall = await udpQuery(fw.port, query);
        expect(viaFraudwall.toString('hex'), `${name} ${type} edns=${JSON.stringify(edns)}`).toBe(direct.toString('hex'));
      }
    }
  });

  it('relays a truncated answer to a UDP client, which retries over TCP and gets every record', async () => {
    const r = await runDig(fw.port, ['big.example.test', 'TXT']);
    expect(r.retriedOverTcp).toBe(true);
    expect(r.protocol).toBe('TCP');
    expect(r.status).toBe('NOERROR');
    expect(r.answers).toHaveLength(BIG_TXT_COUNT);
  });

  it('answers over TCP, several pipelined queries on one connection', async () => {
    const names = ['www.example.test', 'evil.fraud.test', 'www.example.org', 'ok.evil.fraud.test'];
    const queries = names.map((name, i) => buildQuery(name, 'A', { id: 100 + i }));
    const replies = (await tcpQuery(fw.port, queries)).map(decode);
    const byId = new Map(replies.map((m) => [m.id, m]));
    expect(byId.get(100)?.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    expect(byId.get(101)?.rcode).toBe(3);
    expect(byId.get(102)?.answers.map((a) => a.data)).toEqual(['192.0.2.20']);
    expect(byId.get(103)?.answers.map((a) => a.data)).toEqual(['192.0.2.68']);
  });

  it('keeps its TCP connections to Unbound open and reuses them, instead of one connection per query', async () => {
    // Our side of each connection to Unbound's port, by TCP state (/proc/net/tcp: 01 ESTABLISHED, 06 TIME_WAIT).
    const upstreamSockets = (state: string): number =>
      readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f.length > 3 && Number.parseInt(f[2]!.split(':')[1]!, 16) === unbound.port && f[3] === state).length;
    const timeWaitBefore = upstreamSockets('06');
    for (let i = 0; i < 30; i++) {
      // A fresh client connection and a name nothing has cached: each query goes to Unbound over TCP.
      const [reply] = (await tcpQuery(fw.port, [buildQuery(`reuse-${i}-${Date.now()}.example.test`, 'A', { id: i })])).map(decode);
      expect(reply?.rcode).toBe(3);
    }
    const open = upstreamSockets('01');
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(4);
    // One connection per query would leave a closed connection (TIME_WAIT on the closing side) per query.
    expect(upstreamSockets('06') - timeWaitBefore).toBeLessThan(5);
  });

  it('still answers good queries after malformed packets', async () => {
    const garbage = [Buffer.alloc(3), Buffer.from('ffffffffffffffffffffffffffffffff', 'hex'), Buffer.alloc(12)];
    for (const packet of garbage) {
      await udpQuery(fw.port, packet, { timeoutMs: 200 }).catch(() => undefined);
    }
    const r = await runDig(fw.port, ['www.example.test', 'A']);
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
  });

  it('answers localhost and private reverse names itself, never asking Unbound', async () => {
    const localhost = await runDig(fw.port, ['localhost', 'A']);
    expect(localhost.answers.map((a) => a.data)).toEqual(['127.0.0.1']);
    const reverse = await runDig(fw.port, ['-x', '10.1.2.3']);
    expect(reverse.status).toBe('NXDOMAIN');
    expect(reverse.authority[0]?.name).toBe('10.in-addr.arpa.');
    const canary = await runDig(fw.port, ['use-application-dns.net', 'A']);
    expect(canary.status).toBe('NXDOMAIN');
  });
});
