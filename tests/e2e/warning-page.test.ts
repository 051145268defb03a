/**
 * Issue #12 part A, end to end: a blocked name resolves to the sinkhole address (dig over UDP and
 * TCP), the warning page for that name is opened by a real browser (Debian's chromium, driven by
 * playwright-core) that reaches the address the DNS answer gave, and the DOM shows the name, the
 * category in plain words and the hotline, in English and Chinese by the browser's language. A
 * hostile Host is rendered by the browser as the generic page, nothing of it executed or shown; the
 * page loads nothing but itself. dig shows the hotline in the EDE text, and a query with the SDE
 * option gets the draft's JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { startTestServer, type TestServer } from './harness.js';
import { runDig } from '../helpers/dig.js';
import { buildQuery, decode, ednsOption, tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { parseSamples, scrape } from '../helpers/metrics-text.js';
import { getWithHost, rawExchange } from '../warning-page/raw-http.js';
import { admin } from './admin-helpers.js';
import { requireBuiltCli } from '../helpers/built-cli.js';
import { freePort } from '../helpers/ports.js';
import { LOOPBACK_SERVE_ARGS, spawnServe, type ServedProcess } from '../helpers/served-process.js';
import { useTempDir } from '../helpers/temp-dir.js';

const CHROMIUM = findTool('chromium') ?? '/usr/bin/chromium';
const haveTools = requireTool('dig', 'bind9-dnsutils') && requireTool('chromium', 'chromium');

/** A loopback address of its own stands in for the sinkhole address an operator would dedicate. */
const SINKHOLE = '127.0.0.77';
const SDE_CODE = 65001;
const LISTS = {
  'fraud.txt': '# category: phishing\nevil.fraud.test\n',
  'loans.txt': '# category: fake-loan\nquick-loan.test\n',
};

describe.skipIf(!haveTools)('sinkhole + warning page in a real browser', () => {
  let fw: TestServer;
  let pagePort: number;
  let browser: Browser;

  beforeAll(async () => {
    fw = await startTestServer(
      {
        'block-mode': 'sinkhole',
        'sinkhole-ipv4': SINKHOLE,
        'warning-page': `${SINKHOLE}:0`,
        hotline: 'tel:96110',
        operator: 'Example Anti-Fraud Centre',
        'sde-option-code': String(SDE_CODE),
        'block-ttl': '30',
        upstream: ['127.0.0.1:9'],
      },
      LISTS,
    );
    pagePort = fw.server.warningPage!.port;
    const names = ['evil.fraud.test', 'quick-loan.test', 'hostile.test'];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Root in a container needs --no-sandbox; the resolver rules send these names to the
      // sinkhole address (the one the DNS answer below carries) and nothing else anywhere.
      args: ['--no-sandbox', `--host-resolver-rules=${names.map((n) => `MAP ${n} ${SINKHOLE}`).join(', ')}, MAP * ~NOTFOUND`],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fw?.close();
  });

  it('answers a blocked A with the sinkhole address over UDP and TCP, with the hotline in the EDE text', async () => {
    for (const transport of ['+notcp', '+tcp']) {
      const dig = await runDig(fw.port, [transport, 'evil.fraud.test', 'A']);
      expect(dig.status).toBe('NOERROR');
      expect(dig.protocol).toBe(transport === '+tcp' ? 'TCP' : 'UDP');
      expect(dig.answers).toEqual([{ name: 'evil.fraud.test.', ttl: 30, class: 'IN', type: 'A', data: SINKHOLE }]);
      expect(dig.ede).toEqual({ code: 15, text: 'blocked by fraudwall list fraud (phishing); anti-fraud hotline 96110' });
    }
  });

  it('answers AAAA (no IPv6 sinkhole) and other types NODATA with the SOA', async () => {
    for (const type of ['AAAA', 'HTTPS', 'MX']) {
      const dig = await runDig(fw.port, ['evil.fraud.test', type]);
      expect(dig.status, type).toBe('NOERROR');
      expect(dig.answers).toEqual([]);
      expect(dig.authority[0]?.type).toBe('SOA');
    }
  });

  it('a query carrying the SDE option gets the draft JSON in the EDE text (dig +ednsopt, and a hand-built query over UDP and TCP)', async () => {
    const dig = await runDig(fw.port, [`+ednsopt=${SDE_CODE}`, 'quick-loan.test', 'A']);
    expect(JSON.parse(dig.ede!.text)).toEqual({
      c: ['tel:96110'],
      j: 'blocked by fraudwall list loans (fake-loan, name)',
      s: 6,
      o: 'Example Anti-Fraud Centre',
      l: 'en',
    });
    const query = buildQuery('evil.fraud.test', 'A', { edns: { options: ednsOption(SDE_CODE) } });
    const answers = [await udpQuery(fw.port, query), ...(await tcpQuery(fw.port, [query]))];
    for (const answer of answers) {
      const message = decode(answer);
      expect(message.opt?.ede?.infoCode).toBe(15);
      const json = JSON.parse(message.opt!.ede!.text) as Record<string, unknown>;
      expect(json).toMatchObject({ c: ['tel:96110'], s: 2, l: 'en' });
    }
  });

  /** Opens `url`, recording every request the page makes (and any the browser makes for it). */
  async function open(page: Page, url: string): Promise<Request[]> {
    const requests: Request[] = [];
    page.context().on('request', (request) => requests.push(request));
    const response = await page.goto(url);
    expect(response?.status()).toBe(403);
    await page.waitForLoadState('load');
    return requests;
  }

  async function namedPageRequests(): Promise<number> {
    return parseSamples(await scrape(fw.httpPort))
      .filter((s) => s.name === 'fraudwall_warning_page_requests_total')
      .reduce((sum, s) => sum + s.value, 0);
  }

  it('the browser, sent to the address the DNS answer gave, shows the name, the category in plain words and the hotline (English)', async () => {
    const address = (await runDig(fw.port, ['+short', 'evil.fraud.test', 'A'])).shortLines[0];
    expect(address).toBe(SINKHOLE);
    const before = await namedPageRequests();
    // bypassCSP: the page's own CSP would stop a stray fetch before it is made; without it, any
    // resource the page referred to would be requested and show up below.
    const context = await browser.newContext({ locale: 'en-US', bypassCSP: true });
    const page = await context.newPage();
    const url = `http://evil.fraud.test:${pagePort}/login?next=/account`;
    const requests = await open(page, url);

    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('.name').first().textContent()).toBe('evil.fraud.test');
    expect(await page.locator('.list').textContent()).toBe('fraud');
    expect(await page.locator('.category').textContent()).toContain('phishing: a fake copy of a bank');
    const hotline = page.locator('.hotline-number');
    expect(await hotline.textContent()).toBe('96110');
    expect(await hotline.getAttribute('href')).toBe('tel:96110');
    expect(await page.locator('h1').textContent()).toContain('blocked to protect you');
    expect(await page.locator('body').textContent()).toContain('Example Anti-Fraud Centre');

    // Nothing but the page itself: no favicon, style sheet, font, script or beacon.
    expect(requests.map((r) => r.url())).toEqual([url]);
    await context.close();
    // The server saw that one request and no other (a favicon fetch would count here too).
    expect((await namedPageRequests()) - before).toBe(1);
  }, 60_000);

  it('shows the page in Chinese to a zh-CN browser, without JavaScript', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', javaScriptEnabled: false });
    const page = await context.newPage();
    const url = `http://quick-loan.test:${pagePort}/`;
    const requests = await open(page, url);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('.name').first().textContent()).toBe('quick-loan.test');
    expect(await page.locator('.category').textContent()).toContain('虚假贷款');
    expect(await page.locator('.hotline').textContent()).toBe('反诈骗热线：96110');
    expect(await page.locator('h2').first().textContent()).toBe('现在该怎么做');
    expect(requests.map((r) => r.url())).toEqual([url]);
    await context.close();
  }, 60_000);

  it('a hostile Host is rendered as the generic page: nothing of it runs or shows (asserted on the DOM)', async () => {
    const hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">.evil.fraud.test';
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    // Browsers never send such a Host themselves: the route fetches the server's real answer to
    // one, bytes and headers (CSP included), and hands it to the browser to render.
    await page.route(`http://hostile.test:${pagePort}/**`, async (route) => {
      const res = await rawExchange(pagePort, [getWithHost(hostile)], { host: SINKHOLE });
      const { 'content-length': _length, ...headers } = res.headers;
      await route.fulfill({ status: res.status, headers, body: res.body });
    });
    const requests = await open(page, `http://hostile.test:${pagePort}/`);
    expect(await page.evaluate('typeof globalThis.pwned')).toBe('undefined');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('.name').count()).toBe(0);
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).not.toContain('pwned');
    expect(text).toContain('Your network blocked the site you tried to open');
    expect(requests).toHaveLength(1);
    await context.close();
  }, 60_000);
});

describe.skipIf(!requireTool('dig', 'bind9-dnsutils'))('sinkhole + warning page with --workers 2 (the built CLI)', () => {
  const TOKEN = 'warning-page-token-0123456789';
  let served: ServedProcess | undefined;
  const dir = useTempDir('warning');
  // Registered after useTempDir's hook, so it runs first: the process is gone before its directory.
  afterEach(async () => {
    await served?.kill();
  });

  it('workers answer with the sinkhole address, the primary serves the page, and both follow a list pushed at run time', async () => {
    requireBuiltCli();
    mkdirSync(path.join(dir.path, 'lists'));
    writeFileSync(path.join(dir.path, 'lists', 'fraud.txt'), '# category: phishing\nevil.fraud.test\n');
    const pagePort = await freePort(SINKHOLE);
    served = await spawnServe(
      [
        ...LOOPBACK_SERVE_ARGS,
        '--workers', '2',
        '--lists', path.join(dir.path, 'lists'),
        '--state', path.join(dir.path, 'state'),
        '--upstream', '127.0.0.1:9',
        '--block-mode', 'sinkhole',
        '--sinkhole-ipv4', SINKHOLE,
        '--warning-page', `${SINKHOLE}:${pagePort}`,
        '--hotline', 'tel:96110',
      ],
      { env: { FRAUDWALL_ADMIN_TOKEN: TOKEN }, readyTimeoutMs: 30_000 },
    );
    const ready = served.logEntries().find((entry) => entry['msg'] === 'fraudwall ready');
    expect(ready?.['warningPage']).toBe(`${SINKHOLE}:${pagePort}`);

    const page = async (host: string): Promise<string> => (await rawExchange(pagePort, [getWithHost(host)], { host: SINKHOLE })).body;
    expect((await runDig(served.dnsPort, ['+short', 'new-scam.test', 'A'])).shortLines).toEqual([]);
    expect(await page('new-scam.test')).not.toContain('class="name"');

    const push = await admin(served.httpPort, 'PUT', '/v1/lists/jobs', { token: TOKEN, body: { category: 'fake-job', entries: ['new-scam.test'] } });
    expect(push.status).toBe(201);
    // The API answers once every worker has the new policy.
    for (let i = 0; i < 4; i++) expect((await runDig(served.dnsPort, ['+short', 'new-scam.test', 'A'])).shortLines).toEqual([SINKHOLE]);
    const named = await page('new-scam.test');
    expect(named).toContain('<strong class="name">new-scam.test</strong>');
    expect(named).toContain('a fake job or task scam');
  }, 60_000);
});
