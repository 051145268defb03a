/**
 * RPZ, differentially: one response-policy zone file, written the way BIND and Unbound read it, is
 * loaded by Unbound's own rpz module (module-config "respip iterator") and by fraudwall (as
 * feed.rpz in its lists directory, in front of a plain Unbound with the same data). dig asks both
 * the same 70+ questions; rcode, TC and answer records must agree. Only rpz-drop is left out
 * (Unbound drops the query; fraudwall answers with its configured block answer, by design).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDig, type DigResult } from '../helpers/dig.js';
import { requireTool } from '../helpers/require-tool.js';
import { startAuthUnbound, type AuthUnbound } from '../helpers/unbound-auth.js';
import { startTestServer, type TestServer } from './harness.js';

const haveTools = requireTool('unbound', 'unbound') && requireTool('dig', 'bind9-dnsutils');

const KINDS = ['exact', 'wild', 'nodata', 'ip', 'clean', 'local'] as const;
const N = 60;

function zoneText(): string {
  const lines = ['$ORIGIN rpzdiff.test.', '$TTL 300', '@ IN SOA ns hostmaster 1 3600 900 604800 60', '@ IN NS ns', 'ns IN A 192.0.2.1'];
  for (let i = 0; i < N; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const owner = kind === 'wild' ? `w${i}.wild` : `${kind[0]}${i}`;
    lines.push(`${owner} IN A ${kind === 'ip' ? `203.0.113.${i}` : `192.0.2.${i + 10}`}`);
    if (kind === 'clean' || kind === 'local') lines.push(`${owner} IN AAAA 2001:db8::${i.toString(16)}`);
  }
  lines.push('wild IN A 192.0.2.250', 'ok.wild IN A 192.0.2.251', 'sub.e0 IN A 192.0.2.252', 'tcp IN A 192.0.2.253', 'inside IN A 198.51.100.1', 'inside IN A 203.0.113.99');
  return `${lines.join('\n')}\n`;
}

function rpzText(): string {
  const lines = [
    '$TTL 60',
    '$ORIGIN rpz.fraudwall.test.',
    '; category: phishing',
    '@ SOA ns.rpz.fraudwall.test. hostmaster.rpz.fraudwall.test. (',
    '      1 3600 900 604800 60 ) ; serial refresh retry expire minimum',
    '  NS ns.rpz.fraudwall.test.',
    '*.wild.rpzdiff.test CNAME .',
    'ok.wild.rpzdiff.test.rpz.fraudwall.test. CNAME rpz-passthru. ; an absolute owner',
    'tcp.rpzdiff.test CNAME rpz-tcp-only.',
    '24.0.113.0.203.rpz-ip CNAME .',
    '32.99.113.0.203.rpz-ip CNAME rpz-passthru.',
  ];
  for (let i = 0; i < N; i++) {
    const kind = KINDS[i % KINDS.length]!;
    if (kind === 'exact') lines.push(`e${i}.rpzdiff.test CNAME .`);
    if (kind === 'nodata') lines.push(`n${i}.rpzdiff.test CNAME *.`);
    if (kind === 'local') lines.push(`l${i}.rpzdiff.test 120 IN A 192.0.2.200`, `  AAAA 2001:db8::200`);
  }
  return `${lines.join('\n')}\n`;
}

function questions(): [string, string][] {
  const qs: [string, string][] = [];
  for (let i = 0; i < N; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const name = kind === 'wild' ? `w${i}.wild.rpzdiff.test` : `${kind[0]}${i}.rpzdiff.test`;
    qs.push([name, 'A']);
    if (kind === 'local' || kind === 'clean') qs.push([name, 'AAAA']);
  }
  qs.push(['wild.rpzdiff.test', 'A'], ['ok.wild.rpzdiff.test', 'A'], ['sub.e0.rpzdiff.test', 'A'], ['inside.rpzdiff.test', 'A'], ['l5.rpzdiff.test', 'TXT']);
  return qs;
}

/** What must agree: rcode, TC, and the answer records (sorted, TTLs aside). */
function outcome(r: DigResult): string {
  const answers = r.answers.map((a) => `${a.name} ${a.type} ${a.data}`).sort();
  return `${r.status}${r.flags.includes('tc') ? ' TC' : ''} [${answers.join(', ')}]`;
}

describe.skipIf(!haveTools)('RPZ: fraudwall enforces a zone file as Unbound’s rpz module does', () => {
  let plain: AuthUnbound;
  let withRpz: AuthUnbound;
  let fw: TestServer;

  beforeAll(async () => {
    const zones = [{ name: 'rpzdiff.test', text: zoneText() }];
    [plain, withRpz] = await Promise.all([
      startAuthUnbound({ zones, readyName: 'ns.rpzdiff.test' }),
      startAuthUnbound({ zones, readyName: 'ns.rpzdiff.test', rpz: rpzText() }),
    ]);
    fw = await startTestServer({ upstream: [`127.0.0.1:${plain.port}`] }, { 'feed.rpz': rpzText() });
  }, 30_000);
  afterAll(async () => {
    await fw?.close();
    await plain?.stop();
    await withRpz?.stop();
  });

  it('loads the zone with nothing skipped', () => {
    const feed = fw.server.registry.get('feed');
    expect(feed?.list.category).toBe('phishing');
    expect(feed?.list.skipped).toEqual([]);
  });

  it('answers ≥ 50 questions exactly as Unbound’s rpz does, over UDP (dig without retrying TC over TCP)', async () => {
    const qs = questions();
    expect(qs.length).toBeGreaterThanOrEqual(50);
    const differences: string[] = [];
    for (const [name, type] of [...qs, ['tcp.rpzdiff.test', 'A'] as [string, string]]) {
      const [theirs, ours] = await Promise.all([runDig(withRpz.port, [name, type, '+ignore']), runDig(fw.port, [name, type, '+ignore'])]);
      if (outcome(theirs) !== outcome(ours)) differences.push(`${name} ${type}: unbound ${outcome(theirs)} / fraudwall ${outcome(ours)}`);
    }
    expect(differences).toEqual([]);
    // The comparison means something: both block, allow, answer locally and pass through.
    const seen = await Promise.all(
      ['e0.rpzdiff.test', 'w1.wild.rpzdiff.test', 'n2.rpzdiff.test', 'i3.rpzdiff.test', 'c4.rpzdiff.test', 'l5.rpzdiff.test'].map(async (name) => outcome(await runDig(fw.port, [name, 'A']))),
    );
    expect(seen).toEqual([
      'NXDOMAIN []',
      'NXDOMAIN []',
      'NOERROR []',
      'NXDOMAIN []',
      'NOERROR [c4.rpzdiff.test. A 192.0.2.14]',
      'NOERROR [l5.rpzdiff.test. A 192.0.2.200]',
    ]);
  });

  it('tcp-only answers TC over UDP and resolves over TCP, like Unbound', async () => {
    for (const port of [withRpz.port, fw.port]) {
      expect((await runDig(port, ['tcp.rpzdiff.test', 'A', '+ignore'])).flags).toContain('tc');
      expect(outcome(await runDig(port, ['tcp.rpzdiff.test', 'A', '+tcp']))).toBe('NOERROR [tcp.rpzdiff.test. A 192.0.2.253]');
    }
  });
});
