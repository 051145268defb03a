import { FraudwallError, type ErrorCode } from '../errors.js';

/** Misuse of the policy API by the embedding code (a bug or a bad configuration value). */
export class PolicyError extends FraudwallError {
  declare readonly code: Extract<ErrorCode, 'E_POLICY_GENERATION' | 'E_CACHE_SIZE'>;
}
