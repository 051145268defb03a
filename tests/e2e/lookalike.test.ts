/**
 * Lookalike detection end to end (#13): fraudwall with `--protect` holding paypal.com, between dig
 * (the real client) and Unbound (a real upstream that answers every name, lookalikes included, so
 * any block is fraudwall's doing), over real sockets; the admin API lifts a false positive.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDig } from '../helpers/dig.js';
import { metricValue } from '../helpers/metrics-text.js';
import { requireTool } from '../helpers/require-tool.js';
import { startUnbound, type UnboundHandle } from '../helpers/unbound.js';
import { admin, runCli } from './admin-helpers.js';
import { startTestServer, TEST_TOKEN, type TestServer } from './harness.js';

const haveTools = requireTool('unbound', 'unbound') && requireTool('dig', 'bind9-dnsutils');

/** The Cyrillic-а paypal, as dig sends it: punycode on the wire. */
const IDN_PAYPAL = 'xn--pypal-4ve.com';
const RECORDS = [
  ...['paypal.com', 'www.paypal.com', 'paypa1.com', 'www.paypa1.com', IDN_PAYPAL, 'paypal-login.net', 'paypal.com.co'].map(
    (name, i) => `${name}. 300 IN A 192.0.2.${100 + i}`,
  ),
  // A brand's own CDN chain spells its domain, as real ones do (www.apple.com.edgekey.net).
  'shop.paypal.com. 300 IN CNAME shop.paypal.com.edge-cdn.net.',
  'shop.paypal.com.edge-cdn.net. 300 IN A 192.0.2.120',
];

async function lookalikeCount(fw: TestServer, test: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`)).text();
  return metricValue(text, `fraudwall_lookalikes_total{category="payment",test="${test}"}`) ?? 0;
}

describe.skipIf(!haveTools)('lookalikes of a protected domain, through dig and Unbound', () => {
  let unbound: UnboundHandle;
  let dir: string;
  let protectFile: string;
  beforeAll(async () => {
    unbound = await startUnbound({ records: RECORDS });
    dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-lookalike-'));
    protectFile = path.join(dir, 'brands.txt');
    writeFileSync(protectFile, '# category: payment\npaypal.com\n');
  });
  afterAll(async () => {
    await unbound?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const serve = (mode: 'observe' | 'block', extra: Record<string, string> = {}): Promise<TestServer> =>
    startTestServer({ upstream: [`127.0.0.1:${unbound.port}`], protect: [protectFile], lookalike: mode, ...extra }, undefined, { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN });

  it('Unbound answers every one of these names itself', async () => {
    for (const name of ['paypa1.com', IDN_PAYPAL, 'paypal-login.net']) expect((await runDig(unbound.port, [name, 'A'])).status, name).toBe('NOERROR');
  });

  describe('observe mode', () => {
    let fw: TestServer;
    let logFile: string;
    beforeAll(async () => {
      logFile = path.join(dir, 'queries.ndjson');
      fw = await serve('observe', { 'query-log': logFile });
    });
    afterAll(async () => fw?.close());

    it('answers a lookalike normally, counts it once per query and logs what it imitates', async () => {
      const before = await lookalikeCount(fw, 'edit-distance');
      const r = await runDig(fw.port, ['paypa1.com', 'A']);
      expect(r.status).toBe('NOERROR');
      expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.102']);
      expect(r.ede).toBeUndefined();
      expect(await lookalikeCount(fw, 'edit-distance')).toBe(before + 1);
      // A second query is answered from the verdict cache and still counted.
      await runDig(fw.port, ['paypa1.com', 'A']);
      expect(await lookalikeCount(fw, 'edit-distance')).toBe(before + 2);
      await new Promise((resolve) => setTimeout(resolve, 400)); // the query log flushes every 200 ms
      const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l['name'] === 'paypa1.com')).toMatchObject({ verdict: 'none', rcode: 'NOERROR', lookalike: { of: 'paypal.com', test: 'edit-distance' } });
    });

    it('leaves paypal.com and www.paypal.com untouched and uncounted', async () => {
      const before = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`)).text();
      for (const name of ['paypal.com', 'www.paypal.com']) {
        const r = await runDig(fw.port, [name, 'A']);
        expect(r.status, name).toBe('NOERROR');
        expect(r.answers).toHaveLength(1);
      }
      const after = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`)).text();
      const total = (text: string): number =>
        text.split('\n').filter((l) => l.startsWith('fraudwall_lookalikes_total{')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      expect(total(after)).toBe(total(before));
    });
  });

  describe('block mode', () => {
    let fw: TestServer;
    beforeAll(async () => {
      fw = await serve('block');
    });
    afterAll(async () => fw?.close());

    it('answers a lookalike NXDOMAIN with the EDE text naming the protected domain and the test', async () => {
      const r = await runDig(fw.port, ['www.paypa1.com', 'A']);
      expect(r.status).toBe('NXDOMAIN');
      expect(r.ede).toEqual({ code: 15, text: 'lookalike of paypal.com (edit distance 1)' });
      expect(r.authority[0]).toMatchObject({ name: 'paypa1.com.', type: 'SOA' });
      const text = await (await fetch(`http://127.0.0.1:${fw.httpPort}/metrics`)).text();
      expect(metricValue(text, 'fraudwall_blocked_total{list="brands",category="payment",qtype="A",reason="lookalike"}')).toBe(1);
    });

    it('blocks a mixed-script IDN sent as punycode, and a name with the brand as a token', async () => {
      const idn = await runDig(fw.port, [IDN_PAYPAL, 'A']);
      expect(idn.status).toBe('NXDOMAIN');
      expect(idn.ede?.text).toBe('lookalike of paypal.com (homoglyph)');
      const token = await runDig(fw.port, ['paypal-login.net', 'AAAA']);
      expect(token.ede?.text).toBe('lookalike of paypal.com (contains "paypal")');
    });

    it('leaves paypal.com, www.paypal.com and (without --protect-tld-swaps) paypal.com.co alone', async () => {
      for (const name of ['paypal.com', 'www.paypal.com', 'paypal.com.co']) {
        const r = await runDig(fw.port, [name, 'A']);
        expect(r.status, name).toBe('NOERROR');
        expect(r.answers, name).toHaveLength(1);
      }
    });

    it('never blocks a protected name for the lookalike-looking CDN name its answer points to', async () => {
      const r = await runDig(fw.port, ['shop.paypal.com', 'A']);
      expect(r.status).toBe('NOERROR');
      expect(r.answers.map((a) => a.type)).toContain('CNAME');
      // Asked for directly, the CDN name is judged like any name (a limit the README names: allow the CDN's domain).
      expect((await runDig(fw.port, ['shop.paypal.com.edge-cdn.net', 'A'])).ede?.text).toBe('lookalike of paypal.com (contains "paypal")');
    });

    it('an allow push lifts a false positive at once', async () => {
      expect((await runDig(fw.port, ['paypa1.com', 'A'])).status).toBe('NXDOMAIN');
      const pushed = await admin(fw.httpPort, 'PUT', '/v1/lists/fp?kind=allow', { token: TEST_TOKEN, body: 'paypa1.com\n' });
      expect(pushed.status).toBe(201);
      const r = await runDig(fw.port, ['paypa1.com', 'A']);
      expect(r.status).toBe('NOERROR');
      expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.102']);
      expect((await runDig(fw.port, ['www.paypa1.com', 'A'])).status).toBe('NOERROR');
    });

    it('a protect list pushed over the API takes effect at once; a bad one is refused line by line', async () => {
      const bad = await admin(fw.httpPort, 'PUT', '/v1/lists/couriers?kind=protect&category=courier', { token: TEST_TOKEN, body: 'dhl.com\nwww.fedex.com\n' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('protect \\"fedex.com\\"');
      const good = await admin(fw.httpPort, 'PUT', '/v1/lists/couriers?kind=protect&category=courier', { token: TEST_TOKEN, body: 'fedex.com\n' });
      expect(good.status).toBe(201);
      const r = await runDig(fw.port, ['fedexx.com', 'A']);
      expect(r.status).toBe('NXDOMAIN');
      expect(r.ede?.text).toBe('lookalike of fedex.com (edit distance 1)');
      const explained = await admin(fw.httpPort, 'GET', '/v1/explain?name=fedexx.com', { token: TEST_TOKEN });
      expect(explained.body).toMatchObject({ verdict: 'blocked', lookalike: { test: 'edit-distance', protectedDomain: 'fedex.com', list: 'couriers' } });
    });
  });

  it('--protect-tld-swaps flags the protected label under another suffix', async () => {
    const fw = await serve('block', { 'protect-tld-swaps': 'true' });
    try {
      const r = await runDig(fw.port, ['paypal.com.co', 'A']);
      expect(r.status).toBe('NXDOMAIN');
      expect(r.ede?.text).toBe('lookalike of paypal.com (same name under another suffix)');
    } finally {
      await fw.close();
    }
  });
});

describe('fraudwall check, no server', () => {
  it('shows the lookalike verdict with its test and protected domain; exit 3 only when blocking', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-lookalike-check-'));
    const cleanup = [dir];
    try {
      writeFileSync(path.join(dir, 'fraud.txt'), 'evil.test\n');
      writeFileSync(path.join(dir, 'brands.protect.txt'), '# category: payment\npaypal.com\n');
      const observed = await runCli(['check', 'paypa1.com', '--lists', dir]);
      expect(observed.status).toBe(0);
      expect(observed.stdout).toContain('paypa1.com: LOOKALIKE: lookalike of paypal.com (edit distance 1); protect list "brands-protect" (category payment)');
      const blocked = await runCli(['check', 'pаypal.com', '--lists', dir, '--lookalike', 'block', '--json']);
      expect(blocked.status).toBe(3);
      expect(JSON.parse(blocked.stdout)).toMatchObject({ name: 'xn--pypal-4ve.com', verdict: 'blocked', lookalike: { test: 'homoglyph', protectedDomain: 'paypal.com' } });
      const extraFile = `${dir}-banks.txt`; // outside the lists directory, where it would be a block list
      cleanup.push(extraFile);
      writeFileSync(extraFile, 'icbc.com.cn\n');
      const swapped = await runCli(['check', 'icbc.top', '--lists', dir, '--protect', extraFile, '--protect-tld-swaps']);
      expect(swapped.stdout).toContain('lookalike of icbc.com.cn (same name under another suffix)');
      expect((await runCli(['check', 'www.paypal.com', '--lists', dir, '--lookalike', 'block'])).status).toBe(0);
      // The same settings serve would take from its environment (or config file).
      const fromEnv = await runCli(['check', 'icbc.top', '--lists', dir], { env: { FRAUDWALL_PROTECT: extraFile, FRAUDWALL_LOOKALIKE: 'block', FRAUDWALL_PROTECT_TLD_SWAPS: 'true' } });
      expect(fromEnv.status).toBe(3);
      expect(fromEnv.stdout).toContain('icbc.top: BLOCKED as a lookalike of icbc.com.cn (same name under another suffix)');
      // --protect-embedded: a 7+ letter brand inside a longer label, flag or environment.
      writeFileSync(path.join(dir, 'crypto.protect.txt'), '# category: crypto\nbinance.com\n');
      expect((await runCli(['check', 'binancebonus.net', '--lists', dir, '--lookalike', 'block'])).status).toBe(0);
      const embedded = await runCli(['check', 'binancebonus.net', '--lists', dir, '--lookalike', 'block', '--protect-embedded']);
      expect(embedded.status).toBe(3);
      expect(embedded.stdout).toContain('binancebonus.net: BLOCKED as a lookalike of binance.com ("binance" inside a longer word)');
      const embeddedFromEnv = await runCli(['check', 'binancebonus.net', '--lists', dir], { env: { FRAUDWALL_LOOKALIKE: 'block', FRAUDWALL_PROTECT_EMBEDDED: 'true' } });
      expect(embeddedFromEnv.status).toBe(3);
      expect((await runCli(['check', 'x.com', '--lookalike', 'maybe'])).status).toBe(2);
    } finally {
      for (const file of cleanup) rmSync(file, { recursive: true, force: true });
    }
  });
});
