// The fleet's shared list state in Redis: one record per list (a snapshot plus the deltas made since
// it) and one change stream for all lists. Every write is one Lua script, so Redis serializes
// concurrent writers from any instance and each change gets the next version of its list.
import type { ListKind } from '../query/rule.js';

/**
 * Version of the record layout. Written into every record and stream entry; a reader refuses a
 * record with a higher format (a newer fraudwall wrote it) instead of misreading it, so a rolling
 * upgrade that changes the layout bumps this and the key namespace (`v1` below) together.
 */
export const RECORD_FORMAT = 1;

/** What the store needs from a Redis connection (node-redis's client has it; tests may fake it). */
export interface RedisCommands {
  sendCommand(args: string[]): Promise<unknown>;
}

export type ChangeOp = 'put' | 'delta' | 'delete';

/** One entry of the change stream. */
export interface StreamChange {
  readonly id: string;
  readonly list: string;
  readonly version: number;
  readonly op: ChangeOp;
  /** Token of the write that made it (instance id and a counter): lets that instance skip re-reading its own push. */
  readonly origin: string;
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly format: number;
}

/** A list as Redis holds it, with the deltas since its snapshot applied. */
export interface SharedList {
  readonly name: string;
  readonly version: number;
  readonly deleted: boolean;
  readonly kind: ListKind;
  readonly category: string;
  readonly updatedAt: number;
  /** Canonical entries; `text` is set instead when no delta followed the snapshot (no Set of a million strings). */
  readonly entries?: Set<string>;
  readonly text?: string;
}

export interface RemoteVersion {
  readonly version: number;
  readonly deleted: boolean;
  readonly format: number;
}

/** A write Redis refused; `reason` maps to the admin API's answer. */
export class SharedWriteError extends Error {
  constructor(
    readonly reason: 'not-found' | 'kind' | 'format',
    message: string,
  ) {
    super(message);
    this.name = 'SharedWriteError';
  }
}

// Lua: HGET of a missing field is `false`, so `or '0'` gives absent lists version 0.
const PUT = `
local f = redis.call('HGET', KEYS[1], 'format')
if f and tonumber(f) > tonumber(ARGV[1]) then return redis.error_reply('FORMAT ' .. f) end
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local seed = tonumber(ARGV[9])
local v = cur + 1
if seed > 0 then
  if cur >= seed then return 0 end
  v = seed
end
redis.call('HSET', KEYS[1], 'format', ARGV[1], 'name', ARGV[2], 'version', v, 'snapshotVersion', v, 'kind', ARGV[3],
  'category', ARGV[4], 'updatedAt', ARGV[5], 'entries', ARGV[6], 'deleted', '0')
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'format', ARGV[1], 'list', ARGV[2], 'version', v, 'op', 'put', 'origin', ARGV[7])
return v
`;

const DELTA = `
local h = redis.call('HMGET', KEYS[1], 'format', 'version', 'kind', 'deleted')
if not h[2] or h[4] == '1' then return redis.error_reply('NOTFOUND') end
if tonumber(h[1]) > tonumber(ARGV[1]) then return redis.error_reply('FORMAT ' .. h[1]) end
if h[3] ~= ARGV[3] then return redis.error_reply('KIND ' .. h[3]) end
local v = tonumber(h[2]) + 1
redis.call('HSET', KEYS[1], 'version', v, 'updatedAt', ARGV[4])
redis.call('RPUSH', KEYS[2], v .. '\\t' .. ARGV[4] .. '\\t' .. ARGV[5] .. '\\t' .. ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'format', ARGV[1], 'list', ARGV[2], 'version', v, 'op', 'delta', 'origin', ARGV[7],
  'add', ARGV[5], 'remove', ARGV[6])
return {v, redis.call('LLEN', KEYS[2])}
`;

const DELETE = `
local h = redis.call('HMGET', KEYS[1], 'format', 'version', 'deleted')
if not h[2] or h[3] == '1' then return redis.error_reply('NOTFOUND') end
if tonumber(h[1]) > tonumber(ARGV[1]) then return redis.error_reply('FORMAT ' .. h[1]) end
local v = tonumber(h[2]) + 1
redis.call('HSET', KEYS[1], 'version', v, 'snapshotVersion', v, 'deleted', '1', 'entries', '', 'updatedAt', ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'format', ARGV[1], 'list', ARGV[2], 'version', v, 'op', 'delete', 'origin', ARGV[4])
return v
`;

/** Folds the deltas into a new snapshot, only if the list is still at the version the caller computed. */
const COMPACT = `
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'entries', ARGV[2], 'snapshotVersion', ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`;

/** Snapshot and deltas in one atomic read. */
const READ = `
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
`;

const VERSIONS = `
local names = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, n in ipairs(names) do
  local h = redis.call('HMGET', ARGV[1] .. n, 'version', 'deleted', 'format')
  out[#out + 1] = n
  out[#out + 1] = h[1] or '0'
  out[#out + 1] = h[2] or '0'
  out[#out + 1] = h[3] or '0'
end
return out
`;

/** Stream entries kept (approximately); an instance further behind finds the gap and reloads snapshots. */
const STREAM_MAX = 10_000;

/** Canonical entries, as an array or as their text one a line (made from packed bytes, no string per entry). */
export type Entries = readonly string[] | string;

function textOf(entries: Entries): string {
  return typeof entries === 'string' ? entries : entries.join('\n');
}

function lines(text: string | undefined): string[] {
  return text ? text.split('\n').filter((line) => line !== '') : [];
}

/** Field/value pairs as node-redis returns them: a flat array (RESP2) or an object (RESP3 map). */
export function fieldsOf(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  if (reply !== null && typeof reply === 'object') {
    return Object.fromEntries(Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  }
  return {};
}

function refusal(error: unknown, name: string): never {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('NOTFOUND')) throw new SharedWriteError('not-found', `list "${name}" does not exist in the fleet`);
  if (message.includes('KIND')) throw new SharedWriteError('kind', `list "${name}" was replaced with another kind meanwhile; send the change again`);
  const format = /FORMAT (\d+)/.exec(message);
  if (format) throw new SharedWriteError('format', `list "${name}" in Redis has record format ${format[1]}, newer than this fraudwall's ${RECORD_FORMAT}; upgrade this instance`);
  throw error;
}

/**
 * Key layout (the `{prefix}` hash tag keeps every key in one Redis Cluster slot, so scripts may
 * touch them together): `{prefix}:v1:list:NAME` hash (format, version, snapshotVersion, kind,
 * category, updatedAt, deleted, entries), `{prefix}:v1:deltas:NAME` list of the deltas since the
 * snapshot, `{prefix}:v1:names` set, `{prefix}:v1:changes` stream.
 */
export class RedisListStore {
  private readonly base: string;
  readonly streamKey: string;
  private readonly namesKey: string;

  constructor(
    private readonly redis: RedisCommands,
    prefix: string,
  ) {
    this.base = keyBase(prefix);
    this.streamKey = `${this.base}changes`;
    this.namesKey = `${this.base}names`;
  }

  private keys(name: string): string[] {
    return [`${this.base}list:${name}`, `${this.base}deltas:${name}`, this.streamKey, this.namesKey];
  }

  private async script(source: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.redis.sendCommand(['EVAL', source, String(keys.length), ...keys, ...args.map(String)]);
  }

  /** Replaces (or creates) a list (canonical entries, or their text one a line); returns its new version. */
  async put(name: string, kind: ListKind, category: string, entries: Entries, updatedAt: number, origin: string): Promise<number> {
    const reply = await this.script(PUT, this.keys(name), [RECORD_FORMAT, name, kind, category, updatedAt, textOf(entries), origin, STREAM_MAX, 0]).catch(
      (error: unknown) => refusal(error, name),
    );
    return Number(reply);
  }

  /** Writes a list at `version` only if Redis has an older one (or none): re-seeding an emptied Redis. 0 when refused. */
  async seed(name: string, version: number, kind: ListKind, category: string, entries: Entries, updatedAt: number, origin: string): Promise<number> {
    const args = [RECORD_FORMAT, name, kind, category, updatedAt, textOf(entries), origin, STREAM_MAX, version];
    return Number(await this.script(PUT, this.keys(name), args).catch((error: unknown) => refusal(error, name)));
  }

  /** Adds and removes canonical entries of a list of kind `kind`; returns the version and how many deltas await compaction. */
  async delta(name: string, kind: ListKind, add: readonly string[], remove: readonly string[], updatedAt: number, origin: string): Promise<{ version: number; pending: number }> {
    const reply = (await this.script(DELTA, this.keys(name), [RECORD_FORMAT, name, kind, updatedAt, add.join('\n'), remove.join('\n'), origin, STREAM_MAX]).catch(
      (error: unknown) => refusal(error, name),
    )) as unknown[];
    return { version: Number(reply[0]), pending: Number(reply[1]) };
  }

  async delete(name: string, updatedAt: number, origin: string): Promise<number> {
    return Number(await this.script(DELETE, this.keys(name), [RECORD_FORMAT, name, updatedAt, origin, STREAM_MAX]).catch((error: unknown) => refusal(error, name)));
  }

  /** Stores `entries` as the snapshot of `version`; false if the list moved on meanwhile (the next compaction will do it). */
  async compact(name: string, version: number, entries: Entries): Promise<boolean> {
    return Number(await this.script(COMPACT, this.keys(name), [version, textOf(entries)])) === 1;
  }

  /** The list as it stands in Redis, or undefined if Redis never had it. Throws SharedWriteError('format') for newer records. */
  async read(name: string): Promise<SharedList | undefined> {
    const [hashReply, deltaReply] = (await this.script(READ, this.keys(name), [])) as [unknown, unknown[]];
    const hash = fieldsOf(hashReply);
    if (hash['version'] === undefined) return undefined;
    if (Number(hash['format']) > RECORD_FORMAT) refusal(new Error(`FORMAT ${hash['format']}`), name);
    const version = Number(hash['version']);
    const snapshotVersion = Number(hash['snapshotVersion']);
    const common = {
      name,
      version,
      deleted: hash['deleted'] === '1',
      // A protect list (#13) must stay one on every instance: read back as a block list it would block the brand.
      kind: (hash['kind'] === 'allow' || hash['kind'] === 'protect' ? hash['kind'] : 'block') as ListKind,
      category: hash['category'] ?? 'uncategorized',
      updatedAt: Number(hash['updatedAt']) || Date.now(),
    };
    const deltas = (deltaReply ?? []).map((raw) => String(raw).split('\t')).filter((parts) => Number(parts[0]) > snapshotVersion);
    if (deltas.length === 0) return { ...common, text: hash['entries'] ?? '' };
    const entries = new Set(lines(hash['entries']));
    for (const [, , add, remove] of deltas) applyDelta(entries, lines(add), lines(remove));
    return { ...common, entries };
  }

  /** Version, tombstone and format of every list Redis knows. */
  async versions(): Promise<Map<string, RemoteVersion>> {
    const flat = (await this.script(VERSIONS, [this.namesKey], [`${this.base}list:`])) as unknown[];
    const out = new Map<string, RemoteVersion>();
    for (let i = 0; i + 3 < flat.length; i += 4) {
      out.set(String(flat[i]), { version: Number(flat[i + 1]), deleted: String(flat[i + 2]) === '1', format: Number(flat[i + 3]) });
    }
    return out;
  }

  /** ID of the newest stream entry ('0-0' when there is none): reading from it misses nothing written later. */
  async lastStreamId(): Promise<string> {
    const reply = (await this.redis.sendCommand(['XREVRANGE', this.streamKey, '+', '-', 'COUNT', '1'])) as unknown[] | null;
    const first = reply?.[0] as unknown[] | undefined;
    return first ? String(first[0]) : '0-0';
  }

  /** Waits up to `blockMs` for entries after `afterId`. */
  async readStream(afterId: string, blockMs: number, count: number): Promise<StreamChange[]> {
    const reply = await this.redis.sendCommand(['XREAD', 'COUNT', String(count), 'BLOCK', String(blockMs), 'STREAMS', this.streamKey, afterId]);
    if (reply === null || reply === undefined) return [];
    // RESP2: [[key, entries]]; RESP3: {key: entries}.
    const entries = (Array.isArray(reply) ? (reply[0] as unknown[])?.[1] : Object.values(reply as Record<string, unknown>)[0]) as unknown[] | undefined;
    return (entries ?? []).map((entry) => {
      const [id, raw] = entry as [unknown, unknown];
      const fields = fieldsOf(raw);
      return {
        id: String(id),
        list: fields['list'] ?? '',
        version: Number(fields['version']),
        op: (fields['op'] ?? 'put') as ChangeOp,
        origin: fields['origin'] ?? '',
        add: lines(fields['add']),
        remove: lines(fields['remove']),
        format: Number(fields['format']),
      };
    });
  }
}

/** Every key starts so: the `{prefix}` hash tag keeps them in one Redis Cluster slot. */
export function keyBase(prefix: string): string {
  return `{${prefix}}:v${RECORD_FORMAT}:`;
}

/** The one definition of a delta, used by Redis snapshots and by every follower alike. */
export function applyDelta(entries: Set<string>, add: readonly string[], remove: readonly string[]): void {
  for (const entry of remove) entries.delete(entry);
  for (const entry of add) entries.add(entry);
}
