import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';

export interface TestServer {
  readonly server: RunningServer;
  /** DNS port on 127.0.0.1 (UDP and TCP). */
  readonly port: number;
  readonly httpPort: number;
  readonly listsDir: string;
  readonly stateDir: string;
  close(): Promise<void>;
}

/** Writes `lists` (file name → content) into a fresh directory. */
export function writeLists(lists: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-lists-'));
  for (const [file, content] of Object.entries(lists)) writeFileSync(path.join(dir, file), content);
  return dir;
}

export const TEST_LISTS: Record<string, string> = {
  'fraud.txt': '# category: phishing\nevil.fraud.test\nloan-scam.test\n*.wild.test\n',
  'fraud.allow.txt': 'ok.evil.fraud.test\n',
  'gambling.txt': '# category: gambling\n||casino.test^\n',
};

/** The admin token the e2e suites configure (through the environment, as an operator would). */
export const TEST_TOKEN = 'test-token-0123456789abcdef';

/**
 * Starts fraudwall in this process, exactly as `fraudwall serve` composes it, on 127.0.0.1 port 0
 * for DNS and HTTP. `flags` are command-line style values; the environment is not consulted.
 */
export async function startTestServer(
  flags: Record<string, string | string[]>,
  lists: Record<string, string> = TEST_LISTS,
  env: Record<string, string> = {},
): Promise<TestServer> {
  // A caller that passes its own lists or state directory keeps it (e.g. across a restart).
  const ownLists = typeof flags['lists'] !== 'string';
  const ownState = typeof flags['state'] !== 'string';
  const listsDir = ownLists ? writeLists(lists) : (flags['lists'] as string);
  const stateDir = ownState ? mkdtempSync(path.join(tmpdir(), 'fraudwall-state-')) : (flags['state'] as string);
  const config = loadConfig({
    flags: { listen: ['127.0.0.1:0'], http: '127.0.0.1:0', lists: listsDir, state: stateDir, ...flags },
    env: {},
  });
  const server = await startServer(config, silentLogger, env);
  return {
    server,
    port: server.listeners[0]!.port,
    httpPort: server.http.port,
    listsDir,
    stateDir,
    async close() {
      await server.close();
      if (ownLists) rmSync(listsDir, { recursive: true, force: true });
      if (ownState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
