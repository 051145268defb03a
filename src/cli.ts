#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from './config/load-config.js';
import { envName, SERVE_OPTIONS, SHIPPED_LISTS_DIR } from './config/options.js';
import { createLogger } from './log/logger.js';
import { startServer } from './main.js';
import { explainName, formatExplanation } from './policy/explain.js';
import { loadListsDir } from './policy/load-lists.js';
import { Policy } from './policy/policy.js';
import { VERSION } from './version.js';

/** Exit codes scripts can branch on. */
export const ExitCode = {
  OK: 0,
  /** Unexpected failure (also Node's own code for an uncaught error). */
  FAILURE: 1,
  /** Bad command line, bad configuration or an invalid name. */
  USAGE: 2,
  /** `check`: the name is blocked. */
  BLOCKED: 3,
} as const;


const USAGE = `fraudwall ${VERSION} — a DNS resolver that blocks fraud domains

Usage:
  fraudwall serve [options]          serve DNS (UDP and TCP) with the blocklists
  fraudwall check NAME [--lists DIR] [--json]
                                     is NAME blocked? by which list and rule? (no network needed;
                                     exit 0 = resolved normally, 3 = blocked, 2 = invalid name)
  fraudwall --version | --help

Options of serve (each also a config-file key and a FRAUDWALL_* environment variable;
precedence: flags > environment > config file > defaults):
  --config FILE                      YAML or JSON config file (env FRAUDWALL_CONFIG)
${SERVE_OPTIONS.map((spec) => {
  const flag = `  --${spec.key} ${spec.kind === 'bool' ? 'true|false' : spec.kind === 'enum' ? spec.values?.join('|') : spec.kind === 'int' ? 'N' : spec.kind.startsWith('address') ? 'HOST:PORT' : spec.kind === 'url-lists' ? 'JSON' : 'PATH'}`;
  const def = Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default);
  return `${flag.padEnd(37)}${spec.description}\n${''.padEnd(37)}default ${def}; env ${envName(spec.key)}`;
}).join('\n')}
`;

function serveArgsConfig(): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const spec of SERVE_OPTIONS) options[spec.key] = { type: 'string', multiple: spec.kind === 'addresses' };
  return options;
}

async function serve(args: string[]): Promise<number> {
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
    options: { lists: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return ExitCode.OK;
  }
  if (positionals.length !== 1) {
    process.stderr.write('usage: fraudwall check NAME [--lists DIR] [--json]\n');
    return ExitCode.USAGE;
  }
  const dir = values.lists ?? process.env['FRAUDWALL_LISTS'] ?? SHIPPED_LISTS_DIR;
  const { lists, warnings } = await loadListsDir(dir);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const explanation = explainName(positionals[0]!, new Policy(lists, 1));
  process.stdout.write(values.json ? `${JSON.stringify(explanation)}\n` : `${formatExplanation(explanation)}\n`);
  if (!explanation.valid) return ExitCode.USAGE;
  return explanation.verdict === 'blocked' ? ExitCode.BLOCKED : ExitCode.OK;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
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
