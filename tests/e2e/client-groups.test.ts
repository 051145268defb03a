/**
 * Per-client policy groups (issue #14) as an operator runs them: `dist/cli.js serve --config FILE`
 * as a child process (one process, and `--workers 2`), a real Unbound upstream, `dig -b` sending
 * from 127.0.0.2 and 127.0.0.3, `kdig +https` naming itself in the DoH path, the admin API and the
 * `push`, `check` and `explain` commands. Everything on 127.0.0.0/8.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard, requireBuiltCli, waitFor } from '../helpers/built-cli.js';
import { runDig } from '../helpers/dig.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/ports.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { runProgram } from '../helpers/run-program.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { createTestCa, type TestCa } from '../helpers/test-certificates.js';
import { startUnbound, type UnboundHandle } from '../helpers/unbound.js';
import { runCli } from './admin-helpers.js';

const haveTools =
  requireTool('unbound', 'unbound') && requireTool('dig', 'bind9-dnsutils') && requireTool('kdig', 'knot-dnsutils') && requireTool('openssl', 'openssl');

const TOKEN = 'groups-test-token-0123456789abcdef';
const LISTS: Record<string, string> = {
  'fraud.txt': '# category: phishing\nevil.fraud.test\n',
  'gambling.txt': '# category: gambling\ncasino.test\n',
  // An answer-IP rule: judged on upstream (and cached) answers, for the groups that name this list.
  'badips.txt': '# category: bad-hosting\n198.51.100.0/24\n',
};

// lan and tablet share 127.0.0.0/8: an address alone picks lan (listed first), the client name
// kitchen-tablet picks tablet. kids and office are single addresses (more specific than /8).
// office names a list that does not exist at start (pushed by the test).
const CONFIG = `
groups:
  - name: lan
    clients: [127.0.0.0/8]
    lists: [fraud]
  - name: tablet
    clients: [127.0.0.0/8, kitchen-tablet]
    lists: [fraud, gambling]
  - name: kids
    clients: [127.0.0.2]
    lists: [fraud, gambling, badips]
    block-mode: refused
  - name: office
    clients: [127.0.0.3/32, office-laptop]
    lists: [fraud, office-extra]
`;

const children: ChildProcess[] = [];

describe.skipIf(!haveTools).each([
  { mode: 'one process', workers: [] as string[] },
  { mode: '--workers 2', workers: ['--workers', '2'] },
])('client groups ($mode)', ({ mode, workers }) => {
  let dir: string;
  let ca: TestCa;
  let unbound: UnboundHandle;
  let serve: ServedProcess;
  let dohPort: number;
  let configFile: string;
  let queryLog: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-groups-'));
    const listsDir = path.join(dir, 'lists');
    mkdirSync(listsDir);
    for (const [file, content] of Object.entries(LISTS)) writeFileSync(path.join(listsDir, file), content);
    configFile = path.join(dir, 'fraudwall.yaml');
    writeFileSync(configFile, `lists: ${listsDir}\nstate: ${path.join(dir, 'state')}\n${CONFIG}`);
    queryLog = path.join(dir, 'queries.ndjson');
    ca = await createTestCa();
    const cert = await ca.issue('groups');
    unbound = await startUnbound({
      records: ['casino.test. 300 IN A 192.0.2.10', 'news.test. 300 IN A 192.0.2.11', 'shop.test. 300 IN A 198.51.100.7', 'evil.fraud.test. 300 IN A 192.0.2.12', 'probe.test. 300 IN A 192.0.2.13'],
    });
    dohPort = await freePort();
    serve = await spawnServe(
      [
        ...workers,
        '--config', configFile,
        '--listen', '127.0.0.1:0',
        '--http', '127.0.0.1:0',
        '--upstream', `127.0.0.1:${unbound.port}`,
        '--watch-lists', 'false',
        '--query-log', queryLog,
        '--doh', `127.0.0.1:${dohPort}`,
        '--tls-cert', cert.certFile,
        '--tls-key', cert.keyFile,
      ],
      { env: { FRAUDWALL_ADMIN_TOKEN: TOKEN }, children, readyTimeoutMs: 30_000 },
    );
  }, 60_000);

  afterAll(async () => {
    for (const child of children.splice(0)) await killHard(child);
    await unbound?.stop();
    await ca?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** dig from `source` (127.0.0.x): the rcode and the answer addresses. */
  const ask = async (source: string, name: string): Promise<string> => {
    const result = await runDig(serve.dnsPort, ['-b', source, name, 'A']);
    return `${result.status} ${result.answers.map((a) => a.data).join(',')}`.trim();
  };
  /** kdig over DoH (HTTP/2) with a client name in the path, from 127.0.0.1. */
  const askDoh = async (clientName: string, name: string): Promise<string> => {
    const { stdout, code } = await runProgram(findTool('kdig')!, [
      '@127.0.0.1', '-p', String(dohPort), `+tls-ca=${ca.caFile}`, '+tls-hostname=dns.test', '+time=3', '+retry=0',
      `+https=/dns-query/${clientName}`, name, 'A',
    ]);
    expect(code).toBe(0);
    const status = /opcode: QUERY; status: (\w+)/.exec(stdout)?.[1] ?? 'none';
    const addresses = [...stdout.matchAll(/\sA\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).join(',');
    return `${status} ${addresses}`.trim();
  };

  it('127.0.0.2, 127.0.0.3, 127.0.0.1 and a DoH path name get different verdicts for the same name', async () => {
    expect(await ask('127.0.0.2', 'casino.test')).toBe('REFUSED'); // kids: gambling, block-mode refused
    expect(await ask('127.0.0.3', 'casino.test')).toBe('NOERROR 192.0.2.10'); // office: no gambling list
    expect(await ask('127.0.0.1', 'casino.test')).toBe('NOERROR 192.0.2.10'); // lan
    expect(await askDoh('kitchen-tablet', 'casino.test')).toBe('NXDOMAIN'); // tablet, by its name
    expect(await askDoh('someone-else', 'casino.test')).toBe('NOERROR 192.0.2.10'); // lan
    // Lists every group names block everywhere.
    for (const source of ['127.0.0.1', '127.0.0.3']) expect(await ask(source, 'evil.fraud.test')).toBe('NXDOMAIN');
    expect(await ask('127.0.0.2', 'evil.fraud.test')).toBe('REFUSED');
  });

  it('says at start which group lists are not loaded (yet)', () => {
    const warnings = serve.logEntries().filter((entry) => String(entry['msg']).includes('that are not loaded'));
    expect(warnings.map((entry) => entry['msg'])).toEqual([expect.stringContaining('group "office" names list(s) "office-extra"')]);
  });

  it("a client name counts only from inside its group's addresses", async () => {
    // office-laptop is a name of office (127.0.0.3 only): from 127.0.0.1 it selects nothing, the address decides (lan).
    const pushed = await runCli(['push', 'office-extra', '-', '--url', `http://127.0.0.1:${serve.httpPort}`], {
      env: { FRAUDWALL_ADMIN_TOKEN: TOKEN },
      input: 'probe.test\n',
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(await askDoh('office-laptop', 'probe.test')).toBe('NOERROR 192.0.2.13');
    expect(await ask('127.0.0.3', 'probe.test')).toBe('NXDOMAIN');
  });

  it('a pushed list named by one group blocks only there, with no restart', async () => {
    // Cached first by a group that does not block it: the response cache is shared, verdicts are not.
    expect(await ask('127.0.0.2', 'news.test')).toBe('NOERROR 192.0.2.11');
    const pushed = await runCli(['push', 'office-extra', '-', '--url', `http://127.0.0.1:${serve.httpPort}`], {
      env: { FRAUDWALL_ADMIN_TOKEN: TOKEN },
      input: 'news.test\n',
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(await ask('127.0.0.3', 'news.test')).toBe('NXDOMAIN');
    expect(await ask('127.0.0.2', 'news.test')).toBe('NOERROR 192.0.2.11');
    expect(await ask('127.0.0.1', 'news.test')).toBe('NOERROR 192.0.2.11');
    expect(await askDoh('kitchen-tablet', 'news.test')).toBe('NOERROR 192.0.2.11');
  });

  it('answer inspection judges a shared cached answer per group', async () => {
    // office caches shop.test's answer (198.51.100.7); kids name the answer-IP list and are blocked
    // from that same cached answer, which stays cached and clean for office.
    expect(await ask('127.0.0.3', 'shop.test')).toBe('NOERROR 198.51.100.7');
    expect(await ask('127.0.0.2', 'shop.test')).toBe('REFUSED');
    expect(await ask('127.0.0.3', 'shop.test')).toBe('NOERROR 198.51.100.7');
    expect(await ask('127.0.0.2', 'shop.test')).toBe('REFUSED');
  });

  it('metrics, the query log and explain say which group decided', async () => {
    const metrics = await scrape(serve.httpPort);
    expect(metricSum(metrics, 'fraudwall_blocked_total', { group: 'kids', list: 'gambling' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(metrics, 'fraudwall_blocked_total', { group: 'tablet', list: 'gambling' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(metrics, 'fraudwall_blocked_total', { group: 'kids', list: 'badips', reason: 'ip' })).toBeGreaterThanOrEqual(2);
    expect(metricSum(metrics, 'fraudwall_blocked_total', { group: 'office', list: 'gambling' })).toBe(0);

    let entries: Record<string, unknown>[] = [];
    const logged = await waitFor(() => {
      entries = readFileSync(queryLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      return entries.some((e) => e['name'] === 'casino.test' && e['clientName'] === 'kitchen-tablet');
    }, 5000);
    expect(logged).toBe(true);
    const casino = entries.filter((e) => e['name'] === 'casino.test');
    expect(casino.find((e) => e['client'] === '127.0.0.2')).toMatchObject({ group: 'kids', source: 'blocked', list: 'gambling' });
    expect(casino.find((e) => e['client'] === '127.0.0.3')).toMatchObject({ group: 'office', verdict: 'none' });
    expect(casino.find((e) => e['clientName'] === 'kitchen-tablet')).toMatchObject({ group: 'tablet', source: 'blocked' });

    const env = { FRAUDWALL_ADMIN_TOKEN: TOKEN };
    const url = ['--url', `http://127.0.0.1:${serve.httpPort}`];
    const asKids = await runCli(['explain', 'casino.test', '--client', '127.0.0.2', ...url], { env });
    expect(asKids.status).toBe(3);
    expect(asKids.stdout).toMatch(/BLOCKED by list "gambling".*\[client group "kids"\]/);
    const asOffice = await runCli(['explain', 'casino.test', '--client', '127.0.0.3', '--json', ...url], { env });
    expect(asOffice.status).toBe(0);
    expect(JSON.parse(asOffice.stdout)).toMatchObject({ verdict: 'not-listed', group: 'office' });
    const asTablet = await runCli(['explain', 'casino.test', '--client', 'kitchen-tablet', '--json', ...url], { env });
    expect(JSON.parse(asTablet.stdout)).toMatchObject({ verdict: 'blocked', group: 'tablet' });
  });

  it('check --client judges offline as that client would be (the same config file, whatever --workers serve runs with)', async () => {
    const kids = await runCli(['check', 'casino.test', '--config', configFile, '--client', '127.0.0.2']);
    expect(kids.status, kids.stderr).toBe(3);
    expect(kids.stdout).toContain('[client group "kids"]');
    const office = await runCli(['check', 'casino.test', '--config', configFile, '--client', '127.0.0.3', '--json']);
    expect(office.status, office.stderr).toBe(0);
    expect(JSON.parse(office.stdout)).toMatchObject({ verdict: 'not-listed', group: 'office' });
    const tablet = await runCli(['check', 'casino.test', '--config', configFile, '--client', 'kitchen-tablet']);
    expect(tablet.status).toBe(3);
    expect(tablet.stdout).toContain('[client group "tablet"]');
  });
});
