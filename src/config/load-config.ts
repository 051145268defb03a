import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isValidName } from '../query/rule.js';
import { parseHostPort, type HostPort } from './host-port.js';
import { parseUpstream, type UpstreamSpec } from './upstream-spec.js';
import { envName, SERVE_OPTIONS, settingName, type Config, type OptionSpec, type UrlListSpec } from './options.js';
import { parseCidr } from './ip-address.js';
import { nearestName } from './nearest-name.js';
import { FraudwallError } from '../errors.js';
import { combinationProblems } from './combinations.js';


export class ConfigError extends FraudwallError {
  constructor(readonly problems: readonly string[]) {
    super(
      'E_CONFIG_INVALID',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix these and start again; `fraudwall serve --help` lists every setting.',
    );
  }
}

export interface ConfigSources {
  /** Command-line values by key; repeatable options arrive as arrays. */
  readonly flags: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Environment variables with the FRAUDWALL_ prefix that belong to other commands or later features. */
  readonly extraEnv?: readonly string[];
  readonly cwd?: string;
}

type Value = string | number | boolean | HostPort | undefined | readonly HostPort[] | readonly UpstreamSpec[] | readonly string[] | readonly UrlListSpec[];


/** `url-lists`: an array of {name, url, category?, kind?, refresh?}; a JSON string from env or flags. */
function convertUrlLists(raw: unknown, fail: (why: string) => undefined): readonly UrlListSpec[] | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return fail('must be a JSON array like [{"name":"x","url":"https://…"}]');
    }
  }
  if (!Array.isArray(value)) return fail('must be a list of {name, url, category, kind, refresh, format}');
  const specs: UrlListSpec[] = [];
  const problems: string[] = [];
  value.forEach((item: unknown, i) => {
    const at = `item ${i + 1}`;
    if (typeof item !== 'object' || item === null) return problems.push(`${at} must be a mapping`);
    const { name, url, category = 'uncategorized', kind = 'block', refresh = 3600, format, ...rest } = item as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) problems.push(`${at}: unknown key(s) ${unknown.join(', ')}`);
    if (typeof name !== 'string' || !isValidName(name)) problems.push(`${at}: name must match [a-z0-9][a-z0-9_-]{0,63}`);
    let parsedUrl: URL | undefined;
    try {
      parsedUrl = typeof url === 'string' ? new URL(url) : undefined;
    } catch {
      parsedUrl = undefined;
    }
    if (!parsedUrl || !['http:', 'https:'].includes(parsedUrl.protocol)) problems.push(`${at}: url must be an http(s) URL`);
    if (typeof category !== 'string' || !isValidName(category)) problems.push(`${at}: category must match [a-z0-9][a-z0-9_-]{0,63}`);
    if (kind !== 'block' && kind !== 'allow') problems.push(`${at}: kind must be block or allow`);
    if (typeof refresh !== 'number' || !Number.isInteger(refresh) || refresh < 1 || refresh > 604800) {
      problems.push(`${at}: refresh must be whole seconds from 1 to 604800`);
    }
    if (format !== undefined && format !== 'list' && format !== 'rpz') problems.push(`${at}: format must be list or rpz`);
    const path = parsedUrl?.pathname.toLowerCase() ?? '';
    const listFormat = format === 'list' || format === 'rpz' ? format : path.endsWith('.rpz') || path.endsWith('.rpz.txt') ? 'rpz' : 'list';
    specs.push({ name: name as string, url: url as string, category: category as string, kind: kind as 'block' | 'allow', refreshSeconds: refresh as number, format: listFormat });
    return undefined;
  });
  const names = specs.map((spec) => spec.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) problems.push(`name "${duplicate}" is used twice`);
  if (problems.length > 0) return fail(problems.join('; '));
  return specs;
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

/** Converts one raw value for `spec`; `where` names its source in problems, `baseDir` anchors relative paths. */
function convert(spec: OptionSpec, raw: unknown, where: string, baseDir: string, problems: string[]): Value | undefined {
  const fail = (why: string): undefined => {
    problems.push(`${where}: ${why}`);
    return undefined;
  };
  switch (spec.kind) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
      if (!Number.isInteger(n)) return fail(`must be a whole number, got ${JSON.stringify(raw)}`);
      if (n < (spec.min ?? -Infinity) || n > (spec.max ?? Infinity)) {
        return fail(`must be between ${spec.min} and ${spec.max}, got ${n}`);
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const word = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return fail(`must be true or false, got ${JSON.stringify(raw)}`);
    }
    case 'enum': {
      // YAML reads an unquoted `null` as a null value; `block-mode: null` still means the null mode.
      if (raw === null && spec.values?.includes('null')) return 'null';
      if (typeof raw === 'string' && spec.values?.includes(raw.trim())) return raw.trim();
      return fail(`must be one of ${spec.values?.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    case 'string':
    case 'path': {
      // A string setting whose default is empty (events-instance) may be set back to empty.
      if (spec.kind === 'string' && spec.default === '' && typeof raw === 'string' && raw.trim() === '') return '';
      if (typeof raw !== 'string' || raw.trim() === '') return fail(`must be a non-empty string, got ${JSON.stringify(raw)}`);
      const text = raw.trim();
      // "-" (stdout) and "off" are words, not file names.
      if (spec.kind === 'string' || text === '-' || text === 'off') return text;
      return path.resolve(baseDir, text);
    }
    case 'text': {
      // Free text that may be empty ("" = not set); control characters never belong in it.
      if (typeof raw !== 'string') return fail(`must be text, got ${JSON.stringify(raw)}`);
      if (/[\u0000-\u001f\u007f]/.test(raw)) return fail('must not contain control characters (newlines, tabs)');
      if (raw.length > 1000) return fail(`must be at most 1000 characters, got ${raw.length}`);
      return raw.trim();
    }
    case 'address-or-off':
    case 'address': {
      if (spec.kind === 'address-or-off' && typeof raw === 'string' && raw.trim() === 'off') return undefined;
      if (typeof raw !== 'string') return fail(`must be an address like 127.0.0.1:8053, got ${JSON.stringify(raw)}`);
      const parsed = parseHostPort(raw, spec.defaultPort);
      return 'error' in parsed ? fail(parsed.error) : parsed;
    }
    case 'url-lists':
      return convertUrlLists(raw, fail);
    case 'paths': {
      const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? (raw as unknown[]) : [raw];
      const out: string[] = [];
      for (const item of items) {
        if (typeof item !== 'string') return fail(`each path must be a string, got ${JSON.stringify(item)}`);
        if (item.trim() !== '') out.push(path.resolve(baseDir, item.trim()));
      }
      return out;
    }
    case 'cidrs': {
      const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? (raw as unknown[]) : [raw];
      const out: string[] = [];
      for (const item of items) {
        if (typeof item !== 'string') return fail(`each network must be a string like 192.168.0.0/16, got ${JSON.stringify(item)}`);
        if (item.trim() === '') continue;
        const parsed = parseCidr(item);
        if ('error' in parsed) fail(parsed.error);
        else out.push(item.trim());
      }
      if (out.length === 0) return fail('needs at least one network (use 0.0.0.0/0 and ::/0 to allow everyone)');
      return out;
    }
    case 'addresses':
    case 'upstreams': {
      const items =
        typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? (raw as unknown[]) : [raw];
      const out: (HostPort | UpstreamSpec)[] = [];
      let bad = 0;
      for (const item of items) {
        if (typeof item !== 'string') return fail(`each address must be a string like 127.0.0.1:53, got ${JSON.stringify(item)}`);
        if (item.trim() === '') continue;
        const parsed = spec.kind === 'upstreams' ? parseUpstream(item) : parseHostPort(item, spec.defaultPort);
        if ('error' in parsed) {
          fail(parsed.error);
          bad++;
        } else out.push(parsed);
      }
      // Options that are off by default (dot, doh, bootstrap-dns) may be empty; the others need one address.
      const mayBeEmpty = Array.isArray(spec.default) && spec.default.length === 0;
      if (out.length === 0 && bad === 0 && !mayBeEmpty) return fail('needs at least one address');
      return out as readonly HostPort[] | readonly UpstreamSpec[];
    }
  }
}

function readConfigFile(file: string, problems: string[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`config file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return undefined;
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    problems.push(`config file ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
    return undefined;
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push(`config file ${file}: must be a mapping of settings (key: value)`);
    return undefined;
  }
  return data as Record<string, unknown>;
}

/**
 * Merges defaults < config file < environment < flags, validating everything once and reporting
 * every problem together. A repeatable option given by a source replaces the lower source's list.
 */
export function loadConfig(sources: ConfigSources): Config {
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];
  const known = new Map<string, OptionSpec>(SERVE_OPTIONS.map((spec) => [spec.key, spec]));

  const configFlag = sources.flags['config'];
  const configFile =
    typeof configFlag === 'string' ? path.resolve(cwd, configFlag) : sources.env['FRAUDWALL_CONFIG'] ? path.resolve(cwd, sources.env['FRAUDWALL_CONFIG']) : undefined;
  const fileValues = configFile ? readConfigFile(configFile, problems) : undefined;

  const values = new Map<string, Value>();
  /** Sets `spec` from one source; a value that failed (a problem was added) leaves the lower source's. */
  const apply = (spec: OptionSpec, raw: unknown, where: string, baseDir: string): void => {
    const before = problems.length;
    const value = convert(spec, raw, where, baseDir, problems);
    if (problems.length === before) values.set(spec.key, value);
  };
  for (const spec of SERVE_OPTIONS) apply(spec, spec.default, `default ${spec.key}`, cwd);

  if (fileValues && configFile) {
    for (const [key, raw] of Object.entries(fileValues)) {
      const spec = known.get(key);
      if (spec === undefined) {
        const near = nearestName(key, known.keys());
        problems.push(`config file ${configFile}: unknown key "${key}"${near ? `; did you mean "${near}"?` : ' (fraudwall serve --help lists every key)'}`);
        continue;
      }
      apply(spec, raw, `config file ${configFile}: ${key}`, path.dirname(configFile));
    }
  }

  const envNames = new Map<string, OptionSpec>(SERVE_OPTIONS.map((spec) => [envName(spec.key), spec]));
  // FRAUDWALL_ADMIN_TOKEN and FRAUDWALL_EVENTS_SECRET are secrets, read by the server itself and never
  // config-file keys; FRAUDWALL_URL belongs to the client commands (a shell that exports it may also start serve).
  const allowedExtra = new Set(['FRAUDWALL_CONFIG', 'FRAUDWALL_ADMIN_TOKEN', 'FRAUDWALL_EVENTS_SECRET', 'FRAUDWALL_URL', ...(sources.extraEnv ?? [])]);
  for (const [name, raw] of Object.entries(sources.env)) {
    if (!name.startsWith('FRAUDWALL_') || raw === undefined || allowedExtra.has(name)) continue;
    const spec = envNames.get(name);
    if (spec === undefined) {
      const near = nearestName(name.slice('FRAUDWALL_'.length), [...envNames.keys()].map((known) => known.slice('FRAUDWALL_'.length)));
      problems.push(`environment ${name}: unknown setting${near ? `; did you mean FRAUDWALL_${near}?` : ' (fraudwall serve --help lists every FRAUDWALL_* variable)'}`);
      continue;
    }
    apply(spec, raw, `environment ${name}`, cwd);
  }

  for (const spec of SERVE_OPTIONS) {
    const raw = sources.flags[spec.key];
    if (raw === undefined) continue;
    apply(spec, raw, `--${spec.key}`, cwd);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const config: Record<string, unknown> = { configFile };
  for (const [key, value] of values) config[settingName(key)] = value;
  const frozen = Object.freeze(config) as unknown as Config;
  const combined = combinationProblems(frozen);
  if (combined.length > 0) throw new ConfigError(combined);
  return frozen;
}
