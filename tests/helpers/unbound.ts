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
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { buildQuery, decode, udpQuery } from './dns-client.js';
import { findTool } from './require-tool.js';

export interface UnboundHandle {
  port: number;
  /** The generated unbound.conf (for unbound-checkconf or debugging). */
  configPath: string;
  /** stdout and stderr so far (the last 20,000 characters). */
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

/**
 * local-data value in single quotes, so embedded double quotes (TXT) survive; a single quote inside the record
 * becomes the zone-file escape \039 (unbound's config lexer has no escapes of its own).
 */
function localData(record: string): string {
  if (/[\r\n]/.test(record)) throw new Error(`startUnbound: record contains a line break: ${JSON.stringify(record)}`);
  return `local-data: '${record.replaceAll("'", '\\039')}'`;
}

/**
 * The `server:` clause every test Unbound starts with: IPv4 on 127.0.0.1:`port` only, no user,
 * chroot, pid file or syslog, one thread, files under `dir`. Shared with unbound-auth.ts.
 */
export function unboundServerBase(port: number, dir: string): string[] {
  return [
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
    '    access-control: 127.0.0.0/8 allow',
    '    num-threads: 1',
    '    so-reuseport: no',
  ];
}

export function unboundConfig(port: number, dir: string, opts: StartUnboundOpts = {}): string {
  const lines = [
    ...unboundServerBase(port, dir),
    '    log-time-ascii: yes',
    '    module-config: "iterator"',
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
  const daemon = await startDaemon({
    name: 'unbound',
    bin,
    configure: async (dir, port) => {
      await writeFile(join(dir, 'unbound.conf'), unboundConfig(port, dir, opts));
      return ['-d', '-c', join(dir, 'unbound.conf')];
    },
    // Ready when it answers a local name.
    ready: async (port) => {
      const reply = decode(await udpQuery(port, buildQuery('www.example.test', 'A'), { timeoutMs: 200 }));
      return reply.rcode === 0 && reply.answers.length > 0;
    },
    readyTimeoutMs: 5000,
    pollMs: 50,
    portTaken: /address already in use|could not open ports/i,
  });
  return { port: daemon.port, configPath: join(daemon.dir, 'unbound.conf'), stderr: daemon.output, stop: daemon.stop };
}
