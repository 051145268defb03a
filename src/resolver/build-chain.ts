import type { Synthesizer } from '../dns/synthesizer.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { Forwarder } from '../upstream/forwarder.js';
import type { BlockAnswers } from './block-answers.js';
import { LocalZoneResolver, type LocalZoneOptions } from './local-zone-resolver.js';
import { PolicyResolver } from './policy-resolver.js';
import type { Resolver } from './resolver.js';
import { UpstreamResolver } from './upstream-resolver.js';

export interface ChainParts {
  readonly policy: PolicyStore;
  readonly blockAnswers: BlockAnswers;
  readonly localZones: LocalZoneOptions;
  readonly forwarder: Forwarder;
  readonly synthesizer: Synthesizer;
}

/**
 * The one place the order of the resolver chain lives:
 *   policy (block answers) → local zones (names that must not leave the network) → upstream.
 * Policy comes first so a listed name is blocked even if it also falls in a local zone; later
 * elements (access control, rate limit, metrics, response cache) slot in here.
 */
export function buildChain(parts: ChainParts): Resolver {
  const upstream = new UpstreamResolver(parts.forwarder, parts.synthesizer);
  const localZones = new LocalZoneResolver(parts.localZones, parts.synthesizer, upstream);
  return new PolicyResolver(parts.policy, parts.blockAnswers, localZones);
}
