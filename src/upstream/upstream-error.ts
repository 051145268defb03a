import { FraudwallError, type ErrorCode } from '../errors.js';

/**
 * Why an upstream attempt failed; also a metric label value, so the set is closed. `refused` and
 * `servfail` are DNS answers (rcode REFUSED / SERVFAIL); `connection-refused` is ECONNREFUSED (nothing
 * listens there), a different fault with a different fix. `tls`: the handshake with a tls:// or
 * https:// upstream failed; `http`: a DoH upstream answered an HTTP error.
 */
export type UpstreamFailure = 'timeout' | 'network' | 'connection-refused' | 'refused' | 'servfail' | 'mismatch' | 'tls' | 'http';

const CODE_OF: Readonly<Record<UpstreamFailure, ErrorCode>> = {
  timeout: 'E_UPSTREAM_TIMEOUT',
  network: 'E_UPSTREAM_NETWORK',
  'connection-refused': 'E_UPSTREAM_CONNECTION_REFUSED',
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
