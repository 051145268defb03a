/**
 * The admin commands of `dist/cli.js` (push, delete, lists, explain, reload) against a spawned
 * `fraudwall serve`, as an operator's scripts use them: output, exit codes (0 ok, 1 failure or
 * unreachable, 2 usage, 3 blocked, 4 rejected, 5 auth) and the effect on DNS answers. Also SIGHUP.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { killHard, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { isBlocked, listLists, queryA, runCli, type CliResult } from './admin-helpers.js';
import { TEST_TOKEN, writeLists } from './harness.js';

let upstream: FakeUpstream;
let fw: ServedProcess;
let listsDir: string;
let work: string;
let url: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
  listsDir = writeLists({ 'fraud.txt': '# category: phishing\nevil.fraud.test\n*.wild.test\n' });
  work = mkdtempSync(path.join(tmpdir(), 'fraudwall-cli-admin-'));
  fw = await spawnServe(
    [
      '--listen', '127.0.0.1:0',
      '--http', '127.0.0.1:0',
      '--lists', listsDir,
      '--state', path.join(work, 'state'),
      '--watch-lists', 'false',
      '--upstream', `127.0.0.1:${upstream.port}`,
    ],
    { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children },
  );
  url = `http://127.0.0.1:${fw.httpPort}`;
});

afterAll(async () => {
  for (const child of children.splice(0)) await killHard(child);
  await upstream?.close();
  for (const dir of [listsDir, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A client command with the token in the environment (as an operator's shell would have it). */
const cli = (args: readonly string[], input?: string): Promise<CliResult> =>
  runCli([...args, '--url', url], { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, ...(input === undefined ? {} : { input }) });

function file(name: string, content: string): string {
  const full = path.join(work, name);
  writeFileSync(full, content);
  return full;
}

async function generation(): Promise<number> {
  return (await listLists(fw.httpPort, TEST_TOKEN)).generation;
}

const show = (r: CliResult): string => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

describe('fraudwall push', () => {
  it('creates a list from a file, then replaces it, reporting entries and generation (exit 0)', async () => {
    const before = await generation();
    const created = await cli(['push', 'scams', file('scams.txt', 'scam-one.test\nscam-two.test\n*.scam-three.test\n'), '--category', 'phishing']);
    expect(created.status, show(created)).toBe(0);
    expect(created.stdout).toBe(`created list scams: 3 entries (block, phishing), policy generation ${before + 1}\n`);
    expect(await isBlocked(fw.dnsPort, 'scam-one.test')).toBe(true);
    expect(await isBlocked(fw.dnsPort, 'a.scam-three.test')).toBe(true);

    const replaced = await cli(['push', 'scams', file('scams2.txt', 'scam-two.test\nscam-four.test\n')]);
    expect(replaced.status, show(replaced)).toBe(0);
    expect(replaced.stdout).toBe(`replaced list scams: 2 entries (block, uncategorized), policy generation ${before + 2}\n`);
    expect(await isBlocked(fw.dnsPort, 'scam-one.test')).toBe(false);
    expect(await isBlocked(fw.dnsPort, 'scam-four.test')).toBe(true);
  });

  it('reads the list from stdin with "-"', async () => {
    const result = await cli(['push', 'from-stdin', '-'], '# a comment\nstdin-one.test\r\n0.0.0.0 stdin-two.test\n||stdin-three.test^\n');
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toMatch(/^created list from-stdin: 3 entries \(block, uncategorized\), policy generation \d+\n$/);
    for (const name of ['stdin-one.test', 'stdin-two.test', 'www.stdin-three.test']) expect(await isBlocked(fw.dnsPort, name), name).toBe(true);
  });

  it('pushes an allowlist with --allow that lets a name under a blocked wildcard through', async () => {
    expect(await isBlocked(fw.dnsPort, 'ok.wild.test')).toBe(true);
    const result = await cli(['push', 'wild-exceptions', file('allow.txt', 'ok.wild.test\n'), '--allow']);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toContain('1 entries (allow, uncategorized)');
    expect((await queryA(fw.dnsPort, 'ok.wild.test')).answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    expect(await isBlocked(fw.dnsPort, 'other.wild.test')).toBe(true);
    const explain = await cli(['explain', 'ok.wild.test']);
    expect(explain.status, show(explain)).toBe(0);
    expect(explain.stdout).toContain('ALLOWED');
    expect(explain.stdout).toContain('"wild-exceptions"');
  });

  it('refuses a list with invalid lines (exit 4), printing "line N: reason: entry" for each, and changes nothing', async () => {
    expect((await cli(['push', 'strict', file('strict.txt', 'strict-one.test\n')])).status).toBe(0);
    const before = await listLists(fw.httpPort, TEST_TOKEN);
    const bad = ['http://bad.test/login.php', '203.0.0.0/8', '|bad-anchor.test'];
    const result = await cli(['push', 'strict', file('strict-bad.txt', `strict-two.test\n${bad[0]}\nstrict-three.test\n${bad[1]}\n${bad[2]}\n`)]);
    expect(result.status, show(result)).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('3 entries are not valid; nothing was changed');
    const problemLines = result.stderr.split('\n').filter((line) => line.startsWith('  line '));
    expect(problemLines).toHaveLength(3);
    expect(problemLines[0]).toMatch(/^ {2}line 2: \S.*: http:\/\/bad\.test\/login\.php$/);
    expect(problemLines[1]).toMatch(/^ {2}line 4: \S.*: 203\.0\.0\.0\/8$/);
    expect(problemLines[2]).toMatch(/^ {2}line 5: \S.*: \|bad-anchor\.test$/);
    // Nothing changed: same generation, same entries, the valid lines of the refused push not applied.
    const after = await listLists(fw.httpPort, TEST_TOKEN);
    expect(after.generation).toBe(before.generation);
    expect(after.lists.find((l) => l.name === 'strict')?.entries).toBe(1);
    expect(await isBlocked(fw.dnsPort, 'strict-two.test')).toBe(false);
    expect(await isBlocked(fw.dnsPort, 'strict-one.test')).toBe(true);
  });

  it('refuses a push naming a public suffix (co.uk, com) whole, with the line (exit 4)', async () => {
    const result = await cli(['push', 'suffixes', file('suffixes.txt', 'shop-one.test\nco.uk\nshop-two.test\ncom\n')]);
    expect(result.status, show(result)).toBe(4);
    const problemLines = result.stderr.split('\n').filter((line) => line.startsWith('  line '));
    expect(problemLines).toEqual(['  line 2: public suffix: co.uk', '  line 4: public suffix: com']);
    expect(await isBlocked(fw.dnsPort, 'shop-one.test')).toBe(false);
  });

  it('pushes an RPZ zone with --format rpz (exact triggers cover the name only); a zone with an unsupported line is refused whole', async () => {
    const zone = '$ORIGIN rpz.push.\n; category: scam\nexact.pushrpz.test CNAME .\n*.w.pushrpz.test CNAME .\n';
    const result = await cli(['push', 'pushed-rpz', file('pushed.rpz', zone), '--format', 'rpz']);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toContain('2 entries (block, scam)');
    expect(await isBlocked(fw.dnsPort, 'exact.pushrpz.test')).toBe(true);
    expect(await isBlocked(fw.dnsPort, 'sub.exact.pushrpz.test')).toBe(false);
    expect(await isBlocked(fw.dnsPort, 'a.w.pushrpz.test')).toBe(true);
    expect(await isBlocked(fw.dnsPort, 'w.pushrpz.test')).toBe(false);
    const bad = await cli(['push', 'pushed-rpz', file('bad.rpz', `${zone}$INCLUDE more.zone\n`), '--format', 'rpz']);
    expect(bad.status, show(bad)).toBe(4);
    expect(bad.stderr).toContain('line 5: $INCLUDE is never followed');
    // The same text as list lines is not a zone: every record line is refused.
    expect((await cli(['push', 'not-rpz', file('plain.rpz', zone)])).status).toBe(4);
    expect((await cli(['push', 'x', file('x.rpz', zone), '--format', 'bind'])).status).toBe(2);
  });

  it('shows at most 20 problems and counts the rest', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `http://many-${i}.test/x`).join('\n');
    const result = await cli(['push', 'many-bad', '-'], lines);
    expect(result.status, show(result)).toBe(4);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('  line '))).toHaveLength(20);
    expect(result.stderr).toContain('… and 5 more');
  });

  it('refuses to overwrite a list that comes from a file (exit 4) and an invalid list name (exit 4)', async () => {
    const conflict = await cli(['push', 'fraud', file('fraud-over.txt', 'x.test\n')]);
    expect(conflict.status, show(conflict)).toBe(4);
    expect(conflict.stderr).toContain('comes from a file');
    expect(await isBlocked(fw.dnsPort, 'evil.fraud.test')).toBe(true);
    const badName = await cli(['push', 'Bad.Name', file('x.txt', 'x.test\n')]);
    expect(badName.status, show(badName)).toBe(4);
  });

  it('exits 5 without a token and with a wrong --token-file, and the list is not created', async () => {
    const list = file('noauth.txt', 'noauth.test\n');
    const none = await runCli(['push', 'noauth', list, '--url', url]);
    expect(none.status, show(none)).toBe(5);
    expect(none.stderr).toBe('fraudwall: no admin token: set FRAUDWALL_ADMIN_TOKEN or pass --token-file FILE (the token the server was started with)\n');
    const wrong = await runCli(['push', 'noauth', list, '--url', url, '--token-file', file('wrong-token', 'not-the-token\n')], {
      env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, // --token-file wins over the environment
    });
    expect(wrong.status, show(wrong)).toBe(5);
    expect(wrong.stderr).toBe("fraudwall: the admin token is wrong: check FRAUDWALL_ADMIN_TOKEN or --token-file against the server's token\n");
    const unreadable = await runCli(['push', 'noauth', list, '--url', url, '--token-file', path.join(work, 'no-such-token-file')]);
    expect(unreadable.status, show(unreadable)).toBe(2);
    expect(unreadable.stderr).toBe(`fraudwall: cannot read --token-file ${path.join(work, 'no-such-token-file')} (ENOENT)\n`);
    expect(await isBlocked(fw.dnsPort, 'noauth.test')).toBe(false);
    const right = await runCli(['lists', '--url', url, '--token-file', file('right-token', `${TEST_TOKEN}\n`)]);
    expect(right.status, show(right)).toBe(0);
    expect(right.stdout).not.toContain('noauth');
  });

  it('exits 1 with a readable message when no server is running at --url', async () => {
    const port = await freePort();
    const result = await runCli(['push', 'x', file('x2.txt', 'x.test\n'), '--url', `http://127.0.0.1:${port}`], { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN } });
    expect(result.status, show(result)).toBe(1);
    expect(result.stderr).toContain(`cannot reach fraudwall at http://127.0.0.1:${port}`);
    expect(result.stderr).toContain('ECONNREFUSED');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 on a usage error, with one line naming the missing or wrong argument', async () => {
    const usage = (command: 'push' | 'explain' | 'lists'): string =>
      ({
        push: 'fraudwall push NAME FILE|- [--category C] [--allow|--protect] [--format list|rpz] [--url URL] [--token-file FILE]',
        explain: 'fraudwall explain NAME [--json] [--url URL] [--token-file FILE]',
        lists: 'fraudwall lists [--json] [--url URL] [--token-file FILE]',
      })[command];
    const cases: [string[], string][] = [
      [['push', 'only-a-name'], `fraudwall push: missing FILE|- (the list file, or - to read it from stdin); usage: ${usage('push')}`],
      [['push'], `fraudwall push: missing NAME (the name of the list); usage: ${usage('push')}`],
      [['explain'], `fraudwall explain: missing NAME (a domain name); usage: ${usage('explain')}`],
      [['lists', 'extra'], `fraudwall lists: unexpected argument "extra"; usage: ${usage('lists')}`],
      [['lists', '--jsno'], `fraudwall lists: unknown option --jsno (did you mean --json?); usage: ${usage('lists')}`],
      [['push', 'x', '-', '--category'], `fraudwall push: --category needs a value; usage: ${usage('push')}`],
      [['push', 'x', path.join(work, 'no-such-list.txt')], `fraudwall push: cannot read FILE ${path.join(work, 'no-such-list.txt')} (ENOENT)`],
      [['lsts'], 'fraudwall: unknown command "lsts"; did you mean "lists"? (fraudwall --help lists the commands)'],
    ];
    for (const [args, line] of cases) {
      const result = await cli(args);
      expect(result.status, show(result)).toBe(2);
      expect(result.stderr).toBe(`${line}\n`);
      expect(result.stdout).toBe('');
    }
  });
});

describe('fraudwall lists, explain, delete, reload', () => {
  it('lists as a table and as JSON', async () => {
    expect((await cli(['push', 'listed', file('listed.txt', 'listed-one.test\nlisted-two.test\n'), '--category', 'scam'])).status).toBe(0);
    const table = await cli(['lists']);
    expect(table.status, show(table)).toBe(0);
    const rows = table.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
    expect(rows[0]).toEqual(['NAME', 'KIND', 'CATEGORY', 'ENTRIES', 'SOURCE', 'GEN', 'UPDATED']);
    expect(rows.find((r) => r[0] === 'fraud')?.slice(0, 5)).toEqual(['fraud', 'block', 'phishing', '2', 'file']);
    expect(rows.find((r) => r[0] === 'listed')?.slice(0, 5)).toEqual(['listed', 'block', 'scam', '2', 'api']);
    expect(rows.find((r) => r[0] === 'listed')?.[6]).toMatch(/^\d{4}-\d\d-\d\dT/);

    const json = await cli(['lists', '--json']);
    expect(json.status, show(json)).toBe(0);
    const parsed = JSON.parse(json.stdout) as { generation: number; lists: { name: string; entries: number; source: string }[] };
    expect(parsed.generation).toBe(await generation());
    expect(parsed.lists.find((l) => l.name === 'listed')).toMatchObject({ entries: 2, source: 'api' });
    expect(parsed.lists.map((l) => l.name)).toEqual(rows.slice(1).map((r) => r[0]));
  });

  it('explains: exit 3 for a blocked name, 0 for a clean one, 2 for an invalid one; JSON too', async () => {
    const blocked = await cli(['explain', 'x.evil.fraud.test']);
    expect(blocked.status, show(blocked)).toBe(3);
    expect(blocked.stdout).toContain('BLOCKED by list "fraud" (category phishing)');
    const clean = await cli(['explain', 'clean.example']);
    expect(clean.status, show(clean)).toBe(0);
    expect(clean.stdout).toContain('not listed');
    const json = await cli(['explain', 'evil.fraud.test', '--json']);
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'blocked', rule: { list: 'fraud' } });
    expect((await cli(['explain', 'bad..name'])).status).toBe(2);
  });

  it('deletes a pushed list: explain then exits 0 and DNS resolves; deleting it again exits 4', async () => {
    expect((await cli(['push', 'doomed', file('doomed.txt', 'doomed.test\n')])).status).toBe(0);
    expect((await cli(['explain', 'doomed.test'])).status).toBe(3);
    const deleted = await cli(['delete', 'doomed']);
    expect(deleted.status, show(deleted)).toBe(0);
    expect(deleted.stdout).toMatch(/^deleted list doomed, policy generation \d+\n$/);
    expect((await cli(['explain', 'doomed.test'])).status).toBe(0);
    expect(await isBlocked(fw.dnsPort, 'doomed.test')).toBe(false);
    const again = await cli(['delete', 'doomed']);
    expect(again.status, show(again)).toBe(4);
    expect(again.stderr).toContain('does not exist');
    expect((await cli(['delete', 'fraud'])).status).toBe(4); // a file list
  });

  it('reloads (exit 0) and reports the new generation', async () => {
    const before = await generation();
    const result = await cli(['reload']);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe(`reloaded, policy generation ${before + 1}\n`);
  });
});

describe('SIGHUP', () => {
  it('re-reads an edited list file (with --watch-lists false) and blocks the new entry within 2 s', async () => {
    expect((await cli(['push', 'before-hup', file('before-hup.txt', 'before-hup.test\n')])).status).toBe(0);
    appendFileSync(path.join(listsDir, 'fraud.txt'), 'hup-added.test\n');
    await sleep(600); // longer than the watcher's debounce: without SIGHUP nothing may change
    expect(await isBlocked(fw.dnsPort, 'hup-added.test')).toBe(false);
    const sentAt = performance.now();
    process.kill(fw.pid, 'SIGHUP');
    expect(await waitFor(() => isBlocked(fw.dnsPort, 'hup-added.test'), 2000, 50), 'not blocked within 2 s of SIGHUP').toBe(true);
    console.log(`[cli-admin] SIGHUP reload visible after ${Math.round(performance.now() - sentAt)} ms`);
    expect(fw.logs.some((line) => line.includes('SIGHUP: reloading'))).toBe(true);
    // Pushed lists survive the reload of file lists.
    expect(await isBlocked(fw.dnsPort, 'before-hup.test')).toBe(true);
    expect(fw.child.exitCode).toBeNull();
  });
});

/** One raw HTTP request (the path is sent exactly as given); status 0 when the connection died. */
function rawRequest(port: number, method: string, rawPath: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('the admin endpoint with a malformed path', () => {
  it('answers a bad percent-escape in a list name with 400 and keeps serving (no crash, no auth needed to try)', async () => {
    const own = await spawnServe(
      ['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', listsDir, '--state', path.join(work, 'state-malformed'), '--watch-lists', 'false', '--upstream', `127.0.0.1:${upstream.port}`],
      { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children },
    );
    const statuses: number[] = [];
    for (const [method, rawPath, token] of [
      ['GET', '/v1/lists/%E0%A4%A', undefined],
      ['DELETE', '/v1/lists/%', TEST_TOKEN],
      ['PUT', '/v1/lists/%ZZ', TEST_TOKEN],
    ] as const) {
      statuses.push(await rawRequest(own.httpPort, method, rawPath, token));
    }
    const crashed = await Promise.race([own.exited.then(() => true), sleep(300).then(() => false)]);
    const crashLog = own.logs.filter((line) => !line.startsWith('{') && line.trim() !== '').slice(0, 5).join('\n');
    expect(crashed, `fraudwall exited after a request with a malformed path:\n${crashLog}`).toBe(false);
    expect(statuses).toEqual([400, 400, 400]);
    expect(await isBlocked(own.dnsPort, 'evil.fraud.test')).toBe(true);
  });
});
