import http2 from 'node:http2';
import type { LookupFunction } from 'node:net';
import { FLAG_QR, HEADER_SIZE, sameQuestion } from '../dns/wire.js';
import { isTlsError } from './tcp-upstream.js';
import { UpstreamError } from './upstream-error.js';

export interface HttpsUpstreamOptions {
  readonly label: string;
  /** An IP literal or host name (resolved by `lookup`), the port, and the URL path. */
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** The name the certificate must carry. */
  readonly serverName: string;
  /** Trusted CAs instead of the system store (--upstream-ca). */
  readonly ca?: Buffer;
  readonly lookup?: LookupFunction;
  /** Close the session after this long without a query in flight (default 30 s). */
  readonly idleTimeoutMs?: number;
}

const DNS_MESSAGE = 'application/dns-message';
const MAX_ANSWER = 65_535;

/**
 * Sends queries to one DoH upstream (RFC 8484) as POSTs on one HTTP/2 session, many streams at
 * once: one TLS handshake for thousands of queries. The session is opened on the first query and
 * again after it closes or fails; a failure to open it fails the queries waiting on it at once
 * (the forwarder's circuit breaker then backs off from this upstream). A certificate problem is
 * reported as 'tls', an HTTP error status or a body that is not the answer as 'http'.
 */
export class HttpsUpstream {
  readonly label: string;
  readonly stats = { mismatched: 0, late: 0, opened: 0 };
  private session: http2.ClientHttp2Session | undefined;
  /** Why a session failed, for the queries whose streams it took down. */
  private readonly sessionErrors = new WeakMap<http2.ClientHttp2Session, NodeJS.ErrnoException>();
  private closed = false;

  constructor(private readonly options: HttpsUpstreamOptions) {
    this.label = options.label;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session !== undefined && !this.session.closed && !this.session.destroyed) return this.session;
    this.stats.opened++;
    const { host, port, serverName, ca, lookup } = this.options;
    const authority = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const session: http2.ClientHttp2Session = http2.connect(authority, {
      servername: serverName,
      ...(ca !== undefined && { ca }),
      ...(lookup !== undefined && { lookup }),
      minVersion: 'TLSv1.2',
    });
    this.session = session;
    // Every query in flight listens for the session's error while it waits.
    session.setMaxListeners(0);
    session.unref();
    session.setTimeout(this.options.idleTimeoutMs ?? 30_000, () => session.close());
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    // Errors reach the streams (each query rejects); the session only has to be forgotten.
    session.on('error', (error: NodeJS.ErrnoException) => {
      this.sessionErrors.set(session, error);
      forget();
    });
    session.on('close', forget);
    session.on('goaway', forget);
    return session;
  }

  /** `message` is a private copy: its ID becomes 0, as RFC 8484 §4.1 asks for cache friendliness. */
  query(message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError('network', this.label, 'client closed'));
    message.writeUInt16BE(0, 0);
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      const session = this.open();
      const finish = (outcome: Buffer | UpstreamError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.off('error', onSessionError);
        if (outcome instanceof UpstreamError) reject(outcome);
        else resolve(outcome);
      };
      const onSessionError = (error: NodeJS.ErrnoException): void => finish(this.failure(error, session));
      session.on('error', onSessionError);
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish(new UpstreamError('timeout', this.label, `no HTTPS answer within ${timeoutMs} ms`));
      }, timeoutMs);
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ':method': 'POST',
          ':path': this.options.path,
          'content-type': DNS_MESSAGE,
          accept: DNS_MESSAGE,
          'content-length': message.length,
        });
      } catch (error) {
        clearTimeout(timer);
        finish(this.failure(error as NodeJS.ErrnoException, session));
        return;
      }
      let status = 0;
      let type = '';
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        type = String(headers['content-type'] ?? '');
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          finish(new UpstreamError('http', this.label, 'HTTPS answer larger than a DNS message'));
        } else chunks.push(chunk);
      });
      // When the session fails (a handshake error), its streams are cancelled first and the
      // session's own error comes a moment later: wait for it, it says what went wrong.
      stream.on('error', (error: NodeJS.ErrnoException) => setImmediate(() => finish(this.failure(error, session))));
      stream.on('close', () => {
        if (settled) return;
        if (status === 0) {
          // Closed without a response: an error (handled a turn later, above) says why, if there is one.
          setImmediate(() => finish(new UpstreamError('network', this.label, 'HTTPS stream closed without an answer')));
          return;
        }
        if (status !== 200) {
          finish(new UpstreamError('http', this.label, `HTTP status ${status}`));
          return;
        }
        const answer = Buffer.concat(chunks, size);
        if (!type.startsWith(DNS_MESSAGE) || answer.length < HEADER_SIZE) {
          finish(new UpstreamError('http', this.label, `answer is not a DNS message (content-type ${type || 'none'}, ${answer.length} bytes)`));
          return;
        }
        if ((answer.readUInt16BE(2) & FLAG_QR) === 0 || !sameQuestion(message, questionEnd, answer)) {
          this.stats.mismatched++;
          finish(new UpstreamError('mismatch', this.label, 'HTTPS answer for a different question, or without QR'));
          return;
        }
        finish(answer);
      });
      stream.end(message);
    });
  }

  private failure(streamError: NodeJS.ErrnoException, session: http2.ClientHttp2Session): UpstreamError {
    const error = this.sessionErrors.get(session) ?? (streamError.cause as NodeJS.ErrnoException | undefined) ?? streamError;
    // Certificate and protocol errors only come from the handshake.
    if (isTlsError(error)) return new UpstreamError('tls', this.label, `TLS handshake failed: ${error.message}${error.code ? ` (${error.code})` : ''}`);
    if (error.code === 'ECONNREFUSED') return new UpstreamError('connection-refused', this.label, 'ECONNREFUSED on HTTPS connect');
    return new UpstreamError('network', this.label, `${error.code ?? error.message} on HTTPS`);
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
