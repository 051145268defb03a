// The control plane: the lists and everything that changes them (files, URLs, the admin API), the
// HTTP endpoint (/metrics, /healthz, /readyz, /v1) and persistence. Exactly one process runs it;
// the data plane (one or many workers) only reads the policy it produces.
import { readFile } from 'node:fs/promises';
import { registerAdminApi } from '../admin/admin-api.js';
import { AdminAuth } from '../admin/admin-auth.js';
import { HttpServer, sendBody, type Health } from '../admin/http-server.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import { DirectoryWatcher, fileListRecords, reloadFileLists } from '../lists/file-lists.js';
import { ListRegistry, type ListRecord } from '../lists/list-registry.js';
import { ListService, storedListRecords } from '../lists/list-service.js';
import { StateStore } from '../lists/state-store.js';
import { UrlListSource } from '../lists/url-list.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadListsDir } from '../lists/load-lists.js';
import { VerdictCache } from '../policy/verdict-cache.js';
import { StartupError } from './startup-error.js';

/** How long DNS waits at start for a URL list that has no last good copy yet (unless failing closed). */
const FIRST_DOWNLOAD_WAIT_MS = 3000;

const sleep = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => {
    setTimeout(() => resolve(value), ms).unref();
  });

/** The admin token: FRAUDWALL_ADMIN_TOKEN, else the token file, else none (writes disabled). */
async function readAdminToken(config: Config, env: NodeJS.ProcessEnv, logger: Logger): Promise<string | undefined> {
  const fromEnv = env['FRAUDWALL_ADMIN_TOKEN']?.trim();
  if (fromEnv) return fromEnv;
  if (config.adminTokenFile !== 'off') {
    let token: string;
    try {
      token = (await readFile(config.adminTokenFile, 'utf8')).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new StartupError('E_ADMIN_TOKEN', `cannot read the admin token file ${config.adminTokenFile} (${code}); fix --admin-token-file`);
    }
    if (token === '') throw new StartupError('E_ADMIN_TOKEN', `the admin token file ${config.adminTokenFile} is empty; put a long random token in it`);
    return token;
  }
  logger.warn('no admin token configured: list changes over the admin API are disabled (set FRAUDWALL_ADMIN_TOKEN or --admin-token-file)');
  return undefined;
}

interface InitialLists {
  readonly records: ListRecord[];
  /** Lists that could not be loaded; fatal with --require-lists. */
  readonly failures: string[];
}

/** Files, then lists stored from the API, then last good URL copies; the first source of a name wins. */
async function loadInitialLists(config: Config, state: StateStore, urlSources: readonly UrlListSource[], logger: Logger): Promise<InitialLists> {
  const failures: string[] = [];
  const { lists, warnings, unreadable } = await loadListsDir(config.lists, config.protect);
  for (const warning of warnings) logger.warn(warning);
  failures.push(...unreadable);
  const byName = new Map<string, ListRecord>();
  const add = (record: ListRecord): void => {
    const taken = byName.get(record.list.name);
    if (taken === undefined) byName.set(record.list.name, record);
    else logger.warn(`list "${record.list.name}" from ${record.source} ignored: the name is taken by ${taken.source} (${taken.origin}); rename one`);
  };
  fileListRecords(lists, config.lists, 1).forEach(add);

  // Leftovers of writes a crash interrupted before their rename: the targets hold the old content.
  await state.removeInterruptedWrites();
  const stored = await state.loadLists();
  for (const problem of stored.problems) logger.warn(problem);
  failures.push(...stored.problems);
  storedListRecords(stored.lists).forEach(add);

  for (const source of urlSources) {
    const record = await source.loadLastGood(1);
    if (record) add(record);
  }
  return { records: [...byName.values()], failures };
}

export interface ControlPlane {
  readonly http: HttpServer;
  readonly registry: ListRegistry;
  readonly verdictCache: VerdictCache;
  /** False when no admin token is configured (list changes over the API are disabled). */
  readonly adminEnabled: boolean;
  /** Re-reads list files and URL lists (SIGHUP, POST /v1/reload). */
  reload(): Promise<{ generation: number; warnings: readonly string[] }>;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Entries of the verdict LRU in front of this process's policy. */
  readonly verdictCacheSize: number;
  /** The /metrics body: this process's registry, or every worker's aggregated. */
  readonly renderMetrics: () => Promise<{ contentType: string; body: string }>;
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
    http = await HttpServer.start(config.http, health);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError('E_LISTEN', `cannot serve HTTP on ${formatHostPort(config.http)} (${code}): pick another --http address`);
  }
  const stoppers: (() => void | Promise<void>)[] = [() => http.close()];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  };

  try {
    const token = await readAdminToken(config, env, logger);
    const state = new StateStore(config.state);
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
    const initial = await loadInitialLists(config, state, urlSources, logger);
    const verdictCache = new VerdictCache({ verdictCacheSize: options.verdictCacheSize });
    // splice: the closures below keep `initial` alive; the first lists must not stay pinned after a reload.
    const registry = new ListRegistry(initial.records.splice(0), verdictCache, logger, {
      lookalike: config.lookalike,
      protectTldSwaps: config.protectTldSwaps,
    });
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
      logger.info('lookalike detection', { protectedDomains, mode: config.lookalike, protectTldSwaps: config.protectTldSwaps });
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
    const listService = new ListService(registry, state, logger, {
      adminMaxEntries: config.adminMaxEntries,
      onChange: (result) => metrics.listUpdates.labels('api', result).inc(),
    });
    registerAdminApi(http, {
      registry,
      lists: listService,
      auth: new AdminAuth(token, { maxFailures: 10, windowMs: 60_000, onFailure: (reason) => metrics.adminAuthFailures.labels(reason).inc() }),
      reload,
      adminMaxBodyBytes: config.adminMaxBodyBytes,
    });
    if (config.watchLists) {
      const watcher = new DirectoryWatcher(
        config.lists,
        300,
        () => void reloadFileLists(registry, config.lists, logger, config.protect).catch((error: unknown) => logger.error('list reload failed; the previous lists stay in effect', { err: error })),
        logger,
      );
      stoppers.push(() => watcher.close());
    }
    for (const source of urlSources) source.start(registry);
    return { http, registry, verdictCache, adminEnabled: token !== undefined, reload, close: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
