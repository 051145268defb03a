/**
 * fraudwall forwarding to a real Unbound that serves DNS over TLS (tls-port) and over HTTPS
 * (https-port), with certificates from a test CA made by openssl.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Logger } from '../../src/log/logger.js';
import { buildQuery, decode, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { metricSum, scrape } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/ports.js';
import { requireTool } from '../helpers/require-tool.js';
import { createTestCa, type TestCa } from '../helpers/test-certificates.js';
import { startUnbound, type UnboundHandle } from '../helpers/unbound.js';
import { writeLists, TEST_LISTS } from './harness.js';

const haveTools = requireTool('openssl', 'openssl') && requireTool('unbound', 'unbound');

interface Started {
  readonly server: RunningServer;
  readonly port: number;
  readonly warnings: string[];
  close(): Promise<void>;
}

/** fraudwall in this process with a logger that keeps its warnings. */
async function fraudwall(flags: Record<string, string | string[]>): Promise<Started> {
  const listsDir = writeLists(TEST_LISTS);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fraudwall-state-'));
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) };
  const config = loadConfig({
    flags: { listen: ['127.0.0.1:0'], http: '127.0.0.1:0', lists: listsDir, state: stateDir, 'upstream-timeout-ms': '1500', ...flags },
    env: {},
  });
  const server = await startServer(config, logger, {});
  return {
    server,
    port: server.listeners[0]!.port,
    warnings,
    async close() {
      await server.close();
      rmSync(listsDir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!haveTools)('upstreams over TLS and HTTPS (a real Unbound)', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let unbound: UnboundHandle;
  let tlsPort: number;
  let httpsPort: number;

  beforeAll(async () => {
    ca = await createTestCa();
    otherCa = await createTestCa('another CA');
    const leaf = await ca.issue('unbound');
    tlsPort = await freePort();
    httpsPort = await freePort();
    unbound = await startUnbound({
      records: ['upstream.dns.test. 300 IN A 127.0.0.1'],
      serverLines: [
        `interface: 127.0.0.1@${tlsPort}`,
        `interface: 127.0.0.1@${httpsPort}`,
        `tls-port: ${tlsPort}`,
        `https-port: ${httpsPort}`,
        `tls-service-key: "${leaf.keyFile}"`,
        `tls-service-pem: "${leaf.certFile}"`,
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await unbound?.stop();
    await ca?.remove();
    await otherCa?.remove();
  });

  async function expectAnswers(fw: Started): Promise<void> {
    const overUdp = decode(await udpQuery(fw.port, buildQuery('www.example.test', 'A', { edns: {} }), { timeoutMs: 4000 }));
    expect(overUdp.rcode).toBe(0);
    expect(overUdp.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    const [overTcp] = await tcpQuery(fw.port, [buildQuery('www.example.org', 'A')], { timeoutMs: 4000 });
    expect(decode(overTcp!).answers.map((a) => a.data)).toEqual(['192.0.2.20']);
    // Blocked names never leave fraudwall, whatever the upstream.
    expect(decode(await udpQuery(fw.port, buildQuery('evil.fraud.test', 'A'))).rcode).toBe(3);
  }

  it('forwards over DoT (tls://IP:PORT#NAME) and verifies the certificate against --upstream-ca', async () => {
    const label = `tls://127.0.0.1:${tlsPort}#dns.test`;
    const fw = await fraudwall({ upstream: [label], 'upstream-ca': ca.caFile });
    try {
      await expectAnswers(fw);
      // Pipelined on the pooled connection: a burst of distinct names all come back.
      const names = Array.from({ length: 20 }, (_, i) => `n${i}.example.test`);
      const replies = await Promise.all(names.map((name) => udpQuery(fw.port, buildQuery(name, 'A'), { timeoutMs: 4000 })));
      expect(replies.map((r) => decode(r).rcode)).toEqual(names.map(() => 3)); // Unbound: NXDOMAIN in its static zone
      const metrics = await scrape(fw.server.http.port);
      expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: label })).toBe(0);
      expect(metricSum(metrics, 'fraudwall_upstream_duration_seconds_count', { upstream: label })).toBeGreaterThanOrEqual(22);
    } finally {
      await fw.close();
    }
  });

  it('forwards over DoH (https://IP:PORT/dns-query)', async () => {
    const label = `https://127.0.0.1:${httpsPort}/dns-query`;
    const fw = await fraudwall({ upstream: [label], 'upstream-ca': ca.caFile });
    try {
      await expectAnswers(fw);
      // More concurrent queries than Unbound's http-max-streams (100): the extra streams wait their turn.
      const names = Array.from({ length: 150 }, (_, i) => `burst${i}.example.test`);
      const replies = await Promise.all(names.map((name) => udpQuery(fw.port, buildQuery(name, 'A'), { timeoutMs: 4000 })));
      expect(replies.map((r) => decode(r).rcode)).toEqual(names.map(() => 3));
      const metrics = await scrape(fw.server.http.port);
      expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: label })).toBe(0);
    } finally {
      await fw.close();
    }
  });

  it('resolves an upstream host name through --bootstrap-dns, not through itself', async () => {
    const fw = await fraudwall({
      upstream: [`tls://upstream.dns.test:${tlsPort}`],
      'upstream-ca': ca.caFile,
      'bootstrap-dns': [`127.0.0.1:${unbound.port}`],
    });
    try {
      await expectAnswers(fw);
    } finally {
      await fw.close();
    }
  });

  it('refuses a host-name upstream without --bootstrap-dns, and a bootstrap server that is fraudwall itself', async () => {
    await expect(fraudwall({ upstream: [`tls://upstream.dns.test:${tlsPort}`] })).rejects.toMatchObject({
      code: 'E_CONFIG_INVALID',
      message: expect.stringContaining('--bootstrap-dns'),
    });
    const own = await freePort();
    await expect(
      fraudwall({ listen: [`127.0.0.1:${own}`], upstream: [`https://upstream.dns.test:${httpsPort}/dns-query`], 'bootstrap-dns': [`127.0.0.1:${own}`] }),
    ).rejects.toMatchObject({ code: 'E_CONFIG_INVALID', message: expect.stringContaining("fraudwall's own --listen") });
  });

  it('never uses an upstream whose certificate does not verify, and reports it (log line and metric)', async () => {
    const badTls = `tls://127.0.0.1:${tlsPort}#dns.test`;
    const badHttps = `https://127.0.0.1:${httpsPort}/dns-query`;
    const fw = await fraudwall({ upstream: [badTls, badHttps, `127.0.0.1:${unbound.port}`], 'upstream-ca': otherCa.caFile });
    try {
      // The answer comes from the plain upstream, after both encrypted ones failed their handshake.
      const reply = decode(await udpQuery(fw.port, buildQuery('www.example.test', 'A'), { timeoutMs: 4000 }));
      expect(reply.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
      const metrics = await scrape(fw.server.http.port);
      expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: badTls, reason: 'tls' })).toBeGreaterThanOrEqual(1);
      expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: badHttps, reason: 'tls' })).toBeGreaterThanOrEqual(1);
      expect(fw.warnings.some((line) => line.includes(badTls) && line.includes('TLS handshake failed'))).toBe(true);
      expect(fw.warnings.some((line) => line.includes(badHttps) && line.includes('TLS handshake failed'))).toBe(true);
    } finally {
      await fw.close();
    }
  });

  it('a wrong certificate name is a TLS failure too', async () => {
    const wrongName = `tls://127.0.0.1:${tlsPort}#other.example`;
    const fw = await fraudwall({ upstream: [wrongName], 'upstream-ca': ca.caFile, 'query-timeout-ms': '1500' });
    try {
      const reply = decode(await udpQuery(fw.port, buildQuery('www.example.test', 'A'), { timeoutMs: 4000 }));
      expect(reply.rcode).toBe(2);
      const metrics = await scrape(fw.server.http.port);
      expect(metricSum(metrics, 'fraudwall_upstream_errors_total', { upstream: wrongName, reason: 'tls' })).toBeGreaterThanOrEqual(1);
    } finally {
      await fw.close();
    }
  });
});
