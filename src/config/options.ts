// The one table of `fraudwall serve` settings. Everything else is derived from it: the Config type
// (each key in camelCase), the command-line flags, the config-file keys, the FRAUDWALL_* variables,
// `--help` and the README table (a test compares them). A component takes its section of Config
// under the same names (e.g. `Pick<Config, 'rateLimit' | 'rateLimitBurst'>`), never a renamed copy.
import { fileURLToPath } from 'node:url';
import type { RuleKind } from '../query/rule.js';
import type { HostPort } from './host-port.js';
import type { UpstreamSpec } from './upstream-spec.js';

/** The lists shipped with the package: <package>/blocklists, from both src/config and dist/config. */
export const SHIPPED_LISTS_DIR = fileURLToPath(new URL('../../blocklists', import.meta.url));

/** Default allow-list: loopback, RFC 1918, CGNAT, link-local and ULA; never the whole internet. */
export const PRIVATE_CLIENT_RANGES: readonly string[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

export type OptionKind =
  | 'string'
  | 'text'
  | 'path'
  | 'paths'
  | 'int'
  | 'bool'
  | 'enum'
  | 'address'
  | 'address-or-off'
  | 'addresses'
  | 'upstreams'
  | 'cidrs'
  | 'url-lists'
  | 'groups';

/**
 * One setting of `fraudwall serve`. The key is the same everywhere: `--key` on the command line,
 * `key:` in the config file, `FRAUDWALL_KEY` (upper snake case) in the environment.
 */
export interface OptionSpec {
  readonly key: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** Default as it would be written in a config file. */
  readonly default: string | number | boolean | readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** For address options: the port used when none is written. */
  readonly defaultPort?: number;
  /** What `--help` shows for the value, when the kind's own word would mislead (e.g. ADDR for an IP kept as text). */
  readonly metavar?: string;
}

export const SERVE_OPTIONS = [
  {
    key: 'listen',
    kind: 'addresses',
    description: 'address to serve DNS on, UDP and TCP (repeatable)',
    default: ['127.0.0.1:5300', '[::1]:5300'],
  },
  {
    key: 'upstream',
    kind: 'upstreams',
    description:
      'upstream resolver to forward clean queries to, in failover order (repeatable): IP[:PORT] (port 53), tls://HOST[:PORT][#NAME] (853), https://HOST[:PORT]/PATH (443)',
    default: ['9.9.9.9:53', '149.112.112.112:53'],
    defaultPort: 53,
  },
  { key: 'lists', kind: 'path', description: 'directory of blocklists (*.txt, *.hosts, *.list)', default: SHIPPED_LISTS_DIR },
  { key: 'http', kind: 'address', description: 'address of /healthz, /readyz, /metrics and the /v1 admin API', default: '127.0.0.1:8053' },
  {
    key: 'block-mode',
    kind: 'enum',
    values: ['nxdomain', 'null', 'refused', 'sinkhole'],
    description: 'answer for blocked names (sinkhole: the --sinkhole-ipv4/-ipv6 addresses, where a warning page can be served)',
    default: 'nxdomain',
  },
  { key: 'block-ttl', kind: 'int', min: 0, max: 86400, description: 'TTL in seconds of block answers', default: 60 },
  {
    key: 'query-timeout-ms',
    kind: 'int',
    min: 100,
    max: 30000,
    description: 'deadline for one query: SERVFAIL if no upstream answered by then',
    default: 2500,
  },
  {
    key: 'upstream-timeout-ms',
    kind: 'int',
    min: 50,
    max: 30000,
    description: 'wait for one upstream before trying the next',
    default: 1000,
  },
  {
    key: 'upstream-strategy',
    kind: 'enum',
    values: ['failover', 'fastest'],
    description: 'failover: in order, sticking to the last one that answered; fastest: lowest smoothed latency first',
    default: 'failover',
  },
  {
    key: 'edns-udp-size',
    kind: 'int',
    min: 512,
    max: 4096,
    description: 'EDNS UDP payload size fraudwall advertises and forwards',
    default: 1232,
  },
  {
    key: 'verdict-cache-size',
    kind: 'int',
    min: 1,
    max: 10_000_000,
    description: 'names whose policy verdict is kept in the LRU',
    default: 100_000,
  },
  { key: 'cache-size', kind: 'int', min: 0, max: 10_000_000, description: 'answers kept in the response cache (0 disables it)', default: 100_000 },
  {
    key: 'cache-max-bytes',
    kind: 'int',
    min: 65536,
    max: 16 * 1024 * 1024 * 1024,
    description: 'memory the response cache may use, in bytes',
    default: 64 * 1024 * 1024,
  },
  { key: 'cache-min-ttl', kind: 'int', min: 0, max: 86400, description: 'keep answers at least this many seconds', default: 0 },
  { key: 'cache-max-ttl', kind: 'int', min: 1, max: 604800, description: 'keep answers at most this many seconds', default: 86400 },
  {
    key: 'cache-max-negative-ttl',
    kind: 'int',
    min: 0,
    max: 86400,
    description: 'keep NXDOMAIN/NODATA answers at most this many seconds (they last min(SOA TTL, SOA MINIMUM) otherwise)',
    default: 3600,
  },
  {
    key: 'serve-stale-seconds',
    kind: 'int',
    min: 0,
    max: 604800,
    description: 'serve an expired answer (TTL 30, EDE 3) up to this long past expiry when upstreams fail (0 disables)',
    default: 86400,
  },
  {
    key: 'stale-answer-timeout-ms',
    kind: 'int',
    min: 0,
    max: 30000,
    description: 'with a stale answer at hand, use it if the upstream has not answered after this long',
    default: 1800,
  },
  { key: 'prefetch', kind: 'bool', description: 'refresh popular cache entries shortly before they expire', default: true },
  {
    key: 'allow-clients',
    kind: 'cidrs',
    description: 'client networks allowed to query (repeatable; replaces the default private ranges)',
    default: PRIVATE_CLIENT_RANGES,
  },
  {
    key: 'disallowed-clients',
    kind: 'enum',
    values: ['refuse', 'drop'],
    description: 'what clients outside allow-clients get: REFUSED, or no answer at all',
    default: 'refuse',
  },
  {
    key: 'rate-limit',
    kind: 'int',
    min: 0,
    max: 10_000_000,
    description: 'UDP queries per second allowed per client prefix (0 = no limit)',
    default: 1000,
  },
  { key: 'rate-limit-burst', kind: 'int', min: 1, max: 10_000_000, description: 'queries a prefix may send at once above the rate', default: 2000 },
  { key: 'rate-limit-ipv4-prefix', kind: 'int', min: 8, max: 32, description: 'IPv4 prefix length that shares one rate-limit bucket', default: 24 },
  { key: 'rate-limit-ipv6-prefix', kind: 'int', min: 16, max: 128, description: 'IPv6 prefix length that shares one rate-limit bucket', default: 56 },
  {
    key: 'rate-limit-action',
    kind: 'enum',
    values: ['truncate', 'drop'],
    description: 'over the limit: answer TC=1 (real clients retry over TCP) or drop',
    default: 'truncate',
  },
  { key: 'rate-limit-loopback', kind: 'bool', description: 'rate-limit loopback clients too', default: false },
  {
    key: 'workers',
    kind: 'int',
    min: 1,
    max: 64,
    description:
      'processes serving DNS on the shared listen sockets (node:cluster); with more than 1, a primary process keeps the lists, admin API and /metrics, and the cache and in-flight limits are split among the workers',
    default: 1,
  },
  {
    key: 'max-in-flight',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'queries waiting for an upstream at once; beyond this new ones get SERVFAIL at once (load shedding)',
    default: 10_000,
  },
  {
    key: 'tcp-idle-timeout-ms',
    kind: 'int',
    min: 1000,
    max: 300_000,
    description: 'close an idle DNS-over-TCP connection after this long',
    default: 10_000,
  },
  {
    key: 'tcp-max-connections',
    kind: 'int',
    min: 1,
    max: 100_000,
    description: 'simultaneous DNS-over-TCP connections per listen address',
    default: 1000,
  },
  {
    key: 'tcp-max-connections-per-client',
    kind: 'int',
    min: 1,
    max: 100_000,
    description: 'simultaneous DNS-over-TCP connections per client address',
    default: 32,
  },
  {
    key: 'tcp-max-in-flight',
    kind: 'int',
    min: 1,
    max: 65_535,
    description: 'unanswered queries per TCP connection before reading pauses',
    default: 100,
  },
  {
    key: 'tcp-query-read-timeout-ms',
    kind: 'int',
    min: 100,
    max: 120_000,
    description: 'a TCP query must arrive whole within this long of its first byte',
    default: 5000,
  },
  {
    key: 'local-zones',
    kind: 'bool',
    description: 'answer localhost, private reverse zones (RFC 6303), home.arpa, local, invalid, onion locally',
    default: true,
  },
  {
    key: 'block-doh-canaries',
    kind: 'bool',
    description: 'answer NXDOMAIN for browser DoH canaries (use-application-dns.net, mask.icloud.com)',
    default: true,
  },
  {
    key: 'state',
    kind: 'path',
    description: 'directory for lists pushed through the admin API and last good copies of URL lists (created on first use)',
    default: './state',
  },
  {
    key: 'admin-token-file',
    kind: 'path',
    description: 'file holding the admin API bearer token (or set FRAUDWALL_ADMIN_TOKEN); without one, list changes are disabled',
    default: 'off',
  },
  {
    key: 'admin-max-body-bytes',
    kind: 'int',
    min: 1024,
    max: 1024 * 1024 * 1024,
    description: 'largest admin API request body',
    default: 64 * 1024 * 1024,
  },
  {
    key: 'admin-max-entries',
    kind: 'int',
    min: 1,
    max: 50_000_000,
    description: 'most entries one list pushed through the admin API may hold',
    default: 5_000_000,
  },
  {
    key: 'watch-lists',
    kind: 'bool',
    description: 'reload list files when the lists directory changes',
    default: true,
  },
  {
    key: 'require-lists',
    kind: 'bool',
    description: 'fail closed: exit at start if any list file, stored list or URL list cannot be loaded',
    default: false,
  },
  {
    key: 'url-lists',
    kind: 'url-lists',
    description: 'lists downloaded on a schedule: [{name, url, category?, kind?, refresh? (seconds)}] (JSON in env/flag)',
    default: [],
  },
  {
    key: 'url-min-valid-percent',
    kind: 'int',
    min: 1,
    max: 100,
    description: 'a downloaded list with a smaller share of usable lines is rejected and the last good copy kept',
    default: 50,
  },
  // Fleet: list state shared through Redis (issue #15).
  {
    key: 'redis',
    kind: 'string',
    description: 'share lists pushed through the admin API with every instance using this Redis: redis://[user:pass@]host:port/db or rediss:// (TLS); "off" for none',
    default: 'off',
  },
  {
    key: 'redis-file',
    kind: 'path',
    description: 'file holding the Redis URL, so its password stays out of the process list and the environment',
    default: 'off',
  },
  {
    key: 'redis-key-prefix',
    kind: 'string',
    description: 'prefix of every Redis key fraudwall writes (fleets sharing one Redis use different prefixes)',
    default: 'fraudwall',
  },
  {
    key: 'redis-share-url-lists',
    kind: 'bool',
    description: 'one instance (holding a Redis lease) downloads each URL list and publishes it; the others take it from Redis',
    default: false,
  },
  {
    key: 'query-log',
    kind: 'path',
    description: 'write one NDJSON line per query to FILE (appended), "-" for stdout, "off" for none',
    default: 'off',
  },
  {
    key: 'query-log-anonymize',
    kind: 'bool',
    description: 'log client addresses truncated to /24 (IPv4) and /48 (IPv6)',
    default: false,
  },
  {
    key: 'query-log-blocked-only',
    kind: 'bool',
    description: 'log only blocked queries',
    default: false,
  },
  // Early-warning events (issue #12, part B): src/events/, wired in app/data-plane.ts.
  {
    key: 'events-url',
    kind: 'string',
    description: 'send one signed CloudEvent per blocked lookup to this https:// (or loopback/private http://) URL; "off" for none',
    default: 'off',
  },
  {
    key: 'events-secret-file',
    kind: 'path',
    description: 'file with the Standard Webhooks secret(s), whsec_ + base64, one per line (several = rotation; or set FRAUDWALL_EVENTS_SECRET)',
    default: 'off',
  },
  {
    key: 'events-client',
    kind: 'enum',
    values: ['anonymized', 'full', 'none'],
    description: 'client address in events: its /24 or /48, the full address, or none',
    default: 'anonymized',
  },
  {
    key: 'events-dedupe',
    kind: 'int',
    min: 0,
    max: 86400,
    description: 'seconds during which one client looking up one registrable domain again is one event (0 = every lookup)',
    default: 600,
  },
  { key: 'events-allow-insecure', kind: 'bool', description: 'accept a plain http:// events URL on a public address', default: false },
  { key: 'events-batch-size', kind: 'int', min: 1, max: 1000, description: 'most events per delivered batch', default: 100 },
  {
    key: 'events-batch-ms',
    kind: 'int',
    min: 10,
    max: 1000,
    description: 'a batch leaves at most this many milliseconds after its first event',
    default: 1000,
  },
  { key: 'events-rate', kind: 'int', min: 1, max: 100_000, description: 'events per second for the whole server (beyond: dropped and counted)', default: 200 },
  {
    key: 'events-client-rate',
    kind: 'int',
    min: 1,
    max: 100_000,
    description: 'events per minute for one client address (beyond: dropped and counted)',
    default: 60,
  },
  { key: 'events-timeout-ms', kind: 'int', min: 100, max: 120_000, description: 'one delivery attempt gives up after this long', default: 10_000 },
  {
    key: 'events-retry-max-ms',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    description: 'longest wait between delivery attempts (exponential backoff with jitter from 500 ms)',
    default: 60_000,
  },
  {
    key: 'events-spool-max-bytes',
    kind: 'int',
    min: 65536,
    max: 16 * 1024 * 1024 * 1024,
    description: 'disk the undelivered events may take under STATE/events (beyond: the oldest are dropped and counted)',
    default: 256 * 1024 * 1024,
  },
  { key: 'events-instance', kind: 'string', description: 'instance name in events (empty: the host name)', default: '' },
  // Issue #12 (part A): sinkhole answers, the warning page, and block answers that carry the hotline.
  {
    key: 'sinkhole-ipv4',
    kind: 'text',
    metavar: 'IPV4',
    description: 'with block-mode sinkhole: the IPv4 address blocked A questions get ("" = NODATA for A)',
    default: '',
  },
  {
    key: 'sinkhole-ipv6',
    kind: 'text',
    metavar: 'IPV6',
    description: 'with block-mode sinkhole: the IPv6 address blocked AAAA questions get ("" = NODATA for AAAA)',
    default: '',
  },
  {
    key: 'warning-page',
    kind: 'address-or-off',
    description: 'serve the warning page over HTTP on this address (typically the sinkhole address, port 80); off by default',
    default: 'off',
    defaultPort: 80,
  },
  {
    key: 'warning-page-template',
    kind: 'path',
    description: 'YAML or JSON file overriding the warning page texts per language (en, zh); "off" keeps the built-in texts',
    default: 'off',
  },
  {
    key: 'hotline',
    kind: 'text',
    metavar: 'URI',
    description: 'anti-fraud hotline as a URI (tel:96110, or https:, mailto:, sips:), shown on the warning page, in EDE texts and SDE contacts',
    default: '',
  },
  {
    key: 'operator',
    kind: 'text',
    description: 'name of the organisation running this resolver, shown on the warning page and in SDE answers',
    default: '',
  },
  {
    key: 'ede-text',
    kind: 'text',
    description: 'EDE 15 text of block answers, with {list} {category} {reason} {hotline}; "" = the built-in text (plus the hotline when set)',
    default: '',
  },
  {
    key: 'sde-option-code',
    kind: 'int',
    min: 0,
    max: 65535,
    description: 'EDNS option code that asks for Structured DNS Errors (draft-ietf-dnsop-structured-dns-error); 0 = off',
    default: 0,
  },
  // Encrypted DNS (issue #14): DoT and DoH serving, their certificate, and encrypted upstreams.
  {
    key: 'dot',
    kind: 'addresses',
    description: 'address to serve DNS over TLS on (RFC 7858; 853 is the standard port; repeatable; off when none)',
    default: [],
  },
  {
    key: 'doh',
    kind: 'addresses',
    description: 'address to serve DNS over HTTPS on, HTTP/2 and HTTP/1.1 (RFC 8484; repeatable; off when none)',
    default: [],
  },
  { key: 'doh-path', kind: 'string', description: 'URL path of DoH queries; a further path segment names the client', default: '/dns-query' },
  { key: 'tls-cert', kind: 'path', description: 'PEM certificate chain (leaf first) for DoT and DoH; reloaded when the file changes', default: 'off' },
  { key: 'tls-key', kind: 'path', description: 'PEM private key of tls-cert; reloaded when the file changes', default: 'off' },
  {
    key: 'tls-self-signed',
    kind: 'bool',
    description: 'for trying DoT/DoH out only: without tls-cert, make a throwaway self-signed certificate (needs openssl)',
    default: false,
  },
  {
    key: 'tls-handshake-timeout-ms',
    kind: 'int',
    min: 100,
    max: 60_000,
    description: 'a DoT or DoH client must finish its TLS handshake within this long',
    default: 5000,
  },
  {
    key: 'upstream-ca',
    kind: 'path',
    description: 'PEM CA certificates that tls:// and https:// upstreams are verified against (instead of the system store)',
    default: 'off',
  },
  {
    key: 'bootstrap-dns',
    kind: 'addresses',
    description: 'plain DNS servers that resolve the host names of tls:// and https:// upstreams (never fraudwall itself)',
    default: [],
    defaultPort: 53,
  },
  // Lookalike detection of protected domains (#13).
  {
    key: 'protect',
    kind: 'paths',
    metavar: 'FILE|DIR',
    description: 'protect list file or directory: registrable domains whose lookalikes are caught (repeatable; also *.protect.txt in the lists directory)',
    default: [],
  },
  {
    key: 'lookalike',
    kind: 'enum',
    values: ['observe', 'block', 'off'],
    description: 'names imitating a protected domain: observe (count and log), block, or off',
    default: 'observe',
  },
  { key: 'protect-tld-swaps', kind: 'bool', description: 'also flag a protected name under another public suffix (paypal.com.co)', default: false },
  {
    key: 'protect-embedded',
    kind: 'bool',
    description: 'also flag a protected label of 7+ letters inside a longer label (binancebonus.net): catches more real phishing, and more fan and news sites',
    default: false,
  },
  {
    key: 'log-level',
    kind: 'enum',
    values: ['debug', 'info', 'warn', 'error'],
    description: 'lowest level of log lines written to stderr',
    default: 'info',
  },
  // Issue #11: answer inspection (CNAME cloaking, answer-IP rules).
  {
    key: 'inspect-answers',
    kind: 'bool',
    description: 'judge CNAME/DNAME/SVCB targets and answer addresses of upstream answers by the lists (block cloaked names)',
    default: true,
  },
  // Per-client policy groups (issue #14, part 4): src/policy/client-groups.ts, selected in server/query-handler.ts.
  {
    key: 'groups',
    kind: 'groups',
    description: 'per-client policy groups (config file): [{name, clients: [CIDR|address|client name], lists?: [list names], block-mode?}]; a change needs a restart',
    default: [],
  },
] as const satisfies readonly OptionSpec[];

export function envName(key: string): string {
  return `FRAUDWALL_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** One list downloaded on a schedule (`url-lists`). */
export interface UrlListSpec {
  readonly name: string;
  readonly url: string;
  readonly category: string;
  readonly kind: RuleKind;
  readonly refreshSeconds: number;
  /** 'rpz': the body is a response-policy zone (default when the URL path ends in .rpz or .rpz.txt). */
  readonly format: ListFormat;
}

/** One per-client policy group (`groups`). */
export interface GroupSpec {
  readonly name: string;
  /** CIDRs, exact addresses (as /32 or /128) and client names (DoH path suffix, DoT SNI label), as written. */
  readonly clients: readonly string[];
  /** Names of the lists (block and allow) this group applies; undefined = every list. */
  readonly lists: readonly string[] | undefined;
  /** This group's answer for blocked names; undefined = the global block-mode. */
  readonly blockMode: 'nxdomain' | 'null' | 'refused' | 'sinkhole' | undefined;
}

/** How a list's text is written: list lines (plain, hosts, adblock, addresses) or an RPZ zone. */
export type ListFormat = 'list' | 'rpz';

/** What each kind of option holds once converted. */
interface KindValues {
  string: string;
  text: string;
  path: string;
  paths: readonly string[];
  int: number;
  bool: boolean;
  address: HostPort;
  'address-or-off': HostPort | undefined;
  addresses: readonly HostPort[];
  upstreams: readonly UpstreamSpec[];
  cidrs: readonly string[];
  'url-lists': readonly UrlListSpec[];
  groups: readonly GroupSpec[];
}

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type SettingValue<O> = O extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
  ? V
  : O extends { readonly kind: infer K extends keyof KindValues }
    ? KindValues[K]
    : never;

type ServeOption = (typeof SERVE_OPTIONS)[number];

/** Every setting of `fraudwall serve`, by its key in camelCase (`rate-limit-burst` → `rateLimitBurst`). */
export type Settings = { readonly [O in ServeOption as CamelCase<O['key']>]: SettingValue<O> };

export type Config = Settings & {
  /** The config file that was read, if any. */
  readonly configFile: string | undefined;
};

export type BlockMode = Config['blockMode'];

/** The config key of a setting in camelCase, as it appears in Config. */
export function settingName(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
