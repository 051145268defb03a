// Loads every list file of a directory into ParsedLists. Per-file problems become warnings (one bad
// file must not take the resolver down); only an unusable directory is an error.
import type { Dirent } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FraudwallError } from '../errors.js';
import { ListParser } from '../policy/parse-list.js';
import { parseRpz } from '../policy/parse-rpz.js';
import { PUBLIC_SUFFIX_REASON } from '../policy/public-suffix.js';
import type { ParsedList, ParseListOptions } from '../policy/parse-list.js';
import { protectEntryProblem } from '../lookalike/protected-domain.js';
import { isValidName, NAME_RULE, type ListKind } from '../query/rule.js';

// Re-exported so callers of loadListsDir can catch its error from the same module.

/** The blocklist directory cannot be used at all (missing, not a directory, unreadable). */
export class ListLoadError extends FraudwallError {
  constructor(
    code: 'E_LIST_DIR',
    readonly dir: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface LoadedLists {
  lists: ParsedList[];
  warnings: string[];
  /** Files that look like lists but could not be loaded at all (fatal under --require-lists). */
  unreadable: string[];
}

const LIST_EXTENSIONS = new Set(['.txt', '.hosts', '.list', '.rpz']);
/** Response-policy zones (zone-file syntax, RPZ semantics): `NAME.rpz` and `NAME.rpz.txt`. */
const RPZ_SUFFIXES = ['.rpz', '.rpz.txt'];
const ALLOW_SUFFIX = '.allow';
const PROTECT_SUFFIX = '.protect';
const MAX_SHOWN_TEXT = 100;
/** Read size: the parser takes the file a chunk at a time, so a list's text is never held whole. */
const READ_CHUNK = 256 * 1024;

/**
 * Reads `*.txt`, `*.hosts` and `*.list` files (not recursive, sorted by file name). The list name is
 * the file name without its extension, lowercased, dots turned into '-'; `*.allow.<ext>` files are
 * allowlists, `*.protect.<ext>` files protect lists (#13). Dot-files are ignored (Kubernetes ConfigMap
 * mounts keep `..data` there); symlinked files are followed. `protectFiles` (--protect) are protect
 * lists from anywhere, named like the directory's files; a directory there stands for its list files.
 */
export async function loadListsDir(dir: string, protectFiles: readonly string[] = []): Promise<LoadedLists> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw directoryError(dir, err);
  }

  const files = entries
    .filter((e) => !e.name.startsWith('.') && LIST_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    // Code-unit order, not locale order: the same directory loads the same way everywhere.
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const lists: ParsedList[] = [];
  const warnings: string[] = [];
  const unreadable: string[] = [];
  const seen = new Map<string, string>();

  const candidates: { file: string; full: string; kind?: ListKind }[] = [];
  for (const entry of files) {
    const full = path.join(dir, entry.name);
    if (await isRegularFile(entry, full)) candidates.push({ file: entry.name, full });
  }
  for (const given of protectFiles) {
    for (const full of await protectPaths(given, warnings, unreadable)) candidates.push({ file: path.basename(full), full, kind: 'protect' });
  }

  for (const { file, full, kind } of candidates) {
    const naming = listNaming(file, kind);
    if (typeof naming === 'string') {
      warnings.push(`${file}: ${naming}; the file was skipped`);
      unreadable.push(full);
      continue;
    }
    const earlier = seen.get(naming.name);
    if (earlier !== undefined) {
      warnings.push(`${file}: list name "${naming.name}" is already used by ${earlier}; rename one of the files (this one was skipped)`);
      continue;
    }

    let list: ParsedList;
    try {
      list = naming.rpz ? parseRpz(await readFile(full), naming) : await parseFile(full, naming);
    } catch (err) {
      warnings.push(`${file}: could not be read (${errorCode(err)}); check the file's permissions (the list was skipped)`);
      unreadable.push(full);
      continue;
    }
    seen.set(naming.name, file);
    lists.push(list);
    if (list.kind === 'protect') {
      const unusable = unusableProtectEntries(list);
      if (unusable.length > 0) warnings.push(`${file}: ${unusable.length} entr${unusable.length === 1 ? 'y is' : 'ies are'} not protected (first: line ${unusable[0]})`);
    }
    warnings.push(...skippedWarnings(file, list));
  }

  if (files.length === 0) {
    warnings.push(`${dir}: no list files (*.txt, *.hosts, *.list, *.rpz) found; nothing will be blocked`);
  }
  return { lists, warnings, unreadable };
}

/**
 * Streams a list file through the parser. Peak memory is one read buffer plus the packed result,
 * instead of the whole file as a string (2 bytes a character for non-Latin-1 text) plus the result.
 */
export async function parseFile(file: string, opts: ParseListOptions): Promise<ParsedList> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const parser = new ListParser(opts, size);
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      // The parser copies what it keeps (a partial last line), so the buffer can be reused.
      parser.write(buffer.subarray(0, bytesRead));
    }
    return parser.end();
  } finally {
    await handle.close();
  }
}

/**
 * At most two warnings per file: one for public-suffix entries (a mistake that would block or allow
 * a whole registry, worth its own line) and one for every other skipped line, each naming the first.
 */
export function skippedWarnings(file: string, list: ParsedList): string[] {
  const suffix = publicSuffixWarning(file, list);
  const others = list.skipped.filter((s) => s.reason !== PUBLIC_SUFFIX_REASON);
  const first = others[0];
  const warnings = suffix === undefined ? [] : [suffix];
  if (first !== undefined) {
    warnings.push(
      `${file}: skipped ${others.length} lines that are not domains ` +
        `(first: line ${first.line}: ${first.reason}: ${shorten(first.text)})`,
    );
  }
  return warnings;
}

/** The one warning for a list's public-suffix entries, if it had any. */
export function publicSuffixWarning(source: string, list: ParsedList): string | undefined {
  const suffixes = list.skipped.filter((s) => s.reason === PUBLIC_SUFFIX_REASON);
  const first = suffixes[0];
  if (first === undefined) return undefined;
  return (
    `${source}: skipped ${suffixes.length} public-suffix entr${suffixes.length === 1 ? 'y' : 'ies'} ` +
    `(first: line ${first.line}: ${shorten(first.text)}); a public suffix such as com or co.uk can never be a rule: remove it from the list`
  );
}

/** Name and kind from a file name, or the reason it cannot name a list. */
function listNaming(file: string, given?: ListKind): { name: string; kind: ListKind; rpz: boolean } | string {
  const lower = file.toLowerCase();
  const rpzSuffix = RPZ_SUFFIXES.find((suffix) => lower.endsWith(suffix) && lower.length > suffix.length);
  if (rpzSuffix !== undefined && given === undefined) {
    const name = lower.slice(0, lower.length - rpzSuffix.length).replaceAll('.', '-');
    if (!isValidName(name)) return `list name "${name}" is not valid (use ${NAME_RULE}); rename the file`;
    return { name, kind: 'block', rpz: true };
  }
  let base = file.slice(0, file.length - path.extname(file).length).toLowerCase();
  let kind: ListKind = given ?? 'block';
  if (given === undefined && base.endsWith(ALLOW_SUFFIX) && base.length > ALLOW_SUFFIX.length) {
    kind = 'allow';
  } else if (base.endsWith(PROTECT_SUFFIX) && base.length > PROTECT_SUFFIX.length) {
    kind = 'protect';
  }
  base = base.replaceAll('.', '-');
  if (!isValidName(base)) {
    return `list name "${base}" is not valid (use ${NAME_RULE}); rename the file`;
  }
  return { name: base, kind, rpz: false };
}

/** A --protect path: the file itself, or the list files of a directory (sorted). */
async function protectPaths(given: string, warnings: string[], unreadable: string[]): Promise<string[]> {
  try {
    if (!(await stat(given)).isDirectory()) return [given];
    const names = (await readdir(given)).filter((name) => !name.startsWith('.') && LIST_EXTENSIONS.has(path.extname(name).toLowerCase()));
    return names.sort().map((name) => path.join(given, name));
  } catch (err) {
    warnings.push(`--protect ${given}: cannot be read (${errorCode(err)}); check the path (nothing from it is protected)`);
    unreadable.push(given);
    return [];
  }
}

/** "N: reason: entry" of each protect-list entry that is not a registrable domain. */
function unusableProtectEntries(list: ParsedList): string[] {
  const out: string[] = [];
  const packed = list.packed;
  for (let i = 0; i < packed.size; i++) {
    const reason = protectEntryProblem(packed.domain(i), packed.scope(i), packed.ruleKind(i));
    if (reason !== undefined) {
      const rule = list.rule(i);
      out.push(`${rule.line}: ${reason}: ${shorten(rule.text)}`);
    }
  }
  return out;
}

async function isRegularFile(entry: Dirent, full: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(full)).isFile();
  } catch {
    return false; // dangling link: nothing to load
  }
}

function directoryError(dir: string, err: unknown): ListLoadError {
  const code = errorCode(err);
  const message =
    code === 'ENOENT'
      ? `blocklist directory "${dir}" does not exist: create it and put *.txt, *.hosts or *.list files in it, or pass --lists DIR to use another directory`
      : code === 'ENOTDIR'
        ? `blocklist path "${dir}" is not a directory: pass --lists DIR with a directory of *.txt, *.hosts or *.list files`
        : `cannot read blocklist directory "${dir}" (${code}): check its permissions, or pass --lists DIR to use another directory`;
  return new ListLoadError('E_LIST_DIR', dir, message, { cause: err });
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return String(err);
}

function shorten(s: string): string {
  return s.length > MAX_SHOWN_TEXT ? `${s.slice(0, MAX_SHOWN_TEXT - 3)}...` : s;
}
