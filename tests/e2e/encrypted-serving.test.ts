/**
 * DoT and DoH served by fraudwall, against real clients (kdig, dig, curl, dnspython) trusting a
 * test CA made by openssl, with a real Unbound as the upstream for clean names.
 */
import { copyFile, rename } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDig } from '../helpers/dig.js';
import { buildQuery, decode, frame } from '../helpers/dns-client.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { runProgram } from '../helpers/run-program.js';
import { createTestCa, fingerprintOf, type TestCa } from '../helpers/test-certificates.js';
import { startUnbound, type UnboundHandle } from '../helpers/unbound.js';
import { startTestServer, type TestServer } from './harness.js';

const haveTools =
  requireTool('openssl', 'openssl') &&
  requireTool('unbound', 'unbound') &&
  requireTool('kdig', 'knot-dnsutils') &&
  requireTool('dig', 'bind9-dnsutils') &&
  requireTool('curl', 'curl') &&
  requireTool('/usr/bin/python3', 'python3-dnspython python3-httpx python3-h2');

const PYTHON_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/dnspython-client.py');

describe.skipIf(!haveTools)('serving DoT and DoH to real clients', () => {
  let ca: TestCa;
  let unbound: UnboundHandle;
  let fw: TestServer;
  let certFile: string;
  let keyFile: string;
  let dotPort: number;
  let dohPort: number;
  let web: Server;
  let queryLog: string;

  beforeAll(async () => {
    ca = await createTestCa();
    const first = await ca.issue('serving-1');
    // fraudwall serves the files at these paths; the test replaces them later.
    certFile = path.join(ca.dir, 'live-cert.pem');
    keyFile = path.join(ca.dir, 'live-key.pem');
    await copyFile(first.certFile, certFile);
    await copyFile(first.keyFile, keyFile);
    unbound = await startUnbound({ records: ['local.example.test. 300 IN A 127.0.0.1'] });
    queryLog = path.join(ca.dir, 'queries.ndjson');
    fw = await startTestServer({
      upstream: [`127.0.0.1:${unbound.port}`],
      'query-log': queryLog,
      dot: ['127.0.0.1:0'],
      doh: ['127.0.0.1:0'],
      'tls-cert': certFile,
      'tls-key': keyFile,
    });
    dotPort = fw.server.encrypted.dot[0]!.port;
    dohPort = fw.server.encrypted.doh[0]!.port;
    web = createServer((_req, res) => res.end('reached\n'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  }, 30_000);

  afterAll(async () => {
    web?.closeAllConnections();
    await new Promise((resolve) => web?.close(resolve));
    await fw?.close();
    await unbound?.stop();
    await ca?.remove();
  });

  const kdig = async (args: string[]) => {
    const { stdout, code } = await runProgram(findTool('kdig')!, ['@127.0.0.1', `+tls-ca=${ca.caFile}`, '+tls-hostname=dns.test', '+time=3', '+retry=0', ...args]);
    expect(code).toBe(0);
    return stdout;
  };

  it('kdig +tls: blocked → NXDOMAIN with EDE 15, clean → the upstream answer, padded when asked', async () => {
    const blocked = await kdig(['-p', String(dotPort), '+tls', '+padding', 'evil.fraud.test', 'A']);
    expect(blocked).toMatch(/status: NXDOMAIN/);
    expect(blocked).toMatch(/EDE: 15 \(Blocked\)/);
    expect(blocked).toMatch(/PADDING: \d+ B/);
    expect(blocked).toMatch(/Received 468 B/);
    const clean = await kdig(['-p', String(dotPort), '+tls', '+nopadding', 'www.example.test', 'A']);
    expect(clean).toMatch(/status: NOERROR/);
    expect(clean).toMatch(/www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/);
    expect(clean).not.toMatch(/PADDING/);
  });

  it('names the client from the SNI (DoT) and the path (DoH) in the query log', async () => {
    await kdig(['-p', String(dotPort), '+tls', '+tls-sni=grandma-phone.dns.test', 'named-dot.fraud.test', 'A']);
    await kdig(['-p', String(dohPort), '+https=/dns-query/kids-laptop', 'named-doh.fraud.test', 'A']);
    await kdig(['-p', String(dotPort), '+tls', '+tls-sni=dns.test', 'unnamed-dot.fraud.test', 'A']);
    const { readFile } = await import('node:fs/promises');
    let entries: Record<string, unknown>[] = [];
    for (let i = 0; i < 40 && entries.filter((e) => String(e['name']).includes('-do')).length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      entries = (await readFile(queryLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    const byName = new Map(entries.map((entry) => [entry['name'], entry]));
    expect(byName.get('named-dot.fraud.test')).toMatchObject({ transport: 'dot', clientName: 'grandma-phone', client: '127.0.0.1' });
    expect(byName.get('named-doh.fraud.test')).toMatchObject({ transport: 'doh', clientName: 'kids-laptop' });
    expect(byName.get('unnamed-dot.fraud.test')).toMatchObject({ transport: 'dot' });
    expect(byName.get('unnamed-dot.fraud.test')).not.toHaveProperty('clientName');
  });

  it('kdig +https (HTTP/2 POST): blocked and clean, on the path and on a client-name path', async () => {
    const blocked = await kdig(['-p', String(dohPort), '+https=/dns-query/kitchen-tablet', 'evil.fraud.test', 'A']);
    expect(blocked).toMatch(/HTTP\/2-POST/);
    expect(blocked).toMatch(/status: NXDOMAIN/);
    expect(blocked).toMatch(/EDE: 15 \(Blocked\)/);
    const clean = await kdig(['-p', String(dohPort), '+https=/dns-query', 'www.example.test', 'A']);
    expect(clean).toMatch(/192\.0\.2\.10/);
  });

  it('dig +https and +https-get', async () => {
    for (const mode of ['+https=/dns-query', '+https-get=/dns-query']) {
      const blocked = await runDig(dohPort, [mode, `+tls-ca=${ca.caFile}`, '+tls-hostname=dns.test', 'evil.fraud.test', 'A']);
      expect(blocked.status).toBe('NXDOMAIN');
      expect(blocked.edes.map((ede) => ede.code)).toContain(15);
      const clean = await runDig(dohPort, [mode, `+tls-ca=${ca.caFile}`, '+tls-hostname=dns.test', 'www.example.test', 'A']);
      expect(clean.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    }
  });

  it('curl --doh-url: a blocked name does not resolve, a clean one does', async () => {
    const doh = ['--cacert', ca.caFile, '--resolve', `dns.test:${dohPort}:127.0.0.1`, '--doh-url', `https://dns.test:${dohPort}/dns-query`, '-s', '-m', '5'];
    const webPort = (web.address() as { port: number }).port;
    const blocked = await runProgram(findTool('curl')!, [...doh, `http://evil.fraud.test:${webPort}/`]);
    expect(blocked.code).toBe(6); // CURLE_COULDNT_RESOLVE_HOST
    const clean = await runProgram(findTool('curl')!, [...doh, `http://local.example.test:${webPort}/`]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe('reached\n');
  });

  it('dnspython dns.query.https and dns.query.tls', async () => {
    const ask = async (mode: string, port: number, name: string) => {
      const { stdout, stderr, code } = await runProgram('/usr/bin/python3', [PYTHON_CLIENT, mode, String(port), name, ca.caFile]);
      expect(code, stderr).toBe(0);
      return JSON.parse(stdout) as { rcode: string; ede: [number, string] | null; answers: string[] };
    };
    for (const [mode, port] of [['https', dohPort], ['tls', dotPort]] as const) {
      const blocked = await ask(mode, port, 'evil.fraud.test');
      expect(blocked.rcode).toBe('NXDOMAIN');
      expect(blocked.ede?.[0]).toBe(15);
      const clean = await ask(mode, port, 'www.example.test');
      expect(clean).toEqual({ rcode: 'NOERROR', ede: null, answers: ['192.0.2.10'] });
    }
  });

  it('answers with the RFC 8484 Cache-Control and refuses malformed requests with the right status', async () => {
    const base = `https://dns.test:${dohPort}`;
    const curl = async (args: string[]) => {
      const result = await runProgram(findTool('curl')!, ['--cacert', ca.caFile, '--resolve', `dns.test:${dohPort}:127.0.0.1`, '-s', '-o', '/dev/null', '-D', '-', '-m', '5', ...args]);
      const status = Number(/^HTTP\/\S+ (\d{3})/m.exec(result.stdout)?.[1]);
      return { status, headers: result.stdout.toLowerCase() };
    };
    const blockedQuery = buildQuery('evil.fraud.test', 'A', { id: 0 }).toString('base64url');
    const ok = await curl([`${base}/dns-query?dns=${blockedQuery}`]);
    expect(ok.status).toBe(200);
    expect(ok.headers).toContain('content-type: application/dns-message');
    expect(ok.headers).toContain('cache-control: max-age=60'); // the block answer's SOA: TTL and MINIMUM 60
    // HTTP/1.1 on the same port (ALPN), POST; a clean answer's max-age is its record TTL (Unbound: 300, counting down).
    const queryFile = path.join(ca.dir, 'query.bin');
    await (await import('node:fs/promises')).writeFile(queryFile, buildQuery('www.example.test', 'A', { id: 0 }));
    const h1 = await curl(['--http1.1', '-H', 'content-type: application/dns-message', '--data-binary', `@${queryFile}`, `${base}/dns-query`]);
    expect(h1.headers).toMatch(/^http\/1\.1 200/);
    expect(Number(/cache-control: max-age=(\d+)/.exec(h1.headers)?.[1])).toBeGreaterThan(200);
    expect((await curl([`${base}/dns-query?dns=!!notbase64`])).status).toBe(400);
    expect((await curl([`${base}/dns-query`])).status).toBe(400);
    expect((await curl(['--http1.1', `${base}/dns-query?dns=AAAA`])).status).toBe(400); // 3 bytes: no DNS header
    expect((await curl(['-X', 'PUT', `${base}/dns-query`])).status).toBe(405);
    expect((await curl(['-X', 'POST', '-H', 'content-type: text/plain', '--data-binary', 'hello', `${base}/dns-query`])).status).toBe(415);
    const huge = path.join(ca.dir, 'huge.bin');
    await (await import('node:fs/promises')).writeFile(huge, Buffer.alloc(70_000, 1));
    expect((await curl(['-X', 'POST', '-H', 'content-type: application/dns-message', '--data-binary', `@${huge}`, `${base}/dns-query`])).status).toBe(413);
    expect((await curl([`${base}/elsewhere?dns=${blockedQuery}`])).status).toBe(404);
    const metrics = await scrape(fw.httpPort);
    expect(metricSum(metrics, 'fraudwall_doh_rejected_requests_total', { status: '400' })).toBeGreaterThanOrEqual(3);
    expect(metricSum(metrics, 'fraudwall_doh_rejected_requests_total', { status: '413' })).toBe(1);
    expect(metricSum(metrics, 'fraudwall_queries_total', { transport: 'doh', qtype: 'A' })).toBeGreaterThan(0);
  });

  it('survives garbage: random DoH bodies and parameters, plain bytes on the TLS ports, aborted streams', async () => {
    const http2 = await import('node:http2');
    const net = await import('node:net');
    const { readFile } = await import('node:fs/promises');
    const caPem = await readFile(ca.caFile);
    const session = http2.connect(`https://127.0.0.1:${dohPort}`, { ca: caPem, servername: 'dns.test' });
    session.on('error', () => {});
    const statuses = new Map<number, number>();
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const send = (headers: Record<string, string | number>, body?: Buffer, abort = false) =>
      new Promise<void>((resolve) => {
        const stream = session.request(headers);
        stream.on('response', (h) => statuses.set(Number(h[':status']), (statuses.get(Number(h[':status'])) ?? 0) + 1));
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('close', () => resolve());
        if (abort) {
          stream.write(bytes(10));
          stream.close(http2.constants.NGHTTP2_CANCEL);
        } else stream.end(body);
      });
    const work: Promise<void>[] = [];
    for (let i = 0; i < 150; i++) {
      const body = bytes(Math.floor(random() * 600));
      // Some bodies look like a header at least, with the QR bit clear.
      if (i % 3 === 0 && body.length > 12) body[2] = body[2]! & 0x7f;
      work.push(send({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, body));
      work.push(send({ ':method': 'GET', ':path': `/dns-query?dns=${bytes(Math.floor(random() * 80)).toString('base64url')}` }));
      if (i % 10 === 0) work.push(send({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, undefined, true));
    }
    await Promise.all(work);
    session.close();
    expect([...statuses.keys()].every((status) => status === 200 || status === 400)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(0);
    // Plain bytes where TLS is expected: the handshake fails and is counted, nothing else happens.
    for (const port of [dotPort, dohPort]) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('data', () => {});
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
      });
    }
    const metrics = await scrape(fw.httpPort);
    expect(metricSum(metrics, 'fraudwall_tls_handshake_failures_total', { transport: 'dot' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(metrics, 'fraudwall_tls_handshake_failures_total', { transport: 'doh' })).toBeGreaterThanOrEqual(1);
    // Still serving.
    expect(await kdig(['-p', String(dohPort), '+https=/dns-query', 'evil.fraud.test', 'A'])).toMatch(/status: NXDOMAIN/);
  });

  it('a certificate replaced on disk goes to the next connection while an open one keeps working', async () => {
    const connect = () =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: dotPort, servername: 'dns.test', ca: [readCa()], ALPNProtocols: ['dot'] }, () => resolve(socket));
        socket.once('error', reject);
      });
    let caPem = '';
    const readCa = () => caPem;
    caPem = (await (await import('node:fs/promises')).readFile(ca.caFile)).toString();
    const old = await connect();
    expect(old.getPeerCertificate().fingerprint256).toBe(await fingerprintOf(certFile));
    const oldFingerprint = old.getPeerCertificate().fingerprint256;

    // An ACME client's way: write the new files next to the old ones and rename them over.
    const second = await ca.issue('serving-2');
    await copyFile(second.keyFile, `${keyFile}.new`);
    await copyFile(second.certFile, `${certFile}.new`);
    await rename(`${keyFile}.new`, keyFile);
    await rename(`${certFile}.new`, certFile);
    const newFingerprint = await fingerprintOf(second.certFile);
    expect(newFingerprint).not.toBe(oldFingerprint);

    let seen = '';
    for (let attempt = 0; attempt < 50 && seen !== newFingerprint; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fresh = await connect();
      seen = fresh.getPeerCertificate().fingerprint256;
      fresh.destroy();
    }
    expect(seen).toBe(newFingerprint);

    // The connection opened before the renewal still answers.
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      old.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      });
      old.once('error', reject);
      old.write(frame(buildQuery('evil.fraud.test', 'A')));
    });
    expect(decode(reply).rcode).toBe(3);
    expect(old.getPeerCertificate().fingerprint256).toBe(oldFingerprint);
    old.destroy();
  });
});

describe.skipIf(!haveTools)('the certificate settings', () => {
  it('refuses to start DoT/DoH without a certificate, or with an unreadable or mismatched one, saying what to do', async () => {
    await expect(startTestServer({ upstream: ['127.0.0.1:9'], dot: ['127.0.0.1:0'] })).rejects.toMatchObject({
      code: 'E_TLS_CERT',
      message: expect.stringContaining('--tls-cert FILE'),
    });
    const ca = await createTestCa();
    try {
      const one = await ca.issue('one');
      const two = await ca.issue('two');
      await expect(startTestServer({ upstream: ['127.0.0.1:9'], doh: ['127.0.0.1:0'], 'tls-cert': one.certFile, 'tls-key': path.join(ca.dir, 'missing.key') })).rejects.toMatchObject({
        code: 'E_TLS_CERT',
        message: expect.stringContaining('cannot be read (ENOENT)'),
      });
      await expect(startTestServer({ upstream: ['127.0.0.1:9'], doh: ['127.0.0.1:0'], 'tls-cert': one.certFile, 'tls-key': two.keyFile })).rejects.toMatchObject({
        code: 'E_TLS_CERT',
        message: expect.stringContaining('does not load'),
      });
    } finally {
      await ca.remove();
    }
  });

  it('refuses a --doh-path that is not a URL path', async () => {
    await expect(startTestServer({ upstream: ['127.0.0.1:9'], doh: ['127.0.0.1:0'], 'tls-self-signed': 'true', 'doh-path': 'dns-query' })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
      message: expect.stringContaining('e.g. /dns-query'),
    });
  });

  it('--tls-self-signed serves a throwaway certificate for localhost', async () => {
    const fw = await startTestServer({ upstream: ['127.0.0.1:9'], dot: ['127.0.0.1:0'], 'tls-self-signed': 'true' });
    try {
      const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: fw.server.encrypted.dot[0]!.port, rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
      });
      const cert = socket.getPeerCertificate();
      socket.destroy();
      expect(cert.subject.CN).toBe('fraudwall self-signed');
      expect(cert.subjectaltname).toContain('DNS:localhost');
    } finally {
      await fw.close();
    }
  });
});
