/**
 * A real Unbound on 127.0.0.1 serving only local data (no internet, no recursion, no DNSSEC validation).
 *
 * Zones (all `static`, each with an SOA so negative answers carry one, RFC 2308):
 *   example.test.  www A 192.0.2.10, www AAAA 2001:db8::10, mail MX 10 mx.example.test., alias CNAME www,
 *                  txt TXT "hello world", big: 30 TXT records of 100 bytes (> 1232 bytes: UDP gets TC=1)
 *   example.org.   www A 192.0.2.20
 *   fraud.test.    shop A 192.0.2.66, evil A 192.0.2.67, ok.evil A 192.0.2.68
 *   .              static: every other name is NXDOMAIN at once (never leaves the machine)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decode, udpQuery } from './dns-client.js';
import { freePort } from './ports.js';
import { findTool } from './require-tool.js';

export interface UnboundHandle {
  port: number;
  /** The generated unbound.conf (for unbound-checkconf or debugging). */
  configPath: string;
  /** stderr collected so far. */
  stderr(): string;
  stop(): Promise<void>;
}

export interface StartUnboundOpts {
  /** Extra local-data lines in zone-file syntax, e.g. `'extra.example.test. 60 IN A 192.0.2.99'`. */
  records?: string[];
  /** Extra raw `server:` lines (e.g. `'ede: yes'`). */
  serverLines?: string[];
}

/** 30 TXT strings of 100 bytes each: about 3.5 KB of answer. */
export const BIG_TXT_COUNT = 30;
export const bigTxtStrings: string[] = Array.from({ length: BIG_TXT_COUNT }, (_, i) => `big-${String(i).padStart(2, '0')}-`.padEnd(100, 'x'));

export const DEFAULT_RECORDS: readonly string[] = [
  'example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 900 604800 60',
  'www.example.test. 300 IN A 192.0.2.10',
  'www.example.test. 300 IN AAAA 2001:db8::10',
  'mail.example.test. 300 IN MX 10 mx.example.test.',
  'alias.example.test. 300 IN CNAME www.example.test.',
  'txt.example.test. 300 IN TXT "hello world"',
  ...bigTxtStrings.map((s) => `big.example.test. 300 IN TXT "${s}"`),
  'example.org. 3600 IN SOA ns.example.org. hostmaster.example.org. 1 3600 900 604800 60',
  'www.example.org. 300 IN A 192.0.2.20',
  'fraud.test. 3600 IN SOA ns.fraud.test. hostmaster.fraud.test. 1 3600 900 604800 60',
  'shop.fraud.test. 300 IN A 192.0.2.66',
  'evil.fraud.test. 300 IN A 192.0.2.67',
  'ok.evil.fraud.test. 300 IN A 192.0.2.68',
];

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

/**
 * local-data value in single quotes, so embedded double quotes (TXT) survive; a single quote inside the record
 * becomes the zone-file escape \039 (unbound's config lexer has no escapes of its own).
 */
function localData(record: string): string {
  if (/[\r\n]/.test(record)) throw new Error(`startUnbound: record contains a line break: ${JSON.stringify(record)}`);
  return `local-data: '${record.replaceAll("'", '\\039')}'`;
}

export function unboundConfig(port: number, dir: string, opts: StartUnboundOpts = {}): string {
  const lines = [
    'server:',
    '    interface: 127.0.0.1',
    `    port: ${port}`,
    '    do-ip4: yes',
    '    do-ip6: no',
    '    do-udp: yes',
    '    do-tcp: yes',
    '    username: ""',
    '    chroot: ""',
    `    directory: "${dir}"`,
    '    pidfile: ""',
    '    use-syslog: no',
    '    logfile: ""',
    '    verbosity: 0',
    '    log-time-ascii: yes',
    '    access-control: 127.0.0.0/8 allow',
    '    num-threads: 1',
    '    module-config: "iterator"',
    '    so-reuseport: no',
    '    local-zone: "." static',
    '    local-zone: "example.test." static',
    '    local-zone: "example.org." static',
    '    local-zone: "fraud.test." static',
    ...(opts.serverLines ?? []).map((l) => `    ${l}`),
    ...[...DEFAULT_RECORDS, ...(opts.records ?? [])].map((r) => `    ${localData(r)}`),
    '',
  ];
  return lines.join('\n');
}

export async function startUnbound(opts: StartUnboundOpts = {}): Promise<UnboundHandle> {
  const bin = findTool('unbound');
  if (bin === null) throw new Error("startUnbound: 'unbound' is not installed (apt-get install unbound)");
  installExitHook();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'fraudwall-unbound-'));
    try {
      return await startOnce(bin, dir, opts);
    } catch (err) {
      lastError = err as Error;
      await rm(dir, { recursive: true, force: true });
      // Retry only when the port was taken between freePort() and unbound's bind.
      if (!/address already in use|could not open ports/i.test(lastError.message)) break;
    }
  }
  throw lastError ?? new Error('startUnbound failed');
}

async function startOnce(bin: string, dir: string, opts: StartUnboundOpts): Promise<UnboundHandle> {
  const port = await freePort();
  const configPath = join(dir, 'unbound.conf');
  await writeFile(configPath, unboundConfig(port, dir, opts));
  const child = spawn(bin, ['-d', '-c', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      children.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      stderr += `\nspawn error: ${err.message}`;
      exited = { code: -1, signal: null };
      children.delete(child);
      resolve();
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (exited === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exitPromise;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    }
  };

  // Ready when it answers a local name (poll for up to 5 s).
  const deadline = Date.now() + 5000;
  for (;;) {
    if (exited !== null) {
      await stop();
      const e = exited as { code: number | null; signal: NodeJS.Signals | null };
      throw new Error(`unbound exited early (code ${e.code}, signal ${e.signal}):\n${stderr}`);
    }
    try {
      const reply = decode(await udpQuery(port, buildQuery('www.example.test', 'A'), { timeoutMs: 200 }));
      if (reply.rcode === 0 && reply.answers.length > 0) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`unbound did not answer on 127.0.0.1#${port} within 5 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return { port, configPath, stderr: () => stderr, stop };
}
