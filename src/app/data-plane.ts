// The data plane: everything a DNS query touches, from the sockets to the upstreams. One process
// runs it alone (--workers 1) or each cluster worker runs its own copy (--workers N); the control
// plane (lists, admin API, /metrics) hands it a PolicyStore and keeps it current.
import { ResponseCache } from '../cache/response-cache.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config } from '../config/options.js';
import { ClientGate } from '../admission/client-gate.js';
import { allowsEveryone, isLoopbackHost } from '../config/ip-address.js';
import { DnsListener } from '../server/dns-listener.js';
import { QueryHandler } from '../server/query-handler.js';
import { Synthesizer } from '../dns/synthesizer.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { VerdictCache } from '../policy/verdict-cache.js';
import { QueryLog } from '../querylog/query-log.js';
import type { BlockedLookup } from '../events/blocked-lookup.js';
import { EventsPipeline } from '../events/events-pipeline.js';
import { EventsRelay } from '../events/events-relay.js';
import { QTYPE_LABELS } from '../metrics/metrics.js';
import { VERSION } from '../version.js';
import { openQueryLogFile } from '../querylog/query-log-file.js';
import { onReopen } from '../log/reopen-hooks.js';
import { BlockAnswers } from '../resolver/block-answers.js';
import { buildChain } from '../resolver/build-chain.js';
import { StartupError } from './startup-error.js';
import { openEncryptedListeners } from './encrypted-listeners.js';
import { Forwarder } from '../upstream/forwarder.js';
import { LoopGuard } from '../upstream/loop-guard.js';
import { MessageIdSource } from '../upstream/message-id.js';
import { createUpstreamServers } from './upstream-servers.js';
import type { UpstreamFailure } from '../upstream/upstream-error.js';
import type { UpstreamHealthObserver } from '../upstream/upstream-health.js';

/** Errors that mean "this host has no such address or family", e.g. IPv6 disabled in a container. */
const UNAVAILABLE_ADDRESS_CODES = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EINVAL']);

async function openListeners(config: Config, handler: QueryHandler, logger: Logger): Promise<DnsListener[]> {
  const listeners: DnsListener[] = [];
  for (const address of config.listen) {
    try {
      listeners.push(await DnsListener.open(address, handler, config));
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

/**
 * The query log: a file opened now (a path that cannot be written stops the start, E_QUERY_LOG),
 * reopened at its path on SIGHUP (logrotate without copytruncate), or stdout.
 */
async function openQueryLog(config: Config, metrics: Metrics, logger: Logger): Promise<{ log: QueryLog; close: () => Promise<void> } | undefined> {
  if (config.queryLog === 'off') return undefined;
  const file = config.queryLog;
  let failed = false;
  const log = new QueryLog(file === '-' ? process.stdout : await openQueryLogFile(file), {
    maxBufferedBytes: 4 * 1024 * 1024,
    flushIntervalMs: 200,
    onDrop: () => metrics.queryLogDropped.inc(),
    onError: (error) => {
      if (failed) return;
      failed = true; // once per file: a full disk must not flood the log
      logger.error(`query log ${file} cannot be written; lines are dropped (fraudwall_query_log_dropped_total) until the file is reopened with SIGHUP (check the path and free space)`, { err: error });
    },
  });
  const unregister =
    file === '-'
      ? () => undefined
      : onReopen(`query log ${file}`, async () => {
          await log.switchTo(await openQueryLogFile(file));
          failed = false;
        });
  return {
    log,
    close: async () => {
      unregister();
      await log.close();
    },
  };
}

function createResponseCache(config: Config, metrics: Metrics): ResponseCache | undefined {
  if (config.cacheSize === 0) return undefined;
  const cache = new ResponseCache(config);
  metrics.watchResponseCache(() => ({ ...cache.stats, entries: cache.size, bytes: cache.bytes }));
  metrics.memory.responseCacheBytes = () => cache.reservedBytes;
  return cache;
}

/** How often, at most, "every upstream is down" is logged: it stays true for as long as the network is out. */
const ALL_DOWN_LOG_INTERVAL_MS = 60_000;

const FAILURE_HINTS: Readonly<Record<UpstreamFailure, string>> = {
  timeout: 'no answer within upstream-timeout-ms',
  network: 'network error',
  'connection-refused': 'connection refused: nothing listens there',
  refused: 'answered REFUSED',
  servfail: 'answered SERVFAIL',
  mismatch: 'answers did not match the question',
  tls: 'TLS handshake failed',
  http: 'HTTP error from the DoH upstream',
};

/** Log lines when an upstream's circuit opens or closes, and (rate limited) when every upstream is down. */
function upstreamHealthLog(labels: readonly string[], logger: Logger): UpstreamHealthObserver {
  let allDownLoggedAt = -Infinity;
  return {
    down(index, failures, reason, backoffMs, allDown) {
      const upstream = labels[index]!;
      logger.warn(`upstream ${upstream} is unhealthy: ${failures} failed attempts in a row (last: ${FAILURE_HINTS[reason]}); skipped for ${backoffMs / 1000} s, then tried again`, {
        upstream,
        reason,
      });
      const now = performance.now();
      if (allDown && now - allDownLoggedAt >= ALL_DOWN_LOG_INTERVAL_MS) {
        allDownLoggedAt = now;
        logger.error(
          `every upstream is down (${labels.join(', ')}): clients get SERVFAIL, or stale answers from the cache, until one answers again; check this host's network and --upstream (logged at most once a minute)`,
          { upstreams: labels },
        );
      }
    },
    up(index) {
      logger.warn(`upstream ${labels[index]} is healthy again`, { upstream: labels[index] });
    },
  };
}

function createForwarder(config: Config, metrics: Metrics, logger: Logger): Forwarder {
  const ids = new MessageIdSource();
  const labels = config.upstream.map((upstream) => upstream.label);
  metrics.declareUpstreams(labels);
  const tlsWarnedAt = new Map<string, number>();
  const forwarder = new Forwarder(createUpstreamServers(config, ids), config, {
    attempt: (upstream, seconds, failure, error) => {
      metrics.observeUpstream(upstream, seconds, failure);
      // A TLS failure is a configuration problem, not a blip: say so, at most once a minute per upstream.
      if (failure === 'tls' && error !== undefined && (tlsWarnedAt.get(upstream) ?? -Infinity) < performance.now() - 60_000) {
        tlsWarnedAt.set(upstream, performance.now());
        logger.warn(`${error.message}; this upstream is not used until its certificate verifies (check --upstream-ca and the #NAME)`, { code: error.code });
      }
    },
    health: upstreamHealthLog(labels, logger),
  });
  metrics.watchIgnoredAnswers(() =>
    forwarder.servers.map((server) => ({
      upstream: server.label,
      mismatch: server.udp.stats.mismatched + server.tcp.stats.mismatched,
      late: server.udp.stats.late + server.tcp.stats.late,
    })),
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

/** Early-warning events (--events-url), or nothing when off. The cluster primary runs one too, for its workers' relays. */
export async function startEvents(config: Config, logger: Logger, metrics: Metrics): Promise<EventsPipeline | undefined> {
  if (config.eventsUrl === 'off') return undefined;
  let observeLatency: ((seconds: number, count: number) => void) | undefined;
  const pipeline = await EventsPipeline.start(config, {
    logger,
    userAgent: `fraudwall/${VERSION}`,
    env: process.env,
    qtypeName: (qtype) => QTYPE_LABELS.get(qtype) ?? `TYPE${qtype}`,
    observeLatency: (seconds, count) => observeLatency?.(seconds, count),
  });
  observeLatency = metrics.watchEvents(() => pipeline.stats);
  return pipeline;
}

/** A cluster worker's side of events: its own gate, then each admitted lookup to the primary. */
function relayEvents(config: Config, metrics: Metrics, send: (lookup: BlockedLookup) => void): EventsRelay | undefined {
  if (config.eventsUrl === 'off') return undefined;
  const relay = new EventsRelay(config, send);
  metrics.watchEvents(() => relay.stats);
  return relay;
}

export interface DataPlaneOptions {
  /** Cluster workers: a loop probe that is not ours arrived here (it may be another worker's). */
  readonly onForeignProbe?: (name: string) => void;
  /** Cluster workers: how long a probe waits for word from other workers after its answer. */
  readonly loopProbeSettleMs?: number;
  /** Cluster workers: hand each blocked lookup that should become an event to the primary's pipeline. */
  readonly relayEvents?: (lookup: BlockedLookup) => void;
}

export interface DataPlane {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  /** DoT and DoH addresses with their bound ports (empty lists when off). */
  readonly encrypted: { readonly dot: readonly { host: string; port: number }[]; readonly doh: readonly { host: string; port: number }[] };
  readonly loopGuard: LoopGuard;
  /** The early-warning events pipeline, when --events-url is set (in a cluster, the primary holds it). */
  readonly events: EventsPipeline | undefined;
  /** Stops taking queries, lets those waiting for an upstream finish (bounded), closes everything. */
  close(): Promise<void>;
}

/** Builds the resolver chain over `policy` and opens the DNS listeners; nothing is served before the listeners open. */
export async function startDataPlane(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  policy: { readonly store: PolicyStore; readonly verdictCache: VerdictCache },
  options: DataPlaneOptions = {},
): Promise<DataPlane> {
  const stoppers: (() => void | Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
  };
  try {
    metrics.watchVerdictCache(() => policy.verdictCache);
    metrics.memory.policyBytes = () => policy.store.current.byteSize;
    const forwarder = createForwarder(config, metrics, logger);
    stoppers.push(() => forwarder.close());
    const loopGuard = new LoopGuard(forwarder, logger, {
      probeTimeoutMs: 1500,
      intervalMs: 60_000,
      settleMs: options.loopProbeSettleMs ?? 0,
      onForeignProbe: options.onForeignProbe,
    });
    stoppers.push(() => loopGuard.stop());
    const synthesizer = new Synthesizer(config.ednsUdpSize);
    const queryLog = await openQueryLog(config, metrics, logger);
    if (queryLog) stoppers.push(() => queryLog.close());
    const responseCache = createResponseCache(config, metrics);
    const relay = options.relayEvents;
    const events = relay ? undefined : await startEvents(config, logger, metrics);
    if (events) stoppers.push(() => events.close());
    const chain = buildChain({
      events: relay ? relayEvents(config, metrics, relay) : events,
      policy: policy.store,
      blockAnswers: new BlockAnswers(config, synthesizer),
      localZones: config,
      forwarder,
      synthesizer,
      metrics,
      maxInFlight: config.maxInFlight,
      inspectAnswers: config.inspectAnswers,
      loopGuard,
      responseCache: responseCache && {
        cache: responseCache,
        options: config,
      },
      queryLog: queryLog && {
        log: queryLog.log,
        options: config,
      },
    });
    const gate = new ClientGate(config);
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
    const encrypted = await openEncryptedListeners(config, handler, metrics, logger);
    const listeners = await openListeners(config, handler, logger).catch(async (error: unknown) => {
      await encrypted?.close();
      throw error;
    });
    stoppers.push(async () => {
      // Graceful: stop taking new queries, let the ones waiting for an upstream finish (bounded by
      // the query deadline), then close the sockets.
      handler.draining = true;
      const deadline = Date.now() + config.queryTimeoutMs + 100;
      while (handler.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await Promise.all([...listeners.map((listener) => listener.close()), encrypted?.close()]);
    });
    // A looping upstream answers a probe within one round trip, so probing in the background
    // finds it before it matters; a silent upstream must not delay the start.
    void loopGuard.probeAll();
    loopGuard.start();
    return {
      listeners: listeners.map((listener) => ({ host: listener.host, port: listener.port })),
      encrypted: { dot: encrypted?.dot ?? [], doh: encrypted?.doh ?? [] },
      loopGuard,
      events,
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** An open resolver on a public address is an amplification weapon; say so loudly at start. */
export function warnIfOpenResolver(config: Config, logger: Logger): void {
  if (!allowsEveryone(config.allowClients)) return;
  const publicListen = config.listen.filter((address) => !isLoopbackHost(address.host));
  if (publicListen.length > 0) {
    logger.warn(
      `OPEN RESOLVER: --allow-clients lets every address query fraudwall on ${publicListen.map((a) => formatHostPort(a)).join(', ')}; ` +
        'anyone can use it for DNS amplification attacks. Restrict --allow-clients to your networks.',
    );
  }
}

