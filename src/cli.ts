#!/usr/bin/env -S node --max-semi-space-size=2
import './runtime-guard.js'; // first: stops with a clear message on a Node.js below the floor
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from './config/load-config.js';
import { envName, SERVE_OPTIONS, SHIPPED_LISTS_DIR } from './config/options.js';
import { createLogger } from './log/logger.js';
import { startServer } from './app/start-server.js';
import { readFile } from 'node:fs/promises';
import { adminRequest, clientToken, type AdminResponse } from './admin/admin-client.js';
import { explainName, formatExplanation, type Explanation } from './policy/explain.js';
import { loadListsDir } from './lists/load-lists.js';
import { Policy } from './policy/policy.js';
import { VERSION } from './version.js';

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


const CHECK_USAGE = 'fraudwall check NAME [--lists DIR] [--protect FILE]... [--lookalike observe|block|off] [--protect-tld-swaps] [--json]';

const USAGE = `fraudwall ${VERSION} — a DNS resolver that blocks fraud domains

Usage:
  fraudwall serve [options]          serve DNS (UDP and TCP) with the blocklists
  ${CHECK_USAGE}
                                     is NAME blocked? by which list and rule? does it imitate a
                                     protected domain? (no network needed;
                                     exit 0 = resolved normally, 3 = blocked, 2 = invalid name)
  fraudwall push NAME FILE|- [--category C] [--allow|--protect]   replace (or create) list NAME on a running server
  fraudwall delete NAME                                 delete a list pushed earlier
  fraudwall lists [--json]                              the lists a running server has
  fraudwall explain NAME [--json]                       is NAME blocked on the running server? (exit 0 / 3)
  fraudwall reload                                      re-read list files and URL lists now
      these five take [--url http://127.0.0.1:8053] [--token-file FILE] (or FRAUDWALL_ADMIN_TOKEN);
      exit 0 = done, 1 = server unreachable or failed, 2 = usage, 4 = change rejected, 5 = not authorized
  fraudwall --version | --help

Options of serve (each also a config-file key and a FRAUDWALL_* environment variable;
precedence: flags > environment > config file > defaults):
  --config FILE                      YAML or JSON config file (env FRAUDWALL_CONFIG)
${SERVE_OPTIONS.map((spec) => {
  const flag = `  --${spec.key}${spec.kind === 'bool' ? '[=true|false]' : ' '}${spec.kind === 'bool' ? '' : spec.kind === 'enum' ? spec.values?.join('|') : spec.kind === 'int' ? 'N' : spec.kind.startsWith('address') ? 'HOST:PORT' : spec.kind === 'cidrs' ? 'CIDR' : spec.kind === 'paths' ? 'FILE' : spec.kind === 'url-lists' ? 'JSON' : 'PATH'}`;
  const def = Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default);
  const head = flag.length < 37 ? flag.padEnd(37) : `${flag}\n${''.padEnd(37)}`;
  return `${head}${spec.description}\n${''.padEnd(37)}default ${def === '' ? '(none)' : def}; env ${envName(spec.key)}`;
}).join('\n')}
`;

function serveArgsConfig(): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const spec of SERVE_OPTIONS) options[spec.key] = { type: 'string', multiple: spec.kind === 'addresses' || spec.kind === 'cidrs' || spec.kind === 'paths' };
  return options;
}

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
  const args = expandBooleanFlags(rawArgs);
  const { values } = parseArgs({ args, options: serveArgsConfig(), strict: true, allowPositionals: false }) as {
    values: Record<string, string | string[] | boolean | undefined>;
  };
  if (values['help'] === true) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  const { help: _help, ...flags } = values;
  const config = loadConfig({ flags: flags as Record<string, string | string[] | undefined>, env: process.env });
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting at once`);
      process.exit(ExitCode.FAILURE);
    }
    stopping = true;
    logger.info(`${signal}: shutting down`);
    // Bounded: a stuck connection must not keep the process alive forever.
    setTimeout(() => process.exit(ExitCode.OK), 5000).unref();
    void server.close().then(() => process.exit(ExitCode.OK));
  };
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading list files and URL lists');
    void server.reload().catch((error: unknown) => logger.error('reload failed; the previous lists stay in effect', { err: error }));
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return new Promise<number>(() => {});
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      lists: { type: 'string' },
      protect: { type: 'string', multiple: true },
      lookalike: { type: 'string' },
      'protect-tld-swaps': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`usage: ${CHECK_USAGE}\n`);
    return ExitCode.USAGE;
  }
  const lookalike = values.lookalike ?? 'observe';
  if (lookalike !== 'observe' && lookalike !== 'block' && lookalike !== 'off') {
    process.stderr.write(`fraudwall: --lookalike must be observe, block or off, got ${JSON.stringify(lookalike)}\n`);
    return ExitCode.USAGE;
  }
  const dir = values.lists ?? process.env['FRAUDWALL_LISTS'] ?? SHIPPED_LISTS_DIR;
  const { lists, warnings } = await loadListsDir(dir, values.protect ?? []);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const explanation = explainName(positionals[0]!, new Policy(lists, 1), { lookalike, protectTldSwaps: values['protect-tld-swaps'] ?? false });
  process.stdout.write(values.json ? `${JSON.stringify(explanation)}\n` : `${formatExplanation(explanation)}\n`);
  if (!explanation.valid) return ExitCode.USAGE;
  return explanation.verdict === 'blocked' ? ExitCode.BLOCKED : ExitCode.OK;
}

const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function exitCodeFor(status: number): number {
  if (status < 300) return ExitCode.OK;
  if (status === 401 || status === 403 || status === 429) return ExitCode.AUTH;
  if (status >= 400 && status < 500) return ExitCode.REJECTED;
  return ExitCode.FAILURE;
}

/** Prints the server's error (with up to 20 entry problems) and returns the exit code. */
function reportFailure(response: AdminResponse): number {
  const error = (response.body['error'] ?? {}) as { message?: string; problems?: { line: number; entry: string; reason: string }[] };
  process.stderr.write(`fraudwall: ${error.message ?? `HTTP ${response.status}`}\n`);
  const problems = error.problems ?? [];
  for (const problem of problems.slice(0, 20)) process.stderr.write(`  line ${problem.line}: ${problem.reason}: ${problem.entry}\n`);
  if (problems.length > 20) process.stderr.write(`  … and ${problems.length - 20} more\n`);
  return exitCodeFor(response.status);
}

async function clientCommand(command: string, args: string[]): Promise<number> {
  const pushOptions = { category: { type: 'string' }, allow: { type: 'boolean' }, protect: { type: 'boolean' } } as const;
  const parsed = parseArgs({ args, options: command === 'push' ? { ...CLIENT_OPTIONS, ...pushOptions } : CLIENT_OPTIONS, strict: true, allowPositionals: true });
  const positionals = parsed.positionals;
  const values = parsed.values as { url?: string; 'token-file'?: string; json?: boolean; help?: boolean; category?: string; allow?: boolean; protect?: boolean };
  const arity = { push: 2, delete: 1, lists: 0, explain: 1, reload: 0 }[command] ?? 0;
  if (values.help || positionals.length !== arity) {
    process.stderr.write(USAGE);
    return values.help ? ExitCode.OK : ExitCode.USAGE;
  }
  const client = {
    url: values.url ?? process.env['FRAUDWALL_URL'] ?? 'http://127.0.0.1:8053',
    token: await clientToken(values['token-file'], process.env),
  };
  const [name = '', file] = positionals;
  const json = values.json === true;
  let response: AdminResponse;
  switch (command) {
    case 'push': {
      const data = file === '-' ? await readStdin() : await readFile(file!);
      const query = new URLSearchParams({ kind: values.allow ? 'allow' : values.protect ? 'protect' : 'block' });
      if (values.category) query.set('category', values.category);
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
      response = await adminRequest(client, 'GET', `/v1/explain?name=${encodeURIComponent(name)}`);
      if (response.status >= 300 && response.status !== 400) return reportFailure(response);
      const explanation = response.body as unknown as Explanation;
      process.stdout.write(json ? `${JSON.stringify(explanation)}\n` : `${formatExplanation(explanation)}\n`);
      if (!explanation.valid) return ExitCode.USAGE;
      return explanation.verdict === 'blocked' ? ExitCode.BLOCKED : ExitCode.OK;
    }
  }
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
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return ExitCode.USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const isUsage = error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const code = (error as { code?: string }).code;
    process.stderr.write(`fraudwall: ${error instanceof Error ? error.message : String(error)}${code && !isUsage ? ` [${code}]` : ''}\n`);
    process.exit(isUsage ? ExitCode.USAGE : ExitCode.FAILURE);
  },
);
