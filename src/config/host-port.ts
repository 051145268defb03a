import { isIP } from 'node:net';

export interface HostPort {
  /** An IP literal, without brackets. */
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** `1.2.3.4:53`, `[::1]:53`; without a port, `defaultPort` applies when given. Returns an error text otherwise. */
export function parseHostPort(text: string, defaultPort?: number): HostPort | { error: string } {
  const trimmed = text.trim();
  let host: string;
  let portText: string | undefined;
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close < 0) return { error: `"${text}": missing "]" after the IPv6 address` };
    host = trimmed.slice(1, close);
    const rest = trimmed.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: `"${text}": expected ":PORT" after "]"` };
    portText = rest === '' ? undefined : rest.slice(1);
  } else if (isIP(trimmed) === 6) {
    host = trimmed; // bare IPv6 without a port
  } else {
    const colon = trimmed.lastIndexOf(':');
    host = colon < 0 ? trimmed : trimmed.slice(0, colon);
    portText = colon < 0 ? undefined : trimmed.slice(colon + 1);
  }
  const family = isIP(host);
  if (family === 0) return { error: `"${text}": "${host}" is not an IP address (write IPv6 as [addr]:port)` };
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return { error: `"${text}": a port is required, e.g. ${family === 6 ? `[${host}]` : host}:5300` };
    port = defaultPort;
  } else {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 0 && port <= 65535)) return { error: `"${text}": port must be a number from 0 to 65535` };
  }
  return { host, port, family: family as 4 | 6 };
}

export function formatHostPort(address: { host: string; port: number; family?: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
