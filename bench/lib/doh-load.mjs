// A DoH load generator for the DoT/DoH rows: dnsperf 2.10's DoH client stalls or exits against
// Node's HTTP/2 server when several answers arrive together ("frame received when already having
// a dns msg"; its source says "TODO: need to be able to receive multiple responses at the same
// time"), so DoH throughput is measured with this client instead, for fraudwall and Unbound alike.
// Closed loop: `sessions` HTTP/2 connections, `streams` POSTs in flight on each, for `seconds`.
import http2 from 'node:http2';

function query(name, id) {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const label of labels) parts.push(Buffer.from([label.length]), Buffer.from(label, 'ascii'));
  parts.push(Buffer.from([0, 0, 1, 0, 1]));
  return Buffer.concat(parts);
}

/** Runs the load; resolves with { qps, sent, answered, errors, avgLatencyMs }. */
export async function dohLoad({ port, names, seconds, sessions = 8, streams = 64 }) {
  const deadline = performance.now() + seconds * 1000;
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let latencySum = 0;
  let next = 0;
  const started = performance.now();
  const run = (session) =>
    new Promise((resolve) => {
      let active = streams;
      const one = () => {
        if (performance.now() >= deadline || session.destroyed) {
          if (--active === 0) resolve();
          return;
        }
        const body = query(names[next++ % names.length], 0);
        const t0 = performance.now();
        sent++;
        const stream = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message', 'content-length': body.length });
        let status = 0;
        stream.on('response', (headers) => (status = headers[':status']));
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('close', () => {
          if (status === 200) {
            answered++;
            latencySum += performance.now() - t0;
          } else errors++;
          one();
        });
        stream.end(body);
      };
      for (let i = 0; i < streams; i++) one();
    });
  const opened = await Promise.all(
    Array.from({ length: sessions }, () =>
      new Promise((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
        session.once('connect', () => resolve(session));
        session.once('error', reject);
      }),
    ),
  );
  // Each session's `streams` loops finish when the deadline passes.
  await Promise.all(opened.map((session) => run(session)));
  const elapsed = (performance.now() - started) / 1000;
  for (const session of opened) session.destroy();
  return { qps: answered / elapsed, sent, answered, errors, avgLatencyMs: answered ? latencySum / answered : null };
}
