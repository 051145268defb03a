/** Why an upstream attempt failed; also a metric label value, so the set is closed. */
export type UpstreamFailure = 'timeout' | 'network' | 'refused' | 'servfail' | 'mismatch';

export class UpstreamError extends Error {
  readonly code: string;
  constructor(
    readonly reason: UpstreamFailure,
    readonly upstream: string,
    detail: string,
  ) {
    super(`upstream ${upstream}: ${detail}`);
    this.name = 'UpstreamError';
    this.code = `E_UPSTREAM_${reason.toUpperCase()}`;
  }
}
