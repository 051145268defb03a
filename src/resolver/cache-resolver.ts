import { questionHash, ResponseCache, type CacheLookup } from '../cache/response-cache.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { QClass } from '../dns/wire.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';
import type { Config } from '../config/options.js';
import type { AnswerInspection } from './answer-inspection.js';
import { InFlightQuestions } from './in-flight-questions.js';

const EDE_STALE_ANSWER = 3;
const ignore = (): void => undefined;

/** This component's section of the settings (see config/options.ts for what each means). */
export type CacheResolverOptions = Pick<Config, 'staleAnswerTimeoutMs' | 'prefetch' | 'maxInFlight'>;

/** A fresh entry asked at least this often is worth refreshing before it expires. */
const PREFETCH_MIN_HITS = 3;
const PREFETCH_SHARE = 0.1;
/** Most leaders registered in the in-flight table (its memory: 12 bytes a slot, two slots each). */
const MAX_REGISTERED = 65_536;

/**
 * Answers from the response cache, and on a miss asks `next` (the upstream), storing what comes
 * back. Identical questions in flight share one upstream query. With serve-stale, an expired
 * entry answers (TTL 30, EDE 3) when the upstream fails or is slower than the client-response
 * timer; popular entries are prefetched shortly before they expire.
 */
export class CacheResolver implements Resolver {
  private readonly inFlight: InFlightQuestions;
  /** Keys being refreshed in the background (few: only popular entries near expiry). */
  private readonly prefetching = new Set<string>();

  /**
   * `inspection`: answer inspection, when on. Entries remember the policy generation they were
   * judged under; a hit under a newer one is judged again before it is served (a push that lists
   * a CNAME target blocks a cached cloaked name on its next query).
   */
  constructor(
    private readonly cache: ResponseCache,
    private readonly synthesizer: Synthesizer,
    private readonly options: CacheResolverOptions,
    private readonly inspection: AnswerInspection | undefined,
    private readonly next: Resolver,
  ) {
    // Registering more than this many leaders gains nothing (load shedding starts at maxInFlight).
    this.inFlight = new InFlightQuestions(Math.min(options.maxInFlight, MAX_REGISTERED));
  }

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    if (ctx.query.qclass !== QClass.IN) return this.next.resolve(ctx);
    // The hit path builds no key string (lookupQuery); the clock reading of receipt is "now" for
    // an answer given synchronously.
    const hit = this.cache.lookupQuery(ctx.query, ctx.receivedAt);
    if (hit?.fresh) {
      const blocked = this.judgedAgain(ctx, hit);
      if (blocked !== undefined) return blocked;
      // Rendered first: a fresh lookup points into the cache's memory, valid until the next store.
      const answer = this.fresh(ctx, hit);
      if (this.options.prefetch) this.maybePrefetch(ctx, hit);
      return answer;
    }
    return this.miss(ctx, ResponseCache.key(ctx.query), hit);
  }

  /**
   * Judges a cached answer under the policy in effect: blocked, the block answer is returned and
   * the entry stays unmarked (judged again on every hit, so lifting the block serves it clean,
   * and a cloaked name costs no upstream query until its TTL runs out); clean, the entry is
   * marked with the generation so later hits skip this.
   */
  private judgedAgain(ctx: QueryContext, hit: CacheLookup): Answer | undefined {
    const inspection = this.inspection;
    if (inspection === undefined) return undefined;
    const mark = inspection.cleanMark;
    if (hit.judged === mark >>> 0) return undefined;
    const message = hit.buf.subarray(hit.start, hit.start + hit.length);
    const blocked = inspection.inspect(ctx, message, message.length);
    if (blocked !== undefined) return blocked;
    // Marked only when clean for every group, so later hits of any group skip the walk; an answer
    // some group blocks is judged on each hit (per group, as the verdicts differ).
    if (inspection.cleanForEveryGroup(ctx.query, message, message.length)) this.cache.markJudged(hit, mark);
    return undefined;
  }

  private fresh(ctx: QueryContext, hit: CacheLookup): Answer {
    return { bytes: this.cache.render(hit, ctx.packet, ctx.query, this.synthesizer.opt(ctx.query.edns), false), source: 'cache' };
  }

  private miss(ctx: QueryContext, key: string, stale: CacheLookup | undefined): Promise<Answer> {
    const hash = questionHash(ctx.query);
    const leader = this.inFlight.get(hash);
    // The common miss (nobody asking the same, nothing stale) adds no async frame of its own.
    if (leader === undefined && stale === undefined) return this.fetch(ctx, key, hash, true);
    return this.missWithCompany(ctx, key, hash, stale, leader);
  }

  /** A miss with an identical question already in flight, or with a stale entry to fall back on. */
  private async missWithCompany(ctx: QueryContext, key: string, hash: number, stale: CacheLookup | undefined, leader: Promise<unknown> | undefined): Promise<Answer> {
    if (leader !== undefined) {
      await leader.then(ignore, ignore);
      const shared = this.cache.lookup(key, performance.now());
      if (shared?.fresh) {
        return this.judgedAgain(ctx, shared) ?? this.fresh(ctx, shared);
      }
      // The leader's answer was not cacheable (SERVFAIL, TC…): ask for ourselves.
    }
    const upstream = this.fetch(ctx, key, hash, leader === undefined);
    if (stale === undefined) return upstream;
    const answer = await this.raceStale(ctx, upstream);
    if (answer !== undefined && answer.source !== 'error') return answer;
    const blocked = this.judgedAgain(ctx, stale);
    if (blocked !== undefined) return blocked;
    this.cache.stats.stale++;
    return { bytes: this.renderStale(ctx, stale), source: 'cache' };
  }

  /** The upstream answer, or undefined when the stale timer fires first. */
  private raceStale(ctx: QueryContext, upstream: Promise<Answer>): Promise<Answer | undefined> {
    const wait = Math.max(0, Math.min(this.options.staleAnswerTimeoutMs, ctx.deadline - performance.now() - 50));
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), wait);
      void upstream.then((answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  private renderStale(ctx: QueryContext, stale: CacheLookup): Buffer {
    const opt = this.synthesizer.opt(ctx.query.edns, { infoCode: EDE_STALE_ANSWER, text: 'fraudwall: upstream unavailable, serving a stale answer' });
    return this.cache.render(stale, ctx.packet, ctx.query, opt, true);
  }

  /**
   * Asks `next` and stores what the upstream said. The leader of a question registers its promise
   * so identical questions can wait for it; it is removed once the answer is stored, so a waiter
   * always finds the entry. One promise and one pair of callbacks per fetch: this runs for every
   * query that misses the cache. `key` and `hash` (questionHash) name the question, computed once by the caller.
   */
  private fetch(ctx: QueryContext, key: string, hash: number, lead: boolean): Promise<Answer> {
    // Read before asking: the inspection below us judged under this generation or a newer one.
    const generation = this.inspection?.storeMark ?? 0;
    let registered = false;
    const fetched: Promise<Answer> = Promise.resolve(this.next.resolve(ctx)).then(
      (answer) => {
        if (answer.source === 'upstream') this.cache.store(key, answer.bytes, performance.now(), generation);
        // A block made of an upstream answer: kept unjudged (mark 0), so every hit is judged again.
        else if (answer.inspected !== undefined) this.cache.store(key, answer.inspected, performance.now(), 0);
        if (registered) this.inFlight.delete(hash, fetched);
        return answer;
      },
      (error: unknown) => {
        if (registered) this.inFlight.delete(hash, fetched);
        throw error;
      },
    );
    registered = lead && this.inFlight.add(hash, fetched);
    return fetched;
  }

  private maybePrefetch(ctx: QueryContext, hit: CacheLookup): void {
    // The cheap tests first: most hits are far from expiry, and those build no key string.
    if (hit.hits < PREFETCH_MIN_HITS || this.cache.remaining(hit) > Math.max(1, hit.ttl * PREFETCH_SHARE)) return;
    const key = ResponseCache.key(ctx.query);
    const hash = questionHash(ctx.query);
    if (this.prefetching.has(key) || this.inFlight.get(hash) !== undefined) return;
    this.prefetching.add(key);
    this.cache.stats.prefetches++;
    const timeout = ctx.deadline - ctx.receivedAt;
    const now = performance.now();
    void this.fetch({ ...ctx, receivedAt: now, deadline: now + timeout }, key, hash, true)
      .catch(() => undefined)
      .finally(() => {
        this.prefetching.delete(key);
      });
  }
}
