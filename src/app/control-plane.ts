// The control plane: the lists and everything that changes them (files, URLs, the admin API), the
// HTTP endpoint (/metrics, /healthz, /readyz, /v1) and persistence. Exactly one process runs it;
// the data plane (one or many workers) only reads the policy it produces.
import { readFile } from 'node:fs/promises';
import { registerAdminApi } from '../admin/admin-api.js';
import { AdminAuth } from '../admin/admin-auth.js';
import { registerEventsTail, type EventsSource } from '../admin/events-tail-route.js';
import { HttpServer, sendBody, type Health } from '../admin/http-server.js';
import { formatHostPort } from '../config/host-port.js';
import { isLoopbackHost } from '../config/ip-address.js';
import type { Config } from '../config/options.js';
import { DirectoryWatcher, reloadFileLists } from '../lists/file-lists.js';
import { ListRegistry } from '../lists/list-registry.js';
import { loadListSources } from '../lists/list-sources.js';
import { ListService } from '../lists/list-service.js';
import { StateStore } from '../lists/state-store.js';
import { UrlListSource } from '../lists/url-list.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { VerdictCache } from '../policy/verdict-cache.js';
import { ClientGroups } from '../policy/client-groups.js';
import { explainLocalZones } from '../policy/explain.js';
import { StartupError } from './startup-error.js';
import { startWarningPage } from './warning-page.js';
import { readRedisUrl, RedisConfigError, startFleet } from '../fleet/start-fleet.js';

/** How long DNS waits at start for a URL list that has no last good copy yet (unless failing closed). */
const FIRST_DOWNLOAD_WAIT_MS = 3000;

const sleep = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => {
    setTimeout(() => resolve(value), ms).unref();
  });

/** Tokens shorter than this are guessable enough to warn about (a 16-character random token is ~80 bits and up). */
const WEAK_TOKEN_LENGTH = 16;

/** The token in the admin token file, or a StartupError saying what is wrong with the file. */
async function readTokenFile(file: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError('E_ADMIN_TOKEN', `cannot read the admin token file ${file} (${code}); fix --admin-token-file or its permissions`);
  }
  if (token === '') throw new StartupError('E_ADMIN_TOKEN', `the admin token file ${file} is empty; put a long random token in it (openssl rand -hex 32)`);
  return token;
}

function warnIfWeak(token: string, where: string, logger: Logger): void {
  if (token.length < WEAK_TOKEN_LENGTH) {
    logger.warn(`the admin token from ${where} is ${token.length} characters long: anyone who guesses it can change the lists; use at least ${WEAK_TOKEN_LENGTH} random characters (openssl rand -hex 32)`);
  }
}

/** The admin token: FRAUDWALL_ADMIN_TOKEN, else the token file, else none (writes disabled). */
async function readAdminToken(config: Config, env: NodeJS.ProcessEnv, logger: Logger): Promise<string | undefined> {
  const fromEnv = env['FRAUDWALL_ADMIN_TOKEN']?.trim();
  if (fromEnv) {
    warnIfWeak(fromEnv, 'FRAUDWALL_ADMIN_TOKEN', logger);
    return fromEnv;
  }
  if (config.adminTokenFile !== 'off') {
    const token = await readTokenFile(config.adminTokenFile);
    warnIfWeak(token, config.adminTokenFile, logger);
    return token;
  }
  logger.warn('no admin token configured: list changes over the admin API are disabled (set FRAUDWALL_ADMIN_TOKEN or --admin-token-file)');
  return undefined;
}

/**
 * With list changes enabled, a state directory that cannot be written would turn every push into a
 * 500: refuse to start instead. Without them only URL copies go there, and a warning says so.
 */
async function checkStateDir(state: StateStore, adminEnabled: boolean, hasUrlLists: boolean, logger: Logger): Promise<void> {
  if (!adminEnabled && !hasUrlLists) return;
  const problem = await state.probeWritable();
  if (problem === undefined) return;
  const who = `user ${process.getuid?.() ?? '?'}`;
  if (adminEnabled) {
    throw new StartupError(
      'E_STATE_DIR',
      `the state directory ${state.dir} cannot be written (${problem.code} on ${problem.path}), so pushed lists could not be saved: ` +
        `make it writable by ${who} (chown/chmod, or a writable volume in a container), point --state elsewhere, or start without an admin token to disable list changes`,
    );
  }
  logger.warn(`the state directory ${state.dir} cannot be written (${problem.code} on ${problem.path}): last good copies of URL lists will not be kept; make it writable by ${who} or point --state elsewhere`);
}

export interface ControlPlane {
  readonly http: HttpServer;
  readonly registry: ListRegistry;
  readonly verdictCache: VerdictCache;
  /** Where the warning page is served (--warning-page), if it is. */
  readonly warningPage: { readonly host: string; readonly port: number } | undefined;
  /** False when no admin token is configured (list changes over the API are disabled). */
  readonly adminEnabled: boolean;
  /** Re-reads list files and URL lists (SIGHUP, POST /v1/reload). */
  reload(): Promise<{ generation: number; warnings: readonly string[] }>;
  /** Re-reads the admin token file (SIGHUP); says what happened, in one line for the log. */
  reloadAdminToken(): Promise<string>;
  /** Re-reads the warning page template (SIGHUP); undefined when no warning page is served. */
  reloadWarningPageTemplate(): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Entries of the verdict LRU in front of this process's policy. */
  readonly verdictCacheSize: number;
  /** The /metrics body: this process's registry, or every worker's aggregated. */
  readonly renderMetrics: () => Promise<{ contentType: string; body: string }>;
  /** The events pipeline for GET /v1/events/tail, once the data plane has started one (--events-url). */
  readonly events?: () => EventsSource | undefined;
}

/**
 * HTTP first, so /readyz can say "loading" while the lists load; then the lists, the registry and
 * the admin API. `health.ready` stays for the caller to set once DNS is served.
 */
export async function startControlPlane(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  metrics: Metrics,
  health: Health,
  options: ControlPlaneOptions,
): Promise<ControlPlane> {
  let http: HttpServer;
  try {
    http = await HttpServer.start(config.http, health, logger);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError('E_LISTEN', `cannot serve HTTP on ${formatHostPort(config.http)} (${code}): pick another --http address`);
  }
  if (!isLoopbackHost(config.http.host)) {
    logger.warn(
      `the admin API, /v1/explain and /metrics listen on ${formatHostPort(config.http)}, reachable from other hosts: ` +
        'anyone there can read the lists and try tokens. Bind --http to 127.0.0.1 unless a firewall or proxy limits who reaches it',
    );
  }
  const stoppers: (() => void | Promise<void>)[] = [() => http.close()];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  };

  try {
    const token = await readAdminToken(config, env, logger);
    const state = new StateStore(config.state);
    await checkStateDir(state, token !== undefined, config.urlLists.length > 0, logger);
    const urlSources = config.urlLists.map(
      (spec) =>
        new UrlListSource(spec, state, logger, {
          urlMinValidPercent: config.urlMinValidPercent,
          timeoutMs: 30_000,
          // A downloaded list may be as large as one pushed through the API.
          maxBytes: config.adminMaxBodyBytes,
          onResult: (result) => metrics.urlListRefreshes.labels(spec.name, result).inc(),
        }),
    );
    stoppers.push(() => urlSources.forEach((source) => source.stop()));

    const started = performance.now();
    // Leftovers of writes a crash interrupted before their rename: the targets hold the old content.
    await state.removeInterruptedWrites();
    const initial = await loadListSources(config.lists, state, urlSources, config.protect);
    for (const warning of initial.warnings) logger.warn(warning);
    const verdictCache = new VerdictCache({ verdictCacheSize: options.verdictCacheSize });
    // splice: the closures below keep `initial` alive; the first lists must not stay pinned after a reload.
    const registry = new ListRegistry(initial.records.splice(0), verdictCache, logger, {
      lookalike: config.lookalike,
      protectTldSwaps: config.protectTldSwaps,
      protectEmbedded: config.protectEmbedded,
    }, new ClientGroups(config.groups));
    warnOfUnloadedGroupLists(config, registry, logger);
    const onApiChange = (result: 'accepted' | 'rejected'): void => void metrics.listUpdates.labels('api', result).inc();
    const redisUrl = await readRedisUrl(config).catch((error: unknown) => {
      throw error instanceof RedisConfigError ? new StartupError('E_REDIS_CONFIG', error.message) : error;
    });
    const fleet =
      redisUrl === undefined
        ? undefined
        : await startFleet(redisUrl, config, { registry, state, logger, metricsRegistry: metrics.registry, persistedVersions: initial.storedVersions, onChange: onApiChange });
    if (fleet) stoppers.push(() => fleet.close());
    // Before the first downloads: with --redis-share-url-lists one instance fetches each URL list.
    if (fleet?.urlShare) for (const source of urlSources) source.shareThrough(fleet.urlShare);
    registry.onChange((records, generation) =>
      metrics.setLists(
        records.map((record) => ({
          name: record.list.name,
          category: record.list.category,
          entries: record.list.size,
          skipped: record.list.skipped.length,
          updatedAt: record.updatedAt / 1000,
        })),
        generation,
      ),
    );
    // A URL list with no last good copy yet gets its first download before DNS is served. Failing
    // closed waits for it as long as the download timeout; otherwise DNS waits at most a few
    // seconds and the download finishes in the background.
    const firstDownloads = urlSources
      .filter((source) => registry.get(source.spec.name) === undefined)
      .map(async (source) => {
        const download = source.refresh(registry);
        const result = config.requireLists ? await download : await Promise.race([download, sleep(FIRST_DOWNLOAD_WAIT_MS, 'pending')]);
        if (result !== 'updated' && result !== 'pending') {
          initial.failures.push(`URL list "${source.spec.name}" (${source.spec.url}) could not be downloaded and has no last good copy`);
        }
      });
    await Promise.all(firstDownloads);
    if (config.requireLists && initial.failures.length > 0) {
      throw new StartupError('E_LISTS_REQUIRED', `--require-lists: ${initial.failures.length} list(s) failed to load:\n  - ${initial.failures.join('\n  - ')}`);
    }
    const entries = registry.all().reduce((sum, record) => sum + record.list.size, 0);
    logger.info('blocklists loaded', {
      lists: registry.all().map((r) => `${r.list.name}(${r.source},${r.list.kind},${r.list.category}):${r.list.size}`),
      entries,
      ms: Math.round(performance.now() - started),
    });
    const protectedDomains = registry.store.current.lookalikes?.size ?? 0;
    if (protectedDomains > 0) {
      logger.info('lookalike detection', { protectedDomains, mode: config.lookalike, protectTldSwaps: config.protectTldSwaps, protectEmbedded: config.protectEmbedded });
    }
    if (entries === 0) logger.warn(`no blocklist entries loaded: fraudwall will resolve every name; add NAME.txt files to ${config.lists}`);

    http.route('GET', '/metrics', async (_req, res) => {
      const { contentType, body } = await options.renderMetrics();
      sendBody(res, 200, contentType, body);
    });

    const reload = async (): Promise<{ generation: number; warnings: readonly string[] }> => {
      const result = await reloadFileLists(registry, config.lists, logger, config.protect);
      metrics.listUpdates.labels('file', 'accepted').inc();
      await Promise.all(urlSources.map((source) => source.refresh(registry)));
      return { generation: registry.generation, warnings: result.warnings };
    };
    const listService = fleet?.lists ?? new ListService(registry, state, logger, { adminMaxEntries: config.adminMaxEntries, onChange: onApiChange });
    const auth = new AdminAuth(token, { maxFailures: 10, windowMs: 60_000, onFailure: (reason) => metrics.adminAuthFailures.labels(reason).inc() });
    const reloadAdminToken = async (): Promise<string> => {
      if (token === undefined) return 'no admin token: list changes stay disabled (a token needs a restart)';
      if (env['FRAUDWALL_ADMIN_TOKEN']?.trim()) return 'the admin token comes from FRAUDWALL_ADMIN_TOKEN, which a running process cannot re-read';
      const next = await readTokenFile(config.adminTokenFile); // a StartupError's message says what to fix; the old token stays
      warnIfWeak(next, config.adminTokenFile, logger);
      return auth.replaceToken(next) ? `admin token re-read from ${config.adminTokenFile}: the new token is in effect (${auth.label})` : `admin token re-read from ${config.adminTokenFile}: unchanged`;
    };
    registerAdminApi(http, {
      registry,
      lists: listService,
      auth,
      reload,
      adminMaxBodyBytes: config.adminMaxBodyBytes,
      ...(fleet ? { versionOf: (name: string) => fleet.sync.versionOf(name), fleetInstance: fleet.instanceId } : {}),
      localZones: explainLocalZones(config),
    });
    registerEventsTail(http, auth, options.events ?? (() => undefined));
    if (config.watchLists) {
      const watcher = new DirectoryWatcher(
        config.lists,
        300,
        () => void reloadFileLists(registry, config.lists, logger, config.protect).catch((error: unknown) => logger.error('list reload failed; the previous lists stay in effect', { err: error })),
        logger,
      );
      stoppers.push(() => watcher.close());
    }
    let warningPage: { host: string; port: number } | undefined;
    let reloadWarningPageTemplate = (): Promise<string | undefined> => Promise.resolve(undefined);
    if (config.warningPage !== undefined) {
      const page = await startWarningPage(config, config.warningPage, registry, metrics, logger);
      stoppers.push(() => page.server.close());
      warningPage = { host: page.server.host, port: page.server.port };
      reloadWarningPageTemplate = () => page.reloadTemplate();
    }
    for (const source of urlSources) source.start(registry);
    return { http, registry, verdictCache, warningPage, adminEnabled: token !== undefined, reload, reloadAdminToken, reloadWarningPageTemplate, close: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A group naming a list that is not loaded is legal (it may be pushed later) but often a typo: say so once at start. */
function warnOfUnloadedGroupLists(config: Pick<Config, 'groups'>, registry: ListRegistry, logger: Logger): void {
  for (const group of config.groups) {
    const missing = (group.lists ?? []).filter((name) => registry.get(name) === undefined);
    if (missing.length === 0) continue;
    logger.warn(
      `group "${group.name}" names list(s) ${missing.map((name) => `"${name}"`).join(', ')} that are not loaded: ` +
        'they take effect for this group when a list of that name is pushed or appears; check the spelling otherwise',
    );
  }
}
