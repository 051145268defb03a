import { execFileSync } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { certificateNames, clientNameFromSni } from './client-name.js';
import type { Config } from '../config/options.js';
import { FraudwallError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export type TlsCertificateOptions = Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsSelfSigned'>;

export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Wait this long after the last change event before reading: renewals write the key and the chain one after the other. */
const RELOAD_SETTLE_MS = 200;

async function readPair(certFile: string, keyFile: string): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  // Throws when the PEM is garbage or the key does not belong to the certificate.
  createSecureContext({ cert, key });
  return { cert, key };
}

function namesOf(pair: CertificatePair): ReturnType<typeof certificateNames> {
  try {
    return certificateNames(new X509Certificate(pair.cert).subjectAltName);
  } catch {
    return certificateNames(undefined);
  }
}

/** A throwaway certificate for `localhost` and 127.0.0.1, made with the openssl command (for --tls-self-signed). */
async function selfSigned(): Promise<CertificatePair> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-tls-'));
  try {
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=fraudwall self-signed',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
    return await readPair(certFile, keyFile);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The certificate and key DoT and DoH serve. The files are watched (their directories, since ACME
 * clients replace files by renaming or by switching a symlink) and read again after a change; a
 * pair that does not load (half written, key not matching yet) is skipped with a warning and the
 * old one stays. Listeners get the new pair and hand it to setSecureContext: new connections get
 * it, open ones keep theirs.
 */
export class TlsCertificates {
  private readonly listeners = new Set<(pair: CertificatePair) => void>();
  private readonly watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  /** Counts successful reloads (for tests and logs). */
  reloads = 0;

  /** The names the served certificate covers, to tell a client's name in an SNI from the server's own. */
  private names: ReturnType<typeof certificateNames>;

  private constructor(
    private pair: CertificatePair,
    private readonly logger: Logger,
  ) {
    this.names = namesOf(pair);
  }

  /** The client name in a DoT client's SNI, if any (see clientNameFromSni). */
  clientNameFromSni(servername: string | false | null | undefined): string | undefined {
    return clientNameFromSni(servername, this.names);
  }

  get current(): CertificatePair {
    return this.pair;
  }

  static async load(options: TlsCertificateOptions, logger: Logger): Promise<TlsCertificates> {
    const haveFiles = options.tlsCert !== 'off' || options.tlsKey !== 'off';
    if (!haveFiles) {
      if (!options.tlsSelfSigned) {
        throw new FraudwallError(
          'E_TLS_CERT',
          'dot and doh need a certificate: give --tls-cert FILE (PEM chain, leaf first) and --tls-key FILE (its private key), ' +
            'e.g. from an ACME client such as certbot; only for trying it out, --tls-self-signed makes a throwaway one',
        );
      }
      let pair: CertificatePair;
      try {
        pair = await selfSigned();
      } catch (error) {
        throw new FraudwallError('E_TLS_CERT', `--tls-self-signed needs the openssl command to make a certificate (${(error as Error).message}); install openssl or give --tls-cert and --tls-key`);
      }
      logger.warn(
        'TLS SELF-SIGNED: DoT/DoH serve a throwaway self-signed certificate (--tls-self-signed). Phones (Android Private DNS) and ' +
          'browsers reject it, and clients that accept it are not protected from interception. Use --tls-cert/--tls-key with a real certificate.',
      );
      return new TlsCertificates(pair, logger);
    }
    if (options.tlsCert === 'off' || options.tlsKey === 'off') {
      throw new FraudwallError('E_TLS_CERT', `give both --tls-cert and --tls-key (only --${options.tlsCert === 'off' ? 'tls-key' : 'tls-cert'} was given)`);
    }
    let pair: CertificatePair;
    try {
      pair = await readPair(options.tlsCert, options.tlsKey);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' ? `cannot be read (${code})` : `does not load (${(error as Error).message})`;
      throw new FraudwallError(
        'E_TLS_CERT',
        `the TLS certificate ${options.tlsCert} / key ${options.tlsKey} ${why}: check both paths, that fraudwall may read them, and that the key belongs to the certificate (PEM)`,
      );
    }
    const certificates = new TlsCertificates(pair, logger);
    certificates.watch(options.tlsCert, options.tlsKey);
    return certificates;
  }

  onChange(listener: (pair: CertificatePair) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private watch(certFile: string, keyFile: string): void {
    const names = new Set([path.basename(certFile), path.basename(keyFile)]);
    for (const dir of new Set([path.dirname(certFile), path.dirname(keyFile)])) {
      try {
        const watcher = watch(dir, (_event, name) => {
          if (name === null || names.has(name) || name.startsWith('..')) this.scheduleReload(certFile, keyFile);
        });
        watcher.on('error', () => {});
        watcher.unref();
        this.watchers.push(watcher);
      } catch (error) {
        this.logger.warn(`cannot watch ${dir} for certificate renewals; restart fraudwall after renewing`, { err: error });
      }
    }
  }

  private scheduleReload(certFile: string, keyFile: string): void {
    if (this.reloadTimer !== undefined) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      readPair(certFile, keyFile).then(
        (pair) => {
          if (pair.cert.equals(this.pair.cert) && pair.key.equals(this.pair.key)) return;
          this.pair = pair;
          this.names = namesOf(pair);
          this.reloads++;
          for (const listener of this.listeners) listener(pair);
          this.logger.info(`TLS certificate ${certFile} reloaded; new DoT/DoH connections use it, open ones keep the old one`);
        },
        (error: unknown) =>
          this.logger.warn(`TLS certificate ${certFile} / key ${keyFile} changed but does not load; still serving the previous one`, { err: error }),
      );
    }, RELOAD_SETTLE_MS);
    this.reloadTimer.unref();
  }

  close(): void {
    if (this.reloadTimer !== undefined) clearTimeout(this.reloadTimer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
    this.listeners.clear();
  }
}
