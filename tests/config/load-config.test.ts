import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ConfigSources } from '../../src/config/load-config.js';
import { envName, SERVE_OPTIONS, SHIPPED_LISTS_DIR, type Config } from '../../src/config/options.js';

const root = mkdtempSync(path.join(tmpdir(), 'fraudwall-config-'));
const cwd = path.join(root, 'cwd');
mkdirSync(cwd);
afterAll(() => rmSync(root, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a config file in its own directory under the temp root and returns its absolute path. */
function configFile(name: string, text: string): string {
  const dir = path.join(root, `conf-${++fileCount}`);
  mkdirSync(dir);
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function load(sources: Partial<ConfigSources>): Config {
  return loadConfig({ flags: {}, env: {}, cwd, ...sources });
}

/** The ConfigError thrown by `fn`, failing the test if none is. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: defaults', () => {
  it('every setting has its documented default', () => {
    expect(load({})).toMatchObject({
      listen: [
        { host: '127.0.0.1', port: 5300, family: 4 },
        { host: '::1', port: 5300, family: 6 },
      ],
      upstream: [
        { host: '9.9.9.9', port: 53, family: 4 },
        { host: '149.112.112.112', port: 53, family: 4 },
      ],
      lists: SHIPPED_LISTS_DIR,
      http: { host: '127.0.0.1', port: 8053, family: 4 },
      blockMode: 'nxdomain',
      blockTtl: 60,
      queryTimeoutMs: 2500,
      upstreamTimeoutMs: 1000,
      ednsUdpSize: 1232,
      verdictCacheSize: 100_000,
      tcpIdleTimeoutMs: 10_000,
      tcpMaxConnections: 1000,
      localZones: true,
      blockDohCanaries: true,
      logLevel: 'info',
      configFile: undefined,
    });
  });

  it('every option of SERVE_OPTIONS gets a value under its camelCase name', () => {
    const config = load({}) as unknown as Record<string, unknown>;
    for (const spec of SERVE_OPTIONS) {
      const camel = spec.key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      // An "off" address is undefined, but present.
      expect(Object.hasOwn(config, camel), spec.key).toBe(true);
    }
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(load({}))).toBe(true);
  });

  it('ignores environment variables without the FRAUDWALL_ prefix', () => {
    expect(load({ env: { PATH: '/bin', HOME: '/root', fraudwall_block_ttl: '5' } }).blockTtl).toBe(60);
  });

  it('every option maps to FRAUDWALL_UPPER_SNAKE', () => {
    expect(envName('block-doh-canaries')).toBe('FRAUDWALL_BLOCK_DOH_CANARIES');
    expect(new Set(SERVE_OPTIONS.map((o) => envName(o.key))).size).toBe(SERVE_OPTIONS.length);
  });
});

describe('loadConfig: precedence flags > env > file > defaults', () => {
  const file = configFile('fraudwall.yaml', 'block-ttl: 10\nblock-mode: refused\n');

  it.each([
    { label: 'file over defaults', flags: {}, env: {}, ttl: 10 },
    { label: 'env over defaults', flags: {}, env: { FRAUDWALL_BLOCK_TTL: '20' }, ttl: 20, noFile: true },
    { label: 'flag over defaults', flags: { 'block-ttl': '30' }, env: {}, ttl: 30, noFile: true },
    { label: 'env over file', flags: {}, env: { FRAUDWALL_BLOCK_TTL: '20' }, ttl: 20 },
    { label: 'flag over file', flags: { 'block-ttl': '30' }, env: {}, ttl: 30 },
    { label: 'flag over env', flags: { 'block-ttl': '30' }, env: { FRAUDWALL_BLOCK_TTL: '20' }, ttl: 30, noFile: true },
    { label: 'flag over env over file', flags: { 'block-ttl': '30' }, env: { FRAUDWALL_BLOCK_TTL: '20' }, ttl: 30 },
  ])('$label', ({ flags, env, ttl, noFile }) => {
    const config = load({ flags: noFile ? flags : { ...flags, config: file }, env });
    expect(config.blockTtl).toBe(ttl);
    // Settings a higher source did not give keep the lower source's value.
    expect(config.blockMode).toBe(noFile ? 'nxdomain' : 'refused');
    expect(config.ednsUdpSize).toBe(1232);
  });

  it('a repeatable flag replaces the default list instead of adding to it', () => {
    expect(load({ flags: { upstream: ['1.1.1.1'] } }).upstream).toMatchObject([{ host: '1.1.1.1', port: 53, family: 4 }]);
    expect(load({ flags: { listen: ['127.0.0.2:53', '[::1]:53'] } }).listen).toEqual([
      { host: '127.0.0.2', port: 53, family: 4 },
      { host: '::1', port: 53, family: 6 },
    ]);
  });

  it('a list from a higher source replaces the lower one', () => {
    const listFile = configFile('f.yaml', 'upstream:\n  - 192.0.2.1\n  - "[2001:db8::1]:5353"\n');
    expect(load({ flags: { config: listFile } }).upstream).toMatchObject([
      { host: '192.0.2.1', port: 53, family: 4 },
      { host: '2001:db8::1', port: 5353, family: 6 },
    ]);
    expect(load({ flags: { config: listFile }, env: { FRAUDWALL_UPSTREAM: '192.0.2.9' } }).upstream).toMatchObject([{ host: '192.0.2.9', port: 53, family: 4 }]);
    expect(load({ flags: { config: listFile, upstream: ['192.0.2.7:99'] }, env: { FRAUDWALL_UPSTREAM: '192.0.2.9' } }).upstream).toMatchObject([
      { host: '192.0.2.7', port: 99, family: 4 },
    ]);
  });

  it('an env list is comma-separated, spaces and empty items ignored', () => {
    expect(load({ env: { FRAUDWALL_UPSTREAM: ' 1.1.1.1 , [2606:4700::1111]:53,,8.8.8.8:5353, ' } }).upstream).toMatchObject([
      { host: '1.1.1.1', port: 53, family: 4 },
      { host: '2606:4700::1111', port: 53, family: 6 },
      { host: '8.8.8.8', port: 5353, family: 4 },
    ]);
    expect(load({ env: { FRAUDWALL_LISTEN: '127.0.0.1:53,[::1]:53' } }).listen).toHaveLength(2);
  });

  it('--config wins over FRAUDWALL_CONFIG', () => {
    const fromEnv = configFile('env.yaml', 'block-ttl: 1\n');
    const fromFlag = configFile('flag.yaml', 'block-ttl: 2\n');
    const config = load({ flags: { config: fromFlag }, env: { FRAUDWALL_CONFIG: fromEnv } });
    expect(config.blockTtl).toBe(2);
    expect(config.configFile).toBe(fromFlag);
    expect(load({ env: { FRAUDWALL_CONFIG: fromEnv } })).toMatchObject({ blockTtl: 1, configFile: fromEnv });
  });

  it('a relative --config is resolved against cwd', () => {
    const file = path.join(cwd, 'local.yml');
    writeFileSync(file, 'block-ttl: 3\n');
    expect(load({ flags: { config: 'local.yml' } })).toMatchObject({ blockTtl: 3, configFile: file });
  });
});

describe('loadConfig: config files', () => {
  it('reads every kind of value from YAML', () => {
    const file = configFile(
      'fraudwall.yaml',
      [
        'listen: ["0.0.0.0:53", "[::]:53"]',
        'upstream: 192.0.2.53',
        'http: "[::1]:9000"',
        'block-mode: refused',
        'block-ttl: 0',
        'query-timeout-ms: 100',
        'upstream-timeout-ms: 30000',
        'edns-udp-size: 4096',
        'verdict-cache-size: 1',
        'tcp-idle-timeout-ms: 1000',
        'tcp-max-connections: 1',
        'local-zones: false',
        'block-doh-canaries: no',
        'log-level: debug',
        'lists: /srv/lists',
      ].join('\n'),
    );
    expect(load({ flags: { config: file } })).toMatchObject({
      listen: [
        { host: '0.0.0.0', port: 53, family: 4 },
        { host: '::', port: 53, family: 6 },
      ],
      upstream: [{ host: '192.0.2.53', port: 53, family: 4 }],
      lists: '/srv/lists',
      http: { host: '::1', port: 9000, family: 6 },
      blockMode: 'refused',
      blockTtl: 0,
      queryTimeoutMs: 100,
      upstreamTimeoutMs: 30000,
      ednsUdpSize: 4096,
      verdictCacheSize: 1,
      tcpIdleTimeoutMs: 1000,
      tcpMaxConnections: 1,
      localZones: false,
      blockDohCanaries: false,
      logLevel: 'debug',
      configFile: file,
    });
  });

  it('reads JSON', () => {
    const file = configFile('fraudwall.json', JSON.stringify({ 'block-ttl': 120, 'local-zones': false, upstream: ['192.0.2.1:5353'] }));
    expect(load({ flags: { config: file } })).toMatchObject({
      blockTtl: 120,
      localZones: false,
      upstream: [{ host: '192.0.2.1', port: 5353, family: 4 }],
    });
  });

  it('an empty file means all defaults', () => {
    const file = configFile('empty.yaml', '# nothing set\n');
    expect(load({ flags: { config: file } })).toMatchObject({ blockTtl: 60, configFile: file });
  });

  it('resolves a relative lists path against the file directory, not cwd', () => {
    const file = configFile('fraudwall.yaml', 'lists: ./blocklists\n');
    expect(load({ flags: { config: file } }).lists).toBe(path.join(path.dirname(file), 'blocklists'));
  });

  it('resolves a relative lists path from env or flags against cwd', () => {
    const file = configFile('fraudwall.yaml', 'lists: ./from-file\n');
    expect(load({ flags: { config: file }, env: { FRAUDWALL_LISTS: 'from-env' } }).lists).toBe(path.join(cwd, 'from-env'));
    expect(load({ flags: { config: file, lists: '../from-flag' } }).lists).toBe(path.join(root, 'from-flag'));
  });

  it.each([
    { label: 'a missing file', name: undefined, text: '', problem: /cannot be read \(ENOENT\)/ },
    { label: 'invalid YAML', name: 'bad.yaml', text: 'block-ttl: [1,\n', problem: /not valid YAML/ },
    { label: 'invalid JSON', name: 'bad.json', text: '{"block-ttl": }', problem: /not valid JSON/ },
    { label: 'a YAML list', name: 'list.yaml', text: '- block-ttl\n', problem: /must be a mapping of settings/ },
    { label: 'a scalar', name: 'scalar.yaml', text: '42\n', problem: /must be a mapping of settings/ },
  ])('reports $label', ({ name, text, problem }) => {
    const file = name === undefined ? path.join(root, 'does-not-exist.yaml') : configFile(name, text);
    const error = configError(() => load({ flags: { config: file } }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(file);
    expect(error.problems[0]).toMatch(problem);
  });

  it('an unknown key is an error naming the key and the nearest known one', () => {
    const file = configFile('fraudwall.yaml', 'block-ttl: 5\nblockTtl: 5\nblockttl: 5\nupstrem: [1.1.1.1]\ncolour: blue\n');
    const error = configError(() => load({ flags: { config: file } }));
    expect(error.problems).toEqual([
      `config file ${file}: unknown key "blockTtl"; did you mean "block-ttl"?`,
      `config file ${file}: unknown key "blockttl"; did you mean "block-ttl"?`,
      `config file ${file}: unknown key "upstrem"; did you mean "upstream"?`,
      `config file ${file}: unknown key "colour" (fraudwall serve --help lists every key)`,
    ]);
  });
});

describe('loadConfig: problems', () => {
  it('reports every bad value at once, each naming its source', () => {
    const error = configError(() => load({ flags: { 'block-ttl': 'soon', 'edns-udp-size': '100', 'block-mode': 'drop' } }));
    expect(error.problems).toHaveLength(3);
    expect(error.problems).toEqual([
      expect.stringMatching(/^--block-mode: must be one of nxdomain, null, refused, sinkhole, got "drop"$/),
      expect.stringMatching(/^--block-ttl: must be a whole number, got "soon"$/),
      expect.stringMatching(/^--edns-udp-size: must be between 512 and 4096, got 100$/),
    ]);
    expect(error.message).toMatch(/^invalid configuration \(3 problems\):/);
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.name).toBe('ConfigError');
  });

  it('collects problems from file, env and flags together', () => {
    const file = configFile('fraudwall.yaml', 'log-level: loud\ncolour: blue\n');
    const error = configError(() =>
      load({ flags: { config: file, listen: ['127.0.0.1'] }, env: { FRAUDWALL_LOCAL_ZONES: 'maybe', FRAUDWALL_COLOUR: 'red' } }),
    );
    expect(error.problems).toHaveLength(5);
    expect(error.problems.join('\n')).toMatch(/log-level: must be one of debug, info, warn, error, got "loud"/);
    expect(error.problems.join('\n')).toMatch(/unknown key "colour"/);
    expect(error.problems.join('\n')).toMatch(/environment FRAUDWALL_LOCAL_ZONES: must be true or false, got "maybe"/);
    expect(error.problems.join('\n')).toMatch(/environment FRAUDWALL_COLOUR: unknown setting/);
    expect(error.problems.join('\n')).toMatch(/--listen: "127\.0\.0\.1": a port is required/);
  });

  it('a bad value is reported even when a higher source overrides it', () => {
    const error = configError(() => load({ flags: { 'block-ttl': '5' }, env: { FRAUDWALL_BLOCK_TTL: 'x' } }));
    expect(error.problems).toEqual([expect.stringMatching(/^environment FRAUDWALL_BLOCK_TTL:/)]);
  });

  it('an unknown FRAUDWALL_ variable is an error unless another command claims it', () => {
    const error = configError(() => load({ env: { FRAUDWALL_TOKEN: 'x' } }));
    expect(error.problems).toEqual(['environment FRAUDWALL_TOKEN: unknown setting (fraudwall serve --help lists every FRAUDWALL_* variable)']);
    expect(configError(() => load({ env: { FRAUDWALL_BLOCKTTL: '5' } })).problems).toEqual([
      'environment FRAUDWALL_BLOCKTTL: unknown setting; did you mean FRAUDWALL_BLOCK_TTL?',
    ]);
    expect(load({ env: { FRAUDWALL_TOKEN: 'x' }, extraEnv: ['FRAUDWALL_TOKEN'] }).blockTtl).toBe(60);
  });

  it('FRAUDWALL_CONFIG is not an unknown variable; an undefined variable is ignored', () => {
    const file = configFile('fraudwall.yaml', '');
    expect(load({ env: { FRAUDWALL_CONFIG: file, FRAUDWALL_NOT_SET: undefined } }).configFile).toBe(file);
  });

  it.each([
    { key: 'block-ttl', good: ['0', '86400', ' 7 '], bad: ['-1', '86401', '1.5', '', 'ten', '0x10', '1e3'] },
    { key: 'edns-udp-size', good: ['512', '4096'], bad: ['511', '4097'] },
    { key: 'query-timeout-ms', good: ['100', '30000'], bad: ['99', '30001'] },
    { key: 'upstream-timeout-ms', good: ['50'], bad: ['49'] },
  ])('int bounds of $key', ({ key, good, bad }) => {
    for (const value of good) expect(() => load({ flags: { [key]: value } })).not.toThrow();
    for (const value of bad) {
      const error = configError(() => load({ flags: { [key]: value } }));
      expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^--${key}: must be`))]);
    }
  });

  it.each(SERVE_OPTIONS.filter((spec) => spec.kind === 'int'))('$key accepts exactly [min, max]', (spec) => {
    const env = envName(spec.key);
    // Structured DNS Errors need a contact to carry.
    const needs = spec.key === 'sde-option-code' ? { FRAUDWALL_HOTLINE: 'tel:96110' } : {};
    for (const value of [spec.min!, spec.max!]) expect(() => load({ env: { ...needs, [env]: String(value) } })).not.toThrow();
    for (const value of [spec.min! - 1, spec.max! + 1]) {
      const error = configError(() => load({ env: { ...needs, [env]: String(value) } }));
      expect(error.problems).toEqual([`environment ${env}: must be between ${spec.min} and ${spec.max}, got ${value}`]);
    }
  });

  it('numbers from a file are checked too', () => {
    const file = configFile('fraudwall.yaml', 'block-ttl: 2.5\nedns-udp-size: 9000\n');
    const error = configError(() => load({ flags: { config: file } }));
    expect(error.problems).toHaveLength(2);
  });

  it.each([
    { raw: 'true', value: true },
    { raw: 'YES', value: true },
    { raw: ' on ', value: true },
    { raw: '1', value: true },
    { raw: 'false', value: false },
    { raw: 'No', value: false },
    { raw: 'off', value: false },
    { raw: '0', value: false },
  ])('bool word "$raw" → $value', ({ raw, value }) => {
    expect(load({ env: { FRAUDWALL_BLOCK_DOH_CANARIES: raw } }).blockDohCanaries).toBe(value);
  });

  it('block-mode: null in a YAML file selects the null mode (unquoted, YAML reads it as a null value)', () => {
    const file = configFile('fraudwall.yaml', 'block-mode: null\n');
    expect(load({ flags: { config: file } }).blockMode).toBe('null');
  });

  it('block-mode: "null" quoted in YAML selects the null mode', () => {
    const file = configFile('fraudwall.yaml', 'block-mode: "null"\n');
    expect(load({ flags: { config: file } }).blockMode).toBe('null');
  });

  it('trims enum values', () => {
    expect(load({ env: { FRAUDWALL_BLOCK_MODE: ' null ' } }).blockMode).toBe('null');
    expect(() => load({ env: { FRAUDWALL_BLOCK_MODE: 'NULL' } })).toThrow(ConfigError);
  });

  it('listen needs a port; upstream defaults to 53; http needs a port', () => {
    const error = configError(() => load({ flags: { listen: ['127.0.0.1', '[::1]'], http: '127.0.0.1' } }));
    expect(error.problems).toHaveLength(3);
    expect(error.problems.every((p) => p.includes('a port is required'))).toBe(true);
    expect(load({ flags: { upstream: ['[::1]', '::2', '192.0.2.1'] } }).upstream).toMatchObject([
      { host: '::1', port: 53, family: 6 },
      { host: '::2', port: 53, family: 6 },
      { host: '192.0.2.1', port: 53, family: 4 },
    ]);
    expect(load({ flags: { listen: ['[::1]:53'] } }).listen).toEqual([{ host: '::1', port: 53, family: 6 }]);
  });

  it('an empty address list is an error', () => {
    for (const sources of [{ flags: { upstream: [] } }, { flags: { listen: [''] } }, { env: { FRAUDWALL_UPSTREAM: ' , ' } }]) {
      const error = configError(() => load(sources));
      expect(error.problems).toEqual([expect.stringMatching(/needs at least one address/)]);
    }
  });

  it('a non-string address in a file is an error', () => {
    const file = configFile('fraudwall.yaml', 'upstream: [53]\nhttp: 8053\n');
    const error = configError(() => load({ flags: { config: file } }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toMatch(/each address must be a string/);
    expect(error.problems.join('\n')).toMatch(/http: must be an address/);
  });

  it('an empty upstream list is reported even when an upstream-timeout-ms problem came first (env)', () => {
    // Object order puts the bad FRAUDWALL_UPSTREAM_TIMEOUT_MS first; its problem must not hide the empty list.
    const error = configError(() => load({ env: { FRAUDWALL_UPSTREAM_TIMEOUT_MS: 'soon', FRAUDWALL_UPSTREAM: ',' } }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toMatch(/environment FRAUDWALL_UPSTREAM: needs at least one address/);
  });

  it('an empty upstream list is reported even when an upstream-timeout-ms problem came first (file)', () => {
    const file = configFile('fraudwall.yaml', 'upstream-timeout-ms: soon\nupstream: []\n');
    const error = configError(() => load({ flags: { config: file } }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toMatch(/: upstream: needs at least one address/);
  });
});

describe('loadConfig: sinkhole, warning page, hotline, EDE text, SDE (issue #12)', () => {
  it('defaults leave all of it off', () => {
    expect(load({})).toMatchObject({
      sinkholeIpv4: '',
      sinkholeIpv6: '',
      warningPage: undefined,
      warningPageTemplate: 'off',
      hotline: '',
      operator: '',
      edeText: '',
      sdeOptionCode: 0,
    });
  });

  it('reads a sinkhole setup from flags; --warning-page defaults to port 80', () => {
    const config = load({
      flags: { 'block-mode': 'sinkhole', 'sinkhole-ipv4': '192.0.2.80', 'sinkhole-ipv6': '2001:db8::80', 'warning-page': '192.0.2.80', hotline: 'tel:96110', operator: '  反诈中心 Example ' },
    });
    expect(config).toMatchObject({
      blockMode: 'sinkhole',
      sinkholeIpv4: '192.0.2.80',
      sinkholeIpv6: '2001:db8::80',
      warningPage: { host: '192.0.2.80', port: 80, family: 4 },
      hotline: 'tel:96110',
      operator: '反诈中心 Example',
    });
  });

  it('--warning-page off on the command line beats an address in the config file', () => {
    const file = configFile('fraudwall.yaml', 'warning-page: 127.0.0.77:8080\n');
    expect(load({ flags: { config: file } }).warningPage).toEqual({ host: '127.0.0.77', port: 8080, family: 4 });
    expect(load({ flags: { config: file, 'warning-page': 'off' } }).warningPage).toBeUndefined();
  });

  it('reports every combination problem together', () => {
    const error = configError(() =>
      load({ flags: { 'block-mode': 'sinkhole', 'sinkhole-ipv4': '::1', 'sinkhole-ipv6': '10.0.0.1', hotline: '96110', 'sde-option-code': '8', 'ede-text': 'x {lists}' } }),
    );
    const text = error.problems.join('\n');
    expect(text).toMatch(/--sinkhole-ipv4: "::1" is not an IPv4 address/);
    expect(text).toMatch(/--sinkhole-ipv6: "10\.0\.0\.1" is not an IPv6 address/);
    expect(text).toMatch(/--hotline: "96110" is not a contact URI: write it as tel:96110/);
    expect(text).toMatch(/--ede-text: unknown placeholder \{lists\}/);
    expect(text).toMatch(/--sde-option-code: 8 is an EDNS option clients send for other purposes/);
  });

  it('sinkhole mode needs an address of at least one family', () => {
    const error = configError(() => load({ flags: { 'block-mode': 'sinkhole' } }));
    expect(error.problems).toEqual([expect.stringMatching(/--block-mode sinkhole needs --sinkhole-ipv4 and\/or --sinkhole-ipv6/)]);
    expect(load({ flags: { 'block-mode': 'sinkhole', 'sinkhole-ipv6': '2001:db8::1' } }).sinkholeIpv4).toBe('');
  });

  it.each(['tel:96110', 'tel:+86-10-96110', 'mailto:report@example.org', 'sips:desk@example.org', 'https://example.org/report?x=1'])('accepts the hotline %s', (hotline) => {
    expect(load({ flags: { hotline } }).hotline).toBe(hotline);
  });

  it.each(['96110', 'tel:', 'tel:961 10', 'javascript:alert(1)', 'http://example.org', 'https://exa mple.org', 'tel:96110<script>'])('rejects the hotline %j', (hotline) => {
    expect(configError(() => load({ flags: { hotline } })).problems[0]).toMatch(/^--hotline: /);
  });

  it('--sde-option-code needs a hotline (the contact is mandatory in the draft)', () => {
    expect(configError(() => load({ flags: { 'sde-option-code': '65001' } })).problems).toEqual([expect.stringMatching(/needs --hotline/)]);
    expect(load({ flags: { 'sde-option-code': '65001', hotline: 'tel:96110' } }).sdeOptionCode).toBe(65001);
  });

  it('--ede-text: {hotline} needs a hotline, stray braces and fixed text over 200 bytes are problems', () => {
    expect(configError(() => load({ flags: { 'ede-text': 'call {hotline}' } })).problems[0]).toMatch(/uses \{hotline\} but no --hotline is set/);
    expect(configError(() => load({ flags: { 'ede-text': 'a } b' } })).problems[0]).toMatch(/not part of a placeholder/);
    expect(configError(() => load({ flags: { 'ede-text': `${'诈'.repeat(67)} {list}` } })).problems[0]).toMatch(/is 202 bytes without the list/);
    expect(load({ flags: { 'ede-text': `${'诈'.repeat(66)} {list}` } }).edeText).toContain('{list}');
  });

  it('text settings refuse control characters', () => {
    expect(configError(() => load({ flags: { operator: 'a\nb' } })).problems[0]).toMatch(/--operator: must not contain control characters/);
  });
});
