/**
 * SIGHUP as the README describes it, on the built CLI (issue #17): list files reload (covered in
 * cli-admin.test.ts), the admin token file is re-read, the query log is reopened at its path after
 * logrotate moved it (one process and --workers 2), and a setting changed in the config file is
 * named as needing a restart. Also what is checked at start: the query-log path (created 0640),
 * weak tokens and an admin API on a non-loopback address.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killHard, requireBuiltCli, waitFor } from '../helpers/built-cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { LOOPBACK_SERVE_ARGS, spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { freePort } from '../helpers/ports.js';
import { admin, queryA } from './admin-helpers.js';
import { TEST_TOKEN, writeLists } from './harness.js';

const children: ChildProcess[] = [];
let upstream: FakeUpstream;
let work: string;
let lists: string;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
  upstream.setDefault({ kind: 'answer', a: '192.0.2.1' });
  work = mkdtempSync(path.join(tmpdir(), 'fraudwall-hup-'));
  lists = writeLists({ 'fraud.txt': 'evil.test\n' });
});
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
});
afterAll(async () => {
  await upstream?.close();
  for (const dir of [work, lists]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const base = (): string[] => [...LOOPBACK_SERVE_ARGS, '--lists', lists, '--upstream', `127.0.0.1:${upstream.port}`, '--state', mkdtempSync(path.join(work, 'state-'))];
const linesOf = (file: string): { name: string }[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { name: string }) : [];
const logged = (fw: ServedProcess, text: string): boolean => fw.logs.some((line) => line.includes(text));

describe('the query log', () => {
  it.each([
    ['one process', [] as string[]],
    ['--workers 2', ['--workers', '2']],
  ])('is created 0640 and reopened at its path on SIGHUP after logrotate moves it (%s)', async (_label, extra) => {
    const dir = mkdtempSync(path.join(work, 'qlog-'));
    const file = path.join(dir, 'queries.ndjson');
    const fw = await spawnServe([...base(), '--query-log', file, ...extra], { children });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    await queryA(fw.dnsPort, 'before-rotate.example');
    expect(await waitFor(() => linesOf(file).some((l) => l.name === 'before-rotate.example'), 3000)).toBe(true);

    renameSync(file, `${file}.1`); // logrotate without copytruncate
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => existsSync(file), 3000), 'a new file at the configured path').toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    // The workers' 'reopen' messages are asynchronous: query until a line reaches the new file.
    expect(
      await waitFor(async () => {
        await queryA(fw.dnsPort, 'after-rotate.example');
        return linesOf(file).some((l) => l.name === 'after-rotate.example');
      }, 5000, 250),
    ).toBe(true);
    expect(linesOf(`${file}.1`).map((l) => l.name)).not.toContain('after-rotate.example');
    expect(logged(fw, `query log ${file} reopened`)).toBe(true);
    expect(await fw.stop()).toMatchObject({ code: 0 });
  });

  it('that cannot be opened is a startup error (E_QUERY_LOG) naming the path, not a silent stop', async () => {
    const file = path.join(work, 'no-such-dir', 'queries.ndjson');
    const error = await spawnServe([...base(), '--query-log', file], { children }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(error).toMatch(/exited \(1\) before ready/);
    expect(error).toContain(`fraudwall: cannot open the query log ${file} for appending (ENOENT)`);
    expect(error).toContain('[E_QUERY_LOG]');
  });
});

describe('the admin token file', () => {
  it('is re-read on SIGHUP: the new token works at once and the old one stops working', async () => {
    const tokenFile = path.join(work, 'token');
    const oldToken = 'old-token-0123456789abcdef';
    const newToken = 'new-token-fedcba9876543210';
    writeFileSync(tokenFile, `${oldToken}\n`);
    const fw = await spawnServe([...base(), '--admin-token-file', tokenFile], { children });
    const push = (token: string): Promise<number> =>
      admin(fw.httpPort, 'PUT', '/v1/lists/rotated', { token, body: 'rotated.test\n' }).then((reply) => reply.status);
    expect(await push(oldToken)).toBe(201);

    writeFileSync(tokenFile, `${newToken}\n`);
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, 'the new token is in effect'), 3000)).toBe(true);
    expect(await push(oldToken)).toBe(403);
    expect(await push(newToken)).toBe(200);

    // An emptied file is refused; the token in effect stays.
    writeFileSync(tokenFile, '');
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, 'is empty; put a long random token in it (openssl rand -hex 32); the previous admin token stays in effect'), 3000)).toBe(true);
    expect(await push(newToken)).toBe(200);
  });
});

describe('the warning page template', () => {
  it('is re-read on SIGHUP: the page says the new words at once; a broken template is refused and the old words stay', async () => {
    const template = path.join(work, 'page.yaml');
    writeFileSync(template, 'en:\n  heading: "Stop: the first words"\n');
    const port = await freePort();
    const fw = await spawnServe([...base(), '--warning-page', `127.0.0.1:${port}`, '--warning-page-template', template], { children });
    const heading = async (): Promise<string> => {
      const html = await (await fetch(`http://127.0.0.1:${port}/`, { headers: { host: 'evil.test', 'accept-language': 'en' } })).text();
      return /<h1[^>]*>([^<]*)<\/h1>/.exec(html)?.[1] ?? html.slice(0, 200);
    };
    expect(await heading()).toBe('Stop: the first words');

    writeFileSync(template, 'en:\n  heading: "Stop: call the hotline first"\n');
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, `warning page template ${template} reloaded`), 3000)).toBe(true);
    expect(await heading()).toBe('Stop: call the hotline first');

    writeFileSync(template, 'en:\n  heading: [not, a, string]\n');
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, 'the warning page keeps its previous texts'), 3000)).toBe(true);
    expect(await heading()).toBe('Stop: call the hotline first');
  });
});

describe('settings that need a restart', () => {
  it('a block-ttl changed in the config file is reported on SIGHUP and not half-applied', async () => {
    const config = path.join(work, 'fraudwall.yaml');
    writeFileSync(config, 'block-ttl: 60\n');
    const fw = await spawnServe([...base(), '--config', config], { children });
    writeFileSync(config, 'block-ttl: 30\nlog-level: debug\n');
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, 'take effect only after a restart'), 3000)).toBe(true);
    const warning = fw.logEntries().find((line) => String(line['msg']).includes('take effect only after a restart'))!;
    expect(warning['level']).toBe('warn');
    expect(String(warning['msg'])).toContain('block-ttl (60 → 30), log-level (info → debug)');
    expect(warning['restartNeeded']).toEqual(['block-ttl', 'log-level']);
    const reply = await queryA(fw.dnsPort, 'evil.test');
    expect(reply.authorities[0]?.ttl).toBe(60);

    writeFileSync(config, 'block-ttl: soon\n');
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => logged(fw, 'the configuration now has problems'), 3000)).toBe(true);
    expect(fw.child.exitCode).toBeNull();
  });
});

describe('warnings at start', () => {
  it('a token shorter than 16 characters, and an admin API on a non-loopback address', async () => {
    const fw = await spawnServe(['--listen', '127.0.0.1:0', '--http', '0.0.0.0:0', '--lists', lists, '--upstream', '127.0.0.1:9', '--state', mkdtempSync(path.join(work, 'state-'))], {
      env: { FRAUDWALL_ADMIN_TOKEN: 'x' },
      children,
    });
    const warnings = fw.logEntries().filter((line) => line['level'] === 'warn').map((line) => String(line['msg']));
    expect(warnings).toContainEqual(expect.stringContaining('the admin token from FRAUDWALL_ADMIN_TOKEN is 1 characters long'));
    expect(warnings).toContainEqual(expect.stringMatching(/^the admin API, \/v1\/explain and \/metrics listen on 0\.0\.0\.0:\d+, reachable from other hosts/));
  });

  it('neither for a 16-character token on loopback', async () => {
    const fw = await spawnServe(base(), { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children });
    const warnings = fw.logEntries().filter((line) => line['level'] === 'warn').map((line) => String(line['msg']));
    expect(warnings.filter((msg) => msg.includes('admin token') || msg.includes('reachable from other hosts'))).toEqual([]);
  });
});
