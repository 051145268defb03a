import { VERDICT_REASONS, type VerdictReason } from '../query/rule.js';
import client, { Counter, Gauge, Registry } from 'prom-client';
import type { MalformedReason } from '../dns/wire.js';
import { EVENT_DROP_REASONS, type EventsStats } from '../events/events-stats.js';
import type { AnswerSource, Transport } from '../query/resolver.js';
import type { UpstreamFailure } from '../upstream/upstream-error.js';
import { FastCounter, FastHistogram, ReadCounter } from './fast-metrics.js';
import { watchProcessMemory, type MemorySources } from './process-memory.js';

/**
 * Every metric fraudwall exports, in one place. Labels never carry a domain or a client address:
 * list and category names come from configuration, the rest from fixed sets below. Hot-path
 * counters are reached through pre-resolved label children (an array index, no label hashing).
 */

/** Query types with their own label value; everything else is `other`. */
export const QTYPE_LABELS: ReadonlyMap<number, string> = new Map([
  [1, 'A'],
  [2, 'NS'],
  [5, 'CNAME'],
  [6, 'SOA'],
  [12, 'PTR'],
  [15, 'MX'],
  [16, 'TXT'],
  [28, 'AAAA'],
  [33, 'SRV'],
  [43, 'DS'],
  [48, 'DNSKEY'],
  [64, 'SVCB'],
  [65, 'HTTPS'],
  [255, 'ANY'],
]);
const QTYPE_NAMES = [...QTYPE_LABELS.values(), 'other'];
const QTYPE_OTHER = QTYPE_NAMES.length - 1;
/** qtype number → index into QTYPE_NAMES, for every 16-bit type. */
const QTYPE_INDEX = new Uint8Array(65536).fill(QTYPE_OTHER);
[...QTYPE_LABELS.keys()].forEach((type, index) => (QTYPE_INDEX[type] = index));

export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'other'] as const;
export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'dot', 'doh'];
const TRANSPORT_INDEX: Readonly<Record<Transport, number>> = { udp: 0, tcp: 1, dot: 2, doh: 3 };
export const SOURCES: readonly AnswerSource[] = ['blocked', 'local', 'cache', 'upstream', 'error', 'refused'];
export const UPSTREAM_FAILURES: readonly UpstreamFailure[] = ['timeout', 'connection-refused', 'refused', 'servfail', 'network', 'mismatch', 'tls', 'http'];
export const MALFORMED_REASONS: readonly MalformedReason[] = [
  'short-header',
  'response',
  'opcode',
  'qdcount',
  'sections',
  'bad-name',
  'truncated-question',
  'bad-opt',
  'trailing-bytes',
  'oversized',
];

/** 50 µs … 5 s: a blocked answer takes tens of microseconds, prom-client's defaults start at 5 ms. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** prom-client's process metrics, minus the `nodejs_active_*_total` gauges that break the `_total`-is-a-counter rule. */
function registerProcessMetrics(registry: Registry): void {
  const scratch = new Registry();
  client.collectDefaultMetrics({ register: scratch });
  for (const metric of scratch.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    if (/^nodejs_active_.*_total$/.test(name)) continue;
    registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0]);
  }
}

export interface ListGaugeInput {
  readonly name: string;
  readonly category: string;
  readonly entries: number;
  readonly skipped: number;
  /** Unix seconds of the list's last successful load or update. */
  readonly updatedAt: number;
}

export class Metrics {
  readonly registry = new Registry();
  /** Readers of the large structures' memory, filled in by whoever creates them (see process-memory.ts). */
  readonly memory: MemorySources = {};

  private readonly queries: FastCounter;
  private readonly blocked: FastCounter;
  /** #13: names imitating a protected domain, by the protect list's category and the test that fired. */
  private readonly lookalikes: FastCounter;
  private readonly lookalikeChildren = new Map<string, number>();
  private readonly responses: FastCounter;
  private readonly queryDuration: FastHistogram;
  private readonly upstreamDuration: FastHistogram;
  private readonly upstreamErrors: FastCounter;
  private readonly malformed: Counter<'reason'>;
  private readonly listEntries: Gauge<'list' | 'category'>;
  private readonly listSkipped: Gauge<'list'>;
  private readonly listUpdated: Gauge<'list'>;
  readonly generation: Gauge;
  readonly queryLogDropped: Counter;
  readonly listUpdates: Counter<'source' | 'result'>;
  readonly adminAuthFailures: Counter<'reason'>;
  /** Issue #12: warning page requests by outcome (named|generic|rejected). */
  readonly warningPageRequests: Counter<'outcome'>;
  readonly urlListRefreshes: Counter<'list' | 'result'>;
  private readonly gatedChildren: Map<string, Counter.Internal>;
  readonly shed: Counter;
  /** Upstream answers whose chain had more target names than answer inspection walks (16). */
  readonly inspectionChainLimit: Counter;
  /** Processes serving DNS: 1 for a single process, the ready workers with --workers (set by the primary). */
  readonly workersReady: Gauge;
  readonly workerRestarts: Counter;
  // Encrypted DNS (issue #14)
  /** TLS handshakes of DoT/DoH clients that failed (protocol, certificate, timeout), by transport. */
  readonly tlsHandshakeFailures: Counter;
  /** DoH requests answered with an HTTP error status instead of a DNS message, by status. */
  readonly dohRejected: Counter;

  // Series indices resolved once: [transport][qtype index], [source][rcode index], …
  private readonly queryChildren: number[][];
  private readonly responseChildren: number[][];
  private readonly durationChildren: number[];
  private readonly malformedChildren: Map<string, Counter.Internal>;
  /** Blocked series by list and category, then reason index * qtypes + qtype index; bounded by the configured lists. */
  private readonly blockedChildren = new Map<string, number[]>();
  /** Client group names by index when groups are configured (the `group` label of blocked counts). */
  private groupNames: readonly string[] | undefined;
  private readonly blockedCategory = new Map<string, string>();
  private readonly upstreamSeries = new Map<string, { duration: number; errors: Map<string, number> }>();

  constructor(version: string) {
    const registers = [this.registry];
    watchProcessMemory(this.registry, this.memory);
    this.queries = new FastCounter('fraudwall_queries_total', 'DNS queries that reached the resolver chain, by transport and query type.');
    this.blocked = new FastCounter(
      'fraudwall_blocked_total',
      'Queries answered with a block, by the list and category of the rule that matched and the reason (name, cname, ip, lookalike).',
    );
    this.responses = new FastCounter('fraudwall_responses_total', 'Responses sent, by rcode and by where the answer came from.');
    this.queryDuration = new FastHistogram(
      'fraudwall_query_duration_seconds',
      'Time from receiving a query to having its answer, by answer source.',
      LATENCY_BUCKETS,
    );
    this.upstreamDuration = new FastHistogram(
      'fraudwall_upstream_duration_seconds',
      'Time of one attempt at an upstream, successful or not.',
      LATENCY_BUCKETS,
    );
    this.upstreamErrors = new FastCounter('fraudwall_upstream_errors_total', 'Failed upstream attempts, by upstream and reason.');
    this.lookalikes = new FastCounter(
      'fraudwall_lookalikes_total',
      'Queries for names imitating a protected domain (observed or blocked), by protect-list category and test.',
    );
    for (const metric of [this.queries, this.blocked, this.lookalikes, this.responses, this.queryDuration, this.upstreamDuration, this.upstreamErrors]) {
      this.register(metric);
    }
    this.malformed = new Counter({
      name: 'fraudwall_malformed_queries_total',
      help: 'Packets that were not acceptable queries (answered FORMERR/NOTIMP or dropped), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.listEntries = new Gauge({
      name: 'fraudwall_blocklist_entries',
      help: 'Rules loaded per list.',
      labelNames: ['list', 'category'],
      registers,
      // With --workers, only the primary holds list figures: combining processes must not add them up.
      aggregator: 'max',
    });
    this.listSkipped = new Gauge({
      name: 'fraudwall_blocklist_skipped_lines',
      help: 'Lines of a list that no format accepted (paths, IPs, regexes) and were skipped.',
      labelNames: ['list'],
      registers,
      aggregator: 'max',
    });
    this.listUpdated = new Gauge({
      name: 'fraudwall_blocklist_last_update_timestamp_seconds',
      help: 'Unix time of the last successful load or update of a list.',
      labelNames: ['list'],
      registers,
      aggregator: 'max',
    });
    this.generation = new Gauge({
      name: 'fraudwall_blocklist_generation',
      help: 'Generation of the live policy; rises on every swap. With --workers, the lowest generation any process serves.',
      registers,
      aggregator: 'min',
    });
    this.queryLogDropped = new Counter({
      name: 'fraudwall_query_log_dropped_total',
      help: 'Query-log lines dropped because the log destination could not keep up.',
      registers,
    });
    this.listUpdates = new Counter({
      name: 'fraudwall_list_updates_total',
      help: 'List changes attempted through the admin API, files or URLs, by source and result (accepted|rejected).',
      labelNames: ['source', 'result'],
      registers,
    });
    this.adminAuthFailures = new Counter({
      name: 'fraudwall_admin_auth_failures_total',
      help: 'Admin API requests refused for authentication, by reason (missing|wrong|rate-limited|disabled).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['missing', 'wrong', 'rate-limited', 'disabled']) this.adminAuthFailures.labels(reason).inc(0);
    this.warningPageRequests = new Counter({
      name: 'fraudwall_warning_page_requests_total',
      help: 'Warning page requests, by outcome: named (the page named a blocked site), generic (any other Host), rejected (bad method, malformed, oversized or too slow).',
      labelNames: ['outcome'],
      registers,
    });
    this.urlListRefreshes = new Counter({
      name: 'fraudwall_url_list_refreshes_total',
      help: 'Download attempts of URL lists, by list and result (updated|not-modified|rejected|failed).',
      labelNames: ['list', 'result'],
      registers,
    });
    const gated = new Counter({
      name: 'fraudwall_gated_queries_total',
      help: 'Packets stopped before the resolver, by decision: refuse (client not allowed), drop (not allowed with drop set, a reflection source port, or over the rate limit with drop set), truncate (over the rate limit).',
      labelNames: ['decision'],
      registers,
    });
    this.gatedChildren = new Map(['refuse', 'drop', 'truncate'].map((decision) => [decision, gated.labels(decision)]));
    for (const child of this.gatedChildren.values()) child.inc(0);
    this.shed = new Counter({
      name: 'fraudwall_shed_queries_total',
      help: 'Queries answered SERVFAIL at once because too many were already waiting for upstreams.',
      registers,
    });
    this.inspectionChainLimit = new Counter({
      name: 'fraudwall_inspection_chain_limit_total',
      help: 'Upstream answers with more than 16 CNAME/DNAME/SVCB target names: names beyond the 16th were not judged.',
      registers,
    });
    this.workersReady = new Gauge({
      name: 'fraudwall_workers_ready',
      help: 'Processes serving DNS: 1 for a single process; with --workers, the workers that are ready (compare with the configured count).',
      registers,
      // Only the process that knows (the single process, or the primary) sets it; workers report 0.
      aggregator: 'max',
    });
    this.workerRestarts = new Counter({
      name: 'fraudwall_worker_restarts_total',
      help: 'Workers started again after they exited or stopped answering (--workers > 1; stays 0 otherwise).',
      registers,
    });
    this.tlsHandshakeFailures = new Counter({
      name: 'fraudwall_tls_handshake_failures_total',
      help: 'TLS handshakes of DoT/DoH clients that failed (protocol version, certificate, handshake deadline), by transport (dot|doh).',
      labelNames: ['transport'],
      registers,
    });
    for (const transport of ['dot', 'doh']) this.tlsHandshakeFailures.labels(transport).inc(0);
    this.dohRejected = new Counter({
      name: 'fraudwall_doh_rejected_requests_total',
      help: 'DoH requests answered with an HTTP error instead of a DNS message, by status (400 bad query, 404, 405, 413, 414, 415, 403 client not served, 503 shutting down).',
      labelNames: ['status'],
      registers,
    });
    new Gauge({ name: 'fraudwall_build_info', help: 'Always 1; the version label says which build runs.', labelNames: ['version'], registers, aggregator: 'max' })
      .labels(version)
      .set(1);
    registerProcessMetrics(this.registry);

    this.queryChildren = TRANSPORTS.map((transport) => QTYPE_NAMES.map((qtype) => this.queries.series({ transport, qtype })));
    this.responseChildren = SOURCES.map((source) => RCODE_NAMES.map((rcode) => this.responses.series({ rcode, source })));
    this.durationChildren = SOURCES.map((source) => this.queryDuration.series({ source }));
    this.malformedChildren = new Map(MALFORMED_REASONS.map((reason) => [reason, this.malformed.labels(reason)]));
    // prom-client exports a labelled series only once it has a value: start the fixed sets at 0 so
    // rate() and increase() see the first event after startup.
    for (const child of this.malformedChildren.values()) child.inc(0);
  }

  countQuery(transport: Transport, qtype: number): void {
    this.queries.inc(this.queryChildren[TRANSPORT_INDEX[transport]]![QTYPE_INDEX[qtype]!]!);
  }

  countResponse(source: AnswerSource, rcode: number, seconds: number): void {
    const sourceIndex = SOURCES.indexOf(source);
    this.responses.inc(this.responseChildren[sourceIndex]![rcode < 6 ? rcode : 6]!);
    this.queryDuration.observe(this.durationChildren[sourceIndex]!, seconds);
  }

  /**
   * Per-client policy groups are configured: blocked counts carry a `group` label (the group's
   * name; the set is fixed at start and bounded, see config/group-specs.ts MAX_GROUPS).
   */
  useGroups(names: readonly string[]): void {
    this.groupNames = names;
    this.blockedChildren.clear();
  }

  countBlocked(list: string, category: string, qtype: number, reason: VerdictReason = 'name', group = 0): void {
    let children = this.blockedChildren.get(list);
    const groups = this.groupNames;
    // A list's category can change on reload: the series set follows it.
    if (children === undefined || this.blockedCategory.get(list) !== category) {
      children = new Array<number>(QTYPE_NAMES.length * VERDICT_REASONS.length * (groups?.length ?? 1)).fill(-1);
      this.blockedChildren.set(list, children);
      this.blockedCategory.set(list, category);
    }
    const qtypeIndex = QTYPE_INDEX[qtype]!;
    const reasonIndex = reason === 'name' ? 0 : VERDICT_REASONS.indexOf(reason);
    const groupIndex = groups === undefined ? 0 : group;
    const index = (groupIndex * VERDICT_REASONS.length + reasonIndex) * QTYPE_NAMES.length + qtypeIndex;
    // Series appear on first use, so an unused qtype or reason of a list costs no series.
    if (children[index] === -1) {
      const labels = { list, category, qtype: QTYPE_NAMES[qtypeIndex]!, reason };
      children[index] = this.blocked.series(groups === undefined ? labels : { ...labels, group: groups[groupIndex]! });
    }
    this.blocked.inc(children[index]!);
  }

  /** One query for a lookalike name; categories come from protect lists, tests are a closed set. */
  countLookalike(category: string, test: string): void {
    const key = `${category}\u0000${test}`;
    let series = this.lookalikeChildren.get(key);
    if (series === undefined) {
      series = this.lookalikes.series({ category, test });
      this.lookalikeChildren.set(key, series);
    }
    this.lookalikes.inc(series);
  }

  countGated(decision: string): void {
    this.gatedChildren.get(decision)?.inc();
  }

  countMalformed(reason: MalformedReason): void {
    this.malformedChildren.get(reason)?.inc();
  }

  observeUpstream(upstream: string, seconds: number, failure: UpstreamFailure | undefined): void {
    const series = this.seriesOfUpstream(upstream);
    this.upstreamDuration.observe(series.duration, seconds);
    if (failure !== undefined) this.upstreamErrors.inc(series.errors.get(failure)!);
  }

  private seriesOfUpstream(upstream: string): { duration: number; errors: Map<string, number> } {
    let series = this.upstreamSeries.get(upstream);
    if (series === undefined) {
      series = {
        duration: this.upstreamDuration.series({ upstream }),
        errors: new Map(UPSTREAM_FAILURES.map((reason) => [reason, this.upstreamErrors.series({ upstream, reason })])),
      };
      this.upstreamSeries.set(upstream, series);
    }
    return series;
  }

  private register(metric: FastCounter | FastHistogram | ReadCounter): void {
    this.registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Exports the verdict LRU's counters, read at scrape time (the hot path bumps plain numbers). */
  watchVerdictCache(read: () => { readonly hits: number; readonly misses: number; readonly size: number; readonly bytes?: number }): void {
    this.memory.verdictCacheBytes = () => read().bytes ?? 0;
    this.register(new ReadCounter('fraudwall_verdict_cache_hits_total', 'Policy verdicts served from the LRU.', () => [{ labels: {}, value: read().hits }]));
    this.register(
      new ReadCounter('fraudwall_verdict_cache_misses_total', 'Policy verdicts computed from the domain trie.', () => [{ labels: {}, value: read().misses }]),
    );
    new Gauge({ name: 'fraudwall_verdict_cache_entries', help: 'Verdicts held in the LRU.', registers: [this.registry], collect() { this.set(read().size); } });
  }

  /** Exports each upstream's circuit-breaker and loop state, read at scrape time. */
  watchUpstreams(read: () => readonly { upstream: string; up: boolean; looping: boolean }[]): void {
    const registers = [this.registry];
    new Gauge({
      name: 'fraudwall_upstream_up',
      help: '1 while an upstream is in use, 0 while its circuit breaker is open or it loops back to fraudwall (with --workers: 0 if any worker has it out).',
      labelNames: ['upstream'],
      registers,
      aggregator: 'min',
      collect() {
        for (const state of read()) this.labels(state.upstream).set(state.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fraudwall_upstream_looping',
      help: '1 when an upstream was found forwarding fraudwall’s own queries back to it (skipped until fixed).',
      labelNames: ['upstream'],
      registers,
      aggregator: 'max',
      collect() {
        for (const state of read()) this.labels(state.upstream).set(state.looping ? 1 : 0);
      },
    });
  }

  /**
   * Exports, per upstream, UDP and TCP answers that were ignored: `mismatch` (wrong question, no QR bit:
   * spoofing attempts or broken upstreams) and `late` (an ID we no longer wait for).
   */
  watchIgnoredAnswers(read: () => readonly { upstream: string; mismatch: number; late: number }[]): void {
    this.register(
      new ReadCounter(
        'fraudwall_upstream_ignored_answers_total',
        'Answers from an upstream (UDP or TCP) that were ignored, by reason: mismatch (wrong question or not a response; possible spoofing) or late (no query waiting for that ID).',
        () =>
          read().flatMap((state) => [
            { labels: { upstream: state.upstream, reason: 'mismatch' }, value: state.mismatch },
            { labels: { upstream: state.upstream, reason: 'late' }, value: state.late },
          ]),
      ),
    );
  }

  /** Exports the response cache's counters, read at scrape time (the hot path bumps plain numbers). */
  watchResponseCache(read: () => { hits: number; misses: number; stale: number; prefetches: number; entries: number; bytes: number }): void {
    const registers = [this.registry];
    const counter = (name: string, help: string, field: 'hits' | 'misses' | 'stale' | 'prefetches'): void =>
      this.register(new ReadCounter(name, help, () => [{ labels: {}, value: read()[field] }]));
    counter('fraudwall_cache_hits_total', 'Answers served fresh from the response cache.', 'hits');
    counter('fraudwall_cache_misses_total', 'Response-cache lookups that found nothing fresh.', 'misses');
    counter('fraudwall_cache_stale_answers_total', 'Expired answers served because the upstream failed or was slow (RFC 8767).', 'stale');
    counter('fraudwall_cache_prefetches_total', 'Popular entries refreshed from upstream shortly before expiry.', 'prefetches');
    new Gauge({ name: 'fraudwall_cache_entries', help: 'Answers held in the response cache.', registers, collect() { this.set(read().entries); } });
    new Gauge({ name: 'fraudwall_cache_bytes', help: 'Bytes accounted to the response cache (bounded by --cache-max-bytes).', registers, collect() { this.set(read().bytes); } });
  }

  /**
   * Exports the early-warning events pipeline's totals (issue #12), read at scrape time, and returns
   * the observer of delivery latency (first event of a batch → the receiver's 2xx).
   */
  watchEvents(read: () => EventsStats): (seconds: number, count: number) => void {
    const registers = [this.registry];
    const counter = (name: string, help: string, field: 'emitted' | 'deduplicated' | 'delivered' | 'retried' | 'spooled'): void =>
      this.register(new ReadCounter(name, help, () => [{ labels: {}, value: read()[field] }]));
    counter('fraudwall_events_emitted_total', 'Early-warning events created from blocked lookups (after dedupe and rate bounds).', 'emitted');
    counter('fraudwall_events_deduplicated_total', 'Blocked lookups that made no event: the same client and registrable domain within --events-dedupe.', 'deduplicated');
    counter('fraudwall_events_delivered_total', 'Events the receiver acknowledged with a 2xx.', 'delivered');
    counter('fraudwall_events_retried_total', 'Delivery attempts that failed and will be retried (network, timeout, 5xx, 408, 429, 401, 403).', 'retried');
    counter('fraudwall_events_spooled_total', 'Events written to the disk spool because they could not go straight to the receiver.', 'spooled');
    this.register(
      new ReadCounter(
        'fraudwall_events_dropped_total',
        'Events lost, by reason: queue-full, client-rate, global-rate (never created), spool-full (oldest dropped), rejected (4xx), too-large (413 for one event), spool-unreadable.',
        () => EVENT_DROP_REASONS.map((reason) => ({ labels: { reason }, value: read().dropped[reason] })),
      ),
    );
    new Gauge({ name: 'fraudwall_events_spool_bytes', help: 'Bytes of undelivered events in the disk spool.', registers, collect() { this.set(read().spoolBytes); } });
    new Gauge({
      name: 'fraudwall_events_receiver_refusing',
      help: '1 while the events receiver refuses fraudwall: reason unauthorized (401/403: check the secret) or gone (410: delivery stopped until restart).',
      labelNames: ['reason'],
      registers,
      aggregator: 'max',
      collect() {
        const { refusing } = read();
        this.labels('unauthorized').set(refusing.unauthorized ? 1 : 0);
        this.labels('gone').set(refusing.gone ? 1 : 0);
      },
    });
    const latency = new FastHistogram(
      'fraudwall_events_delivery_seconds',
      'Time from the first event of a batch to the receiver acknowledging it, observed once per event.',
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
    );
    this.register(latency);
    const series = latency.series({});
    return (seconds, count) => {
      for (let i = 0; i < count; i++) latency.observe(series, seconds);
    };
  }

  /** Creates every upstream series at 0, so dashboards and rate() see them before the first error. */
  declareUpstreams(upstreams: readonly string[]): void {
    for (const upstream of upstreams) this.seriesOfUpstream(upstream);
  }

  /** Replaces the per-list gauges after a policy load or swap (removed lists disappear). */
  setLists(lists: readonly ListGaugeInput[], generation: number): void {
    this.listEntries.reset();
    this.listSkipped.reset();
    this.listUpdated.reset();
    for (const list of lists) {
      this.listEntries.labels(list.name, list.category).set(list.entries);
      this.listSkipped.labels(list.name).set(list.skipped);
      this.listUpdated.labels(list.name).set(list.updatedAt);
    }
    this.generation.set(generation);
  }
}
