import type { ListFormat } from '../config/options.js';
import type http from 'node:http';
import type { ListRecord, ListRegistry } from '../lists/list-registry.js';
import { canonicalEntries, ListChangeError, type ListChanges } from '../lists/list-service.js';
import { explainName } from '../policy/explain.js';
import type { LocalZoneTable } from '../policy/local-zones.js';
import type { ListKind } from '../query/rule.js';
import type { AdminAuth } from './admin-auth.js';
import { HttpError, sendJson, type HttpServer } from './http-server.js';
import { parseJsonBody, readBody } from './read-body.js';

export interface AdminApiDeps {
  readonly registry: ListRegistry;
  readonly lists: ListChanges;
  readonly auth: AdminAuth;
  /** Re-reads list files and URL sources; resolves with the generation in effect afterwards. */
  readonly reload: () => Promise<{ generation: number; warnings: readonly string[] }>;
  readonly adminMaxBodyBytes: number;
  /** The server's local zones and DoH canaries, for explain (built with explainLocalZones). */
  readonly localZones: LocalZoneTable;
  /** With --redis: a shared list's version in the fleet (shown beside each list). */
  readonly versionOf?: (name: string) => number | undefined;
  /** With --redis: this instance's id in the fleet (stream entries and URL-list leases carry it). */
  readonly fleetInstance?: string;
}

const STATUS_BY_KIND = { invalid: 400, 'not-found': 404, conflict: 409, 'too-large': 413, changed: 409, unavailable: 503 } as const;
const CODE_BY_KIND = {
  invalid: 'E_LIST_INVALID',
  'not-found': 'E_LIST_NOT_FOUND',
  conflict: 'E_LIST_READ_ONLY',
  'too-large': 'E_TOO_LARGE',
  changed: 'E_LIST_CHANGED',
  unavailable: 'E_REDIS_UNAVAILABLE',
} as const;

function toHttpError(error: unknown): unknown {
  if (!(error instanceof ListChangeError)) return error;
  const details = error.problems.length > 0 ? { problems: error.problems } : undefined;
  return new HttpError(STATUS_BY_KIND[error.kind], CODE_BY_KIND[error.kind], error.message, details);
}

function queryParams(req: http.IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://localhost').searchParams;
}

function isJson(req: http.IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
}

/**
 * `?format=rpz`, or the zone-file media type `text/dns` (RFC 4027), marks a body as an RPZ zone;
 * `?format=list` (the default) as list lines.
 */
function parseFormat(value: string | undefined, contentType: string | undefined): ListFormat {
  if (value === 'rpz' || value === 'list') return value;
  if (value !== undefined) throw new HttpError(400, 'E_BAD_REQUEST', `format must be "list" or "rpz", got ${JSON.stringify(value)}`);
  return (contentType ?? '').toLowerCase().startsWith('text/dns') ? 'rpz' : 'list';
}

function parseKind(value: unknown): ListKind {
  if (value === undefined || value === null || value === 'block') return 'block';
  if (value === 'allow' || value === 'protect') return value;
  throw new HttpError(400, 'E_BAD_REQUEST', `kind must be "block", "allow" or "protect", got ${JSON.stringify(value)}`);
}

/** Entries from JSON must be strings of one line each; they become the lines of a list text. */
function entriesText(value: unknown, field: string): string {
  if (value === undefined) return '';
  if (!Array.isArray(value)) throw new HttpError(400, 'E_BAD_REQUEST', `"${field}" must be an array of domain strings`);
  const problems = value.flatMap((entry: unknown, i) =>
    typeof entry === 'string' && !/[\r\n]/.test(entry) ? [] : [{ line: i + 1, entry: String(entry), reason: 'not a single-line string' }],
  );
  if (problems.length > 0) throw new HttpError(400, 'E_LIST_INVALID', `"${field}" has entries that are not strings`, { problems });
  return (value as string[]).join('\n');
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'the JSON body must be an object');
  }
  return value as Record<string, unknown>;
}

/** The /v1 admin API: list inspection and changes, explain, reload. JSON in and out. */
export function registerAdminApi(http: HttpServer, deps: AdminApiDeps): void {
  const { registry, lists, auth } = deps;
  const describe = (record: ListRecord): Record<string, unknown> => {
    const version = record.source === 'api' ? deps.versionOf?.(record.list.name) : undefined;
    return { ...registry.info(record), ...(version !== undefined ? { version } : {}) };
  };

  http.route('GET', '/v1/lists', (req, res) => {
    auth.authorize(req, false);
    const fleet = deps.fleetInstance !== undefined ? { instance: deps.fleetInstance } : {};
    sendJson(res, 200, { generation: registry.generation, ...fleet, lists: registry.all().map(describe) });
  });

  http.route('GET', '/v1/lists/{name}', (req, res, { name = '' }) => {
    auth.authorize(req, false);
    const record = registry.get(name);
    if (record === undefined) throw new HttpError(404, 'E_LIST_NOT_FOUND', `list "${name}" does not exist`);
    const withEntries = queryParams(req).get('entries') === '1';
    sendJson(res, 200, { ...describe(record), ...(withEntries ? { list: canonicalEntries(record.list) } : {}) });
  });

  http.route('PUT', '/v1/lists/{name}', async (req, res, { name = '' }) => {
    const who = auth.authorize(req, true);
    const body = await readBody(req, deps.adminMaxBodyBytes);
    let kind: ListKind;
    let category: string;
    let text: string;
    let format: ListFormat = 'list';
    if (isJson(req)) {
      const json = asObject(parseJsonBody(body));
      kind = parseKind(json['kind']);
      category = typeof json['category'] === 'string' ? json['category'] : 'uncategorized';
      text = entriesText(json['entries'], 'entries');
    } else {
      const params = queryParams(req);
      kind = parseKind(params.get('kind') ?? undefined);
      category = params.get('category') ?? 'uncategorized';
      text = body;
      format = parseFormat(params.get('format') ?? undefined, req.headers['content-type']);
    }
    const result = await lists.put(who, name, kind, category, text, format).catch((error: unknown) => {
      throw toHttpError(error);
    });
    sendJson(res, result.created ? 201 : 200, result);
  });

  http.route('POST', '/v1/lists/{name}/entries', async (req, res, { name = '' }) => {
    const who = auth.authorize(req, true);
    const json = asObject(parseJsonBody(await readBody(req, deps.adminMaxBodyBytes)));
    const result = await lists.delta(who, name, entriesText(json['add'], 'add'), entriesText(json['remove'], 'remove')).catch((error: unknown) => {
      throw toHttpError(error);
    });
    sendJson(res, 200, result);
  });

  http.route('DELETE', '/v1/lists/{name}', async (req, res, { name = '' }) => {
    const who = auth.authorize(req, true);
    const result = await lists.delete(who, name).catch((error: unknown) => {
      throw toHttpError(error);
    });
    sendJson(res, 200, result);
  });

  http.route('GET', '/v1/explain', (req, res) => {
    auth.authorize(req, false);
    const name = queryParams(req).get('name');
    if (!name) throw new HttpError(400, 'E_BAD_REQUEST', 'give the name to explain: /v1/explain?name=example.com');
    const explanation = explainName(name, { policy: registry.store.current, localZones: deps.localZones, lookalikeSettings: registry.store.lookalikeSettings });
    sendJson(res, explanation.valid ? 200 : 400, { ...explanation, generation: registry.generation });
  });

  http.route('POST', '/v1/reload', async (req, res) => {
    auth.authorize(req, true);
    sendJson(res, 200, await deps.reload());
  });
}
