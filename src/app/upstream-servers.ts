// Builds the forwarder's upstreams from --upstream (issue #14 adds tls:// and https://), with the
// settings only encrypted upstreams need: --upstream-ca and --bootstrap-dns.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { formatHostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import type { EncryptedUpstreamSpec } from '../config/upstream-spec.js';
import { bootstrapLookup } from '../upstream/bootstrap-lookup.js';
import type { UpstreamServer } from '../upstream/forwarder.js';
import { HttpsUpstream } from '../upstream/https-upstream.js';
import type { MessageIdSource } from '../upstream/message-id.js';
import { TcpUpstream } from '../upstream/tcp-upstream.js';
import { UdpUpstream } from '../upstream/udp-upstream.js';
import { StartupError } from './startup-error.js';

export type UpstreamServerOptions = Pick<Config, 'upstream' | 'upstreamCa' | 'bootstrapDns' | 'listen'>;

function readCa(file: string): Buffer {
  try {
    const ca = readFileSync(file);
    tls.createSecureContext({ ca });
    return ca;
  } catch (error) {
    throw new StartupError('E_CONFIG_INVALID', `--upstream-ca ${file} cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give a readable PEM file of CA certificates`);
  }
}

/** Refuses settings that would resolve an upstream's name through fraudwall itself, or not at all. */
function checkBootstrap(config: UpstreamServerOptions, encrypted: readonly EncryptedUpstreamSpec[]): void {
  const named = encrypted.filter((spec) => isIP(spec.host) === 0);
  if (named.length > 0 && config.bootstrapDns.length === 0) {
    throw new StartupError(
      'E_CONFIG_INVALID',
      `upstream ${named[0]!.label} is given by name: add --bootstrap-dns with plain DNS servers that resolve it (not fraudwall), or write its IP address (tls://IP#NAME)`,
    );
  }
  const own = new Set(config.listen.map((address) => formatHostPort(address)));
  const loop = config.bootstrapDns.find((address) => own.has(formatHostPort(address)));
  if (loop !== undefined) {
    throw new StartupError('E_CONFIG_INVALID', `--bootstrap-dns ${formatHostPort(loop)} is fraudwall's own --listen address: upstream names must be resolved by another server`);
  }
}

export function createUpstreamServers(config: UpstreamServerOptions, ids: MessageIdSource): UpstreamServer[] {
  const encrypted = config.upstream.filter((spec): spec is EncryptedUpstreamSpec => spec.protocol !== 'dns');
  if (encrypted.length === 0) {
    return config.upstream.map((spec) => (spec.protocol === 'dns' ? { label: spec.label, udp: new UdpUpstream(spec, ids), tcp: new TcpUpstream(spec, ids) } : never()));
  }
  checkBootstrap(config, encrypted);
  const ca = config.upstreamCa === 'off' ? undefined : readCa(config.upstreamCa);
  const lookup = config.bootstrapDns.length > 0 ? bootstrapLookup(config.bootstrapDns) : undefined;
  return config.upstream.map((spec): UpstreamServer => {
    if (spec.protocol === 'dns') return { label: spec.label, udp: new UdpUpstream(spec, ids), tcp: new TcpUpstream(spec, ids) };
    if (spec.protocol === 'https') {
      const https = new HttpsUpstream({ ...spec, ...(ca && { ca }), ...(lookup && { lookup }) });
      return { label: spec.label, udp: https, tcp: https };
    }
    const connectTls = (): tls.TLSSocket => {
      const socket = tls.connect({
        host: spec.host,
        port: spec.port,
        // No SNI for an IP literal (RFC 6066 §3); the certificate is still checked against servername.
        ...(isIP(spec.serverName) === 0 && { servername: spec.serverName }),
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(spec.serverName, cert),
        ALPNProtocols: ['dot'],
        minVersion: 'TLSv1.2' as const,
        ...(ca && { ca }),
        ...(lookup && { lookup }),
      });
      // Nagle would hold each pipelined frame back until the previous one is acknowledged.
      socket.setNoDelay(true);
      return socket;
    };
    const dot = new TcpUpstream(spec, ids, { connectTls, label: spec.label });
    return { label: spec.label, udp: dot, tcp: dot };
  });
}

function never(): never {
  throw new Error('unreachable');
}
