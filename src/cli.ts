#!/usr/bin/env -S node --max-semi-space-size=2
import './runtime-guard.js'; // first: stops with a clear message on a Node.js below the floor
import { ConfigError, loadConfig } from './config/load-config.js';
import { envName, SERVE_OPTIONS } from './config/options.js';
import { createLogger, silentLogger, type Logger } from './log/logger.js';
import { startServer, type RunningServer } from './app/start-server.js';
import { hangup } from './app/hangup.js';
import { readFile } from 'node:fs/promises';
import { adminRequest, clientToken, type AdminResponse } from './admin/admin-client.js';
import { tailEvents } from './admin/events-tail-client.js';
import { explainLocalZones, explainName, formatExplanation, isBlocking, type Explanation } from './policy/explain.js';
import { formatSourcesRead, loadListSources } from './lists/list-sources.js';
import { StateStore } from './lists/state-store.js';
import { UrlListSource } from './lists/url-list.js';
import { ListRegistry } from './lists/list-registry.js';
import { VerdictCache } from './policy/verdict-cache.js';
import { VERSION } from './version.js';
import { parseCommand, UsageError, type CommandSpec } from './cli/command-line.js';
import { nearestName } from './config/nearest-name.js';
import { ClientGroups } from './policy/client-groups.js';
import { applyRuntimeFlags } from './runtime-flags.js';

/** Exit codes scripts can branch on. */
export const ExitCode = {
  OK: 0,
  /** Unexpected failure (also Node's own code for an uncaught error). */
  FAILURE: 1,
  /** Bad command line, bad configuration or an invalid name. */
  USAGE: 2,
  /** `check`/`explain`: the name is blocked. */
  BLOCKED: 3,
  /** The server refused the change (invalid entries, unknown or read-only list, too large). */
  REJECTED: 4,
  /** Missing, wrong or rate-limited admin token, or list changes disabled on the server. */
  AUTH: 5,
} as const;


const USAGE = `fraudwall ${VERSION} — a DNS resolver that blocks fraud domains

Usage:
  fraudwall serve [options]          serve DNS (UDP and TCP) with the blocklists
  fraudwall check NAME [--client ADDR|NAME] [--config FILE] [--lists DIR] [--state DIR] [--protect FILE|DIR]...
                     [--lookalike observe|block|off] [--protect-tld-swaps] [--protect-embedded] [--json]
                                     what would serve answer for NAME, and why? Reads what serve
                                     reads (list files, pushed lists, last good URL copies, local
                                     zones, protect lists) with the same config and FRAUDWALL_*
                                     variables; no network. Shows a lookalike of a protected domain.
                                     Exit 0 = resolved normally or answered locally, 3 = blocked
                                     (a list, a lookalike in block mode or a DoH canary), 2 = invalid name
  fraudwall push NAME FILE|- [--category C] [--allow|--protect] [--format list|rpz]
                                                        replace (or create) list NAME on a running server
  fraudwall delete NAME                                 delete a list pushed earlier
  fraudwall lists [--json]                              the lists a running server has
  fraudwall explain NAME [--client ADDR|NAME] [--json]  is NAME blocked on the running server? (exit 0 / 3)
  fraudwall reload                                      re-read list files and URL lists now
      these five take [--url URL] (default http://127.0.0.1:8053, or env FRAUDWALL_URL)
      and [--token-file FILE] (or env FRAUDWALL_ADMIN_TOKEN): the token the server was started with;
      exit 0 = done, 1 = server unreachable or failed, 2 = usage, 4 = change rejected, 5 = not authorized
  fraudwall events tail [--url URL] [--token-file FILE]
                                     print the server's early-warning events as they are emitted (NDJSON)
  fraudwall --version | --help

Options of serve (each also a config-file key and a FRAUDWALL_* environment variable;
precedence: flags > environment > config file > defaults):
  --config FILE                      YAML or JSON config file (env FRAUDWALL_CONFIG)
${SERVE_OPTIONS.map((spec) => {
  const flag = `  --${spec.key}${spec.kind === 'bool' ? '[=true|false]' : ' '}${spec.kind === 'bool' ? '' : 'metavar' in spec ? spec.metavar : spec.kind === 'enum' ? spec.values?.join('|') : spec.kind === 'int' ? 'N' : spec.kind.startsWith('address') ? 'HOST:PORT' : spec.kind === 'upstreams' ? 'ADDRESS|URL' : spec.kind === 'cidrs' ? 'CIDR' : spec.kind === 'url-lists' || spec.kind === 'groups' ? 'JSON' : spec.kind === 'text' ? 'TEXT' : 'PATH'}`;
  const def = Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default);
  const head = flag.length < 37 ? flag.padEnd(37) : `${flag}\n${''.padEnd(37)}`;
  return `${head}${spec.description}\n${''.padEnd(37)}default ${def === '' ? '(none)' : def}; env ${envName(spec.key)}`;
}).join('\n')}
`;

const CLIENT_FLAGS = '[--url URL] [--token-file FILE]';
const CLIENT_OPTIONS = { url: { type: 'string' }, 'token-file': { type: 'string' } } as const;
const NAME = { name: 'NAME', what: 'a domain name' } as const;
const LIST_NAME = { name: 'NAME', what: 'the name of the list' } as const;

/** Every command's synopsis, arguments and options: the source of its usage errors. */
const COMMANDS = {
  serve: {
    name: 'serve',
    usage: 'fraudwall serve [--config FILE] [--KEY VALUE …] (fraudwall serve --help lists every setting)',
    positionals: [],
    options: Object.fromEntries([
      ['config', { type: 'string' }],
      ...SERVE_OPTIONS.map((spec) => [spec.key, { type: 'string', multiple: spec.kind === 'addresses' || spec.kind === 'upstreams' || spec.kind === 'cidrs' || spec.kind === 'paths' }]),
    ]) as CommandSpec['options'],
  },
  check: {
    name: 'check',
    usage:
      'fraudwall check NAME [--client ADDR|NAME] [--config FILE] [--lists DIR] [--state DIR] [--protect FILE|DIR]... [--lookalike observe|block|off] [--protect-tld-swaps] [--protect-embedded] [--json]',
    positionals: [NAME],
    options: {
      config: { type: 'string' },
      lists: { type: 'string' },
      state: { type: 'string' },
      protect: { type: 'string', multiple: true },
      lookalike: { type: 'string' },
      'protect-tld-swaps': { type: 'boolean' },
      'protect-embedded': { type: 'boolean' },
      json: { type: 'boolean' },
      client: { type: 'string' },
    },
  },
  push: {
    name: 'push',
    usage: `fraudwall push NAME FILE|- [--category C] [--allow|--protect] [--format list|rpz] ${CLIENT_FLAGS}`,
    positionals: [LIST_NAME, { name: 'FILE|-', what: 'the list file, or - to read it from stdin' }],
    options: { ...CLIENT_OPTIONS, category: { type: 'string' }, allow: { type: 'boolean' }, protect: { type: 'boolean' }, format: { type: 'string' } },
  },
  delete: { name: 'delete', usage: `fraudwall delete NAME ${CLIENT_FLAGS}`, positionals: [LIST_NAME], options: CLIENT_OPTIONS },
  lists: { name: 'lists', usage: `fraudwall lists [--json] ${CLIENT_FLAGS}`, positionals: [], options: { ...CLIENT_OPTIONS, json: { type: 'boolean' } } },
  explain: {
    name: 'explain',
    usage: `fraudwall explain NAME [--client ADDR|NAME] [--json] ${CLIENT_FLAGS}`,
    positionals: [NAME],
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean' }, client: { type: 'string' } },
  },
  reload: { name: 'reload', usage: `fraudwall reload ${CLIENT_FLAGS}`, positionals: [], options: CLIENT_OPTIONS },
  events: {
    name: 'events',
    usage: `fraudwall events tail ${CLIENT_FLAGS}`,
    positionals: [{ name: 'tail', what: 'what to do with the events: tail prints them as they are emitted' }],
    options: CLIENT_OPTIONS,
  },
} as const satisfies Record<string, CommandSpec>;

type ClientCommand = 'push' | 'delete' | 'lists' | 'explain' | 'reload';

const BOOLEAN_KEYS = new Set<string>(SERVE_OPTIONS.filter((spec) => spec.kind === 'bool').map((spec) => spec.key));

/** `--require-lists` alone means true and `--no-local-zones` means false, as for any boolean flag. */
function expandBooleanFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const negated = arg.startsWith('--no-') ? arg.slice(5) : undefined;
    if (negated !== undefined && BOOLEAN_KEYS.has(negated)) {
      out.push(`--${negated}=false`);
    } else if (arg.startsWith('--') && !arg.includes('=') && BOOLEAN_KEYS.has(arg.slice(2))) {
      const next = args[i + 1];
      const nextIsValue = next !== undefined && /^(true|false|yes|no|on|off|1|0)$/i.test(next);
      out.push(nextIsValue ? `${arg}=${next}` : `${arg}=true`);
      if (nextIsValue) i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

async function serve(rawArgs: string[]): Promise<number> {
  const { values } = parseCommand(COMMANDS.serve, expandBooleanFlags(rawArgs));
  if (values['help'] === true) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  const { help: _help, ...flags } = values;
  // Before anything big is allocated: V8 settings the server needs however node was launched.
  applyRuntimeFlags();
  const sources = { flags: flags as Record<string, string | string[] | undefined>, env: process.env };
  const config = loadConfig(sources);
  const logger = createLogger(config.logLevel);

  // Signals are handled from the first moment: a SIGTERM while the lists load must end the process
  // with exit 0, not kill it by signal (supervisors read that as a crash).
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting at once`);
      process.exit(ExitCode.FAILURE);
    }
    stopping = true;
    logger.info(`${signal}: shutting down`);
    if (server === undefined) process.exit(ExitCode.OK); // still starting: nothing is served yet
    // Bounded: a stuck connection must not keep the process alive forever.
    setTimeout(() => process.exit(ExitCode.OK), 5000).unref();
    void server.close().then(() => process.exit(ExitCode.OK));
  };
  let hangups = Promise.resolve();
  process.on('SIGHUP', () => {
    const running = server;
    if (running === undefined) {
      logger.warn('SIGHUP while starting: ignored (the lists are being loaded now)');
      return;
    }
    // One after another: a burst of SIGHUPs from logrotate's several files must not interleave.
    hangups = hangups
      .then(() => hangup({ server: running, running: config, readConfig: () => loadConfig(sources), logger }))
      .catch((error: unknown) => logger.error('SIGHUP: reload failed; what was reloaded before stays', { err: error }));
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  server = await startServer(config, logger);
  return new Promise<number>(() => {});
}

/**
 * `check NAME`: the judgement of `explain`, made offline against what `serve` would load with the
 * same configuration (--config / FRAUDWALL_* / --lists / --state): list files, pushed lists and last
 * good URL copies, and the local-zone settings.
 */
async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(COMMANDS.check, args);
  if (values['help']) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  const flag = (key: string): string | undefined => values[key] as string | undefined;
  const config = loadConfig({
    flags: {
      config: flag('config'),
      lists: flag('lists'),
      state: flag('state'),
      protect: values['protect'] as string[] | undefined,
      lookalike: flag('lookalike'),
      'protect-tld-swaps': values['protect-tld-swaps'] === undefined ? undefined : String(values['protect-tld-swaps']),
      'protect-embedded': values['protect-embedded'] === undefined ? undefined : String(values['protect-embedded']),
    },
    env: process.env,
  });
  const warn: Logger = { ...silentLogger, warn: (msg) => process.stderr.write(`warning: ${msg}\n`) };
  const state = new StateStore(config.state);
  const urlSources = config.urlLists.map(
    (spec) => new UrlListSource(spec, state, warn, { urlMinValidPercent: config.urlMinValidPercent, timeoutMs: 0, maxBytes: config.adminMaxBodyBytes }),
  );
  const loaded = await loadListSources(config.lists, state, urlSources, config.protect);
  for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
  // Built by the registry serve uses, so the lists combine in the same order.
  const policy = new ListRegistry(loaded.records, new VerdictCache({ verdictCacheSize: 1 }), warn, undefined, new ClientGroups(config.groups)).store.current;
  const lookalikeSettings = { lookalike: config.lookalike, protectTldSwaps: config.protectTldSwaps, protectEmbedded: config.protectEmbedded };
  const explanation = explainName(positionals[0]!, { policy, localZones: explainLocalZones(config), lookalikeSettings, client: flag('client') });
  if (values['json']) process.stdout.write(`${JSON.stringify({ ...explanation, sources: loaded.read })}\n`);
  else process.stdout.write(`${[formatExplanation(explanation), ...formatSourcesRead(loaded.read)].join('\n')}\n`);
  if (!explanation.valid) return ExitCode.USAGE;
  return isBlocking(explanation) ? ExitCode.BLOCKED : ExitCode.OK;
}

function exitCodeFor(status: number): number {
  if (status < 300) return ExitCode.OK;
  if (status === 401 || status === 403 || status === 429) return ExitCode.AUTH;
  if (status >= 400 && status < 500) return ExitCode.REJECTED;
  return ExitCode.FAILURE;
}

/** Prints the server's error (with up to 20 entry problems) and returns the exit code. */
function reportServerFailure(response: AdminResponse, sentToken: boolean): number {
  const error = (response.body['error'] ?? {}) as { code?: string; message?: string; problems?: { line: number; entry: string; reason: string }[] };
  const message =
    error.code === 'E_AUTH_MISSING' && !sentToken
      ? 'no admin token: set FRAUDWALL_ADMIN_TOKEN or pass --token-file FILE (the token the server was started with)'
      : error.code === 'E_AUTH_WRONG'
        ? `${error.message ?? 'the admin token is wrong'}: check FRAUDWALL_ADMIN_TOKEN or --token-file against the server's token`
        : (error.message ?? `HTTP ${response.status}`);
  process.stderr.write(`fraudwall: ${message}\n`);
  const problems = error.problems ?? [];
  for (const problem of problems.slice(0, 20)) process.stderr.write(`  line ${problem.line}: ${problem.reason}: ${problem.entry}\n`);
  if (problems.length > 20) process.stderr.write(`  … and ${problems.length - 20} more\n`);
  return exitCodeFor(response.status);
}

async function readListFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new UsageError(`fraudwall push: cannot read FILE ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The token for a client command: --token-file, else FRAUDWALL_ADMIN_TOKEN; a file that cannot be read is named. */
async function tokenFor(tokenFile: string | undefined): Promise<string | undefined> {
  try {
    return await clientToken(tokenFile, process.env);
  } catch (error) {
    throw new UsageError(`fraudwall: cannot read --token-file ${tokenFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

async function clientCommand(command: ClientCommand, args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(COMMANDS[command], args);
  if (values['help']) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  const token = await tokenFor(values['token-file'] as string | undefined);
  const client = { url: (values['url'] as string | undefined) ?? process.env['FRAUDWALL_URL'] ?? 'http://127.0.0.1:8053', token };
  const reportFailure = (response: AdminResponse): number => reportServerFailure(response, token !== undefined);
  const [name = '', file] = positionals;
  const json = values['json'] === true;
  let response: AdminResponse;
  switch (command) {
    case 'push': {
      const format = values['format'];
      if (format !== undefined && format !== 'list' && format !== 'rpz') {
        throw new UsageError(`fraudwall push: --format must be list or rpz, not ${JSON.stringify(format)}`);
      }
      const data = file === '-' ? await readStdin() : await readListFile(file!);
      const query = new URLSearchParams({ kind: values['allow'] ? 'allow' : values['protect'] ? 'protect' : 'block' });
      if (typeof values['category'] === 'string') query.set('category', values['category']);
      if (format !== undefined) query.set('format', format);
      response = await adminRequest(client, 'PUT', `/v1/lists/${encodeURIComponent(name)}?${query}`, { contentType: 'text/plain; charset=utf-8', data });
      if (response.status >= 300) return reportFailure(response);
      const b = response.body;
      process.stdout.write(`${b['created'] ? 'created' : 'replaced'} list ${name}: ${b['entries']} entries (${b['kind']}, ${b['category']}), policy generation ${b['generation']}\n`);
      return ExitCode.OK;
    }
    case 'delete':
      response = await adminRequest(client, 'DELETE', `/v1/lists/${encodeURIComponent(name)}`);
      if (response.status >= 300) return reportFailure(response);
      process.stdout.write(`deleted list ${name}, policy generation ${response.body['generation']}\n`);
      return ExitCode.OK;
    case 'reload':
      response = await adminRequest(client, 'POST', '/v1/reload');
      if (response.status >= 300) return reportFailure(response);
      process.stdout.write(`reloaded, policy generation ${response.body['generation']}\n`);
      return ExitCode.OK;
    case 'lists': {
      response = await adminRequest(client, 'GET', '/v1/lists');
      if (response.status >= 300) return reportFailure(response);
      if (json) {
        process.stdout.write(`${JSON.stringify(response.body)}\n`);
        return ExitCode.OK;
      }
      const rows = (response.body['lists'] as Record<string, unknown>[]).map((l) =>
        [l['name'], l['kind'], l['category'], l['entries'], l['source'], l['generation'], l['updatedAt']].map(String),
      );
      const header = ['NAME', 'KIND', 'CATEGORY', 'ENTRIES', 'SOURCE', 'GEN', 'UPDATED'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      return ExitCode.OK;
    }
    default: {
      const asClient = values['client'] as string | undefined;
      const clientParam = asClient === undefined ? '' : `&client=${encodeURIComponent(asClient)}`;
      response = await adminRequest(client, 'GET', `/v1/explain?name=${encodeURIComponent(name)}${clientParam}`);
      if (response.status >= 300 && response.status !== 400) return reportFailure(response);
      const explanation = response.body as unknown as Explanation;
      process.stdout.write(json ? `${JSON.stringify(explanation)}\n` : `${formatExplanation(explanation)}\n`);
      if (!explanation.valid) return ExitCode.USAGE;
      return isBlocking(explanation) ? ExitCode.BLOCKED : ExitCode.OK;
    }
  }
}

/** `fraudwall events tail`: streams the running server's events until it stops or Ctrl-C. */
async function eventsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(COMMANDS.events, args);
  if (values['help']) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  if (positionals[0] !== 'tail') throw new UsageError(`fraudwall events: unknown subcommand "${positionals[0]}"; usage: ${COMMANDS.events.usage}`);
  const client = {
    url: (values['url'] as string | undefined) ?? process.env['FRAUDWALL_URL'] ?? 'http://127.0.0.1:8053',
    token: await tokenFor(values['token-file'] as string | undefined),
  };
  const result = await tailEvents(client, process.stdout);
  if (result.status === 200) return ExitCode.OK;
  process.stderr.write(`fraudwall: ${result.error || `HTTP ${result.status}`}\n`);
  return exitCodeFor(result.status);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'push':
    case 'delete':
    case 'lists':
    case 'explain':
    case 'reload':
      return clientCommand(command, rest);
    case 'events':
      return eventsCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return ExitCode.OK;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return ExitCode.OK;
    default: {
      const near = nearestName(command, Object.keys(COMMANDS));
      process.stderr.write(`fraudwall: unknown command "${command}"${near ? `; did you mean "${near}"?` : ''} (fraudwall --help lists the commands)\n`);
      return ExitCode.USAGE;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`); // one line naming the command and the argument
      process.exit(ExitCode.USAGE);
    }
    const isUsage = error instanceof ConfigError;
    const code = (error as { code?: string }).code;
    process.stderr.write(`fraudwall: ${error instanceof Error ? error.message : String(error)}${code && !isUsage ? ` [${code}]` : ''}\n`);
    process.exit(isUsage ? ExitCode.USAGE : ExitCode.FAILURE);
  },
);
