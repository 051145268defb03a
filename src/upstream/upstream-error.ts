import { FraudwallError, type ErrorCode } from '../errors.js';

/**
 * Why an upstream attempt failed; also a metric label value, so the set is closed. `refused` and
 * `servfail` are DNS answers (rcode REFUSED / SERVFAIL); `connection-refused` is ECONNREFUSED (nothing
 * listens there), a different fault with a different fix.
 */
export type UpstreamFailure = 'timeout' | 'network' | 'connection-refused' | 'refused' | 'servfail' | 'mismatch';

const CODE_OF: Readonly<Record<UpstreamFailure, ErrorCode>> = {
  timeout: 'E_UPSTREAM_TIMEOUT',
  network: 'E_UPSTREAM_NETWORK',
  'connection-refused': 'E_UPSTREAM_CONNECTION_REFUSED',
  refused: 'E_UPSTREAM_REFUSED',
  servfail: 'E_UPSTREAM_SERVFAIL',
  mismatch: 'E_UPSTREAM_MISMATCH',
};

export class UpstreamError extends FraudwallError {
  constructor(
    readonly reason: UpstreamFailure,
    readonly upstream: string,
    detail: string,
  ) {
    super(CODE_OF[reason], `upstream ${upstream}: ${detail}`);
  }
}
