/**
 * `fraudwall check` (offline) and `fraudwall explain` (the live server) make one judgement, and
 * `check --config` reads what `serve` reads with that config: list files, lists pushed through the
 * admin API (state/lists), the last good copies of URL lists (state/url), and the local-zone and
 * DoH-canary settings. Checked against the DNS answers of a real `serve` over UDP.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard, requireBuiltCli, waitFor } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { admin, queryA, runCli, type CliResult } from './admin-helpers.js';
import { TEST_TOKEN, writeLists } from './harness.js';

const children: ChildProcess[] = [];
let upstream: FakeUpstream;
let listServer: http.Server;
let work: string;
let config: string;
let fw: ServedProcess;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
  upstream.setDefault({ kind: 'answer', a: '192.0.2.7' });
  listServer = http.createServer((_req, res) => res.end('# category: malware\nfrom-url.test\n'));
  await new Promise<void>((resolve) => listServer.listen(0, '127.0.0.1', resolve));
  work = mkdtempSync(path.join(tmpdir(), 'fraudwall-check-'));
  const lists = writeLists({ 'files.txt': '# category: phishing\nfrom-file.test\n@@||ok.home.arpa^\n' });
  config = path.join(work, 'fraudwall.yaml');
  // Relative paths in a config file are relative to the file: check must resolve them the same way.
  writeFileSync(
    config,
    [
      `lists: ${lists}`,
      'state: ./state',
      'url-lists:',
      `  - { name: feed, url: "http://127.0.0.1:${(listServer.address() as AddressInfo).port}/feed.txt", category: malware, refresh: 3600 }`,
      `upstream: ["127.0.0.1:${upstream.port}"]`,
      'watch-lists: false',
      '',
    ].join('\n'),
  );
  fw = await spawnServe(['--config', config, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children });
  const pushed = await admin(fw.httpPort, 'PUT', '/v1/lists/pushed?category=fake-loan', { token: TEST_TOKEN, body: 'from-api.test\n' });
  expect(pushed.status).toBe(201);
  // The URL list's first download finished and its last good copy is on disk.
  expect(await waitFor(async () => (await queryA(fw.dnsPort, 'from-url.test')).rcode === 3, 5000)).toBe(true);
});

afterAll(async () => {
  for (const child of children.splice(0)) await killHard(child);
  await upstream?.close();
  listServer?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const show = (r: CliResult): string => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
const check = (...args: string[]): Promise<CliResult> => runCli(['check', ...args]);
const explain = (name: string): Promise<CliResult> =>
  runCli(['explain', name, '--json', '--url', `http://127.0.0.1:${fw.httpPort}`], { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN } });

describe('check --config reads what serve reads', () => {
  it.each([
    ['from-file.test', 'files'],
    ['a.from-api.test', 'pushed'],
    ['from-url.test', 'feed'],
  ])('%s is blocked by serve, check and explain alike (list %s)', async (name, list) => {
    expect((await queryA(fw.dnsPort, name)).rcode).toBe(3);
    const offline = await check(name, '--config', config);
    expect(offline.status, show(offline)).toBe(3);
    expect(offline.stdout).toContain(`BLOCKED by list "${list}"`);
    const live = await explain(name);
    expect(live.status, show(live)).toBe(3);
    expect(JSON.parse(live.stdout)).toMatchObject({ verdict: 'blocked', rule: { list } });
  });

  it('prints every source it read, with the lists each gave', async () => {
    const result = await check('clean.test', '--config', config);
    expect(result.status, show(result)).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('clean.test: not listed (would be resolved normally); registrable domain clean.test');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^read: list files in \/.+ \(files\)$/),
      `read: pushed lists in ${path.join(work, 'state', 'lists')} (pushed)`,
      `read: last good URL copy ${path.join(work, 'state', 'url', 'feed.txt')} (feed)`,
    ]);
    const json = JSON.parse((await check('clean.test', '--config', config, '--json')).stdout) as { sources: { kind: string; lists: string[] }[] };
    expect(json.sources.map((s) => [s.kind, s.lists])).toEqual([
      ['files', ['files']],
      ['pushed', ['pushed']],
      ['url-copy', ['feed']],
    ]);
  });

  it('--state and --lists override the config file', async () => {
    const empty = mkdtempSync(path.join(work, 'empty-'));
    const result = await check('a.from-api.test', '--config', config, '--state', empty);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toContain(`read: pushed lists in ${path.join(empty, 'lists')} (none)`);
    expect((await check('from-file.test', '--config', config, '--lists', empty)).status).toBe(0);
  });

  it('FRAUDWALL_* variables count as they do for serve', async () => {
    const viaEnv = await runCli(['check', 'a.from-api.test'], { env: { FRAUDWALL_CONFIG: config, FRAUDWALL_URL: 'http://127.0.0.1:1' } });
    expect(viaEnv.status, show(viaEnv)).toBe(3);
  });
});

describe('local zones and DoH canaries are judged as DNS answers them', () => {
  it('use-application-dns.net: NXDOMAIN on the wire, "canary" (exit 3) from check and explain', async () => {
    expect((await queryA(fw.dnsPort, 'use-application-dns.net')).rcode).toBe(3);
    const offline = await check('use-application-dns.net', '--config', config);
    expect(offline.status, show(offline)).toBe(3);
    expect(offline.stdout).toContain('answered NXDOMAIN by fraudwall: a browser DoH canary');
    expect(offline.stdout).not.toContain('resolved normally');
    const live = await explain('use-application-dns.net');
    expect(live.status, show(live)).toBe(3);
    expect(JSON.parse(live.stdout)).toMatchObject({ verdict: 'canary', zone: { apex: 'use-application-dns.net', kind: 'canary' } });
  });

  it('localhost and home.arpa: answered locally (exit 0), an allow rule does not send them upstream', async () => {
    expect((await queryA(fw.dnsPort, 'localhost')).answers.map((a) => a.data)).toEqual(['127.0.0.1']);
    expect((await queryA(fw.dnsPort, 'ok.home.arpa')).rcode).toBe(3);
    for (const name of ['localhost', 'ok.home.arpa']) {
      const offline = await check(name, '--config', config, '--json');
      expect(offline.status, show(offline)).toBe(0);
      const live = await explain(name);
      expect(JSON.parse(live.stdout)).toMatchObject({ verdict: 'local' });
      expect(JSON.parse(offline.stdout)).toMatchObject({ verdict: 'local' });
    }
  });

  it('with block-doh-canaries off in the config, check says the canary is forwarded', async () => {
    const off = path.join(work, 'no-canaries.yaml');
    writeFileSync(off, `state: ${path.join(work, 'state')}\nblock-doh-canaries: false\nlocal-zones: false\n`);
    const canary = await check('use-application-dns.net', '--config', off);
    expect(canary.status, show(canary)).toBe(0);
    expect(canary.stdout).toContain('not listed');
    expect((await check('localhost', '--config', off)).stdout).toContain('not listed');
  });
});
