// Holds the policy in effect. Swapping is a single reference assignment: a query that already
// read `current` (or got its verdict) keeps using that snapshot, later queries see the new one.
import { PolicyError } from './policy-error.js';
import type { Policy } from './policy.js';
import type { Verdict } from '../query/rule.js';
import type { VerdictCache } from './verdict-cache.js';
import { LOOKALIKES_OFF, withLookalike, type LookalikeSettings } from './lookalike-verdict.js';

export class PolicyStore {
  private policy: Policy;
  private readonly cache: VerdictCache;

  constructor(
    initial: Policy,
    cache: VerdictCache,
    /** How names imitating a protected domain are treated (#13). */
    readonly lookalikeSettings: LookalikeSettings = LOOKALIKES_OFF,
  ) {
    this.policy = initial;
    this.cache = cache;
  }

  get current(): Policy {
    return this.policy;
  }

  /** Installs `next`. Cached verdicts of older generations become misses; the cache is not cleared. */
  swap(next: Policy): void {
    if (next.generation <= this.policy.generation) {
      throw new PolicyError(
        'E_POLICY_GENERATION',
        `new policy generation ${next.generation} is not greater than the current ${this.policy.generation}; ` +
          'a reload must build its policy with a higher generation (this is a bug in the reload code)',
      );
    }
    this.policy = next;
  }

  /** Cached verdict for a wire name (lowercase, no trailing dot). */
  verdict(name: string): Verdict {
    // Read the reference once so the generation tag and the evaluation come from the same snapshot.
    const policy = this.policy;
    const cached = this.cache.get(name, policy.generation);
    if (cached !== undefined) return cached;
    const verdict = withLookalike(policy, name, policy.evaluate(name), this.lookalikeSettings);
    this.cache.set(name, policy.generation, verdict);
    return verdict;
  }
}
