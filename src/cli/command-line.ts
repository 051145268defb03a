// Parsing a command's arguments so that every mistake is one line naming the argument: an unknown
// option (with the nearest known one), an option without its value, a missing or extra NAME/FILE.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { nearestName } from '../config/nearest-name.js';

/** A mistake on the command line: printed as one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommandSpec {
  /** `check`, `push`, …; the first word after `fraudwall`. */
  readonly name: string;
  /** The one-line synopsis, e.g. `fraudwall push NAME FILE|- [--category C] [--allow]`. */
  readonly usage: string;
  /** Positional arguments in order, with what each is (for "missing NAME: the list to push"). */
  readonly positionals: readonly { readonly name: string; readonly what: string }[];
  readonly options: NonNullable<ParseArgsConfig['options']>;
}

export interface ParsedCommand {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

function fail(spec: CommandSpec, problem: string): never {
  throw new UsageError(`fraudwall ${spec.name}: ${problem}; usage: ${spec.usage}`);
}

/** The option name in one of node:util parseArgs's messages (`Unknown option '--x'`, `Option '--x <value>' argument missing`). */
function optionIn(message: string): string {
  return /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? message;
}

/** parseArgs with `--help` and positionals counted; throws UsageError with one line on any mistake. */
export function parseCommand(spec: CommandSpec, args: readonly string[], options: { readonly exactPositionals?: boolean } = {}): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    const option = optionIn(message);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const known = Object.keys(spec.options).map((name) => `--${name}`);
      const near = option.startsWith('--') ? nearestName(option.slice(2), Object.keys(spec.options)) : undefined;
      fail(spec, `unknown option ${option}${near ? ` (did you mean --${near}?)` : known.length > 0 ? ` (options: ${known.join(', ')})` : ''}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (message.includes('does not take an argument')) fail(spec, `${option} takes no value`);
      // "argument missing", or "ambiguous" when the next word is another option (`--category --url …`).
      fail(spec, `${option} needs a value`);
    }
    fail(spec, message);
  }
  const values = parsed.values as ParsedCommand['values'];
  if (values['help'] === true) return { values, positionals: parsed.positionals };
  if (options.exactPositionals !== false) {
    const missing = spec.positionals[parsed.positionals.length];
    if (missing !== undefined) fail(spec, `missing ${missing.name} (${missing.what})`);
    const extra = parsed.positionals[spec.positionals.length];
    if (extra !== undefined) fail(spec, `unexpected argument "${extra}"`);
  }
  return { values, positionals: parsed.positionals };
}
