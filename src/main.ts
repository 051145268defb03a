import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { registerAdminApi } from './admin/admin-api.js';
import { AdminAuth } from './admin/admin-auth.js';
import { HttpServer, sendBody, type Health } from './admin/http-server.js';
import { ResponseCache } from './cache/response-cache.js';
import { formatHostPort } from './config/host-port.js';
import type { Config } from './config/load-config.js';
import { allowsEveryone, ClientGate } from './dns/client-gate.js';
import { DnsListener } from './dns/dns-listener.js';
import { QueryHandler } from './dns/query-handler.js';
import { Synthesizer } from './dns/synthesizer.js';
import { DirectoryWatcher, fileListRecords, reloadFileLists } from './lists/file-lists.js';
import { ListRegistry, type ListRecord } from './lists/list-registry.js';
import { ListService, storedListRecords } from './lists/list-service.js';
import { StateStore } from './lists/state-store.js';
import { UrlListSource } from './lists/url-list.js';
import type { Logger } from './log/logger.js';
import { Metrics } from './metrics/metrics.js';
import { loadListsDir } from './policy/load-lists.js';
import { VerdictCache } from './policy/verdict-cache.js';
import { QueryLog } from './querylog/query-log.js';
import { BlockAnswers } from './resolver/block-answers.js';
import { buildChain } from './resolver/build-chain.js';
import { Forwarder } from './upstream/forwarder.js';
import { LoopGuard } from './upstream/loop-guard.js';
import { MessageIdSource } from './upstream/message-id.js';
import { TcpUpstream } from './upstream/tcp-upstream.js';
import { UdpUpstream } from './upstream/udp-upstream.js';
import { VERSION } from './version.js';

export interface RunningServer {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  readonly http: { readonly host: string; readonly port: number };
  readonly registry: ListRegistry;
  readonly metrics: Metrics;
  /** Re-reads list files and URL lists (SIGHUP, POST /v1/reload). */
  reload(): Promise<{ generation: number; warnings: readonly string[] }>;
  close(): Promise<void>;
}

/** How long DNS waits at start for a URL list that has no last good copy yet (unless failing closed). */
const FIRST_DOWNLOAD_WAIT_MS = 3000;

const sleep = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => {
    setTimeout(() => resolve(value), ms).unref();
  });

/** Errors that mean "this host has no such address or family", e.g. IPv6 disabled in a container. */
const UNAVAILABLE_ADDRESS_CODES = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EINVAL']);

export class StartupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

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
  const { lists, warnings, unreadable } = await loadListsDir(config.lists);
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

async function openListeners(config: Config, handler: QueryHandler, logger: Logger): Promise<DnsListener[]> {
  const listeners: DnsListener[] = [];
  for (const address of config.listen) {
    try {
      listeners.push(
        await DnsListener.open(address, handler, {
          idleTimeoutMs: config.tcpIdleTimeoutMs,
          maxConnections: config.tcpMaxConnections,
          maxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
          maxInFlightPerConnection: config.tcpMaxInFlight,
          queryReadTimeoutMs: config.tcpQueryReadTimeoutMs,
        }),
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (UNAVAILABLE_ADDRESS_CODES.has(code)) {
        logger.warn(`cannot listen on ${formatHostPort(address)} (${code}): this host has no such address; skipped`);
        continue;
      }
      await Promise.all(listeners.map((listener) => listener.close()));
      const hint =
        code === 'EADDRINUSE'
          ? 'another program (another resolver?) holds that port; stop it or pick another --listen'
          : code === 'EACCES'
            ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port or grant the capability'
            : 'check the --listen address';
      throw new StartupError('E_LISTEN', `cannot listen on ${formatHostPort(address)} (${code || String(error)}): ${hint}`);
    }
  }
  if (listeners.length === 0) {
    throw new StartupError('E_LISTEN', 'none of the --listen addresses could be bound on this host; give one that exists, e.g. 127.0.0.1:5300');
  }
  return listeners;
}

function openQueryLog(config: Config, metrics: Metrics, logger: Logger): QueryLog | undefined {
  if (config.queryLog === 'off') return undefined;
  const stream = config.queryLog === '-' ? process.stdout : createWriteStream(config.queryLog, { flags: 'a' });
  stream.on('error', (error) =>
    logger.error(`query log ${config.queryLog} cannot be written; queries are no longer logged (check the path and free space)`, { err: error }),
  );
  return new QueryLog(stream, {
    maxBufferedBytes: 4 * 1024 * 1024,
    flushIntervalMs: 200,
    onDrop: () => metrics.queryLogDropped.inc(),
  });
}

function createResponseCache(config: Config, metrics: Metrics): ResponseCache | undefined {
  if (config.cacheSize === 0) return undefined;
  const cache = new ResponseCache({
    maxEntries: config.cacheSize,
    maxBytes: config.cacheMaxBytes,
    minTtl: config.cacheMinTtl,
    maxTtl: config.cacheMaxTtl,
    maxNegativeTtl: config.cacheMaxNegativeTtl,
    staleSeconds: config.serveStaleSeconds,
  });
  metrics.watchResponseCache(() => ({ ...cache.stats, entries: cache.size, bytes: cache.bytes }));
  return cache;
}

function createForwarder(config: Config, metrics: Metrics): Forwarder {
  const ids = new MessageIdSource();
  const labels = config.upstream.map((address) => formatHostPort(address));
  metrics.declareUpstreams(labels);
  const forwarder = new Forwarder(
    config.upstream.map((address, i) => ({ label: labels[i]!, udp: new UdpUpstream(address, ids), tcp: new TcpUpstream(address, ids) })),
    { attemptTimeoutMs: config.upstreamTimeoutMs, ednsUdpSize: config.ednsUdpSize, strategy: config.upstreamStrategy },
    { attempt: (upstream, seconds, failure) => metrics.observeUpstream(upstream, seconds, failure) },
  );
  metrics.watchIgnoredAnswers(() =>
    forwarder.servers.map((server) => ({ upstream: server.label, mismatch: server.udp.stats.mismatched, late: server.udp.stats.late })),
  );
  metrics.watchUpstreams(() =>
    labels.map((upstream, i) => ({
      upstream,
      up: forwarder.health.isUp(i, performance.now()),
      looping: forwarder.health.isLooping(i),
    })),
  );
  return forwarder;
}

/** An open resolver on a public address is an amplification weapon; say so loudly at start. */
function warnIfOpenResolver(config: Config, logger: Logger): void {
  if (!allowsEveryone(config.allowClients)) return;
  const publicListen = config.listen.filter((address) => !isLoopback(address.host));
  if (publicListen.length > 0) {
    logger.warn(
      `OPEN RESOLVER: --allow-clients lets every address query fraudwall on ${publicListen.map((a) => formatHostPort(a)).join(', ')}; ` +
        'anyone can use it for DNS amplification attacks. Restrict --allow-clients to your networks.',
    );
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/**
 * The composition root: config → lists → policy → chain → transports. The HTTP endpoint comes up
 * first so /readyz can say "loading"; DNS listeners open only once the initial policy is loaded.
 * Teardown runs in reverse.
 */
export async function startServer(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const health: Health = { ready: false };
  const metrics = new Metrics(VERSION);
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
          minValidRatio: config.urlMinValidPercent / 100,
          timeoutMs: 30_000,
          maxBytes: config.adminMaxBodyBytes,
          onResult: (result) => metrics.urlListRefreshes.labels(spec.name, result).inc(),
        }),
    );
    stoppers.push(() => urlSources.forEach((source) => source.stop()));

    const started = performance.now();
    const initial = await loadInitialLists(config, state, urlSources, logger);
    const verdictCache = new VerdictCache({ max: config.verdictCacheSize });
    // splice: the closures below keep `initial` alive; the first lists must not stay pinned after a reload.
    const registry = new ListRegistry(initial.records.splice(0), verdictCache, logger);
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
    if (entries === 0) logger.warn(`no blocklist entries loaded: fraudwall will resolve every name; add NAME.txt files to ${config.lists}`);

    metrics.watchVerdictCache(() => verdictCache);
    http.route('GET', '/metrics', async (_req, res) => {
      sendBody(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
    });

    const reload = async (): Promise<{ generation: number; warnings: readonly string[] }> => {
      const result = await reloadFileLists(registry, config.lists, logger);
      metrics.listUpdates.labels('file', 'accepted').inc();
      await Promise.all(urlSources.map((source) => source.refresh(registry)));
      return { generation: registry.generation, warnings: result.warnings };
    };
    const listService = new ListService(registry, state, logger, {
      maxEntries: config.adminMaxEntries,
      onChange: (result) => metrics.listUpdates.labels('api', result).inc(),
    });
    registerAdminApi(http, {
      registry,
      lists: listService,
      auth: new AdminAuth(token, { maxFailures: 10, windowMs: 60_000, onFailure: (reason) => metrics.adminAuthFailures.labels(reason).inc() }),
      reload,
      maxBodyBytes: config.adminMaxBodyBytes,
    });
    if (config.watchLists) {
      const watcher = new DirectoryWatcher(
        config.lists,
        300,
        () => void reloadFileLists(registry, config.lists, logger).catch((error: unknown) => logger.error('list reload failed; the previous lists stay in effect', { err: error })),
        logger,
      );
      stoppers.push(() => watcher.close());
    }
    for (const source of urlSources) source.start(registry);

    const forwarder = createForwarder(config, metrics);
    stoppers.push(() => forwarder.close());
    const loopGuard = new LoopGuard(forwarder, logger, { probeTimeoutMs: 1500, intervalMs: 60_000 });
    stoppers.push(() => loopGuard.stop());
    const synthesizer = new Synthesizer(config.ednsUdpSize);
    const queryLog = openQueryLog(config, metrics, logger);
    const responseCache = createResponseCache(config, metrics);
    if (queryLog) stoppers.push(() => queryLog.close());
    const chain = buildChain({
      policy: registry.store,
      blockAnswers: new BlockAnswers(config.blockMode, config.blockTtl, synthesizer),
      localZones: { localZones: config.localZones, blockDohCanaries: config.blockDohCanaries },
      forwarder,
      synthesizer,
      metrics,
      maxInFlight: config.maxInFlight,
      loopGuard,
      responseCache: responseCache && {
        cache: responseCache,
        options: { staleAnswerAfterMs: config.staleAnswerTimeoutMs, prefetch: config.prefetch, maxCoalesced: config.maxInFlight },
      },
      queryLog: queryLog && {
        log: queryLog,
        options: { anonymize: config.queryLogAnonymize, blockedOnly: config.queryLogBlockedOnly },
      },
    });
    const gate = new ClientGate({
      allowClients: config.allowClients,
      disallowedAction: config.disallowedClients,
      rateLimit: config.rateLimit,
      rateBurst: config.rateLimitBurst,
      ipv4PrefixLength: config.rateLimitIpv4Prefix,
      ipv6PrefixLength: config.rateLimitIpv6Prefix,
      overLimitAction: config.rateLimitAction,
      limitLoopback: config.rateLimitLoopback,
    });
    warnIfOpenResolver(config, logger);
    const handler = new QueryHandler(
      chain,
      synthesizer,
      { queryTimeoutMs: config.queryTimeoutMs },
      {
        malformed: (reason) => metrics.countMalformed(reason),
        internalError: (error) => logger.error('query failed inside fraudwall; answered SERVFAIL', { err: error }),
        gated: (decision) => metrics.countGated(decision),
      },
      gate,
    );
    const listeners = await openListeners(config, handler, logger);
    stoppers.push(async () => {
      // Graceful: stop taking new queries, let the ones waiting for an upstream finish (bounded by
      // the query deadline), then close the sockets.
      handler.draining = true;
      const deadline = Date.now() + config.queryTimeoutMs + 100;
      while (handler.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await Promise.all(listeners.map((listener) => listener.close()));
    });
    // A looping upstream answers a probe within one round trip, so probing in the background
    // finds it before it matters; a silent upstream must not delay the start.
    void loopGuard.probeAll();
    loopGuard.start();
    health.ready = true;
    logger.info('fraudwall ready', {
      dns: listeners.map((listener) => formatHostPort(listener)),
      http: formatHostPort(http),
      upstream: config.upstream.map((address) => formatHostPort(address)),
      blockMode: config.blockMode,
      admin: token === undefined ? 'read-only' : 'enabled',
    });

    return {
      listeners: listeners.map((listener) => ({ host: listener.host, port: listener.port })),
      http: { host: http.host, port: http.port },
      registry,
      metrics,
      reload,
      async close() {
        health.ready = false;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
