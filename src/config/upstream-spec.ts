import { isIP } from 'node:net';
import { formatHostPort, parseHostPort, type HostPort } from './host-port.js';

/** A plain DNS upstream (UDP, and TCP for TCP clients and truncated answers). */
export interface PlainUpstreamSpec extends HostPort {
  readonly protocol: 'dns';
  readonly label: string;
}

/** An upstream over TLS (RFC 7858) or HTTPS (RFC 8484). */
export interface EncryptedUpstreamSpec {
  readonly protocol: 'tls' | 'https';
  /** An IP literal (without brackets) or a host name, resolved through bootstrap-dns. */
  readonly host: string;
  readonly port: number;
  /** The name its certificate must carry (and the SNI): `#NAME` for tls://, else the host. */
  readonly serverName: string;
  /** https:// only: the URL path of queries, e.g. /dns-query. */
  readonly path: string;
  /** How logs and metric labels name it: the URL as written, without a trailing slash. */
  readonly label: string;
}

export type UpstreamSpec = PlainUpstreamSpec | EncryptedUpstreamSpec;

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * `9.9.9.9`, `9.9.9.9:53`, `[2620:fe::fe]:53` (plain), `tls://HOST[:PORT][#SERVERNAME]` (port 853),
 * `https://HOST[:PORT]/PATH` (port 443, path /dns-query when none). Returns an error text otherwise.
 */
export function parseUpstream(text: string): UpstreamSpec | { error: string } {
  const trimmed = text.trim();
  const scheme = /^([a-z]+):\/\//i.exec(trimmed);
  if (scheme === null) {
    const plain = parseHostPort(trimmed, 53);
    return 'error' in plain ? plain : { ...plain, protocol: 'dns', label: formatHostPort(plain) };
  }
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'tls' && protocol !== 'https') {
    return { error: `"${text}": unknown scheme "${scheme[1]}://" (use tls://HOST[:PORT][#NAME], https://HOST[:PORT]/PATH or a plain address)` };
  }
  let url: URL;
  try {
    // WHATWG URL parsing knows ports only for special schemes; parse tls:// as https:// and then fix the default port.
    url = new URL(protocol === 'tls' ? `https://${trimmed.slice(scheme[0].length)}` : trimmed);
  } catch {
    return { error: `"${text}": not a valid URL` };
  }
  if (url.username !== '' || url.password !== '' || url.search !== '') {
    return { error: `"${text}": credentials and query strings are not supported in an upstream URL` };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) === 0 && !HOST_NAME.test(host)) return { error: `"${text}": "${host}" is neither an IP address nor a host name` };
  const defaultPort = protocol === 'tls' ? 853 : 443;
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (protocol === 'tls') {
    if (url.pathname !== '/' && url.pathname !== '') return { error: `"${text}": tls:// takes no path (write the certificate name as #NAME)` };
    const serverName = url.hash === '' ? host : decodeURIComponent(url.hash.slice(1));
    if (!HOST_NAME.test(serverName) && isIP(serverName) === 0) return { error: `"${text}": "#${serverName}" is not a host name` };
    const label = `tls://${formatHostPort({ host, port })}${url.hash === '' ? '' : `#${serverName}`}`;
    return { protocol: 'tls', host, port, serverName, path: '', label };
  }
  if (url.hash !== '') return { error: `"${text}": https:// takes no #fragment` };
  const path = url.pathname === '/' ? '/dns-query' : url.pathname;
  return { protocol: 'https', host, port, serverName: host, path, label: `https://${formatHostPort({ host, port })}${path}` };
}
