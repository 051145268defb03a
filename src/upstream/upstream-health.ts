import type { UpstreamFailure } from './upstream-error.js';

/** Told when an upstream's circuit opens (down) or closes again (up); not on every failed probe. */
export interface UpstreamHealthObserver {
  down(index: number, failures: number, reason: UpstreamFailure, backoffMs: number, allDown: boolean): void;
  up(index: number): void;
}

export interface UpstreamHealthOptions {
  /** Consecutive failed attempts (timeout, connection refused, network error) that mark an upstream down. */
  readonly failureThreshold: number;
  /** First time an upstream stays down; doubles on every failed probe, up to maxBackoffMs. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

interface State {
  failures: number;
  downUntil: number;
  backoffMs: number;
  /** Forwards our queries back to us (see LoopGuard): never used while set. */
  looping: boolean;
}

/**
 * A circuit breaker per upstream. After `failureThreshold` failures in a row an upstream is
 * skipped until its backoff ends; then the next query probes it (half-open): success closes the
 * breaker, failure doubles the backoff. When every upstream is down they are still tried, in
 * order, rather than failing without asking anyone.
 */
export class UpstreamHealth {
  private readonly states: State[];
  /** rotations[first] = every index starting at first: the order while all are healthy. */
  private readonly rotations: (readonly number[] | undefined)[] = [];

  constructor(
    count: number,
    private readonly options: UpstreamHealthOptions,
    private readonly observer?: UpstreamHealthObserver,
  ) {
    this.states = Array.from({ length: count }, () => ({ failures: 0, downUntil: 0, backoffMs: options.baseBackoffMs, looping: false }));
  }

  /**
   * Indices to try, starting at `first`: the healthy ones; only when none is healthy, the down ones;
   * looping ones never. Read-only: while every upstream is healthy (the usual case) it is a shared
   * array per `first`, so a forwarded query allocates nothing here.
   */
  order(first: number, now: number): readonly number[] {
    const count = this.states.length;
    let allHealthy = true;
    for (let i = 0; i < count; i++) {
      const state = this.states[i]!;
      if (state.looping || state.downUntil > now) {
        allHealthy = false;
        break;
      }
    }
    if (allHealthy) return (this.rotations[first] ??= Object.freeze(Array.from({ length: count }, (_, i) => (first + i) % count)));
    const healthy: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < count; i++) {
      const index = (first + i) % count;
      const state = this.states[index]!;
      if (state.looping) continue;
      (state.downUntil <= now ? healthy : down).push(index);
    }
    return healthy.length > 0 ? healthy : down;
  }

  success(index: number): void {
    const state = this.states[index]!;
    if (state.downUntil > 0) this.observer?.up(index);
    state.failures = 0;
    state.downUntil = 0;
    state.backoffMs = this.options.baseBackoffMs;
  }

  failure(index: number, now: number, reason: UpstreamFailure = 'network'): void {
    const state = this.states[index]!;
    state.failures++;
    if (state.failures < this.options.failureThreshold) return;
    // Already down and probed again: back off further.
    const wasDown = state.downUntil > 0;
    if (wasDown) state.backoffMs = Math.min(state.backoffMs * 2, this.options.maxBackoffMs);
    state.downUntil = now + state.backoffMs;
    if (!wasDown) this.observer?.down(index, state.failures, reason, state.backoffMs, this.states.every((s) => s.looping || s.downUntil > now));
  }

  setLooping(index: number, looping: boolean): void {
    this.states[index]!.looping = looping;
  }

  isLooping(index: number): boolean {
    return this.states[index]!.looping;
  }

  isUp(index: number, now: number): boolean {
    const state = this.states[index]!;
    return !state.looping && state.downUntil <= now;
  }
}
