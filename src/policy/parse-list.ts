// Parses one blocklist/allowlist text into rules. Accepts the formats lists are actually published in
// (plain domains, hosts files, the domain subset of Adblock syntax) and reports every line it cannot
// use instead of guessing: a `||host/path^` rule must never turn into a block of the whole host.
//
// Hot loop notes: lists can have millions of lines, so lines are found with indexOf and trimmed with
// charCode loops, and only the rare line shapes (comments, hosts lines, adblock) do extra work.
import { isIP } from 'node:net';
import { normalizeListDomain } from './normalize-domain.js';
import type { Rule, RuleKind, RuleScope } from './rule.js';

export interface SkippedLine {
  line: number;
  text: string;
  reason: string;
}

export interface ParsedList {
  name: string;
  kind: RuleKind;
  category: string;
  rules: Rule[];
  skipped: SkippedLine[];
}

export interface ParseListOptions {
  name: string;
  kind: RuleKind;
  category?: string;
}

const CATEGORY_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const CATEGORY_HEADER = /^[#!][\s#!]*category\s*:\s*(.*)$/i;
const ADBLOCK_HEADER = /^\[adblock/i;

/** Addresses that hosts-file blocklists map names to. Any other address is a real mapping, not a block. */
const HOSTS_SINK_ADDRESSES = new Set(['0.0.0.0', '127.0.0.1', '::', '::1']);

/** Names every hosts file carries for the machine itself; they are not list entries. */
const HOSTS_SYSTEM_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-allhosts',
  '0.0.0.0',
]);

/** Adblock options that do not narrow a domain rule, so `||d^$important` still means "block d". */
const NEUTRAL_ADBLOCK_OPTIONS = new Set(['', '$important', '$all']);

const SPACE = 32;
const TAB = 9;

export function parseList(text: string, opts: ParseListOptions): ParsedList {
  const { name, kind } = opts;
  let category = opts.category ?? 'uncategorized';
  const rules: Rule[] = [];
  const skipped: SkippedLine[] = [];

  const add = (domain: string, scope: RuleScope, ruleKind: RuleKind, line: number, entry: string): void => {
    // Same property order everywhere: one hidden class for all rules.
    rules.push({ domain, scope, kind: ruleKind, list: name, category, line, text: entry });
  };
  const skip = (line: number, entry: string, reason: string): void => {
    skipped.push({ line, text: entry, reason });
  };

  const n = text.length;
  let pos = n > 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNo = 0;
  while (pos <= n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    lineNo++;
    // Trim (this also removes the '\r' of CRLF files).
    let start = pos;
    while (start < end && text.charCodeAt(start) <= SPACE) start++;
    let stop = end;
    while (stop > start && text.charCodeAt(stop - 1) <= SPACE) stop--;
    pos = end + 1;
    if (start === stop) continue;

    let line = text.slice(start, stop);
    const c0 = line.charCodeAt(0);

    if (c0 === 35 /* # */ || c0 === 33 /* ! */) {
      const header = CATEGORY_HEADER.exec(line);
      if (header === null) continue;
      const value = (header[1] ?? '').trim().toLowerCase();
      if (rules.length > 0) skip(lineNo, line, 'category header after the first rule (move it to the top of the file)');
      else if (!CATEGORY_NAME.test(value)) skip(lineNo, line, `invalid category name '${value}' (use a-z, 0-9, '-', '_')`);
      else category = value;
      continue;
    }
    if (c0 === 91 /* [ */ && ADBLOCK_HEADER.test(line)) continue;

    // Whitespace inside the line: a trailing "# comment" and/or a hosts-file line.
    let hasWhitespace = line.indexOf(' ') >= 0 || line.indexOf('\t') >= 0;
    if (hasWhitespace) {
      line = stripInlineComment(line);
      hasWhitespace = line.indexOf(' ') >= 0 || line.indexOf('\t') >= 0;
    }

    if (c0 === 124 /* | */ || c0 === 64 /* @ */) {
      const isException = c0 === 64;
      const prefix = isException ? '@@||' : '||';
      if (!line.startsWith(prefix)) {
        skip(lineNo, line, isException ? "adblock exception that is not '@@||domain^'" : "adblock address rule ('|'), not a domain");
        continue;
      }
      const host = adblockHost(line, prefix.length);
      if (typeof host !== 'string') {
        skip(lineNo, line, host.error);
        continue;
      }
      const domain = normalizeListDomain(host);
      if (typeof domain === 'string') add(domain, 'domain', isException ? 'allow' : kind, lineNo, line);
      else skip(lineNo, line, domain.error);
      continue;
    }

    if (c0 === 47 /* / */) {
      skip(lineNo, line, line.length > 1 && line.endsWith('/') ? 'regular expression rule, not a domain' : 'URL or path, not a domain');
      continue;
    }

    if (c0 === 42 /* * */ && line.charCodeAt(1) === 46 /* . */) {
      const domain = normalizeListDomain(line.slice(2));
      if (typeof domain === 'string') add(domain, 'subdomains', kind, lineNo, line);
      else skip(lineNo, line, domain.error);
      continue;
    }

    if (hasWhitespace) {
      parseHostsLine(line, lineNo, kind, add, skip);
      continue;
    }

    // Plain domain: the common case, one normalisation pass.
    const domain = normalizeListDomain(line);
    if (typeof domain === 'string') add(domain, 'domain', kind, lineNo, line);
    else skip(lineNo, line, domain.error);
  }

  return { name, kind, category, rules, skipped };
}

/** The host of `||host^[$important|$all]`, or why the rule is not a plain domain rule. */
function adblockHost(line: string, from: number): string | { error: string } {
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 94 /* ^ */) {
      const options = line.slice(i + 1).toLowerCase();
      if (!NEUTRAL_ADBLOCK_OPTIONS.has(options)) {
        return {
          error: options.startsWith('$')
            ? `adblock rule with modifier '${options}' (only $important and $all are supported)`
            : "adblock rule with text after '^'",
        };
      }
      return line.slice(from, i);
    }
    if (c === 47 /* / */) return { error: 'adblock rule with a path' };
    if (c === 42 /* * */) return { error: 'adblock rule with a wildcard' };
    if (c === 58 /* : */) return { error: 'adblock rule with a port' };
    if (c === 36 /* $ */) break;
  }
  // Without '^', `||example.com` would also match example.company: not a domain rule.
  return { error: "adblock rule without the '^' separator" };
}

/** Cuts a "# comment" that follows whitespace; '#' glued to text (cosmetic `##` rules) stays. */
function stripInlineComment(line: string): string {
  let hash = line.indexOf('#');
  while (hash > 0) {
    const before = line.charCodeAt(hash - 1);
    if (before === SPACE || before === TAB) {
      let stop = hash;
      while (stop > 0 && line.charCodeAt(stop - 1) <= SPACE) stop--;
      return line.slice(0, stop);
    }
    hash = line.indexOf('#', hash + 1);
  }
  return line;
}

/** `ADDRESS name [name...]`. Each name becomes its own rule; its `text` is the name as written. */
function parseHostsLine(
  line: string,
  lineNo: number,
  kind: RuleKind,
  add: (domain: string, scope: RuleScope, kind: RuleKind, line: number, entry: string) => void,
  skip: (line: number, entry: string, reason: string) => void,
): void {
  const n = line.length;
  let i = 0;
  while (i < n && line.charCodeAt(i) > SPACE) i++;
  const address = line.slice(0, i);
  // Set lookup first: isIP is a regex, and nearly every hosts line uses a sink address.
  const sink = HOSTS_SINK_ADDRESSES.has(address);
  if (!sink && isIP(address) === 0) {
    skip(lineNo, line, `unexpected whitespace ('${address}' is not a hosts-file address)`);
    return;
  }
  // Tokens are walked in place: no split array per line.
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= SPACE) i++;
    const start = i;
    while (i < n && line.charCodeAt(i) > SPACE) i++;
    if (i === start) break;
    const entry = line.slice(start, i);
    if (HOSTS_SYSTEM_NAMES.has(entry)) continue;
    const domain = normalizeListDomain(entry);
    if (typeof domain === 'string' && HOSTS_SYSTEM_NAMES.has(domain)) continue;
    if (!sink) {
      skip(lineNo, line, `hosts entry maps to ${address}, not to a blocking address (0.0.0.0, 127.0.0.1, :: or ::1)`);
      return;
    }
    if (typeof domain === 'string') add(domain, 'domain', kind, lineNo, entry);
    else skip(lineNo, line, domain.error);
  }
}
