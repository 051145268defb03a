/**
 * ListService over a real ListRegistry and a StateStore in a temporary directory: put (create and
 * replace), delta, delete; validation refused whole with line-numbered problems; read-only file and
 * URL lists; the entry limit; persistence that survives a restart and a refused change that leaves
 * no trace (not in the registry, not on disk).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListRegistry, type ListRecord } from '../../src/lists/list-registry.js';
import { ListChangeError, ListService, canonicalEntries, storedListRecords } from '../../src/lists/list-service.js';
import { StateStore, type StoredList } from '../../src/lists/state-store.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { parseList } from '../../src/policy/parse-list.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';
import { rulesOf } from '../policy/rules-of.js';

const WHO = 'token:abcd1234';
let dir: string;
let registry: ListRegistry;
let service: ListService;
let results: string[];
let logLines: Record<string, unknown>[];

const readOnly = (name: string, source: 'file' | 'url', origin: string): ListRecord => ({
  list: parseList(`${name}.example`, { name, kind: 'block' }),
  source,
  origin,
  updatedAt: 0,
  generation: 1,
});

function makeService(maxEntries = 10, stateDir = dir): void {
  results = [];
  logLines = [];
  const logger = createLogger('info', (line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
  registry = new ListRegistry([readOnly('from-file', 'file', '/srv/lists'), readOnly('from-url', 'url', 'https://l.example/u.txt')], new VerdictCache(), logger);
  service = new ListService(registry, new StateStore(stateDir), logger, { adminMaxEntries: maxEntries, onChange: (result) => results.push(result) });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-list-service-'));
  makeService();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stored = async (name: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path.join(dir, 'lists', `${name}.json`), 'utf8'));
const storedNames = async (): Promise<string[]> => readdir(path.join(dir, 'lists')).catch(() => []);
/** The list as a restart loads it (snapshot plus its delta journal). */
const reloaded = async (name: string): Promise<StoredList | undefined> => (await new StateStore(dir).loadLists()).lists.find((list) => list.name === name);

/** The ListChangeError `promise` rejects with. */
async function refused(promise: Promise<unknown>, kind: ListChangeError['kind']): Promise<ListChangeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ListChangeError);
  expect((error as ListChangeError).kind).toBe(kind);
  return error as ListChangeError;
}

describe('put', () => {
  it('creates, then replaces, a list: persisted in canonical form, swapped in, audited', async () => {
    const created = await service.put(WHO, 'team', 'block', 'scam', 'Evil.Example\n*.sub.example\n||ads.example^\n@@||ok.ads.example^\n');
    expect(created).toEqual({ name: 'team', kind: 'block', category: 'scam', entries: 4, generation: 2, created: true });
    expect(await stored('team')).toMatchObject({
      format: 1,
      name: 'team',
      kind: 'block',
      category: 'scam',
      entries: ['evil.example', '*.sub.example', 'ads.example', '@@||ok.ads.example^'],
    });
    expect(registry.get('team')).toMatchObject({ source: 'api', origin: 'api', generation: 2 });
    expect(registry.store.verdict('x.ads.example').action).toBe('block');
    expect(registry.store.verdict('ok.ads.example').action).toBe('allow');

    const replaced = await service.put(WHO, 'team', 'allow', 'partners', 'partner.example');
    expect(replaced).toMatchObject({ kind: 'allow', category: 'partners', entries: 1, generation: 3, created: false });
    expect((await stored('team'))['entries']).toEqual(['partner.example']);
    expect(registry.store.verdict('x.ads.example').action).toBe('none');
    expect(results).toEqual(['accepted', 'accepted']);
    expect(logLines.filter((l) => l['msg'] === 'audit: list changed').map((l) => [l['who'], l['action'], l['list'], l['generation']])).toEqual([
      [WHO, 'create', 'team', 2],
      [WHO, 'replace', 'team', 3],
    ]);
  });

  it('an empty text makes an empty list', async () => {
    expect(await service.put(WHO, 'empty', 'block', 'uncategorized', '# nothing yet\n\n')).toMatchObject({ entries: 0, created: true });
    expect((await stored('empty'))['entries']).toEqual([]);
  });

  it('refuses a list with bad lines whole, naming every bad line; nothing applied or stored', async () => {
    await service.put(WHO, 'team', 'block', 'scam', 'kept.example');
    const error = await refused(service.put(WHO, 'team', 'block', 'scam', 'good.example\n\nhttp://x.example/a\n# comment\n192.0.0.0/8\n'), 'invalid');
    expect(error.problems).toEqual([
      { line: 3, entry: 'http://x.example/a', reason: expect.any(String) },
      { line: 5, entry: '192.0.0.0/8', reason: expect.any(String) },
    ]);
    expect(error.message).toMatch(/^2 entries are not valid/);
    expect((await refused(service.put(WHO, 'other', 'block', 'scam', 'a b c'), 'invalid')).message).toMatch(/^1 entry is not valid/);
    expect(registry.generation).toBe(2);
    expect(rulesOf(registry.get('team')!.list).map((r) => r.domain)).toEqual(['kept.example']);
    expect((await stored('team'))['entries']).toEqual(['kept.example']);
    expect(await storedNames()).toEqual(['team.json']);
    expect(results).toEqual(['accepted', 'rejected', 'rejected']);
  });

  it.each([
    ['a list name with uppercase', 'Team', 'scam'],
    ['a list name with a dot', 'te.am', 'scam'],
    ['a list name with a slash', '../escape', 'scam'],
    ['an empty list name', '', 'scam'],
    ['a category with a space', 'team', 'two words'],
    ['an empty category', 'team', ''],
  ])('refuses %s as invalid, before touching anything', async (_label, name, category) => {
    const error = await refused(service.put(WHO, name, 'block', category, 'a.example'), 'invalid');
    expect(error.problems).toEqual([]);
    expect(registry.generation).toBe(1);
    expect(await storedNames()).toEqual([]);
    // Nothing escaped the state directory either.
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a list over maxEntries as too-large; exactly maxEntries is fine', async () => {
    const entries = (n: number): string => Array.from({ length: n }, (_, i) => `e${i}.example`).join('\n');
    const error = await refused(service.put(WHO, 'big', 'block', 'c', entries(11)), 'too-large');
    expect(error.message).toContain('11 entries');
    expect(error.message).toContain('--admin-max-entries');
    expect(await service.put(WHO, 'big', 'block', 'c', entries(10))).toMatchObject({ entries: 10 });
  });

  it.each([
    ['from-file', 'a file in /srv/lists'],
    ['from-url', 'the URL https://l.example/u.txt'],
  ])('refuses to replace %s (conflict), naming where it comes from', async (name, where) => {
    const error = await refused(service.put(WHO, name, 'block', 'c', 'a.example'), 'conflict');
    expect(error.message).toContain(where);
    expect(registry.get(name)?.source).not.toBe('api');
    expect(registry.generation).toBe(1);
    expect(await storedNames()).toEqual([]);
  });

  it('a change that cannot be persisted is not applied', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    makeService(10, blocker); // the state "directory" is a file: every write fails
    await expect(service.put(WHO, 'team', 'block', 'c', 'a.example')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(registry.get('team')).toBeUndefined();
    expect(registry.generation).toBe(1);
    expect(results).toEqual(['rejected']);
  });
});

describe('delta', () => {
  beforeEach(async () => {
    await service.put(WHO, 'team', 'block', 'scam', 'a.example\nb.example\n*.c.example\n');
  });

  it('adds and removes entries, counting each only once', async () => {
    const result = await service.delta(WHO, 'team', 'd.example\na.example\nd.example', 'b.example\nnot-there.example');
    expect(result).toEqual({ name: 'team', kind: 'block', category: 'scam', entries: 3, generation: 3, added: 1, removed: 1 });
    expect((await reloaded('team'))?.entries).toEqual(['a.example', '*.c.example', 'd.example']);
    expect(registry.store.verdict('b.example').action).toBe('none');
    expect(registry.store.verdict('x.d.example').action).toBe('block');
  });

  it('matches removals by meaning, not spelling (canonical form)', async () => {
    const result = await service.delta(WHO, 'team', '', '||A.Example^\n*.c.example.\n');
    expect(result).toMatchObject({ removed: 2, added: 0, entries: 1 });
    expect((await reloaded('team'))?.entries).toEqual(['b.example']);
  });

  it('a subdomains-only entry and a whole-domain entry are different entries', async () => {
    const result = await service.delta(WHO, 'team', 'c.example', 'a.example');
    expect(result).toMatchObject({ added: 1, removed: 1, entries: 3 });
    expect((await reloaded('team'))?.entries).toEqual(['b.example', '*.c.example', 'c.example']);
  });

  it('an added entry that is removed in the same change stays added (removals apply to the list before the change)', async () => {
    expect(await service.delta(WHO, 'team', 'e.example', 'e.example')).toMatchObject({ added: 1, removed: 0, entries: 4 });
  });

  it('writes the delta to the journal of the list, not the whole list again, and a new snapshot every 64 deltas', async () => {
    makeService(100);
    await service.put(WHO, 'team', 'block', 'scam', 'a.example\nb.example\n*.c.example\n');
    const snapshot = await readFile(path.join(dir, 'lists', 'team.json'), 'utf8');
    for (let i = 0; i < 64; i++) await service.delta(WHO, 'team', `n${i}.example`, i % 2 === 1 ? `n${i - 1}.example` : '');
    expect(await readFile(path.join(dir, 'lists', 'team.json'), 'utf8')).toBe(snapshot);
    expect((await readFile(path.join(dir, 'lists', 'team.deltas.jsonl'), 'utf8')).split('\n')).toHaveLength(65);
    const expected = ['a.example', 'b.example', '*.c.example', ...Array.from({ length: 32 }, (_, i) => `n${2 * i + 1}.example`)];
    expect((await reloaded('team'))?.entries).toEqual(expected);
    // The 65th delta writes a snapshot holding everything, and the journal starts again.
    await service.delta(WHO, 'team', 'last.example', '');
    expect((await stored('team'))['entries']).toEqual([...expected, 'last.example']);
    expect(await storedNames()).toEqual(['team.json']);
    await service.delta(WHO, 'team', 'after.example', 'a.example');
    expect((await reloaded('team'))?.entries).toEqual([...expected.slice(1), 'last.example', 'after.example']);
  });

  it('keeps the kind and category of the list', async () => {
    await service.put(WHO, 'ok', 'allow', 'partners', 'p.example');
    expect(await service.delta(WHO, 'ok', 'q.example', '')).toMatchObject({ kind: 'allow', category: 'partners', entries: 2 });
    expect(registry.store.verdict('q.example').action).toBe('allow');
  });

  it('refuses bad entries in either part whole', async () => {
    const bad = await refused(service.delta(WHO, 'team', 'fine.example\nhttp://bad/x', ''), 'invalid');
    expect(bad.problems).toEqual([expect.objectContaining({ line: 2, entry: 'http://bad/x' })]);
    await refused(service.delta(WHO, 'team', '', '10.0.0.0/8'), 'invalid');
    expect((await stored('team'))['entries']).toEqual(['a.example', 'b.example', '*.c.example']);
    expect(registry.generation).toBe(2);
  });

  it('refuses a result over maxEntries, counted after removals', async () => {
    const add = Array.from({ length: 8 }, (_, i) => `n${i}.example`).join('\n');
    await refused(service.delta(WHO, 'team', add, ''), 'too-large');
    expect(await service.delta(WHO, 'team', add, 'a.example')).toMatchObject({ entries: 10 });
  });

  it('not-found for a missing list, conflict for file and URL lists, invalid for a bad name', async () => {
    await refused(service.delta(WHO, 'nope', 'a.example', ''), 'not-found');
    await refused(service.delta(WHO, 'from-file', 'a.example', ''), 'conflict');
    await refused(service.delta(WHO, 'from-url', '', 'from-url.example'), 'conflict');
    await refused(service.delta(WHO, 'Bad', 'a.example', ''), 'invalid');
    expect(registry.generation).toBe(2);
  });
});

describe('delete', () => {
  it('removes the list, its rules and its state file', async () => {
    await service.put(WHO, 'team', 'block', 'scam', 'gone.example');
    expect(await service.delete(WHO, 'team')).toEqual({ name: 'team', generation: 3 });
    expect(registry.get('team')).toBeUndefined();
    expect(registry.store.verdict('gone.example').action).toBe('none');
    expect(await storedNames()).toEqual([]);
  });

  it('not-found for a missing list, conflict for a file list; nothing changes', async () => {
    await refused(service.delete(WHO, 'nope'), 'not-found');
    await refused(service.delete(WHO, 'from-file'), 'conflict');
    expect(registry.all().map((r) => r.list.name)).toEqual(['from-file', 'from-url']);
    expect(registry.generation).toBe(1);
    expect(results).toEqual(['rejected', 'rejected']);
  });
});

describe('persistence across a restart', () => {
  it('what was accepted loads back as the same lists and verdicts', async () => {
    await service.put(WHO, 'team', 'block', 'scam', 'a.example\n*.b.example\n@@||ok.a.example^\n');
    await service.put(WHO, 'partners', 'allow', 'banks', 'bank.example');
    await service.delta(WHO, 'team', 'c.example', 'a.example');
    await service.put(WHO, 'temp', 'block', 'c', 'temp.example');
    await service.delete(WHO, 'temp');

    const { lists, problems } = await new StateStore(dir).loadLists();
    expect(problems).toEqual([]);
    const restarted = new ListRegistry(storedListRecords(lists), new VerdictCache(), silentLogger);
    expect(restarted.all().map((r) => [r.list.name, r.list.kind, r.list.category, r.source])).toEqual([
      ['partners', 'allow', 'banks', 'api'],
      ['team', 'block', 'scam', 'api'],
    ]);
    for (const name of ['partners', 'team']) {
      expect(canonicalEntries(restarted.get(name)!.list)).toEqual(canonicalEntries(registry.get(name)!.list));
    }
    for (const name of ['a.example', 'ok.a.example', 'x.b.example', 'b.example', 'c.example', 'bank.example', 'temp.example']) {
      expect(restarted.store.verdict(name).action, name).toBe(registry.store.verdict(name).action);
    }
  });

  it('an RPZ zone is kept as its text and loads back with its actions; deltas on it are refused', async () => {
    const zone = '$ORIGIN rpz.x.\nexact.example CNAME *.\n*.wild.example CNAME .\nok.wild.example CNAME rpz-passthru.\ngarden.example A 192.0.2.7\n';
    await service.put(WHO, 'feed', 'block', 'scam', zone, 'rpz');
    await expect(service.delta(WHO, 'feed', 'more.example', '')).rejects.toThrow(/RPZ zone/);
    await expect(service.put(WHO, 'feed2', 'allow', 'x', zone, 'rpz')).rejects.toThrow(/block list/);
    const { lists } = await new StateStore(dir).loadLists();
    expect(lists.find((l) => l.name === 'feed')).toMatchObject({ zone, entries: [] });
    const restarted = new ListRegistry(storedListRecords(lists), new VerdictCache(), silentLogger);
    for (const name of ['exact.example', 'x.exact.example', 'a.wild.example', 'ok.wild.example', 'garden.example']) {
      expect(restarted.store.verdict(name), name).toEqual(registry.store.verdict(name));
    }
    expect(restarted.store.verdict('exact.example').rule?.rpz).toBe('nodata');
  });
});

describe('canonicalEntries', () => {
  it.each([
    ['block', 'a.example\n*.b.example\n@@||c.example^\n0.0.0.0 d.example\n||e.example^'],
    ['allow', 'a.example\n*.b.example\n@@||c.example^'],
  ] as const)('round-trips every rule of a %s list through its text form', (kind, text) => {
    const list = parseList(text, { name: 'x', kind });
    const again = parseList(canonicalEntries(list).join('\n'), { name: 'x', kind });
    const rules = (l: typeof list) => rulesOf(l).map((r) => `${r.kind} ${r.scope} ${r.domain}`);
    expect(again.skipped).toEqual([]);
    expect(rules(again)).toEqual(rules(list));
  });

  it('lists each distinct rule once, in list order', () => {
    expect(canonicalEntries(parseList('b.example\na.example\nB.Example.\n||b.example^', { name: 'x', kind: 'block' }))).toEqual(['b.example', 'a.example']);
  });
});

describe('protect lists (#13)', () => {
  it('accepts registrable domains, persists the kind, and feeds the lookalike index', async () => {
    const result = await service.put(WHO, 'brands', 'protect', 'payment', 'paypal.com\nicbc.com.cn\n');
    expect(result).toMatchObject({ kind: 'protect', entries: 2 });
    expect(registry.store.current.lookalikes?.judge('paypa1.com', { protectTldSwaps: false })).toMatchObject({ protectedDomain: 'paypal.com', list: 'brands' });
    expect(await stored('brands')).toMatchObject({ kind: 'protect', entries: ['paypal.com', 'icbc.com.cn'] });
    const restarted = new ListRegistry(storedListRecords((await new StateStore(dir).loadLists()).lists), new VerdictCache(), silentLogger);
    expect(restarted.store.current.lookalikes?.size).toBe(2);
  });

  it('refuses the whole list, line by line, when an entry is not a registrable domain', async () => {
    const error = await refused(service.put(WHO, 'brands', 'protect', 'payment', 'paypal.com\ncom\nwww.chase.com\n*.hsbc.com\n'), 'invalid');
    expect(error.problems.map((p) => [p.line, p.entry])).toEqual([
      [2, 'com'],
      [3, 'www.chase.com'],
      [4, '*.hsbc.com'],
    ]);
    expect(error.problems[1]!.reason).toContain('protect "chase.com"');
    expect(registry.get('brands')).toBeUndefined();
    expect(await storedNames()).toEqual([]);
  });
});
