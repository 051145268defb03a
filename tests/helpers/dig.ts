/**
 * dig (BIND 9.18) as the real client. Runs `dig -r @HOST -p PORT +tries=1 +time=3 ...args` and parses its text.
 * `-r` ignores ~/.digrc so a developer's settings cannot change the output.
 * Record fields are dig's text verbatim: names keep their trailing dot, TXT data keeps its quotes.
 */
import { assertLoopback } from './loopback.js';
import { findTool } from './require-tool.js';
import { runProgram } from './run-program.js';

export interface DigRecord {
  name: string;
  /** -1 when dig was told +nottlid. */
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface DigResult {
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP, ... ('' when dig printed no header, e.g. +short). */
  status: string;
  id: number;
  opcode: string;
  /** Header flags in dig's order: qr aa tc rd ra ad cd. */
  flags: string[];
  /** `; EDNS: version: 0, flags: do; udp: 1232` — absent when the reply had no OPT. */
  edns?: { version: number; flags: string[]; udp: number };
  question: { name: string; class: string; type: string }[];
  answers: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** From `; EDE: 15 (Blocked): (text)`; the first one when there are several. */
  ede?: { code: number; text: string };
  /** Every EDE line, in order. */
  edes: { code: number; text: string }[];
  /** dig printed ';; Truncated, retrying in TCP mode.' */
  retriedOverTcp: boolean;
  /** Text after ';; SERVER: ', e.g. '127.0.0.1#5353(127.0.0.1) (UDP)'. */
  server: string;
  /** 'UDP' | 'TCP' | ... from the SERVER line. */
  protocol: string;
  /** ';; WARNING…' / ';; Warning…' lines (malformed packet, ID mismatch, recursion not available…). */
  warnings: string[];
  /** For +short: the non-comment lines. */
  shortLines: string[];
  raw: string;
}

export async function runDig(port: number, args: string[], opts: { host?: string; timeoutMs?: number } = {}): Promise<DigResult> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const bin = findTool('dig');
  if (bin === null) throw new Error("runDig: 'dig' is not installed (apt-get install bind9-dnsutils)");
  const argv = ['-r', `@${host}`, '-p', String(port), '+tries=1', '+time=3', ...args];
  const { code, stdout, stderr } = await runProgram(bin, argv, { env: { ...process.env, LC_ALL: 'C' }, timeoutMs: opts.timeoutMs ?? 15_000 });
  if (code !== 0) {
    throw new Error(`dig ${argv.join(' ')} exited with ${code}:\n${stdout}${stderr}`);
  }
  return parseDig(stdout + (stderr === '' ? '' : `\n${stderr}`));
}

const CLASSES = new Set(['IN', 'CH', 'CHAOS', 'HS', 'NONE', 'ANY']);

function parseRecord(line: string): DigRecord | null {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length < 3) return null;
  let i = 0;
  const name = tokens[i++]!;
  let ttl = -1;
  if (/^\d+$/.test(tokens[i] ?? '')) ttl = Number(tokens[i++]);
  let klass = '';
  const maybeClass = tokens[i] ?? '';
  if (CLASSES.has(maybeClass) || /^CLASS\d+$/.test(maybeClass)) {
    klass = maybeClass;
    i++;
  }
  const type = tokens[i++];
  if (type === undefined) return null;
  // data: everything after the type, with dig's spacing inside it preserved
  const rest = line.trim();
  let pos = 0;
  for (let k = 0; k < i; k++) {
    const at = rest.indexOf(tokens[k]!, pos);
    pos = at + tokens[k]!.length;
  }
  return { name, ttl, class: klass, type, data: rest.slice(pos).trim() };
}

/** Parses dig's text output (exported for tests of the parser itself). */
export function parseDig(raw: string): DigResult {
  const result: DigResult = {
    status: '',
    id: -1,
    opcode: '',
    flags: [],
    question: [],
    answers: [],
    authority: [],
    additional: [],
    edes: [],
    retriedOverTcp: raw.includes(';; Truncated, retrying in TCP mode.'),
    server: '',
    protocol: '',
    warnings: [],
    shortLines: [],
    raw,
  };
  type Section = 'none' | 'question' | 'answer' | 'authority' | 'additional' | 'opt';
  let section: Section = 'none';
  let sawHeader = false;
  for (const line of raw.split('\n')) {
    const header = /^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)/.exec(line);
    if (header !== null) {
      // A later header (e.g. after +qr's printout of the query) replaces an earlier one.
      result.opcode = header[1]!;
      result.status = header[2]!;
      result.id = Number(header[3]);
      result.question = [];
      result.answers = [];
      result.authority = [];
      result.additional = [];
      result.edes = [];
      delete result.ede;
      delete result.edns;
      sawHeader = true;
      section = 'none';
      continue;
    }
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags !== null) {
      result.flags = flags[1]!.trim().split(/\s+/).filter((f) => f !== '');
      continue;
    }
    if (line.startsWith(';; QUESTION SECTION:')) section = 'question';
    else if (line.startsWith(';; ANSWER SECTION:')) section = 'answer';
    else if (line.startsWith(';; AUTHORITY SECTION:')) section = 'authority';
    else if (line.startsWith(';; ADDITIONAL SECTION:')) section = 'additional';
    else if (line.startsWith(';; OPT PSEUDOSECTION:')) section = 'opt';
    else if (line.startsWith(';; SERVER: ')) {
      result.server = line.slice(';; SERVER: '.length).trim();
      result.protocol = /\((UDP|TCP|TLS|HTTPS[^)]*)\)\s*$/.exec(result.server)?.[1] ?? '';
    } else if (/^;; (WARNING|Warning)/.test(line)) {
      result.warnings.push(line.slice(3));
    } else if (line.trim() === '') {
      if (section !== 'opt') section = 'none';
    } else if (section === 'opt') {
      const edns = /^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(line);
      if (edns !== null) {
        result.edns = { version: Number(edns[1]), flags: edns[2]!.trim().split(/\s+/).filter((f) => f !== ''), udp: Number(edns[3]) };
      }
      const ede = /^; EDE: (\d+)(?: \([^)]*\))?(?:: (.*))?$/.exec(line);
      if (ede !== null) {
        let text = ede[2] ?? '';
        if (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1);
        const entry = { code: Number(ede[1]), text };
        result.edes.push(entry);
        result.ede ??= entry;
      }
      if (line.startsWith(';; ')) section = 'none';
    } else if (section === 'question' && line.startsWith(';')) {
      const t = line.slice(1).trim().split(/\s+/);
      if (t.length >= 3) result.question.push({ name: t[0]!, class: t[1]!, type: t[2]! });
    } else if ((section === 'answer' || section === 'authority' || section === 'additional') && !line.startsWith(';')) {
      const rec = parseRecord(line);
      if (rec !== null) {
        const target = section === 'answer' ? result.answers : section === 'authority' ? result.authority : result.additional;
        target.push(rec);
      }
    } else if (!sawHeader && !line.startsWith(';')) {
      result.shortLines.push(line.trim());
    }
  }
  if (result.ede === undefined) delete result.ede;
  return result;
}
