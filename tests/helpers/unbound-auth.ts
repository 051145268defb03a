/**
 * A real Unbound on 127.0.0.1 resolving from authoritative zones of our own (`auth-zone`,
 * for-upstream only), so its iterator follows CNAME and DNAME chains across zones the way a
 * recursive resolver does (local-data never follows a CNAME). No zone ever asks the internet: every
 * name the tests query, and every target they chain to, lies in one of the zones given.
 * Optionally an `rpz:` zone with `module-config: "respip iterator"` (Unbound's own RPZ engine).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { buildQuery, decode, udpQuery } from './dns-client.js';
import { findTool } from './require-tool.js';
import { unboundServerBase } from './unbound.js';

export interface AuthZone {
  /** Zone apex without trailing dot, e.g. 'cloak.test'. */
  readonly name: string;
  /** Zone-file text (with its SOA). */
  readonly text: string;
}

export interface AuthUnbound {
  readonly port: number;
  stderr(): string;
  stop(): Promise<void>;
}

export interface AuthUnboundOpts {
  readonly zones: readonly AuthZone[];
  /** An RPZ zone file served by Unbound's rpz module (respip iterator). */
  readonly rpz?: string;
  /** A name that answers once Unbound is ready (type A). */
  readonly readyName: string;
}

export function authUnboundConfig(port: number, dir: string, opts: AuthUnboundOpts): string {
  const lines = [
    ...unboundServerBase(port, dir),
    `    module-config: "${opts.rpz === undefined ? 'iterator' : 'respip iterator'}"`,
    '    do-not-query-localhost: no',
    // Unbound answers test. and invalid. locally unless told otherwise.
    '    local-zone: "test." nodefault',
    '    local-zone: "invalid." nodefault',
    '    qname-minimisation: no',
    '    minimal-responses: yes',
  ];
  for (const zone of opts.zones) {
    lines.push('auth-zone:', `    name: "${zone.name}."`, `    zonefile: "${zone.name}.zone"`, '    for-downstream: no', '    for-upstream: yes', '    fallback-enabled: no');
  }
  if (opts.rpz !== undefined) lines.push('rpz:', '    name: "rpz.fraudwall.test."', '    zonefile: "policy.rpz"', '    rpz-log: no');
  lines.push('');
  return lines.join('\n');
}

export async function startAuthUnbound(opts: AuthUnboundOpts): Promise<AuthUnbound> {
  const bin = findTool('unbound');
  if (bin === null) throw new Error("startAuthUnbound: 'unbound' is not installed (apt-get install unbound)");
  const daemon = await startDaemon({
    name: 'unbound-auth',
    bin,
    configure: async (dir, port) => {
      for (const zone of opts.zones) await writeFile(join(dir, `${zone.name}.zone`), zone.text);
      if (opts.rpz !== undefined) await writeFile(join(dir, 'policy.rpz'), opts.rpz);
      await writeFile(join(dir, 'unbound.conf'), authUnboundConfig(port, dir, opts));
      return ['-d', '-c', join(dir, 'unbound.conf')];
    },
    ready: async (port) => {
      const reply = decode(await udpQuery(port, buildQuery(opts.readyName, 'A'), { timeoutMs: 300 }));
      return reply.rcode === 0 || reply.rcode === 3;
    },
    readyTimeoutMs: 8000,
    pollMs: 50,
    portTaken: /address already in use|could not open ports/i,
  });
  return { port: daemon.port, stderr: daemon.output, stop: daemon.stop };
}
