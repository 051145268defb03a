import { HttpServer, type Health } from './admin/http-server.js';
import { Metrics } from './metrics/metrics.js';
import { formatHostPort } from './config/host-port.js';
import type { Config } from './config/load-config.js';
import { DnsListener } from './dns/dns-listener.js';
import { QueryHandler } from './dns/query-handler.js';
import { Synthesizer } from './dns/synthesizer.js';
import type { Logger } from './log/logger.js';
import { QueryLog } from './querylog/query-log.js';
import { createWriteStream } from 'node:fs';
import { loadListsDir } from './policy/load-lists.js';
import { Policy } from './policy/policy.js';
import { PolicyStore } from './policy/policy-store.js';
import { VerdictCache } from './policy/verdict-cache.js';
import { BlockAnswers } from './resolver/block-answers.js';
import { buildChain } from './resolver/build-chain.js';
import { Forwarder } from './upstream/forwarder.js';
import { MessageIdSource } from './upstream/message-id.js';
import { TcpUpstream } from './upstream/tcp-upstream.js';
import { UdpUpstream } from './upstream/udp-upstream.js';
import { VERSION } from './version.js';

export interface RunningServer {
  readonly listeners: readonly { readonly host: string; readonly port: number }[];
  readonly http: { readonly host: string; readonly port: number };
  readonly policy: PolicyStore;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

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

async function loadInitialPolicy(config: Config, logger: Logger): Promise<Policy> {
  const started = performance.now();
  const { lists, warnings } = await loadListsDir(config.lists);
  for (const warning of warnings) logger.warn(warning);
  const policy = new Policy(lists, 1);
  const entries = policy.lists.reduce((sum, list) => sum + list.entries, 0);
  logger.info('blocklists loaded', {
    dir: config.lists,
    lists: policy.lists.map((list) => `${list.name}(${list.kind},${list.category}):${list.entries}`),
    entries,
    ms: Math.round(performance.now() - started),
  });
  if (entries === 0) logger.warn(`no blocklist entries in ${config.lists}: fraudwall will resolve every name; add NAME.txt files there`);
  return policy;
}

function publishPolicy(metrics: Metrics, policy: Policy): void {
  const now = Date.now() / 1000;
  metrics.setLists(
    policy.lists.map((list) => ({ ...list, updatedAt: now })),
    policy.generation,
  );
}

async function openListeners(config: Config, handler: QueryHandler, logger: Logger): Promise<DnsListener[]> {
  const listeners: DnsListener[] = [];
  for (const address of config.listen) {
    try {
      listeners.push(
        await DnsListener.open(address, handler, {
          idleTimeoutMs: config.tcpIdleTimeoutMs,
          maxConnections: config.tcpMaxConnections,
          maxInFlightPerConnection: 100,
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

/**
 * The composition root: config → policy → chain → transports. The HTTP endpoint comes up first so
 * /readyz can say "loading"; DNS listeners open only once the initial policy is loaded.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const health: Health = { ready: false };
  const metrics = new Metrics(VERSION);
  let http: HttpServer;
  try {
    http = await HttpServer.start(config.http, health);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StartupError('E_LISTEN', `cannot serve HTTP on ${formatHostPort(config.http)} (${code}): pick another --http address`);
  }

  try {
    const initialPolicy = await loadInitialPolicy(config, logger);
    const verdictCache = new VerdictCache({ max: config.verdictCacheSize });
    const policy = new PolicyStore(initialPolicy, verdictCache);
    publishPolicy(metrics, initialPolicy);
    http.route('GET /metrics', async (_req, res) => {
      metrics.syncVerdictCache(verdictCache);
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(body);
    });
    const ids = new MessageIdSource();
    const forwarder = new Forwarder(
      config.upstream.map((address) => ({
        label: formatHostPort(address),
        udp: new UdpUpstream(address, ids),
        tcp: new TcpUpstream(address, ids),
      })),
      { attemptTimeoutMs: config.upstreamTimeoutMs, ednsUdpSize: config.ednsUdpSize },
      { attempt: (upstream, seconds, failure) => metrics.observeUpstream(upstream, seconds, failure) },
    );
    metrics.declareUpstreams(config.upstream.map((address) => formatHostPort(address)));
    const synthesizer = new Synthesizer(config.ednsUdpSize);
    const queryLog = openQueryLog(config, metrics, logger);
    const chain = buildChain({
      policy,
      blockAnswers: new BlockAnswers(config.blockMode, config.blockTtl, synthesizer),
      localZones: { localZones: config.localZones, blockDohCanaries: config.blockDohCanaries },
      forwarder,
      synthesizer,
      metrics,
      queryLog: queryLog && {
        log: queryLog,
        options: { anonymize: config.queryLogAnonymize, blockedOnly: config.queryLogBlockedOnly },
      },
    });
    const handler = new QueryHandler(chain, synthesizer, { queryTimeoutMs: config.queryTimeoutMs }, {
      malformed: (reason) => metrics.countMalformed(reason),
      internalError: (error) => logger.error('query failed inside fraudwall; answered SERVFAIL', { err: error }),
    });
    const listeners = await openListeners(config, handler, logger);
    health.ready = true;
    logger.info('fraudwall ready', {
      dns: listeners.map((listener) => formatHostPort(listener)),
      http: formatHostPort(http),
      upstream: config.upstream.map((address) => formatHostPort(address)),
      blockMode: config.blockMode,
    });

    return {
      listeners: listeners.map((listener) => ({ host: listener.host, port: listener.port })),
      http: { host: http.host, port: http.port },
      policy,
      metrics,
      async close() {
        health.ready = false;
        await Promise.all(listeners.map((listener) => listener.close()));
        forwarder.close();
        await queryLog?.close();
        await http.close();
      },
    };
  } catch (error) {
    await http.close();
    throw error;
  }
}
