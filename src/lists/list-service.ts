import type { Logger } from '../log/logger.js';
import { parseList, type ParsedList } from '../policy/parse-list.js';
import { parseRpz } from '../policy/parse-rpz.js';
import type { ListFormat } from '../config/options.js';
import { protectEntryProblem } from '../lookalike/protected-domain.js';
import { isValidName, NAME_RULE, type ListKind, type RuleKind } from '../query/rule.js';
import type { ListRecord, ListRegistry } from './list-registry.js';
import type { StateStore, StoredList } from './state-store.js';
import { applyPackedDeltas } from './packed-delta.js';
import type { Policy } from '../policy/policy.js';


/** One reason an entry of a pushed list was refused. */
export interface EntryProblem {
  readonly line: number;
  readonly entry: string;
  readonly reason: string;
}

/** A change refused as a whole; nothing was applied. `kind` maps to an HTTP status in the API. */
export class ListChangeError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not-found' | 'conflict' | 'too-large' | 'changed' | 'unavailable',
    message: string,
    readonly problems: readonly EntryProblem[] = [],
  ) {
    super(message);
    this.name = 'ListChangeError';
  }
}

export interface ListChangeResult {
  readonly name: string;
  readonly kind: ListKind;
  readonly category: string;
  readonly entries: number;
  readonly generation: number;
  readonly created?: boolean;
  readonly added?: number;
  readonly removed?: number;
  /** With --redis: the list's version in the fleet, the same on every instance. */
  readonly version?: number;
}

/** List changes as the admin API makes them: a local ListService, or the fleet's shared one (--redis). */
export interface ListChanges {
  put(who: string, name: string, kind: ListKind, category: string, text: string, format?: ListFormat): Promise<ListChangeResult>;
  delta(who: string, name: string, addText: string, removeText: string): Promise<ListChangeResult>;
  delete(who: string, name: string): Promise<{ name: string; generation: number; version?: number }>;
}

export interface ListServiceOptions {
  /** admin-max-entries: most entries one list may hold. */
  readonly adminMaxEntries: number;
  /** Called with "accepted" or "rejected" for every attempted change. */
  readonly onChange?: (result: 'accepted' | 'rejected') => void;
}

/** The text form of a rule that parses back to the same rule inside a list of kind `listKind`. */
function canonicalEntry(domain: string, scope: string, kind: RuleKind, listKind: ListKind): string {
  if (kind !== (listKind === 'allow' ? 'allow' : 'block')) return `@@||${domain}^`;
  return scope === 'subdomains' ? `*.${domain}` : domain;
}

/** Every distinct entry of `list` in canonical text form, in list order (read from the packed entries, no Rule objects). */
export function canonicalEntries(list: ParsedList): string[] {
  const seen = new Set<string>();
  const packed = list.packed;
  for (let i = 0; i < packed.size; i++) seen.add(canonicalEntry(packed.domain(i), packed.scope(i), packed.ruleKind(i), list.kind));
  return [...seen];
}

/**
 * Parses entries the API received, refusing the whole set if any entry is not a rule. An RPZ zone
 * is refused the same way for any line it would skip ($INCLUDE, unsupported triggers…).
 */
export function parseEntries(name: string, kind: ListKind, category: string, text: string, format: ListFormat = 'list'): ParsedList {
  if (kind === 'protect' && format === 'rpz') throw new ListChangeError('invalid', 'a protect list is a list of domains, not an RPZ zone; push it with format=list');
  const list = format === 'rpz' && kind !== 'protect' ? parseRpz(text, { name, kind, category }) : parseList(text, { name, kind, category });
  const problems: EntryProblem[] = list.skipped.map((s) => ({ line: s.line, entry: s.text, reason: s.reason }));
  if (kind === 'protect') problems.push(...protectProblems(list));
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new ListChangeError('invalid', `${problems.length} entr${problems.length === 1 ? 'y is' : 'ies are'} not valid; nothing was changed`, problems);
  }
  return list;
}

/** Entries of a protect list that are not registrable domains (`com`, `www.paypal.com`, `*.x.com`). */
function protectProblems(list: ParsedList): EntryProblem[] {
  const problems: EntryProblem[] = [];
  const packed = list.packed;
  for (let i = 0; i < packed.size; i++) {
    const reason = protectEntryProblem(packed.domain(i), packed.scope(i), packed.ruleKind(i));
    if (reason !== undefined) {
      const rule = list.rule(i);
      problems.push({ line: rule.line, entry: rule.text, reason });
    }
  }
  return problems;
}

/** Lists from files or URLs have their source of truth elsewhere: the API refuses to change them. */
export function checkWritable(name: string, existing: ListRecord | undefined): void {
  if (existing !== undefined && existing.source !== 'api') {
    throw new ListChangeError(
      'conflict',
      `list "${name}" comes from ${existing.source === 'file' ? `a file in ${existing.origin}` : `the URL ${existing.origin}`}; change it there, or push under another name`,
    );
  }
}

export function checkListName(name: string): void {
  if (!isValidName(name)) {
    throw new ListChangeError('invalid', `list name "${name}" is not valid: use ${NAME_RULE}`);
  }
}

export function checkCategory(category: string): void {
  if (!isValidName(category)) {
    throw new ListChangeError('invalid', `category "${category}" is not valid: use ${NAME_RULE}`);
  }
}

/** Refuses a list of more than `adminMaxEntries` entries (--admin-max-entries). */
export function checkEntryCount(entries: number, adminMaxEntries: number): void {
  if (entries > adminMaxEntries) {
    throw new ListChangeError('too-large', `${entries} entries is over the limit of ${adminMaxEntries} per list; split the list or raise --admin-max-entries`);
  }
}

/** Runs one change and reports it to `onChange` as accepted (it returned) or rejected (it threw). */
export async function trackedChange<T>(work: () => Promise<T>, onChange: ((result: 'accepted' | 'rejected') => void) | undefined): Promise<T> {
  try {
    const result = await work();
    onChange?.('accepted');
    return result;
  } catch (error) {
    onChange?.('rejected');
    throw error;
  }
}

/**
 * List changes made through the admin API: validate everything first, persist atomically, then
 * swap the policy — so a refused change leaves no trace and an accepted one survives a restart.
 * Lists that come from files or URLs are read-only here (their source of truth is elsewhere).
 */
export class ListService implements ListChanges {
  constructor(
    private readonly registry: ListRegistry,
    private readonly state: StateStore,
    private readonly logger: Logger,
    private readonly options: ListServiceOptions,
  ) {}

  async put(who: string, name: string, kind: ListKind, category: string, text: string, format: ListFormat = 'list'): Promise<ListChangeResult> {
    return this.tracked(async () => {
      checkListName(name);
      checkCategory(category);
      if (format === 'rpz' && kind !== 'block') throw new ListChangeError('invalid', 'an RPZ zone is a block list (its allow rules are rpz-passthru records); drop kind=allow');
      const list = parseEntries(name, kind, category, text, format);
      this.checkSize(list.size);
      const { result, generation } = await this.registry.update(async (records, nextGeneration) => {
        const existing = records.get(name);
        checkWritable(name, existing);
        await this.persist(list, records, nextGeneration, format === 'rpz' ? text : undefined);
        return { created: existing === undefined };
      });
      this.audit(who, result.created ? 'create' : 'replace', name, { entries: list.size, generation });
      return { name, kind: list.kind, category: list.category, entries: list.size, generation, created: result.created };
    });
  }

  async delta(who: string, name: string, addText: string, removeText: string): Promise<ListChangeResult> {
    return this.tracked(async () => {
      checkListName(name);
      const { result, generation } = await this.registry.update(async (records, nextGeneration) => {
        const existing = records.get(name);
        if (existing === undefined) throw new ListChangeError('not-found', `list "${name}" does not exist; create it with PUT /v1/lists/${name}`);
        checkWritable(name, existing);
        if (existing.list.packed.rpzActions.length > 0) {
          throw new ListChangeError('invalid', `list "${name}" is an RPZ zone: entries cannot be added or removed one by one; PUT the whole zone again`);
        }
        const { kind, category } = existing.list;
        const add = canonicalEntries(parseEntries(name, kind, category, addText));
        const remove = canonicalEntries(parseEntries(name, kind, category, removeText));
        const { list, added, removed } = applyDeltaTo(existing.list, add, remove, this.registry.store.current);
        this.checkSize(list.size);
        // The delta alone goes to the list's journal (a few hundred bytes, not the whole list); every
        // so often the state store asks for a new snapshot instead.
        const updatedAt = Date.now();
        if (!(await this.state.appendListDelta(name, add, remove, updatedAt))) await this.state.saveParsedList(list, updatedAt);
        records.set(name, { list, source: 'api', origin: 'api', updatedAt, generation: nextGeneration });
        return { list, added, removed };
      });
      const { list, added, removed } = result;
      this.audit(who, 'delta', name, { added, removed, entries: list.size, generation });
      return { name, kind: list.kind, category: list.category, entries: list.size, generation, added, removed };
    });
  }

  async delete(who: string, name: string): Promise<{ name: string; generation: number }> {
    return this.tracked(async () => {
      checkListName(name);
      const { generation } = await this.registry.update(async (records) => {
        const existing = records.get(name);
        if (existing === undefined) throw new ListChangeError('not-found', `list "${name}" does not exist`);
        checkWritable(name, existing);
        await this.state.deleteList(name);
        records.delete(name);
      });
      this.audit(who, 'delete', name, { generation });
      return { name, generation };
    });
  }

  private tracked<T>(work: () => Promise<T>): Promise<T> {
    return trackedChange(work, this.options.onChange);
  }

  private checkSize(entries: number): void {
    checkEntryCount(entries, this.options.adminMaxEntries);
  }

  private async persist(list: ParsedList, records: Map<string, ListRecord>, generation: number, zone?: string): Promise<void> {
    const updatedAt = Date.now();
    // Entries are written from the packed bytes, in slices: no string per entry, no long block.
    if (zone === undefined) await this.state.saveParsedList(list, updatedAt);
    else await this.state.saveList({ name: list.name, kind: list.kind, category: list.category, entries: [], zone, updatedAt });
    records.set(list.name, { list, source: 'api', origin: 'api', updatedAt, generation });
  }

  private audit(who: string, action: string, list: string, fields: Record<string, unknown>): void {
    this.logger.info('audit: list changed', { who, action, list, ...fields });
  }
}

/**
 * `list` with `remove` then `add` (canonical entries) applied as to a Set of its canonical entries.
 * The packed path (no string per entry; the policy then patches its matchers) unless the list keeps
 * entries as raw text, which takes the string path with the same result.
 */
function applyDeltaTo(list: ParsedList, add: readonly string[], remove: readonly string[], policy: Policy): { list: ParsedList; added: number; removed: number } {
  const packed = applyPackedDeltas(list, [{ add, remove }], (bytes, start, end, flags) => policy.mayHold(list, bytes, start, end, flags));
  if (packed !== undefined) return { list: packed.list, ...packed.stats[0]! };
  const removals = new Set(remove);
  const before = canonicalEntries(list);
  const kept = before.filter((entry) => !removals.has(entry));
  const merged = new Set([...kept, ...add]);
  const next = parseList([...merged].join('\n'), { name: list.name, kind: list.kind, category: list.category });
  return { list: next, added: merged.size - kept.length, removed: before.length - kept.length };
}

/** Records for the lists persisted in the state directory, as loaded at start. */
export function storedListRecords(stored: readonly StoredList[]): ListRecord[] {
  return stored.map((s) => ({
    list:
      s.zone === undefined
        ? parseList(s.entries.join('\n'), { name: s.name, kind: s.kind, category: s.category })
        : parseRpz(s.zone, { name: s.name, kind: s.kind, category: s.category }),
    source: 'api',
    origin: 'api',
    updatedAt: s.updatedAt,
    generation: 1,
  }));
}
