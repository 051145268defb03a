/**
 * The command line as scripts and the README use it: the built `dist/cli.js`, run as a child process.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { childEnv, CLI, killHard, requireBuiltCli } from '../helpers/built-cli.js';
import { buildQuery, decode, udpQuery, udpSendNoReply } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { TEST_LISTS, writeLists } from './harness.js';

beforeAll(() => requireBuiltCli());

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
});

/** Starts `fraudwall serve` and waits (10 s at most) for its "fraudwall ready" log line. */
const serve = (args: string[], env: Record<string, string> = {}): Promise<ServedProcess> => spawnServe(args, { env, children, readyTimeoutMs: 10_000 });

describe('fraudwall serve', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setDefault({ kind: 'answer', a: '192.0.2.9' });
    return () => upstream.close();
  });

  it('serves DNS once ready, reports health, and exits 0 on SIGTERM', async () => {
    const lists = writeLists(TEST_LISTS);
    const fw = await serve(['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', lists, '--upstream', `127.0.0.1:${upstream.port}`]);
    const ready = await fetch(`http://127.0.0.1:${fw.httpPort}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${fw.httpPort}/healthz`)).status).toBe(200);

    expect(decode(await udpQuery(fw.dnsPort, buildQuery('loan-scam.test', 'A'))).rcode).toBe(3);
    expect(decode(await udpQuery(fw.dnsPort, buildQuery('clean.example', 'A'))).answers.map((a) => a.data)).toEqual(['192.0.2.9']);

    expect(await fw.stop()).toMatchObject({ code: 0 });
  });

  it('takes settings from the environment and a config file, flags winning', async () => {
    const lists = writeLists(TEST_LISTS);
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-config-'));
    const file = path.join(dir, 'fraudwall.yaml');
    writeFileSync(file, `lists: ${lists}\nblock-mode: refused\nhttp: 127.0.0.1:0\nupstream:\n  - 127.0.0.1:${upstream.port}\n`);
    const fw = await serve(['--config', file, '--listen', '127.0.0.1:0', '--block-mode', 'null'], { FRAUDWALL_BLOCK_TTL: '7' });
    const reply = decode(await udpQuery(fw.dnsPort, buildQuery('loan-scam.test', 'A')));
    expect(reply.rcode).toBe(0); // null mode from the flag beat refused from the file
    expect(reply.answers.map((a) => [a.data, a.ttl])).toEqual([['0.0.0.0', 7]]); // TTL from the environment
  });

  it('skips a listen address this host does not have, with a warning, and serves on the others', async () => {
    const lists = writeLists(TEST_LISTS);
    const fw = await serve([
      '--listen', '192.0.2.1:0', // TEST-NET-1: never assigned to this machine
      '--listen', '127.0.0.1:0',
      '--http', '127.0.0.1:0',
      '--lists', lists,
      '--upstream', `127.0.0.1:${upstream.port}`,
    ]);
    expect(fw.logs.some((line) => line.includes('cannot listen on 192.0.2.1:0') && line.includes('"warn"'))).toBe(true);
    expect(decode(await udpQuery(fw.dnsPort, buildQuery('loan-scam.test', 'A'))).rcode).toBe(3);
  });

  it('warns loudly when the allow-list admits everyone on a non-loopback address (open resolver)', async () => {
    const lists = writeLists(TEST_LISTS);
    const base = ['--http', '127.0.0.1:0', '--lists', lists, '--upstream', `127.0.0.1:${upstream.port}`];
    // 127.0.0.2 is loopback too, so use a wildcard bind: 0.0.0.0 is not loopback.
    const open = await serve([...base, '--listen', '0.0.0.0:0', '--allow-clients', '0.0.0.0/0', '--allow-clients', '::/0']);
    expect(open.logs.some((line) => line.includes('OPEN RESOLVER') && line.includes('"warn"'))).toBe(true);
    await open.kill();
    const closed = await serve([...base, '--listen', '0.0.0.0:0']);
    expect(closed.logs.some((line) => line.includes('OPEN RESOLVER'))).toBe(false);
  });

  it('answers /readyz 503 and keeps DNS closed until the initial lists are loaded', async () => {
    // A URL list whose server never answers holds the start for a few seconds: long enough to look.
    const hanging = http.createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', () => resolve()));
    const urlPort = (hanging.address() as AddressInfo).port;
    const [httpPort, dnsPort] = [await freePort(), await freePort()];
    const lists = writeLists(TEST_LISTS);
    const starting = serve([
      '--listen', `127.0.0.1:${dnsPort}`,
      '--http', `127.0.0.1:${httpPort}`,
      '--lists', lists,
      '--upstream', `127.0.0.1:${upstream.port}`,
      '--url-lists', JSON.stringify([{ name: 'slow', url: `http://127.0.0.1:${urlPort}/list.txt` }]),
    ]);
    let early: number | undefined;
    for (let i = 0; i < 50 && early === undefined; i++) {
      early = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status, () => undefined);
      if (early === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(early).toBe(503);
    expect(await udpSendNoReply(dnsPort, buildQuery('loan-scam.test', 'A'), 300)).toBeNull();
    const fw = await starting;
    hanging.closeAllConnections();
    hanging.close();
    expect((await fetch(`http://127.0.0.1:${fw.httpPort}/readyz`)).status).toBe(200);
    expect(decode(await udpQuery(fw.dnsPort, buildQuery('loan-scam.test', 'A'))).rcode).toBe(3);
  });

  it('exits 2 and lists every configuration problem at once', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--block-mode', 'blackhole', '--block-ttl=-5', '--listen', 'localhost'], {
      env: childEnv({ FRAUDWALL_NO_SUCH_SETTING: '1' }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('4 problems');
    expect(result.stderr).toContain('--block-mode: must be one of nxdomain, null, refused');
    expect(result.stderr).toContain('--block-ttl: must be between 0 and 86400');
    expect(result.stderr).toContain('--listen: "localhost"');
    expect(result.stderr).toContain('FRAUDWALL_NO_SUCH_SETTING: unknown setting');
  });

  it('suggests the nearest flag for a mistyped one, in one line (exit 2)', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--blockttl', '5'], { env: childEnv(), encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'fraudwall serve: unknown option --blockttl (did you mean --block-ttl?); usage: fraudwall serve [--config FILE] [--KEY VALUE …] (fraudwall serve --help lists every setting)\n',
    );
  });

  it('--help names FRAUDWALL_URL and FRAUDWALL_ADMIN_TOKEN for the client commands', () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], { env: childEnv(), encoding: 'utf8' }).stdout;
    expect(help).toContain('env FRAUDWALL_URL');
    expect(help).toContain('env FRAUDWALL_ADMIN_TOKEN');
  });

  it('exits 1 with a hint when the lists directory does not exist', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--lists', '/nonexistent/fraudwall-lists', '--http', '127.0.0.1:0', '--listen', '127.0.0.1:0'], {
      env: childEnv(),
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('/nonexistent/fraudwall-lists');
  });
});

describe('fraudwall check', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8', env: childEnv() });

  it('names the list, category and rule that blocks a name (exit 3), with the shipped lists by default', () => {
    const result = run('www.0xproject.io');
    expect(result.status).toBe(3);
    expect(result.stdout).toContain('BLOCKED');
    expect(result.stdout).toContain('"fraud"');
    expect(result.stdout).toContain('phishing');
  });

  it('reports the allow rule that lets a name through (exit 0), as JSON too', () => {
    const lists = writeLists(TEST_LISTS);
    const result = run('OK.evil.fraud.test.', '--lists', lists, '--json');
    expect(result.status).toBe(0);
    const explanation = JSON.parse(result.stdout) as { verdict: string; rule: { list: string; kind: string } };
    expect(explanation.verdict).toBe('allowed');
    expect(explanation.rule).toMatchObject({ list: 'fraud-allow', kind: 'allow' });
  });

  it('names the missing or wrong argument in one line (exit 2)', () => {
    const usage =
      'usage: fraudwall check NAME [--client ADDR|NAME] [--config FILE] [--lists DIR] [--state DIR] [--protect FILE|DIR]... [--lookalike observe|block|off] [--protect-tld-swaps] [--protect-embedded] [--json]';
    expect(run().stderr).toBe(`fraudwall check: missing NAME (a domain name); ${usage}\n`);
    expect(run('a.example', '--cofnig', 'x.yaml').stderr).toBe(`fraudwall check: unknown option --cofnig (did you mean --config?); ${usage}\n`);
    expect(run('a.example', '--state').stderr).toBe(`fraudwall check: --state needs a value; ${usage}\n`);
    expect(run('a.example', '--config', '/nonexistent/fraudwall.yaml').stderr).toContain('config file /nonexistent/fraudwall.yaml: cannot be read (ENOENT)');
    for (const args of [[], ['a.example', '--cofnig', 'x'], ['a.example', 'b.example']]) expect(run(...args).status).toBe(2);
  });

  it('says a clean name is not listed (exit 0) and rejects an invalid name (exit 2)', () => {
    const lists = writeLists(TEST_LISTS);
    const clean = run('example.com', '--lists', lists);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('not listed');
    expect(run('bad..name', '--lists', lists).status).toBe(2);
  });
});
