import { BlockList, isIP } from 'node:net';
import { PRIVATE_CLIENT_RANGES } from '../config/options.js';
import { parseCidr } from '../config/ip-address.js';
import { FraudwallError } from '../errors.js';

const PRIVATE = new BlockList();
for (const cidr of PRIVATE_CLIENT_RANGES) {
  const parsed = parseCidr(cidr);
  if (!('error' in parsed)) PRIVATE.addSubnet(parsed.address, parsed.prefix, parsed.family);
}

/** Loopback, RFC 1918, CGNAT, link-local or ULA: where plain http does not cross the internet. */
function isLocalHost(host: string): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && PRIVATE.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks --events-url: http or https with a host; plain http only to a loopback or private
 * address (events name people's clients and the fraud sites they were sent to), unless the
 * operator says --events-allow-insecure. A host name over http is refused: it could resolve anywhere.
 */
export function parseEventsUrl(text: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FraudwallError('E_EVENTS_URL', `--events-url ${JSON.stringify(text)} is not a URL; give e.g. https://alerts.example.org/fraudwall`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FraudwallError('E_EVENTS_URL', `--events-url must be https:// or http://, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new FraudwallError('E_EVENTS_URL', '--events-url must not carry a user or password: events are authenticated by their signature');
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLocalHost(url.hostname)) {
    throw new FraudwallError(
      'E_EVENTS_URL',
      `--events-url ${url.origin} is plain http to a public or named host: events would cross networks unencrypted. ` +
        'Use https://, an IP address on a loopback or private network, or add --events-allow-insecure',
    );
  }
  return url;
}
