import { FraudwallError, type ErrorCode } from '../errors.js';

/** Why an upstream attempt failed; also a metric label value, so the set is closed. */
export type UpstreamFailure = 'timeout' | 'network' | 'refused' | 'servfail' | 'mismatch' | 'tls' | 'http';

const CODE_OF: Readonly<Record<UpstreamFailure, ErrorCode>> = {
  timeout: 'E_UPSTREAM_TIMEOUT',
  network: 'E_UPSTREAM_NETWORK',
  refused: 'E_UPSTREAM_REFUSED',
  servfail: 'E_UPSTREAM_SERVFAIL',
  mismatch: 'E_UPSTREAM_MISMATCH',
  tls: 'E_UPSTREAM_TLS',
  http: 'E_UPSTREAM_HTTP',
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
