import { Resolver } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { formatHostPort, type HostPort } from '../config/host-port.js';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | { address: string; family: number }[], family?: number) => void;

/**
 * A `lookup` for net/tls/http2 connects that resolves upstream host names through the
 * bootstrap-dns servers only (plain DNS, their A then AAAA records), so that an encrypted upstream
 * given by name never depends on fraudwall itself or on the system resolver (which may point at
 * fraudwall). Called on every new connection, so a moved upstream is found on reconnect.
 */
export function bootstrapLookup(servers: readonly HostPort[]): LookupFunction {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers(servers.map((server) => formatHostPort(server)));
  const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    const literal = isIP(hostname);
    const answer = (addresses: string[], family: number): void => {
      if (options.all) callback(null, addresses.map((address) => ({ address, family })));
      else callback(null, addresses[0]!, family);
    };
    if (literal !== 0) {
      answer([hostname], literal);
      return;
    }
    resolver.resolve4(hostname, (error4, v4) => {
      if (!error4 && v4.length > 0) {
        answer(v4, 4);
        return;
      }
      resolver.resolve6(hostname, (error6, v6) => {
        if (!error6 && v6.length > 0) answer(v6, 6);
        else {
          const failure: NodeJS.ErrnoException = new Error(
            `bootstrap-dns (${servers.map((s) => formatHostPort(s)).join(', ')}) cannot resolve ${hostname}: ${(error4 ?? error6)?.code ?? 'no address'}`,
          );
          failure.code = 'ENOTFOUND';
          callback(failure, '', 0);
        }
      });
    });
  };
  return lookup as unknown as LookupFunction;
}
