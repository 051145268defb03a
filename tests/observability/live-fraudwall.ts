/**
 * A live fraudwall with a fake upstream and traffic that touches every metric family: blocked and clean
 * queries, an upstream SERVFAIL, a malformed packet. Shared by the observability suites.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { RedisServer } from '../helpers/redis-server.js';
import { newSecret, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startTestServer, TEST_TOKEN, type TestServer } from '../e2e/harness.js';

export const OBSERVABILITY_LISTS: Record<string, string> = {
  'fraud.txt': '# category: phishing\nevil.test\n',
  'casino.txt': '# category: gambling\ncasino.test\n',
};

/** Names the fake upstream answers with SERVFAIL: each query is one failed upstream attempt. */
export const FAILING_NAME = 'servfail.example.test';

export interface LiveFraudwall {
  readonly fraudwall: TestServer;
  readonly upstream: FakeUpstream;
  close(): Promise<void>;
}

/** `flags`/`env` add to the defaults (the dashboard suite adds --redis and an admin token for the fleet panels). */
export async function startLiveFraudwall(flags: Record<string, string> = {}, env: Record<string, string> = {}): Promise<LiveFraudwall> {
  const upstream = await startFakeUpstream();
  upstream.setBehaviour(FAILING_NAME, { kind: 'rcode', rcode: 2 });
  let fraudwall: TestServer;
  try {
    fraudwall = await startTestServer(
      { upstream: [`127.0.0.1:${upstream.port}`], 'upstream-timeout-ms': '500', 'query-timeout-ms': '1500', ...flags },
      OBSERVABILITY_LISTS,
      env,
    );
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    fraudwall,
    upstream,
    async close() {
      await fraudwall.close();
      await upstream.close();
    },
  };
}

/** Sends `count` UDP queries for `name` one after another and returns their rcodes. */
export async function sendQueries(port: number, name: string, count: number, type: string = 'A'): Promise<number[]> {
  const rcodes: number[] = [];
  for (let i = 0; i < count; i++) rcodes.push(decode(await udpQuery(port, buildQuery(name, type))).rcode);
  return rcodes;
}

/** Blocks on both lists, clean answers, an upstream failure and a malformed packet (opcode STATUS). */
export async function sendMixedTraffic(port: number): Promise<void> {
  await sendQueries(port, 'a.evil.test', 2);
  await sendQueries(port, 'casino.test', 1, 'AAAA');
  await sendQueries(port, 'www.example.test', 3);
  await sendQueries(port, FAILING_NAME, 1);
  const notimp = decode(await udpQuery(port, buildQuery('www.example.test', 'A', { opcode: 2 })));
  if (notimp.rcode !== 4) throw new Error(`expected NOTIMP for opcode STATUS, got rcode ${notimp.rcode}`);
}

/**
 * A live fraudwall with every feature a panel or an alert reads turned on: the fleet (a real
 * redis-server), early-warning events (a receiver verifying signatures), a protect list, the
 * warning page, DoT and DoH; admin token TEST_TOKEN.
 */
export interface FeaturedFraudwall extends LiveFraudwall {
  readonly redis: RedisServer;
  readonly receiver: WebhookReceiver;
}

export async function startFeaturedFraudwall(): Promise<FeaturedFraudwall> {
  const redis = await RedisServer.start();
  const secret = newSecret();
  const receiver = await startWebhookReceiver(secret);
  const dir = mkdtempSync(join(tmpdir(), 'fraudwall-featured-'));
  let live: LiveFraudwall;
  try {
    writeFileSync(join(dir, 'events-secret'), `${secret}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'brands.txt'), '# category: payments\npaypal.com\n');
    live = await startLiveFraudwall(
      {
        redis: redis.url,
        'events-url': receiver.url,
        'events-secret-file': join(dir, 'events-secret'),
        protect: join(dir, 'brands.txt'),
        'warning-page': '127.0.0.1:0',
        dot: '127.0.0.1:0',
        doh: '127.0.0.1:0',
        'tls-self-signed': 'true',
      },
      { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
    );
  } catch (error) {
    await receiver.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...live,
    redis,
    receiver,
    async close() {
      await live.close();
      await receiver.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Traffic for the fraud-defence features: a lookalike of the protected domain, a visit to the
 * warning page for a blocked name, a failed DoT handshake and a DoH request for a path that does
 * not exist.
 */
export async function sendFraudDefenceTraffic(live: LiveFraudwall): Promise<void> {
  const { server } = live.fraudwall;
  await udpQuery(live.fraudwall.port, buildQuery('paypa1.com', 'A'));
  const page = server.warningPage!;
  await fetch(`http://127.0.0.1:${page.port}/`, { headers: { host: 'a.evil.test' } }).then((r) => r.text());
  await new Promise<void>((resolve) => {
    // Not TLS at all: the server's handshake fails.
    const socket = net.connect(server.encrypted.dot[0]!.port, '127.0.0.1', () => socket.end('GET / HTTP/1.0\r\n\r\n'));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port: server.encrypted.doh[0]!.port, path: '/no-such-path', rejectUnauthorized: false }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 404 ? resolve() : reject(new Error(`DoH answered ${response.statusCode}, expected 404`))));
    });
    request.on('error', reject);
  });
}

/** Two rounds of every kind of traffic with a scrape after each, so rate() over lazily created series is positive. */
export async function trafficScrapedTwice(live: LiveFraudwall, waitForScrapeAfter: (sinceMs: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < 2; round++) {
    await sendMixedTraffic(live.fraudwall.port);
    await sendFraudDefenceTraffic(live);
    await waitForScrapeAfter(Date.now());
  }
}
