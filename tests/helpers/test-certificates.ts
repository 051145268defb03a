/**
 * Test certificates made by the real `openssl` command: a throwaway CA and leaf certificates it
 * signs, for dns.test, *.dns.test and 127.0.0.1 (so clients can check the name or the address).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  readonly dir: string;
  /** The CA certificate (PEM file): what clients trust. */
  readonly caFile: string;
  /** Makes a leaf certificate signed by this CA; `name` picks the file names. */
  issue(name: string, sans?: string): Promise<{ certFile: string; keyFile: string }>;
  remove(): Promise<void>;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestCa(label = 'fraudwall test CA'): Promise<TestCa> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fraudwall-ca-'));
  const caFile = path.join(dir, 'ca.pem');
  const caKey = path.join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', ...EC, '-days', '2', '-subj', `/CN=${label}`, '-keyout', caKey, '-out', caFile]);
  return {
    dir,
    caFile,
    async issue(name, sans = 'DNS:dns.test,DNS:*.dns.test,IP:127.0.0.1') {
      const keyFile = path.join(dir, `${name}.key`);
      const certFile = path.join(dir, `${name}.pem`);
      const csr = path.join(dir, `${name}.csr`);
      const ext = path.join(dir, `${name}.ext`);
      await writeFile(ext, `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      await run('openssl', ['req', ...EC, '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr]);
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', certFile]);
      return { certFile, keyFile };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The certificate's SHA-256 fingerprint as Node's tls reports it (AA:BB:…). */
export async function fingerprintOf(certFile: string): Promise<string> {
  const { X509Certificate } = await import('node:crypto');
  return new X509Certificate(await readFile(certFile)).fingerprint256;
}
