/**
 * Answer inspection end to end: dig → fraudwall → a real Unbound that resolves CNAME/DNAME chains,
 * HTTPS records and addresses from authoritative zones of its own (auth-zone, for-upstream), over
 * UDP and TCP. The question names are never listed: every block here is fraudwall judging what the
 * upstream answered.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDig } from '../helpers/dig.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { runProgram } from '../helpers/run-program.js';
import { waitFor } from '../helpers/built-cli.js';
import { newSecret, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startAuthUnbound, type AuthUnbound } from '../helpers/unbound-auth.js';
import { admin } from './admin-helpers.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { startTestServer, TEST_TOKEN, type TestServer } from './harness.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const haveTools = requireTool('unbound', 'unbound') && requireTool('dig', 'bind9-dnsutils');

const soa = (mname: string): string => `@ IN SOA ${mname} hostmaster.cloak.test. 1 3600 900 604800 60\n@ IN NS ns.cloak.test.\n`;
const eightLinks = Array.from({ length: 7 }, (_, i) => `e${i + 1} IN CNAME e${i + 2}`).join('\n');
const bigTxt = Array.from({ length: 30 }, (_, i) => `big IN TXT "${`big-${i}-`.padEnd(100, 'x')}"`).join('\n');

const CLOAK_ZONE = `$ORIGIN cloak.test.
$TTL 300
${soa('ns.cloak.test.')}ns IN A 192.0.2.1
two IN CNAME hop
hop IN CNAME www.0xproject.io.
${eightLinks}
e8 IN CNAME www.0xproject.io.
clean IN CNAME www
www IN A 192.0.2.80
dn IN DNAME 0xproject.io.
svc IN HTTPS 1 www.0xproject.io. alpn=h2
hint IN HTTPS 1 . ipv4hint=192.0.2.5,203.0.113.67
inpfx IN A 203.0.113.66
inpfx6 IN AAAA 2001:db8:bad::66
outpfx IN A 203.0.114.66
allowed-q IN CNAME www.0xproject.io.
through IN CNAME good.hops
good.hops IN A 192.0.2.82
through2 IN CNAME good2.hops
good2.hops IN CNAME www.0xproject.io.
cached IN CNAME later
again IN CNAME hop
later IN A 192.0.2.90
${bigTxt}
`;
const PROJECT_ZONE = `$ORIGIN 0xproject.io.
$TTL 300
${soa('ns.cloak.test.')}www IN A 198.51.100.10
`;

const LISTS = {
  'fraud.txt': '# category: phishing\n0xproject.io\n203.0.113.0/24\n2001:db8:bad::/48\n*.hops.cloak.test\n',
  'fraud.allow.txt': 'allowed-q.cloak.test\ngood.hops.cloak.test\ngood2.hops.cloak.test\n',
};

describe.skipIf(!haveTools)('answer inspection against a real Unbound (auth zones)', () => {
  let unbound: AuthUnbound;
  let fw: TestServer;
  let logDir: string;
  let queryLog: string;

  beforeAll(async () => {
    unbound = await startAuthUnbound({
      zones: [
        { name: 'cloak.test', text: CLOAK_ZONE },
        { name: '0xproject.io', text: PROJECT_ZONE },
      ],
      readyName: 'www.cloak.test',
    });
    // A directory of the suite's own (made here: a per-test temp dir does not exist yet in beforeAll).
    logDir = mkdtempSync(path.join(tmpdir(), 'fraudwall-inspect-'));
    queryLog = path.join(logDir, 'queries.ndjson');
    fw = await startTestServer({ 'upstream': [`127.0.0.1:${unbound.port}`], 'query-log': queryLog }, LISTS, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });
  }, 30_000);
  afterAll(async () => {
    await fw?.close();
    await unbound?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('Unbound itself resolves the cloaked chains (so every block below is fraudwall judging the answer)', async () => {
    const direct = await runDig(unbound.port, ['two.cloak.test', 'A']);
    expect(direct.answers.map((a) => `${a.type} ${a.data}`)).toEqual(['CNAME hop.cloak.test.', 'CNAME www.0xproject.io.', 'A 198.51.100.10']);
    const eight = await runDig(unbound.port, ['e1.cloak.test', 'A']);
    expect(eight.answers.filter((a) => a.type === 'CNAME')).toHaveLength(8);
  });

  it.each([
    ['two.cloak.test', 'A', 'via CNAME www.0xproject.io'],
    ['e1.cloak.test', 'A', 'via CNAME www.0xproject.io'],
    ['www.dn.cloak.test', 'A', 'via DNAME 0xproject.io'],
    ['svc.cloak.test', 'HTTPS', 'via HTTPS www.0xproject.io'],
    ['hint.cloak.test', 'HTTPS', 'via address 203.0.113.67'],
    ['inpfx.cloak.test', 'A', 'via address 203.0.113.66'],
    ['inpfx6.cloak.test', 'AAAA', 'via address 2001:db8:bad::66'],
    ['through2.cloak.test', 'A', 'via CNAME www.0xproject.io'],
  ])('%s %s is blocked %s, over UDP and TCP, with the SOA owned by the question name', async (name, type, via) => {
    for (const transport of ['+notcp', '+tcp']) {
      const r = await runDig(fw.port, [name, type, transport]);
      expect(r.status, `${name} ${transport}`).toBe('NXDOMAIN');
      expect(r.answers).toEqual([]);
      expect(r.authority.map((a) => `${a.name} ${a.type}`)).toEqual([`${name}. SOA`]);
      expect(r.ede).toEqual({ code: 15, text: `blocked by fraudwall list fraud (phishing) ${via}` });
    }
  });

  it.each([
    ['clean.cloak.test', 'A', ['CNAME www.cloak.test.', 'A 192.0.2.80']],
    ['outpfx.cloak.test', 'A', ['A 203.0.114.66']],
    // An allow entry for the question name lets the answer through unchanged.
    ['allowed-q.cloak.test', 'A', ['CNAME www.0xproject.io.', 'A 198.51.100.10']],
    // An allowlisted intermediate target exempts that name (its parent *.hops.cloak.test is blocked).
    ['through.cloak.test', 'A', ['CNAME good.hops.cloak.test.', 'A 192.0.2.82']],
  ])('%s %s passes unchanged', async (name, type, answers) => {
    for (const transport of ['+notcp', '+tcp']) {
      const r = await runDig(fw.port, [name, type, transport]);
      expect(r.status).toBe('NOERROR');
      expect(r.answers.map((a) => `${a.type} ${a.data}`)).toEqual(answers);
    }
  });

  it('relays a truncated upstream answer to a UDP client, which gets the whole answer over TCP', async () => {
    const udp = await runDig(fw.port, ['big.cloak.test', 'TXT', '+ignore', '+bufsize=1232']);
    expect(udp.flags).toContain('tc');
    const tcp = await runDig(fw.port, ['big.cloak.test', 'TXT', '+tcp']);
    expect(tcp.status).toBe('NOERROR');
    expect(tcp.answers).toHaveLength(30);
  });

  it('a push listing a CNAME target blocks the cached cloaked name on its next query; removing it unblocks', async () => {
    const first = await runDig(fw.port, ['cached.cloak.test', 'A']);
    expect(first.answers.map((a) => a.data)).toEqual(['later.cloak.test.', '192.0.2.90']);
    // Served from the response cache now.
    expect((await runDig(fw.port, ['cached.cloak.test', 'A'])).answers.map((a) => a.data)).toEqual(['later.cloak.test.', '192.0.2.90']);
    const put = await admin(fw.httpPort, 'PUT', '/v1/lists/pushed?category=scam', { token: TEST_TOKEN, body: 'later.cloak.test\n' });
    expect(put.status).toBe(201);
    for (const transport of ['+notcp', '+tcp']) {
      const blocked = await runDig(fw.port, ['cached.cloak.test', 'A', transport]);
      expect(blocked.status).toBe('NXDOMAIN');
      expect(blocked.ede?.text).toBe('blocked by fraudwall list pushed (scam) via CNAME later.cloak.test');
    }
    expect((await admin(fw.httpPort, 'DELETE', '/v1/lists/pushed', { token: TEST_TOKEN })).status).toBe(200);
    const again = await runDig(fw.port, ['cached.cloak.test', 'A']);
    expect(again.status).toBe('NOERROR');
    expect(again.answers.map((a) => a.data)).toEqual(['later.cloak.test.', '192.0.2.90']);
  });

  it('a cloaked name asked again is blocked from the response cache, not asked upstream again; lifting the block serves the cached answer', async () => {
    const upstreamAttempts = async (): Promise<number> => metricSum(await scrape(fw.httpPort), 'fraudwall_upstream_duration_seconds_count');
    const before = await upstreamAttempts();
    for (let i = 0; i < 5; i++) {
      const r = await runDig(fw.port, ['again.cloak.test', 'A', i % 2 === 0 ? '+notcp' : '+tcp']);
      expect(r.status).toBe('NXDOMAIN');
      expect(r.ede?.text).toBe('blocked by fraudwall list fraud (phishing) via CNAME www.0xproject.io');
    }
    expect(await upstreamAttempts()).toBe(before + 1);
    // The cached upstream answer is judged again on each hit: an allow for the question name lets it through.
    const put = await admin(fw.httpPort, 'PUT', '/v1/lists/lift-again?kind=allow', { token: TEST_TOKEN, body: 'again.cloak.test\n' });
    expect(put.status).toBe(201);
    const lifted = await runDig(fw.port, ['again.cloak.test', 'A']);
    expect(lifted.status).toBe('NOERROR');
    expect(lifted.answers.map((a) => a.data)).toEqual(['hop.cloak.test.', 'www.0xproject.io.', '198.51.100.10']);
    expect(await upstreamAttempts()).toBe(before + 1);
    await admin(fw.httpPort, 'DELETE', '/v1/lists/lift-again', { token: TEST_TOKEN });
    expect((await runDig(fw.port, ['again.cloak.test', 'A'])).status).toBe('NXDOMAIN');
  });

  it('an allow push for the question name lifts an inspection block', async () => {
    expect((await runDig(fw.port, ['hop.cloak.test', 'A'])).status).toBe('NXDOMAIN');
    const put = await admin(fw.httpPort, 'PUT', '/v1/lists/lift?kind=allow', { token: TEST_TOKEN, body: 'hop.cloak.test\n' });
    expect(put.status).toBe(201);
    const lifted = await runDig(fw.port, ['hop.cloak.test', 'A']);
    expect(lifted.status).toBe('NOERROR');
    expect(lifted.answers.map((a) => a.data)).toEqual(['www.0xproject.io.', '198.51.100.10']);
    await admin(fw.httpPort, 'DELETE', '/v1/lists/lift', { token: TEST_TOKEN });
  });

  it('counts blocks by reason and logs the reason and matched target', async () => {
    await runDig(fw.port, ['two.cloak.test', 'A']);
    await runDig(fw.port, ['inpfx.cloak.test', 'A']);
    const metrics = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`)).text();
    const count = (reason: string): number =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith('fraudwall_blocked_total{') && l.includes(`reason="${reason}"`))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(count('cname')).toBeGreaterThan(0);
    expect(count('ip')).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 400)); // the query log flushes every 200 ms
    const lines = (await readFile(queryLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ name: 'two.cloak.test', verdict: 'block', reason: 'cname', target: 'www.0xproject.io', list: 'fraud', rule: '0xproject.io' }));
    expect(lines).toContainEqual(expect.objectContaining({ name: 'inpfx.cloak.test', verdict: 'block', reason: 'ip', target: '203.0.113.66', rule: '203.0.113.0/24' }));
  });
});

describe.skipIf(!haveTools || !requireTool('kdig', 'knot-dnsutils'))('early-warning events of inspection blocks', () => {
  let unbound: AuthUnbound;
  let fw: TestServer;
  let hook: WebhookReceiver;
  let dir: string;
  beforeAll(async () => {
    unbound = await startAuthUnbound({ zones: [{ name: 'cloak.test', text: CLOAK_ZONE }, { name: '0xproject.io', text: PROJECT_ZONE }], readyName: 'www.cloak.test' });
    const secret = newSecret();
    hook = await startWebhookReceiver(secret);
    dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-inspect-events-'));
    writeFileSync(path.join(dir, 'secret'), `${secret}\n`);
    fw = await startTestServer(
      {
        upstream: [`127.0.0.1:${unbound.port}`],
        'events-url': hook.url,
        'events-secret-file': path.join(dir, 'secret'),
        'events-client': 'full',
        // Both names are under cloak.test, asked from 127.0.0.1: no dedupe, so each makes its event.
        'events-dedupe': '0',
        doh: ['127.0.0.1:0'],
        'tls-self-signed': 'true',
      },
      LISTS,
    );
  }, 30_000);
  afterAll(async () => {
    await fw?.close();
    await hook?.close();
    await unbound?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('name the listed target or address, and the DoH client name from the URL path', async () => {
    const doh = fw.server.encrypted.doh[0]!.port;
    const asked = await runProgram(findTool('kdig')!, ['@127.0.0.1', '-p', String(doh), '+https=/dns-query/alice-phone', '+time=3', '+retry=0', 'two.cloak.test', 'A']);
    expect(asked.stdout).toContain('NXDOMAIN');
    await runDig(fw.port, ['inpfx.cloak.test', 'A']);
    expect(await waitFor(() => hook.events.length >= 2, 3000, 20)).toBe(true);
    const byName = new Map(hook.events.map((e) => [e.data['name'], e.data]));
    expect(byName.get('two.cloak.test')).toMatchObject({ reason: 'cname', target: 'www.0xproject.io', rule: '0xproject.io', transport: 'doh', clientName: 'alice-phone' });
    expect(byName.get('inpfx.cloak.test')).toMatchObject({ reason: 'ip', target: '203.0.113.66', rule: '203.0.113.0/24', transport: 'udp' });
    expect('clientName' in byName.get('inpfx.cloak.test')!).toBe(false);
  });
});

describe.skipIf(!haveTools)('--inspect-answers=false', () => {
  let unbound: AuthUnbound;
  let fw: TestServer;
  beforeAll(async () => {
    unbound = await startAuthUnbound({ zones: [{ name: 'cloak.test', text: CLOAK_ZONE }, { name: '0xproject.io', text: PROJECT_ZONE }], readyName: 'www.cloak.test' });
    fw = await startTestServer({ 'upstream': [`127.0.0.1:${unbound.port}`], 'inspect-answers': 'false' }, LISTS);
  }, 30_000);
  afterAll(async () => {
    await fw?.close();
    await unbound?.stop();
  });

  it('passes cloaked answers as before', async () => {
    const r = await runDig(fw.port, ['two.cloak.test', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.answers.map((a) => a.data)).toEqual(['hop.cloak.test.', 'www.0xproject.io.', '198.51.100.10']);
  });
});
