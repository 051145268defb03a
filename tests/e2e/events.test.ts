/**
 * Early-warning events end to end: `fraudwall serve` as a real process, real DNS over UDP/TCP
 * (dig and raw sockets), and a real HTTP receiver in this process that verifies every Standard
 * Webhooks signature with the independent `standardwebhooks` package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, childEnv, killHard, requireBuiltCli, sleep, waitFor } from '../helpers/built-cli.js';
import { runDig } from '../helpers/dig.js';
import { buildQuery, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { metricByLabel, metricSum, scrape } from '../helpers/metrics-text.js';
import { freePort } from '../helpers/ports.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { runProgram } from '../helpers/run-program.js';
import { LOOPBACK_SERVE_ARGS, spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { newSecret, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { writeLists } from './harness.js';

/** 1,500 fraud domains with distinct registrable domains, so dedupe never merges two of them. */
const SCAM_COUNT = 1500;
const scam = (i: number): string => `scam-${i}.test`;
const LISTS = {
  'fraud.txt': `# category: fake-loan\nloan-scam.test\n${Array.from({ length: SCAM_COUNT }, (_, i) => scam(i)).join('\n')}\n`,
  'phish.txt': '# category: phishing\n*.phish-kit.test\n',
};

const children: ChildProcess[] = [];
const dirs: string[] = [];
const receivers: WebhookReceiver[] = [];
let upstream: FakeUpstream;
let listsDir: string;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startFakeUpstream();
  listsDir = writeLists(LISTS);
  dirs.push(listsDir);
});
afterAll(async () => {
  await upstream.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const child of children.splice(0)) await killHard(child);
  for (const receiver of receivers.splice(0)) await receiver.close();
});

function stateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-events-state-'));
  dirs.push(dir);
  return dir;
}

async function receiver(secret: string): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(secret);
  receivers.push(started);
  return started;
}

function serve(url: string, secrets: string, state: string, extra: readonly string[] = []): Promise<ServedProcess> {
  return spawnServe(
    [
      ...LOOPBACK_SERVE_ARGS,
      '--upstream', `127.0.0.1:${upstream.port}`,
      '--lists', listsDir,
      '--state', state,
      '--events-url', url,
      '--events-instance', 'e2e-1',
      '--events-retry-max-ms', '1000',
      ...extra,
    ],
    { env: { FRAUDWALL_EVENTS_SECRET: secrets }, children },
  );
}

/** Sends each name once over UDP from 127.0.0.1, one after the other (so their events keep this order). */
async function lookUp(port: number, names: readonly string[]): Promise<void> {
  for (const name of names) await udpQuery(port, buildQuery(name, 'A'));
}

describe('early-warning events', () => {
  it('a blocked lookup reaches the receiver within 2 s as a signed CloudEvent; clean lookups make none', async () => {
    // Two secrets: rotation. The receiver knows only the second, and still verifies every request.
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, `${newSecret()}\n${secret}\n`, stateDir());

    await runDig(server.dnsPort, ['example.com', 'A']);
    const sentAt = Date.now();
    const dig = await runDig(server.dnsPort, ['www.loan-scam.test', 'AAAA']);
    expect(dig.status).toBe('NXDOMAIN');
    expect(await waitFor(() => hook.events.length >= 1, 2000, 10)).toBe(true);
    expect(hook.events[0]!.receivedAt - sentAt).toBeLessThan(2000);
    await runDig(server.dnsPort, ['x.phish-kit.test', 'A', '+tcp']);
    expect(await waitFor(() => hook.events.length >= 2, 2000, 10)).toBe(true);

    expect(hook.badSignatures).toBe(0);
    expect(hook.requests.every((r) => r.verified && r.contentType === 'application/cloudevents-batch+json' && r.contentLength === r.bodyBytes)).toBe(true);
    const [first, second] = hook.events;
    expect(first).toMatchObject({
      specversion: '1.0',
      type: 'org.fraudwall.blocked',
      source: '/fraudwall/e2e-1',
      subject: 'loan-scam.test',
      datacontenttype: 'application/json',
      data: {
        client: '127.0.0.0',
        name: 'www.loan-scam.test',
        domain: 'loan-scam.test',
        qtype: 'AAAA',
        list: 'fraud',
        category: 'fake-loan',
        rule: 'loan-scam.test',
        reason: 'name',
        transport: 'udp',
        instance: 'e2e-1',
      },
    });
    expect(Date.parse(first!.data['time'] as string)).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(second!.data).toMatchObject({ name: 'x.phish-kit.test', domain: 'phish-kit.test', category: 'phishing', rule: '*.phish-kit.test', transport: 'tcp' });
    expect(new Set(hook.events.map((e) => e.id)).size).toBe(2);
    // example.com went upstream: no event for it.
    expect(hook.events.some((e) => e.data['name'] === 'example.com')).toBe(false);
    const metrics = await scrape(server.httpPort);
    expect(metricSum(metrics, 'fraudwall_events_emitted_total')).toBe(2);
    expect(metricSum(metrics, 'fraudwall_events_delivered_total')).toBe(2);
  }, 20_000);

  it('--events-client full and none decide what the client field holds', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const full = await serve(hook.url, secret, stateDir(), ['--events-client', 'full']);
    await lookUp(full.dnsPort, ['loan-scam.test']);
    expect(await waitFor(() => hook.events.length >= 1, 3000, 10)).toBe(true);
    expect(hook.events[0]!.data['client']).toBe('127.0.0.1');
    await full.stop();
    const none = await serve(hook.url, secret, stateDir(), ['--events-client', 'none']);
    await lookUp(none.dnsPort, ['loan-scam.test']);
    expect(await waitFor(() => hook.events.length >= 2, 3000, 10)).toBe(true);
    expect(hook.events[1]!.data['client']).toBeNull();
  }, 30_000);

  it('retries keep the webhook-id and sign every attempt afresh; 5xx and 429 are retried until a 2xx', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    hook.answer(503);
    const server = await serve(hook.url, secret, stateDir(), ['--events-retry-max-ms', '400']);
    await lookUp(server.dnsPort, [scam(1)]);
    expect(await waitFor(() => hook.requests.length >= 2, 5000, 10)).toBe(true);
    hook.answer(429);
    expect(await waitFor(() => hook.requests.length >= 3, 5000, 10)).toBe(true);
    hook.answer(200);
    expect(await waitFor(() => hook.events.length >= 1, 5000, 10)).toBe(true);
    expect(hook.badSignatures).toBe(0);
    const ids = new Set(hook.requests.map((r) => r.webhookId));
    expect(ids.size).toBe(1);
    expect(hook.events).toHaveLength(1);
    const metrics = await scrape(server.httpPort);
    expect(metricSum(metrics, 'fraudwall_events_retried_total')).toBeGreaterThanOrEqual(2);
    expect(metricSum(metrics, 'fraudwall_events_spooled_total')).toBe(1);
    expect(metricSum(metrics, 'fraudwall_events_spool_bytes')).toBe(0);
  }, 20_000);

  it('receiver down for 30 s, then back: every event arrives, in order, none twice', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir(), ['--events-client-rate', '100000', '--events-rate', '100000']);
    await lookUp(server.dnsPort, Array.from({ length: 20 }, (_, i) => scam(i)));
    expect(await waitFor(() => hook.events.length >= 20, 3000, 10)).toBe(true);

    await hook.down();
    const downAt = Date.now();
    let next = 20;
    while (Date.now() - downAt < 30_000) {
      await lookUp(server.dnsPort, Array.from({ length: 10 }, () => scam(next++)));
      await sleep(500);
    }
    // The last round's events may still be in the batcher: a batch leaves up to events-batch-ms (1 s) after its
    // first event, so rounds pair up into batches, and the last round starts one whenever the loop ran an odd
    // number of rounds (59 instead of 60 once a round, ten lookups and the 500 ms pause, takes over ~508.5 ms,
    // e.g. under load). Those events would go straight to the receiver once it is back. Bring it back only
    // when every event made while it was down is in the spool, the state this test is about.
    const spooled = async (): Promise<number> => metricSum(await scrape(server.httpPort), 'fraudwall_events_spooled_total');
    expect(await waitFor(async () => (await spooled()) >= next - 20, 10_000, 50)).toBe(true);
    const metricsDown = await scrape(server.httpPort);
    expect(metricSum(metricsDown, 'fraudwall_events_spooled_total')).toBe(next - 20);
    expect(metricSum(metricsDown, 'fraudwall_events_spool_bytes')).toBeGreaterThan(0);
    await hook.up();
    expect(await waitFor(() => hook.events.length >= next, 10_000, 20)).toBe(true);
    // Done when fraudwall says so: every event answered 2xx and the spool empty (delivered is counted after the
    // receiver answered, so the receiver holds all it accepted by then).
    const finished = async (): Promise<boolean> => {
      const metrics = await scrape(server.httpPort);
      return metricSum(metrics, 'fraudwall_events_delivered_total') >= next && metricSum(metrics, 'fraudwall_events_spool_bytes') === 0;
    };
    expect(await waitFor(finished, 10_000, 50)).toBe(true);

    expect(hook.events.map((e) => e.data['name'])).toEqual(Array.from({ length: next }, (_, i) => scam(i)));
    expect(new Set(hook.events.map((e) => e.id)).size).toBe(next);
    expect(hook.badSignatures).toBe(0);
    const metrics = await scrape(server.httpPort);
    expect(metricSum(metrics, 'fraudwall_events_delivered_total')).toBe(next);
    expect(metricSum(metrics, 'fraudwall_events_spooled_total')).toBe(next - 20);
    expect(metricSum(metrics, 'fraudwall_events_spool_bytes')).toBe(0);
    expect([...metricByLabel(metrics, 'fraudwall_events_dropped_total', 'reason').values()].reduce((a, b) => a + b, 0)).toBe(0);
  }, 60_000);

  it('SIGKILLed with 1,000 spooled events: all of them are delivered, in order, after a restart', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    await hook.down();
    const state = stateDir();
    const flags = ['--events-client-rate', '100000', '--events-rate', '100000'];
    const first = await serve(hook.url, secret, state, flags);
    const names = Array.from({ length: 1000 }, (_, i) => scam(i));
    await lookUp(first.dnsPort, names);
    expect(await waitFor(async () => metricSum(await scrape(first.httpPort), 'fraudwall_events_spooled_total') >= 1000, 10_000, 100)).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;
    const spooled = readdirSync(path.join(state, 'events')).filter((name) => name.endsWith('.json'));
    expect(spooled.reduce((n, name) => n + Number(name.split('_')[1]), 0)).toBe(1000);

    await hook.up();
    const second = await serve(hook.url, secret, state, flags);
    expect(await waitFor(() => hook.events.length >= 1000, 15_000, 20)).toBe(true);
    await sleep(300);
    expect(hook.events.map((e) => e.data['name'])).toEqual(names);
    expect(hook.badSignatures).toBe(0);
    expect(readdirSync(path.join(state, 'events')).filter((name) => name.endsWith('.json'))).toEqual([]);
    expect(metricSum(await scrape(second.httpPort), 'fraudwall_events_delivered_total')).toBe(1000);
  }, 60_000);

  it('a flood of blocked lookups from one client is one event per client and registrable domain', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir());
    const names = ['loan-scam.test', 'www.loan-scam.test', 'a.phish-kit.test', 'b.phish-kit.test'];
    const sent = await blast(server.dnsPort, '127.0.0.1', names, 20_000);
    const sentFromSecond = await blast(server.dnsPort, '127.0.0.2', names, 2_000);
    await sleep(1500);
    // Two registrable domains × two client addresses (both shown as their /24).
    expect(hook.events.map((e) => `${e.data['client']} ${e.data['domain']}`).sort()).toEqual([
      '127.0.0.0 loan-scam.test',
      '127.0.0.0 loan-scam.test',
      '127.0.0.0 phish-kit.test',
      '127.0.0.0 phish-kit.test',
    ]);
    const metrics = await scrape(server.httpPort);
    const blocked = metricSum(metrics, 'fraudwall_blocked_total');
    expect(blocked).toBeGreaterThanOrEqual((sent + sentFromSecond) * 0.9);
    expect(metricSum(metrics, 'fraudwall_events_deduplicated_total')).toBe(blocked - 4);
  }, 40_000);

  it('with --workers 2 the primary dedupes across workers: one event per client and domain, counts that add up', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir(), ['--workers', '2']);
    const sent = await blast(server.dnsPort, '127.0.0.1', ['loan-scam.test', 'www.loan-scam.test', 'a.phish-kit.test'], 10_000);
    // Distinct domains from fresh sockets: the kernel spreads them over both workers, all reach the primary.
    await lookUp(server.dnsPort, Array.from({ length: 20 }, (_, i) => scam(i)));
    expect(await waitFor(() => hook.events.length >= 22, 5000, 20)).toBe(true);
    await sleep(1500);
    expect(hook.events.filter((e) => ['loan-scam.test', 'phish-kit.test'].includes(e.data['domain'] as string)).map((e) => e.data['domain']).sort()).toEqual([
      'loan-scam.test',
      'phish-kit.test',
    ]);
    // Two workers' IPC channels may interleave, so the order across workers is not asserted here.
    expect(hook.events.map((e) => e.data['name'] as string).filter((name) => name.startsWith('scam-')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => scam(i)).sort());
    expect(hook.badSignatures).toBe(0);
    const metrics = await scrape(server.httpPort);
    const blocked = metricSum(metrics, 'fraudwall_blocked_total');
    expect(blocked).toBeGreaterThanOrEqual(sent * 0.9);
    expect(metricSum(metrics, 'fraudwall_events_emitted_total')).toBe(22);
    expect(metricSum(metrics, 'fraudwall_events_deduplicated_total')).toBe(blocked - 22);
    expect(metricSum(metrics, 'fraudwall_events_delivered_total')).toBe(22);
  }, 40_000);

  it('a lookalike blocked by --lookalike block is an event with reason lookalike; observe mode sends none', async () => {
    const brands = path.join(stateDir(), 'brands.txt');
    writeFileSync(brands, '# category: payment\npaypal.com\n');
    const secret = newSecret();
    const hook = await receiver(secret);
    const blocking = await serve(hook.url, secret, stateDir(), ['--protect', brands, '--lookalike', 'block', '--protect-embedded']);
    await lookUp(blocking.dnsPort, ['paypa1.com']);
    expect(await waitFor(() => hook.events.length >= 1, 3000, 10)).toBe(true);
    expect(hook.events[0]!.data).toMatchObject({ name: 'paypa1.com', domain: 'paypa1.com', list: 'brands', category: 'payment', reason: 'lookalike' });

    const observeHook = await receiver(secret);
    const observing = await serve(observeHook.url, secret, stateDir(), ['--protect', brands, '--lookalike', 'observe']);
    await lookUp(observing.dnsPort, ['paypa1.com', 'www.loan-scam.test']);
    // The blocked name's event arrives; the observed lookalike made none before it.
    expect(await waitFor(() => observeHook.events.length >= 1, 3000, 10)).toBe(true);
    await sleep(300);
    expect(observeHook.events.map((e) => e.data['name'])).toEqual(['www.loan-scam.test']);
  }, 20_000);

  it('once the dedupe window has passed, the same client and domain make an event again', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir(), ['--events-dedupe', '2']);
    await lookUp(server.dnsPort, ['loan-scam.test', 'www.loan-scam.test', 'loan-scam.test']);
    const firstAt = Date.now();
    expect(await waitFor(() => hook.events.length >= 1, 3000, 10)).toBe(true);
    await sleep(firstAt + 2200 - Date.now());
    await lookUp(server.dnsPort, ['www.loan-scam.test']);
    expect(await waitFor(() => hook.events.length >= 2, 3000, 10)).toBe(true);
    await sleep(300);
    expect(hook.events.map((e) => e.data['name'])).toEqual(['loan-scam.test', 'www.loan-scam.test']);
  }, 20_000);

  it('fraudwall events tail prints each event as it is emitted; without --events-url it says how to turn events on', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir());
    const tail = spawn(process.execPath, [CLI, 'events', 'tail', '--url', `http://127.0.0.1:${server.httpPort}`], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(tail);
    let printed = '';
    tail.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    // The tail process needs a moment to start and connect (longer on a busy machine): look up a new
    // fraud domain every 300 ms until a line shows, then check it is one of them.
    const looked: string[] = [];
    const shown = await waitFor(async () => {
      if (printed.includes('\n')) return true;
      looked.push(scam(looked.length));
      await lookUp(server.dnsPort, [looked.at(-1)!]);
      return false;
    }, 15_000, 300);
    expect(shown).toBe(true);
    const line = JSON.parse(printed.split('\n')[0]!) as { type: string; data: { name: string } };
    expect(line.type).toBe('org.fraudwall.blocked');
    expect(looked).toContain(line.data.name);

    const plain = await spawnServe([...LOOPBACK_SERVE_ARGS, '--upstream', `127.0.0.1:${upstream.port}`, '--lists', listsDir, '--state', stateDir()], { children });
    const off = await runProgram(process.execPath, [CLI, 'events', 'tail', '--url', `http://127.0.0.1:${plain.httpPort}`], { env: childEnv() });
    expect(off.code).toBe(4);
    expect(off.stderr).toContain('--events-url');
  }, 30_000);

  it.skipIf(!requireTool('openssl', 'openssl'))('delivers over HTTPS, checking the receiver certificate (a private CA through NODE_EXTRA_CA_CERTS)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-events-tls-'));
    dirs.push(dir);
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const made = await runProgram(findTool('openssl')!, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ]);
    expect(made.code, made.output).toBe(0);
    const secret = newSecret();
    const hook = await startWebhookReceiver(secret, { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
    receivers.push(hook);
    const args = [...LOOPBACK_SERVE_ARGS, '--upstream', `127.0.0.1:${upstream.port}`, '--lists', listsDir, '--events-url', hook.url, '--events-retry-max-ms', '300'];
    // Without the CA the certificate is not trusted: nothing is delivered, everything waits in the spool.
    const untrusted = await spawnServe([...args, '--state', stateDir()], { env: { FRAUDWALL_EVENTS_SECRET: secret }, children });
    await lookUp(untrusted.dnsPort, ['loan-scam.test']);
    expect(await waitFor(async () => metricSum(await scrape(untrusted.httpPort), 'fraudwall_events_retried_total') >= 1, 5000, 50)).toBe(true);
    expect(hook.requests).toEqual([]);
    const trusted = await spawnServe([...args, '--state', stateDir()], { env: { FRAUDWALL_EVENTS_SECRET: secret, NODE_EXTRA_CA_CERTS: cert }, children });
    await lookUp(trusted.dnsPort, ['loan-scam.test']);
    expect(await waitFor(() => hook.events.length === 1, 3000, 10)).toBe(true);
    expect(hook.badSignatures).toBe(0);
  }, 30_000);

  it.skipIf(!requireTool('kdig', 'knot-dnsutils') || !requireTool('openssl', 'openssl'))('lookups over DoT and DoH make events too, with their transport', async () => {
    const secret = newSecret();
    const hook = await receiver(secret);
    const [dotPort, dohPort] = [await freePort(), await freePort()];
    const server = await serve(hook.url, secret, stateDir(), ['--dot', `127.0.0.1:${dotPort}`, '--doh', `127.0.0.1:${dohPort}`, '--tls-self-signed']);
    const kdig = (args: string[]) => runProgram(findTool('kdig')!, ['@127.0.0.1', '+time=3', '+retry=0', ...args]);
    expect((await kdig(['-p', String(dotPort), '+tls', 'www.loan-scam.test', 'A'])).stdout).toContain('NXDOMAIN');
    expect((await kdig(['-p', String(dohPort), '+https=/dns-query', 'x.phish-kit.test', 'A'])).stdout).toContain('NXDOMAIN');
    expect(await waitFor(() => hook.events.length >= 2, 3000, 10)).toBe(true);
    expect(hook.events.map((e) => [e.data['name'], e.data['transport']]).sort()).toEqual([
      ['www.loan-scam.test', 'dot'],
      ['x.phish-kit.test', 'doh'],
    ]);
    expect(server.exit).toBeUndefined();
  }, 30_000);

  it.skipIf(!requireTool('dnsperf', 'dnsperf'))('dnsperf flood from one client: one event per registrable domain', async () => {
    // Throughput under this flood is bench/events-flood.mjs; here only what reaches the receiver.
    const secret = newSecret();
    const hook = await receiver(secret);
    const server = await serve(hook.url, secret, stateDir());
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-dnsperf-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'queries'), 'www.loan-scam.test A\nloan-scam.test AAAA\n');
    await runProgram(findTool('dnsperf')!, ['-s', '127.0.0.1', '-p', String(server.dnsPort), '-d', path.join(dir, 'queries'), '-l', '3', '-Q', '20000', '-c', '1'], {
      timeoutMs: 15_000,
    });
    await sleep(1500);
    // dnsperf sends from 127.0.0.1 only: the one client gets one event for the one registrable domain.
    expect(hook.events.map((e) => e.data['domain'])).toEqual(['loan-scam.test']);
    expect(metricSum(await scrape(server.httpPort), 'fraudwall_events_deduplicated_total')).toBeGreaterThan(1000);
  }, 30_000);
});

/**
 * Sends `count` queries for `names` (round robin) from `host`, keeping 64 unanswered at most, and
 * returns how many were sent; a datagram lost on the way does not stall it (the flood tops up every 20 ms).
 */
async function blast(port: number, host: string, names: readonly string[], count: number): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  const packets = names.map((name) => buildQuery(name, 'A'));
  let sent = 0;
  let answered = 0;
  const send = (): void => {
    if (sent < count) socket.send(packets[sent++ % packets.length]!, port, '127.0.0.1');
  };
  socket.on('message', () => {
    answered++;
    send();
  });
  for (let i = 0; i < 64; i++) send();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && answered < count) {
    const before = answered;
    await sleep(20);
    if (answered === before) for (let i = 0; i < 16; i++) send();
    if (sent >= count && answered === before) break;
  }
  socket.close();
  return sent;
}
