/**
 * A live fraudwall with a fake upstream and traffic that touches every metric family: blocked and clean
 * queries, an upstream SERVFAIL, a malformed packet. Shared by the observability suites.
 */
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestServer, type TestServer } from '../e2e/harness.js';

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
