// DoT and DoH listeners (issue #14): one certificate, loaded once and watched, for all of them;
// each listener feeds the same QueryHandler as plain UDP/TCP.
import { formatHostPort, type HostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { DohServer } from '../server/doh-server.js';
import type { QueryHandler } from '../server/query-handler.js';
import { TcpServer } from '../server/tcp-server.js';
import { TlsCertificates } from '../server/tls-certificates.js';
import { StartupError } from './startup-error.js';

export interface EncryptedListeners {
  readonly dot: readonly { readonly host: string; readonly port: number }[];
  readonly doh: readonly { readonly host: string; readonly port: number }[];
  close(): Promise<void>;
}

function listenError(kind: string, address: HostPort, error: unknown): StartupError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const hint =
    code === 'EADDRINUSE'
      ? `another program holds that port; stop it or pick another --${kind}`
      : code === 'EACCES'
        ? 'ports below 1024 (853, 443) need root or CAP_NET_BIND_SERVICE; grant the capability or use a higher port'
        : `check the --${kind} address`;
  return new StartupError('E_LISTEN', `cannot serve ${kind === 'dot' ? 'DNS over TLS' : 'DNS over HTTPS'} on ${formatHostPort(address)} (${code || String(error)}): ${hint}`);
}

/** Opens every --dot and --doh address, or nothing when there is none (no certificate needed then). */
export async function openEncryptedListeners(config: Config, handler: QueryHandler, metrics: Metrics, logger: Logger): Promise<EncryptedListeners | undefined> {
  if (config.dot.length === 0 && config.doh.length === 0) return undefined;
  if (config.doh.length > 0 && !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*[^/]$/.test(config.dohPath)) {
    throw new StartupError('E_CONFIG_INVALID', `--doh-path "${config.dohPath}" must be a URL path starting with "/" and not ending with "/", e.g. /dns-query`);
  }
  const certificates = await TlsCertificates.load(config, logger);
  const dot: TcpServer[] = [];
  const doh: DohServer[] = [];
  const close = async (): Promise<void> => {
    certificates.close();
    await Promise.all([...dot.splice(0), ...doh.splice(0)].map((server) => server.close()));
  };
  try {
    for (const address of config.dot) {
      const serving = {
        certificates,
        tlsHandshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
        onHandshakeFailure: () => metrics.tlsHandshakeFailures.labels('dot').inc(),
      };
      dot.push(await TcpServer.bind(address, handler, config, serving).catch((error: unknown) => Promise.reject(listenError('dot', address, error))));
    }
    for (const address of config.doh) {
      const observer = {
        rejected: (status: number) => metrics.dohRejected.labels(String(status)).inc(),
        handshakeFailure: () => metrics.tlsHandshakeFailures.labels('doh').inc(),
      };
      doh.push(await DohServer.bind(address, handler, certificates, config, observer).catch((error: unknown) => Promise.reject(listenError('doh', address, error))));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const result = {
    dot: config.dot.map((address, i) => ({ host: address.host, port: dot[i]!.port })),
    doh: config.doh.map((address, i) => ({ host: address.host, port: doh[i]!.port })),
    close,
  };
  return result;
}
