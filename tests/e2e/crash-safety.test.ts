/**
 * Crash safety of lists pushed through the admin API: `fraudwall serve` (a real child process) is
 * SIGKILLed at a random moment while lists are being pushed in a tight loop. Afterwards every state
 * file must be complete JSON, a restart on the same state directory must load only complete lists
 * (each exactly one of the contents pushed, never a mix), acknowledged pushes must survive, and
 * leftover temp files must be gone once the server is up.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { killHard, requireBuiltCli, sleep } from '../helpers/built-cli.js';
import { spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { admin, isBlocked, listLists, queryA } from './admin-helpers.js';
import { startTestServer, TEST_TOKEN, writeLists } from './harness.js';

const NAMES = ['alpha', 'bravo', 'charlie'] as const;
const SIZES = [5_000, 12_000, 23_000, 37_000, 50_000] as const;
const ROUNDS = 5;
const TAG = /^e\d+\.([a-z]+)\.n(\d+)\.crash\.test$/;

const children: ChildProcess[] = [];
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
let upstream: FakeUpstream;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Entries of a push carry their list and size, so a mix of two pushes is recognisable. */
const texts = new Map<string, string>();
function listText(name: string, size: number): string {
  const key = `${name}/${size}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = Array.from({ length: size }, (_, i) => `e${i}.${name}.n${size}.crash.test`).join('\n');
    texts.set(key, text);
  }
  return text;
}

interface Attempt {
  readonly size: number;
  acked: boolean;
}

/**
 * Sizes list `name` may hold after a crash: the last acknowledged push, or any push started after
 * it (it may have been persisted before the 200 went out); with none acknowledged, also "absent" (0).
 */
function allowedSizes(attempts: readonly Attempt[]): Set<number> {
  let lastAcked = -1;
  attempts.forEach((a, i) => {
    if (a.acked) lastAcked = i;
  });
  const allowed = new Set(attempts.slice(Math.max(lastAcked, 0)).map((a) => a.size));
  if (lastAcked < 0) allowed.add(0);
  return allowed;
}

/** Checks that a set of entries is exactly one push of (name, size). */
function checkEntries(name: string, entries: readonly string[], where: string): number {
  const sizes = new Set<number>();
  for (const entry of entries) {
    const match = TAG.exec(entry);
    if (match === null || match[1] !== name) throw new Error(`${where}: entry "${entry}" does not belong to list ${name}`);
    sizes.add(Number(match[2]));
  }
  const [size] = [...sizes];
  if (sizes.size !== 1 || size !== entries.length) {
    throw new Error(`${where}: ${entries.length} entries from pushes of sizes ${[...sizes].join(', ')}: a mix or a partial list`);
  }
  return size;
}

describe('SIGKILL while lists are being pushed', () => {
  it('leaves only complete state files; restarts load exactly the pushed lists and clean up temp files', { timeout: 55_000 }, async () => {
    const state = tempDir('fraudwall-crash-state-');
    const lists = writeLists({});
    dirs.push(lists);
    const listsDir = path.join(state, 'lists');
    const attempts = new Map<string, Attempt[]>(NAMES.map((name) => [name, []]));
    const args = ['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', lists, '--state', state, '--upstream', `127.0.0.1:${upstream.port}`];
    const env = { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN };
    const stats = { pushes: 0, acked: 0, tmpLeftovers: 0, killDelays: [] as number[] };

    /** After a restart: lists, contents and DNS answers match what was pushed; no temp files remain. */
    const verifyRestarted = async (fw: ServedProcess, round: number): Promise<void> => {
      const { lists: loaded } = await listLists(fw.httpPort, TEST_TOKEN);
      for (const info of loaded) expect(NAMES as readonly string[], `round ${round}: unexpected list ${info.name}`).toContain(info.name);
      for (const name of NAMES) {
        const info = loaded.find((l) => l.name === name);
        const allowed = allowedSizes(attempts.get(name)!);
        expect(allowed, `round ${round}: list ${name} has ${info?.entries ?? 'no'} entries`).toContain(info?.entries ?? 0);
        if (info === undefined) continue;
        expect(info.source).toBe('api');
        const detail = await admin(fw.httpPort, 'GET', `/v1/lists/${name}?entries=1`, { token: TEST_TOKEN });
        expect(detail.status).toBe(200);
        const size = checkEntries(name, detail.body['list'] as string[], `round ${round}, served list ${name}`);
        expect(await isBlocked(fw.dnsPort, `e${size - 1}.${name}.n${size}.crash.test`)).toBe(true);
      }
      expect((await queryA(fw.dnsPort, 'clean.example')).answers.map((a) => a.data)).toEqual(['192.0.2.1']);
      const leftovers = existsSync(listsDir) ? readdirSync(listsDir).filter((f) => f.endsWith('.tmp')) : [];
      expect(leftovers, `round ${round}: temp files left after start`).toEqual([]);
    };

    for (let round = 1; round <= ROUNDS; round++) {
      const fw = await spawnServe(args, { env, children });
      await verifyRestarted(fw, round);

      // Push in a tight loop, one sequential pusher per list, until the process is killed.
      let killed = false;
      const pushErrors: unknown[] = [];
      const pusher = async (name: string): Promise<void> => {
        while (!killed) {
          const size = SIZES[Math.floor(Math.random() * SIZES.length)]!;
          const attempt: Attempt = { size, acked: false };
          attempts.get(name)!.push(attempt);
          stats.pushes++;
          try {
            const reply = await admin(fw.httpPort, 'PUT', `/v1/lists/${name}?category=crash`, { token: TEST_TOKEN, body: listText(name, size), timeoutMs: 10_000 });
            if (reply.status === 200 || reply.status === 201) {
              attempt.acked = true;
              stats.acked++;
            } else if (!killed) {
              throw new Error(`PUT ${name} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
            }
          } catch (error) {
            if (!killed) throw error;
          }
        }
      };
      // Errors before the kill are collected (not left as unhandled rejections) and reported below.
      const pushers = NAMES.map((name) => pusher(name).catch((error: unknown) => void pushErrors.push(error)));
      const delay = 150 + Math.floor(Math.random() * 1200);
      stats.killDelays.push(delay);
      await sleep(delay);
      killed = true;
      await fw.kill();
      expect((await fw.exited).signal).toBe('SIGKILL');
      await Promise.all(pushers);
      expect(pushErrors.map(String), `round ${round}: pushes failed before the kill`).toEqual([]);

      // On disk right after the kill: every NAME.json is a complete list of one push.
      const files = existsSync(listsDir) ? readdirSync(listsDir) : [];
      stats.tmpLeftovers += files.filter((f) => f.endsWith('.tmp')).length;
      for (const file of files.filter((f) => f.endsWith('.json'))) {
        const name = file.slice(0, -'.json'.length);
        expect(NAMES as readonly string[]).toContain(name);
        const text = readFileSync(path.join(listsDir, file), 'utf8');
        let stored: { name: string; entries: string[] };
        try {
          stored = JSON.parse(text) as typeof stored;
        } catch (error) {
          throw new Error(`round ${round}: ${file} is not complete JSON after SIGKILL (${text.length} bytes): ${(error as Error).message}`);
        }
        expect(stored.name).toBe(name);
        const size = checkEntries(name, stored.entries, `round ${round}, ${file}`);
        expect(allowedSizes(attempts.get(name)!)).toContain(size);
      }
      // A write interrupted before its rename leaves a temp file like this one; start must remove it.
      mkdirSync(listsDir, { recursive: true });
      writeFileSync(path.join(listsDir, `.alpha.json.${round}0c0ffee0.tmp`), '{"format":1,"name":"alpha","kind":"block","entries":["e0.alpha');
    }

    // The last kill is followed by one more restart that must come up clean.
    const fw = await spawnServe(args, { env, children });
    await verifyRestarted(fw, ROUNDS + 1);
    console.log(
      `[crash-safety] ${ROUNDS} SIGKILLs after ${stats.killDelays.join(', ')} ms; ${stats.pushes} PUTs started, ${stats.acked} acknowledged; ` +
        `${stats.tmpLeftovers} temp file(s) from interrupted writes found after kills`,
    );
    expect(stats.acked).toBeGreaterThan(0);
  });

  it('skips a truncated or mislabelled state file with a warning (and refuses to start with --require-lists true)', async () => {
    const state = tempDir('fraudwall-crash-broken-');
    const lists = writeLists({});
    dirs.push(lists);
    mkdirSync(path.join(state, 'lists'), { recursive: true });
    const good = { format: 1, name: 'good', kind: 'block', category: 'crash', entries: ['good.crash.test'], updatedAt: new Date().toISOString() };
    writeFileSync(path.join(state, 'lists', 'good.json'), JSON.stringify(good));
    writeFileSync(path.join(state, 'lists', 'torn.json'), JSON.stringify({ ...good, name: 'torn', entries: ['torn.crash.test'] }).slice(0, 60));
    writeFileSync(path.join(state, 'lists', 'other.json'), JSON.stringify({ ...good, name: 'somebody-else', entries: ['other.crash.test'] }));
    const args = ['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--lists', lists, '--state', state, '--upstream', `127.0.0.1:${upstream.port}`];
    const env = { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN };

    const fw = await spawnServe(args, { env, children });
    expect((await listLists(fw.httpPort, TEST_TOKEN)).lists.map((l) => l.name)).toEqual(['good']);
    expect(await isBlocked(fw.dnsPort, 'good.crash.test')).toBe(true);
    expect(await isBlocked(fw.dnsPort, 'torn.crash.test')).toBe(false);
    expect(await isBlocked(fw.dnsPort, 'other.crash.test')).toBe(false);
    const warnings = fw.logs.filter((line) => line.includes('"warn"'));
    expect(warnings.some((line) => line.includes('torn.json'))).toBe(true);
    expect(warnings.some((line) => line.includes('other.json'))).toBe(true);
    await fw.kill();

    await expect(spawnServe([...args, '--require-lists', 'true'], { env, children, readyTimeoutMs: 10_000 })).rejects.toThrow(/exited \(1\) before ready[\s\S]*torn\.json/);
  });
});

describe('temp files of interrupted URL copy writes', () => {
  it('are removed from <state>/url at start, like those in <state>/lists', async () => {
    const state = tempDir('fraudwall-crash-url-');
    mkdirSync(path.join(state, 'url'), { recursive: true });
    mkdirSync(path.join(state, 'lists'), { recursive: true });
    // What a SIGKILL between write and rename leaves behind (same naming as writeFileAtomic).
    const urlTemp = path.join(state, 'url', '.feed.txt.0123456789ab.tmp');
    const listTemp = path.join(state, 'lists', '.alpha.json.0123456789ab.tmp');
    writeFileSync(urlTemp, 'one.feed.test\ntwo.fe');
    writeFileSync(listTemp, '{"format":1,"na');
    const port = await freePort(); // nothing listens: the URL list stays undownloaded
    const fw = await startTestServer(
      { upstream: [`127.0.0.1:${upstream.port}`], state, 'url-lists': JSON.stringify([{ name: 'feed', url: `http://127.0.0.1:${port}/feed.txt`, refresh: 3600 }]) },
      {},
      { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
    );
    cleanups.push(() => fw.close());
    expect(existsSync(listTemp)).toBe(false);
    expect(readdirSync(path.join(state, 'url')), 'temp file of an interrupted URL copy write left in place').toEqual([]);
  });
});

describe('a server that never receives a push', () => {
  it('does not create its state directory, even after reads, refused changes and a reload', async () => {
    const parent = tempDir('fraudwall-crash-nostate-');
    const state = path.join(parent, 'state');
    const fw = await startTestServer({ upstream: [`127.0.0.1:${upstream.port}`], state }, { 'fixed.txt': 'fixed.crash.test\n' }, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });
    cleanups.push(() => fw.close());

    expect(await isBlocked(fw.port, 'fixed.crash.test')).toBe(true);
    expect((await queryA(fw.port, 'clean.example')).rcode).toBe(0);
    expect((await admin(fw.httpPort, 'GET', '/v1/lists', { token: TEST_TOKEN })).status).toBe(200);
    expect((await admin(fw.httpPort, 'GET', '/v1/explain?name=fixed.crash.test', { token: TEST_TOKEN })).status).toBe(200);
    // Refused changes: invalid entries, wrong token, a file list, unknown lists.
    expect((await admin(fw.httpPort, 'PUT', '/v1/lists/new', { token: TEST_TOKEN, body: 'ok.crash.test\nhttp://x.test/path\n' })).status).toBe(400);
    expect((await admin(fw.httpPort, 'PUT', '/v1/lists/new', { token: 'wrong-token', body: 'ok.crash.test\n' })).status).toBe(403);
    expect((await admin(fw.httpPort, 'PUT', '/v1/lists/fixed', { token: TEST_TOKEN, body: 'ok.crash.test\n' })).status).toBe(409);
    expect((await admin(fw.httpPort, 'DELETE', '/v1/lists/missing', { token: TEST_TOKEN })).status).toBe(404);
    expect((await admin(fw.httpPort, 'POST', '/v1/lists/missing/entries', { token: TEST_TOKEN, body: { add: ['a.crash.test'] } })).status).toBe(404);
    expect((await admin(fw.httpPort, 'POST', '/v1/reload', { token: TEST_TOKEN })).status).toBe(200);
    await fw.close();
    expect(existsSync(state)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });
});
