/**
 * What an operator sees when the state directory cannot be written (issue #17): a startup error
 * naming the path when list changes are enabled, and a 5xx that is logged once, with its cause and
 * a request id the response carries too, when it breaks while the server runs. The built CLI over
 * real sockets.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killHard, requireBuiltCli } from '../helpers/built-cli.js';
import { LOOPBACK_SERVE_ARGS, spawnServe } from '../helpers/served-process.js';
import { admin, runCli } from './admin-helpers.js';
import { TEST_TOKEN, writeLists } from './harness.js';

const children: ChildProcess[] = [];
let work: string;
let lists: string;

beforeAll(() => {
  requireBuiltCli();
  work = mkdtempSync(path.join(tmpdir(), 'fraudwall-state-'));
  lists = writeLists({ 'fraud.txt': 'evil.test\n' });
});
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
});
afterAll(() => {
  for (const dir of [work, lists]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A path no user can create a directory at, root included: its parent is a regular file. */
function unwritableState(): string {
  const file = path.join(work, `not-a-directory-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, '');
  return path.join(file, 'state');
}

const serveArgs = (state: string): string[] => [...LOOPBACK_SERVE_ARGS, '--lists', lists, '--state', state, '--upstream', '127.0.0.1:9'];

describe('an unwritable state directory', () => {
  it('is a startup error (exit 1, E_STATE_DIR) naming the path and the fixes, when list changes are enabled', async () => {
    const state = unwritableState();
    const started = spawnServe(serveArgs(state), { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children });
    const error = await started.then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(error).toMatch(/exited \(1\) before ready/);
    expect(error).toContain(`fraudwall: the state directory ${state} cannot be written (ENOTDIR on ${state})`);
    expect(error).toContain('make it writable by user');
    expect(error).toContain('start without an admin token to disable list changes');
    expect(error).toContain('[E_STATE_DIR]');
  });

  it('is no reason to refuse a read-only server (no admin token); with URL lists it is a warning', async () => {
    const fw = await spawnServe(
      [...serveArgs(unwritableState()), '--url-lists', JSON.stringify([{ name: 'feed', url: 'http://127.0.0.1:9/feed.txt' }])],
      { children },
    );
    const warning = fw.logEntries().find((line) => String(line['msg']).includes('cannot be written'));
    expect(warning).toMatchObject({ level: 'warn' });
    expect(String(warning!['msg'])).toContain('last good copies of URL lists will not be kept');
    expect(await fw.stop()).toMatchObject({ code: 0 });
  });
});

describe('a push that fails inside the server', () => {
  it('answers 500 with a request id, and the log has one error line with that id, the errno code and the path', async () => {
    const state = mkdtempSync(path.join(work, 'state-'));
    const fw = await spawnServe(serveArgs(state), { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, children });
    // Writable at start; then the lists directory is taken by a file, as a broken disk or a wrong
    // chown after start would do.
    writeFileSync(path.join(state, 'lists'), '');
    const reply = await admin(fw.httpPort, 'PUT', '/v1/lists/pushed', { token: TEST_TOKEN, body: 'scam.test\n' });
    expect(reply.status).toBe(500);
    const error = reply.body['error'] as { code: string; message: string; requestId: string };
    expect(error.code).toBe('E_INTERNAL');
    expect(error.requestId).toMatch(/^[0-9a-f]{12}$/);
    expect(error.message).toContain(error.requestId);
    const lines = fw.logEntries().filter((line) => line['requestId'] === error.requestId);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: expect.stringContaining('HTTP PUT /v1/lists/pushed answered 500'),
        status: 500,
        code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/),
        errno: expect.any(Number),
        file: expect.stringContaining(path.join(state, 'lists')),
      }),
    ]);
    // The CLI shows the server's message, with the id to look for.
    const push = await runCli(['push', 'pushed', '-', '--url', `http://127.0.0.1:${fw.httpPort}`], { env: { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN }, input: 'scam.test\n' });
    expect(push.status).toBe(1);
    expect(push.stderr).toMatch(/internal error; the server log has the cause under requestId [0-9a-f]{12}/);
  });
});
