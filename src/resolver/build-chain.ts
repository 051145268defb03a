import type { Synthesizer } from '../dns/synthesizer.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { Forwarder } from '../upstream/forwarder.js';
import type { BlockAnswers } from './block-answers.js';
import { LocalZoneResolver } from './local-zone-resolver.js';
import type { LocalZoneOptions } from '../policy/local-zones.js';
import { MetricsResolver } from './metrics-resolver.js';
import { MinimalAnyResolver } from './minimal-any-resolver.js';
import { CacheResolver, type CacheResolverOptions } from './cache-resolver.js';
import type { ResponseCache } from '../cache/response-cache.js';
import { LoopGuardResolver } from './loop-guard-resolver.js';
import type { LoopGuard } from '../upstream/loop-guard.js';
import { PolicyResolver } from './policy-resolver.js';
import { QueryLogResolver, type QueryLogResolverOptions } from './query-log-resolver.js';
import type { QueryLog } from '../querylog/query-log.js';
import type { Resolver } from '../query/resolver.js';
import { UpstreamResolver } from './upstream-resolver.js';
import { AnswerInspection } from './answer-inspection.js';
import { InspectionResolver } from './inspection-resolver.js';
import { EventsResolver } from './events-resolver.js';
import type { EventsPipeline } from '../events/events-pipeline.js';

export interface ChainParts {
  readonly policy: PolicyStore;
  readonly blockAnswers: BlockAnswers;
  readonly localZones: LocalZoneOptions;
  readonly forwarder: Forwarder;
  readonly synthesizer: Synthesizer;
  readonly metrics: Metrics;
  readonly loopGuard?: LoopGuard;
  readonly responseCache?: { readonly cache: ResponseCache; readonly options: CacheResolverOptions } | undefined;
  /** Queries allowed to wait for upstreams at once (load shedding beyond). */
  readonly maxInFlight?: number;
  readonly queryLog?: { readonly log: QueryLog; readonly options: QueryLogResolverOptions } | undefined;
  /** inspect-answers: judge upstream answers' targets and addresses (default on in the CLI). */
  readonly inspectAnswers?: boolean;
  /** Early-warning events (--events-url): one record per blocked lookup. */
  readonly events?: Pick<EventsPipeline, 'admit' | 'enqueue'> | undefined;
}

/**
 * The one place the order of the resolver chain lives:
 *   metrics → loop guard → query log (when enabled) → events (when enabled) → policy (block answers) → local
 *   zones (names that must not leave the network) → minimal ANY (RFC 8482) → response cache (when enabled) →
 *   answer inspection (when enabled) → upstream.
 * Access control and rate limiting run before the chain, in the query handler, because they may
 * drop a packet without any answer, which a chain element cannot express.
 * Metrics and the query log wrap everything so every answer is counted and logged with its source;
 * the events element sits right above policy, the one observation point for blocked lookups.
 * Policy comes before local zones so a listed name is blocked even inside one; the response cache
 * sits before the upstream so only forwarded answers are cached; answer inspection sits between them so
 * every upstream answer is judged before it is cached or sent, and the cache re-judges its entries
 * when the policy generation changes. New elements are added here
 * and nowhere else.
 */
export function buildChain(parts: ChainParts): Resolver {
  const upstream = new UpstreamResolver(parts.forwarder, parts.synthesizer, parts.maxInFlight, () => parts.metrics.shed.inc());
  const inspection = parts.inspectAnswers
    ? new AnswerInspection(parts.policy, parts.blockAnswers, () => parts.metrics.inspectionChainLimit.inc())
    : undefined;
  const inspected = inspection ? new InspectionResolver(inspection, upstream) : upstream;
  const cached = parts.responseCache
    ? new CacheResolver(parts.responseCache.cache, parts.synthesizer, parts.responseCache.options, inspection, inspected)
    : inspected;
  const minimalAny = new MinimalAnyResolver(parts.synthesizer, cached);
  const localZones = new LocalZoneResolver(parts.localZones, parts.synthesizer, minimalAny);
  const policy = new PolicyResolver(parts.policy, parts.blockAnswers, localZones);
  const observed = parts.events ? new EventsResolver(parts.events, policy) : policy;
  const logged = parts.queryLog ? new QueryLogResolver(parts.queryLog.log, parts.queryLog.options, observed) : observed;
  const guarded = parts.loopGuard ? new LoopGuardResolver(parts.loopGuard, parts.synthesizer, logged) : logged;
  return new MetricsResolver(parts.metrics, guarded);
}
