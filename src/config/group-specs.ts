// The `groups:` setting: per-client policy groups (issue #14). Parsed and checked here once, at
// start; the selection table and the per-group matchers are built from these specs (policy/).
import { isIP } from 'node:net';
import { isValidName } from '../query/rule.js';
import { parseCidr } from './ip-address.js';
import type { GroupSpec } from './options.js';

/** The group unmatched clients fall into; may be configured (its `lists`, `block-mode`), never has clients. */
export const DEFAULT_GROUP = 'default';

/** Groups a server may define: the `group` metric label stays bounded, a group index fits a byte. */
export const MAX_GROUPS = 64;

const CLIENT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const BLOCK_MODES = ['nxdomain', 'null', 'refused', 'sinkhole'] as const;

/** True when a `clients:` entry is an address or CIDR (anything else must be a client name). */
export function isAddressEntry(entry: string): boolean {
  return isIP(entry.split('/')[0] ?? '') !== 0;
}

/** `groups`: a list of {name, clients, lists?, block-mode?}; a JSON string from env or flags. */
export function convertGroups(raw: unknown, fail: (why: string) => undefined): readonly GroupSpec[] | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return fail('must be a JSON array like [{"name":"guests","clients":["192.168.50.0/24"],"lists":["fraud"]}]');
    }
  }
  if (!Array.isArray(value)) return fail('must be a list of {name, clients, lists, block-mode}');
  if (value.length > MAX_GROUPS) return fail(`at most ${MAX_GROUPS} groups, got ${value.length}`);
  const problems: string[] = [];
  const specs: GroupSpec[] = [];
  value.forEach((item: unknown, i) => {
    const at = `group ${i + 1}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return problems.push(`${at} must be a mapping`);
    const { name, clients = [], lists, 'block-mode': blockMode, ...rest } = item as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) problems.push(`${at}: unknown key(s) ${unknown.join(', ')} (a group has name, clients, lists, block-mode)`);
    const label = typeof name === 'string' && isValidName(name) ? `group "${name}"` : at;
    if (typeof name !== 'string' || !isValidName(name)) problems.push(`${at}: name must match [a-z0-9][a-z0-9_-]{0,63}`);
    const clientEntries = stringList(clients, `${label}: clients`, problems);
    const listNames = lists === undefined ? undefined : stringList(lists, `${label}: lists`, problems);
    for (const list of listNames ?? []) if (!isValidName(list)) problems.push(`${label}: "${list}" is not a list name`);
    for (const entry of clientEntries) {
      if (isAddressEntry(entry)) {
        const parsed = parseCidr(entry);
        if ('error' in parsed) problems.push(`${label}: ${parsed.error}`);
      } else if (!CLIENT_NAME.test(entry)) {
        problems.push(`${label}: "${entry}" is neither an address/CIDR nor a client name (one DNS label, like kitchen-tablet)`);
      }
    }
    if (name === DEFAULT_GROUP && clientEntries.length > 0) {
      problems.push(`group "default" takes every client no other group matches: remove its clients`);
    } else if (name !== DEFAULT_GROUP && !clientEntries.some(isAddressEntry)) {
      problems.push(`${label}: clients needs at least one address or CIDR (a client name selects a group only for clients inside its addresses, e.g. 0.0.0.0/0 and ::/0)`);
    }
    if (blockMode !== undefined && (typeof blockMode !== 'string' || !(BLOCK_MODES as readonly string[]).includes(blockMode))) {
      problems.push(`${label}: block-mode must be one of ${BLOCK_MODES.join(', ')}`);
    }
    specs.push({
      name: name as string,
      clients: clientEntries.map((entry) => (isAddressEntry(entry) ? entry : entry.toLowerCase())),
      lists: listNames,
      blockMode: blockMode as GroupSpec['blockMode'],
    });
    return undefined;
  });
  const names = specs.map((spec) => spec.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) problems.push(`group name "${duplicate}" is used twice`);
  if (problems.length > 0) return fail(problems.join('; '));
  return specs;
}

function stringList(raw: unknown, where: string, problems: string[]): string[] {
  const items = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? (raw as unknown[]) : undefined;
  if (items === undefined || items.some((item) => typeof item !== 'string' || item.trim() === '')) {
    problems.push(`${where} must be a list of non-empty strings`);
    return [];
  }
  return (items as string[]).map((item) => item.trim());
}
