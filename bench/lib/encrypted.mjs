// DoT and DoH rows (issue #14): fraudwall and Unbound serving the same list over UDP, DNS over TLS
// and DNS over HTTPS (POST, HTTP/2), warm mix: dnsperf -m udp|dot with 8 connections (throughput at
// < 0.1 % loss), and for DoH the closed-loop client of doh-load.mjs (dnsperf's DoH client does not
// work against Node's HTTP/2 server), the same client for both servers. One
// certificate made with openssl for both servers; dnsperf does not verify it (it never does).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { findThroughput, dnsperf, processTicks } from './dnsperf.mjs';
import { dohLoad } from './doh-load.mjs';
import { startFraudwall, startUnboundPeer } from './servers.mjs';
import { freePort, sleep } from './util.mjs';

export const TRANSPORTS = ['udp', 'dot', 'doh'];

function makeCertificate(dir) {
  const cert = path.join(dir, 'bench-cert.pem');
  const key = path.join(dir, 'bench-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/**
 * Throughput over each transport for fraudwall and the Unbound peer. `warm` is the warm mix of the
 * main run (blocked names and cached clean ones), so the rows measure the transport, not upstream.
 */
export async function benchEncrypted({ root, runDir, lists, warm, upstreamPort, opts, log, writeFromPool }) {
  const { cert, key } = makeCertificate(runDir);
  const rows = [];
  const starters = [
    ['fraudwall', async (ports) =>
      startFraudwall({
        root,
        lists: lists.listsDir,
        stateDir: path.join(runDir, 'state-encrypted'),
        logLevel: 'warn',
        upstreamPort,
        blockedName: lists.lastBlocked,
        baseNodeArgs: opts.fwNodeArgs,
        extraFlags: ['--dot', `127.0.0.1:${ports.dot}`, '--doh', `127.0.0.1:${ports.doh}`, '--tls-cert', cert, '--tls-key', key, '--tcp-max-connections-per-client', '64'],
      })],
    ...(opts.peers.includes('unbound')
      ? [['unbound', async (ports) =>
          startUnboundPeer({
            workDir: runDir,
            include: lists.unbound,
            upstreamPort,
            blockedName: lists.lastBlocked,
            extraLines: [
              `interface: 127.0.0.1@${ports.dot}`,
              `interface: 127.0.0.1@${ports.doh}`,
              `tls-port: ${ports.dot}`,
              `https-port: ${ports.doh}`,
              `tls-service-key: "${key}"`,
              `tls-service-pem: "${cert}"`,
              'incoming-num-tcp: 100',
            ],
          })]]
      : []),
  ];
  for (const [name, start] of starters) {
    const ports = { dot: await freePort(), doh: await freePort() };
    let server;
    const row = { server: name };
    try {
      server = await start(ports);
      const warmFile = (lines) => writeFromPool(path.join(runDir, `enc-warm-${name}.txt`), warm.pool, lines, Math.floor(Math.random() * warm.pool.length));
      const warmup = writeFromPool(path.join(runDir, `enc-warmup-${name}.txt`), warm.clean, warm.clean.length);
      await dnsperf({ port: server.port, file: warmup, qps: 5000, outstanding: 100 });
      for (const mode of TRANSPORTS) {
        const port = mode === 'udp' ? server.port : ports[mode];
        log(`  ${name} over ${mode.toUpperCase()} (warm mix):`);
        await sleep(1000);
        try {
          if (mode === 'doh') {
            // Closed loop with the DoH client of doh-load.mjs (see there why not dnsperf).
            const ticksBefore = processTicks(server.pid);
            const wallBefore = performance.now();
            const result = await dohLoad({ port, names: warm.pool, seconds: opts.duration });
            const serverCpu = Math.round((processTicks(server.pid) - ticksBefore) / ((performance.now() - wallBefore) / 1000));
            log(`      closed loop, 8 HTTP/2 sessions x 64 streams, ${opts.duration} s: ${(result.qps / 1000).toFixed(1)}k q/s, ${result.errors} errors, avg ${result.avgLatencyMs?.toFixed(2)} ms; server cpu ${serverCpu} %`);
            row.doh = result.errors === 0 ? result.qps : null;
            row.dohCpuUs = result.qps > 0 ? (serverCpu / 100 / result.qps) * 1e6 : null;
            // The load client (one Node process on core 1) saturated before the server did.
            row.dohClientBound = serverCpu < 85;
            continue;
          }
          const result = await findThroughput({ port, serverPid: server.pid, makeFile: warmFile, duration: opts.duration, log, maxSteps: 2, mode });
          row[mode] = result.qps;
          row[`${mode}Foreign`] = result.maxForeignPct;
          // The server's own CPU time per answered query in the best run: unlike q/s, hardly moved by
          // other processes taking the core (the machine is shared).
          const cpu = result.best?.cpu?.serverProcess;
          row[`${mode}CpuUs`] = cpu && result.best.qps ? (cpu / 100 / result.best.qps) * 1e6 : null;
        } catch (error) {
          log(`    ${mode}: ERROR ${error.message}`);
          row[mode] = null;
        }
      }
    } catch (error) {
      log(`  ${name}: ERROR ${error.message}`);
      row.error = error.message;
    } finally {
      await server?.stop();
    }
    rows.push(row);
  }
  return rows;
}

export function encryptedTable(rows) {
  const unbound = rows.find((row) => row.server === 'unbound' && !row.error);
  const fmt = (x) => (x === null || x === undefined ? 'n/a' : Math.round(x).toLocaleString('en'));
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '-');
  const us = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
  const header = ['server', 'UDP q/s', 'DoT q/s', 'DoH q/s', 'DoT/UDP', 'DoH/UDP', 'vs Unbound UDP/DoT/DoH', 'CPU µs/query UDP/DoT/DoH'];
  const body = rows.map((row) =>
    row.error
      ? [row.server, 'error', '-', '-', '-', '-', '-', '-']
      : [
          row.server,
          `${fmt(row.udp)}${row.udpForeign >= 10 ? '!' : ''}`,
          `${fmt(row.dot)}${row.dotForeign >= 10 ? '!' : ''}`,
          `${fmt(row.doh)}${row.dohClientBound ? '*' : ''}`,
          ratio(row.dot, row.udp),
          ratio(row.doh, row.udp),
          unbound ? TRANSPORTS.map((mode) => ratio(row[mode], unbound[mode])).join(' / ') : '-',
          TRANSPORTS.map((mode) => us(row[`${mode}CpuUs`])).join(' / '),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => String(cells[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}
