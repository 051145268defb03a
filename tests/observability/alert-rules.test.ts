/**
 * The shipped alerting rules (docker/prometheus-alerts.yml): promtool's checker, promtool's own rule
 * unit tests (a firing and a quiet case for every alert, with the rendered annotations), the same
 * rules in the Kubernetes PrometheusRule, and a real Prometheus evaluating them against a live
 * fraudwall that exports every series they name (events and fleet on).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/require-tool.js';
import { scrape } from '../helpers/metrics-text.js';
import { DOCKER_DIR, referencedMetrics } from './dashboard.js';
import { startFeaturedFraudwall, trafficScrapedTwice, type FeaturedFraudwall } from './live-fraudwall.js';
import { promtool, startPrometheus, type PrometheusServer } from './prometheus-server.js';

const RULES_PATH = join(DOCKER_DIR, 'prometheus-alerts.yml');

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: { readonly summary: string; readonly description: string };
}
const groups = (parse(readFileSync(RULES_PATH, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
const rules = groups.flatMap((group) => group.rules);

/** promtool test rules evaluates every case group: more than the default 10 s may be needed on a busy machine. */
const PROMTOOL_TIMEOUT = { timeoutMs: 20_000 };

/**
 * One promtool unit case: `series` (promtool's expanding notation, one sample a minute) evaluated at
 * `at`; `fires` lists the extra labels of each alert expected to fire then (empty: it must not). A
 * firing case gives the rendered summary, and the description when the rule's has a template.
 */
interface AlertCase {
  readonly alert: string;
  readonly series: Record<string, string>;
  readonly at: string;
  readonly fires: readonly Record<string, string>[];
  readonly summary?: string;
  readonly description?: string;
}

const I = 'job="fraudwall",instance="a:8053"';
const ON_A = { job: 'fraudwall', instance: 'a:8053' };
const CASES: readonly AlertCase[] = [
  { alert: 'FraudwallDown', series: { [`up{${I}}`]: '1 1 0 0 0' }, at: '4m', fires: [ON_A], summary: 'fraudwall a:8053 does not answer scrapes',
    description: 'Prometheus has not scraped a:8053 for a minute. Clients pointed at it get no DNS answers; check the service (systemctl status fraudwall, or the pod) and its log.' },
  { alert: 'FraudwallDown', series: { [`up{${I}}`]: '1 1 1 1 0' }, at: '4m', fires: [] },
  { alert: 'FraudwallNoBlocklist', series: { [`fraudwall_blocklist_entries{${I},list="a",category="x"}`]: '0x10' }, at: '6m', fires: [ON_A],
    summary: 'fraudwall a:8053 blocks nothing: no list entries are loaded' },
  { alert: 'FraudwallNoBlocklist', series: { [`fraudwall_blocklist_entries{${I},list="a",category="x"}`]: '0x10', [`fraudwall_blocklist_entries{${I},list="b",category="x"}`]: '5x10' }, at: '6m', fires: [] },
  { alert: 'FraudwallAllUpstreamsDown', series: { [`fraudwall_upstream_up{${I},upstream="u1:53"}`]: '0x5', [`fraudwall_upstream_up{${I},upstream="u2:53"}`]: '0x5' }, at: '2m', fires: [ON_A],
    summary: 'fraudwall a:8053 has no working upstream' },
  { alert: 'FraudwallAllUpstreamsDown', series: { [`fraudwall_upstream_up{${I},upstream="u1:53"}`]: '0x5', [`fraudwall_upstream_up{${I},upstream="u2:53"}`]: '1x5' }, at: '2m', fires: [] },
  { alert: 'FraudwallUpstreamDown', series: { [`fraudwall_upstream_up{${I},upstream="u1:53"}`]: '0x10' }, at: '6m', fires: [{ ...ON_A, upstream: 'u1:53' }],
    summary: 'upstream u1:53 of fraudwall a:8053 is out of use',
    description: 'Its circuit breaker has been open for 5 minutes; the other upstreams carry the load. See fraudwall_upstream_errors_total{upstream="u1:53"} for the reason.' },
  { alert: 'FraudwallUpstreamDown', series: { [`fraudwall_upstream_up{${I},upstream="u1:53"}`]: '0x10' }, at: '3m', fires: [] },
  { alert: 'FraudwallUpstreamLoop', series: { [`fraudwall_upstream_looping{${I},upstream="u1:53"}`]: '1x5' }, at: '2m', fires: [{ ...ON_A, upstream: 'u1:53' }],
    summary: "upstream u1:53 forwards fraudwall's queries back to it" },
  { alert: 'FraudwallUpstreamLoop', series: { [`fraudwall_upstream_looping{${I},upstream="u1:53"}`]: '0x5' }, at: '2m', fires: [] },
  { alert: 'FraudwallServfailRatioHigh',
    series: { [`fraudwall_responses_total{${I},rcode="SERVFAIL",source="error"}`]: '0+10x20', [`fraudwall_responses_total{${I},rcode="NOERROR",source="upstream"}`]: '0+100x20' },
    at: '16m', fires: [ON_A], summary: 'fraudwall a:8053 answers 9.091% of queries with SERVFAIL' },
  { alert: 'FraudwallServfailRatioHigh',
    series: { [`fraudwall_responses_total{${I},rcode="SERVFAIL",source="error"}`]: '0+1x20', [`fraudwall_responses_total{${I},rcode="NOERROR",source="upstream"}`]: '0+100x20' },
    at: '16m', fires: [] },
  { alert: 'FraudwallSheddingQueries', series: { [`fraudwall_shed_queries_total{${I}}`]: '0+5x10' }, at: '8m', fires: [ON_A],
    summary: 'fraudwall a:8053 sheds queries (max-in-flight reached)' },
  { alert: 'FraudwallSheddingQueries', series: { [`fraudwall_shed_queries_total{${I}}`]: '0x10' }, at: '8m', fires: [] },
  { alert: 'FraudwallSlowLocalAnswers', series: latencyBuckets('cache'), at: '16m', fires: [ON_A],
    summary: 'fraudwall a:8053 takes 99ms (p99) for answers it has at hand' },
  // The same slow latency for forwarded answers is the upstreams' business, not this alert's.
  { alert: 'FraudwallSlowLocalAnswers', series: latencyBuckets('upstream'), at: '16m', fires: [] },
  { alert: 'FraudwallWorkersRestarting', series: { [`fraudwall_worker_restarts_total{${I}}`]: '0+1x20' }, at: '20m', fires: [ON_A],
    summary: 'fraudwall a:8053 restarted 15 workers in 15 minutes' },
  { alert: 'FraudwallWorkersRestarting', series: { [`fraudwall_worker_restarts_total{${I}}`]: '0 0 1 1 1 1' }, at: '5m', fires: [] },
  { alert: 'FraudwallListUpdateRejected', series: { [`fraudwall_list_updates_total{${I},source="api",result="rejected"}`]: '0 0 1 1 1' }, at: '4m',
    fires: [{ ...ON_A, source: 'api' }], summary: 'fraudwall a:8053 rejected a list update (api)' },
  { alert: 'FraudwallListUpdateRejected', series: { [`fraudwall_list_updates_total{${I},source="api",result="accepted"}`]: '0 0 1 1 1' }, at: '4m', fires: [] },
  { alert: 'FraudwallUrlListFailing',
    series: { [`fraudwall_url_list_refreshes_total{${I},list="feed",result="failed"}`]: '0+1x70', [`fraudwall_url_list_refreshes_total{${I},list="feed",result="updated"}`]: '5x70' },
    at: '65m', fires: [{ ...ON_A, list: 'feed' }], summary: 'URL list feed on fraudwall a:8053 has not downloaded for an hour' },
  // Failures between successes: the list is still fresh.
  { alert: 'FraudwallUrlListFailing',
    series: { [`fraudwall_url_list_refreshes_total{${I},list="feed",result="failed"}`]: '0+1x70', [`fraudwall_url_list_refreshes_total{${I},list="feed",result="not-modified"}`]: '0+1x70' },
    at: '65m', fires: [] },
  { alert: 'FraudwallEventsReceiverRefusing', series: { [`fraudwall_events_receiver_refusing{${I},reason="unauthorized"}`]: '1x10', [`fraudwall_events_receiver_refusing{${I},reason="gone"}`]: '0x10' },
    at: '6m', fires: [{ ...ON_A, reason: 'unauthorized' }], summary: 'the events receiver refuses fraudwall a:8053 (unauthorized)' },
  { alert: 'FraudwallEventsReceiverRefusing', series: { [`fraudwall_events_receiver_refusing{${I},reason="unauthorized"}`]: '0x10' }, at: '6m', fires: [] },
  { alert: 'FraudwallEventsBacklog', series: { [`fraudwall_events_spool_bytes{${I}}`]: '2048x40' }, at: '31m', fires: [ON_A],
    summary: 'fraudwall a:8053 has had undelivered events for 30 minutes',
    description: 'Early-warning events wait in the disk spool (2kiB): the receiver (--events-url) is unreachable or failing. fraudwall_events_retried_total rises with every attempt; the log says why.' },
  { alert: 'FraudwallEventsBacklog', series: { [`fraudwall_events_spool_bytes{${I}}`]: '2048x20 0x20' }, at: '31m', fires: [] },
  { alert: 'FraudwallEventsLost', series: { [`fraudwall_events_dropped_total{${I},reason="spool-full"}`]: '0 0 3 3' }, at: '3m', fires: [{ ...ON_A, reason: 'spool-full' }],
    summary: 'fraudwall a:8053 lost early-warning events (spool-full)' },
  // The per-client and global rate bounds drop by design.
  { alert: 'FraudwallEventsLost', series: { [`fraudwall_events_dropped_total{${I},reason="client-rate"}`]: '0 0 3 3' }, at: '3m', fires: [] },
  { alert: 'FraudwallRedisDisconnected', series: { [`fraudwall_redis_connected{${I}}`]: '0x5' }, at: '3m', fires: [ON_A],
    summary: "fraudwall a:8053 has lost the fleet's Redis" },
  { alert: 'FraudwallRedisDisconnected', series: { [`fraudwall_redis_connected{${I}}`]: '1 0 1 0 1 0' }, at: '5m', fires: [] },
  { alert: 'FraudwallFleetLagging', series: { [`fraudwall_redis_list_lag_versions{${I},list="shared"}`]: '2x10' }, at: '6m', fires: [{ ...ON_A, list: 'shared' }],
    summary: 'fraudwall a:8053 is 2 versions behind on shared list shared' },
  { alert: 'FraudwallFleetLagging', series: { [`fraudwall_redis_list_lag_versions{${I},list="shared"}`]: '2 2 0 0 0 0 0 0' }, at: '6m', fires: [] },
  { alert: 'FraudwallAdminTokenGuessing', series: { [`fraudwall_admin_auth_failures_total{${I},reason="wrong"}`]: '0+2x15' }, at: '12m', fires: [ON_A],
    summary: '20 admin requests with a wrong token on fraudwall a:8053 in 10 minutes' },
  { alert: 'FraudwallAdminTokenGuessing', series: { [`fraudwall_admin_auth_failures_total{${I},reason="missing"}`]: '0+2x15' }, at: '12m', fires: [] },
];

/** Query-duration buckets whose p99 is 99 ms: 10 % of answers under 10 ms, the rest under 100 ms. */
function latencyBuckets(source: string): Record<string, string> {
  const bucket = (le: string, perMinute: number): [string, string] => [`fraudwall_query_duration_seconds_bucket{${I},source="${source}",le="${le}"}`, `0+${perMinute}x20`];
  return Object.fromEntries([bucket('0.01', 60), bucket('0.1', 600), bucket('+Inf', 600)]);
}

/** promtool's unit-test file for CASES: one test group per case, so each case has its own series. */
function promtoolTests(): string {
  const byName = new Map(rules.map((rule) => [rule.alert, rule]));
  const tests = CASES.map((c) => {
    const rule = byName.get(c.alert);
    if (rule === undefined) throw new Error(`case for unknown alert ${c.alert}`);
    const description = c.description ?? rule.annotations.description;
    if (c.fires.length > 0 && c.description === undefined && description.includes('{{')) {
      throw new Error(`case for ${c.alert}: its description is a template, give the rendered text`);
    }
    return {
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.fires.map((labels) => ({
            exp_labels: { ...labels, ...rule.labels },
            exp_annotations: { summary: c.summary, description },
          })),
        },
      ],
    };
  });
  return stringify({ rule_files: [RULES_PATH], evaluation_interval: '1m', tests });
}

describe('alerting rules (docker/prometheus-alerts.yml)', () => {
  it('every alert has a severity, a summary and a description that says what to do', () => {
    expect(rules.length).toBeGreaterThanOrEqual(15);
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10);
      expect(rule.annotations.description.length, rule.alert).toBeGreaterThan(40);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('has a firing and a quiet unit case for every alert', () => {
    for (const rule of rules) {
      const cases = CASES.filter((c) => c.alert === rule.alert);
      expect(cases.some((c) => c.fires.length > 0), `${rule.alert} has no firing case`).toBe(true);
      expect(cases.some((c) => c.fires.length === 0), `${rule.alert} has no quiet case`).toBe(true);
    }
  });

  it('is the same rule set as the Kubernetes PrometheusRule, but for the scrape job the ServiceMonitor gives', () => {
    const text = readFileSync(join(DOCKER_DIR, 'k8s', 'prometheusrule.yaml'), 'utf8');
    expect(text).toContain('up{job="fraudwall-http"}');
    const [manifest] = parseAllDocuments(text.replace('up{job="fraudwall-http"}', 'up{job="fraudwall"}')).map((doc) => doc.toJS() as { kind: string; spec: unknown });
    expect(manifest!.kind).toBe('PrometheusRule');
    expect(manifest!.spec).toEqual({ groups });
  });
});

describe.skipIf(!requireTool('promtool', 'prometheus'))('alerting rules under promtool', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fraudwall-alerts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('promtool check rules accepts the file, and rejects a broken copy', async () => {
    const good = await promtool(['check', 'rules', RULES_PATH], PROMTOOL_TIMEOUT);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toContain(`${rules.length} rules found`);
    const broken = join(dir, 'broken.yml');
    writeFileSync(broken, readFileSync(RULES_PATH, 'utf8').replace('== 0\n', '== \n'));
    expect((await promtool(['check', 'rules', broken], PROMTOOL_TIMEOUT)).code).not.toBe(0);
  });

  it('every alert fires on its firing case with the rendered annotations, and stays quiet on its quiet case (promtool test rules)', async () => {
    const file = join(dir, 'alerts.test.yml');
    writeFileSync(file, promtoolTests());
    const result = await promtool(['test', 'rules', file], PROMTOOL_TIMEOUT);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('promtool test rules can fail: a case expecting a quiet alert to fire is reported', async () => {
    const file = join(dir, 'wrong.test.yml');
    const wrong = stringify({
      rule_files: [RULES_PATH],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: [{ series: `up{${I}}`, values: '1x5' }], alert_rule_test: [{ eval_time: '4m', alertname: 'FraudwallDown', exp_alerts: [{ exp_labels: { ...ON_A, severity: 'critical' } }] }] }],
    });
    writeFileSync(file, wrong);
    const result = await promtool(['test', 'rules', file], PROMTOOL_TIMEOUT);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('FraudwallDown');
  });
});

const hasTools = requireTool('prometheus', 'prometheus') && requireTool('redis-server', 'redis-server');

describe.skipIf(!hasTools)('alerting rules in a real Prometheus scraping a live fraudwall (every feature on)', () => {
  let live: FeaturedFraudwall | undefined;
  let prometheus: PrometheusServer | undefined;
  let exposition = '';

  beforeAll(async () => {
    live = await startFeaturedFraudwall();
    const target = `127.0.0.1:${live.fraudwall.httpPort}`;
    prometheus = await startPrometheus({ targets: [target], jobName: 'fraudwall', scrapeInterval: '1s', ruleFiles: [RULES_PATH] });
    await prometheus.waitForTargetsUp();
    await trafficScrapedTwice(live, (since) => prometheus!.waitForScrapeAfter(since));
    // A wrong token, so the auth-failure family has a series.
    await fetch(`http://${target}/v1/lists/x`, { method: 'DELETE', headers: { authorization: 'Bearer wrong' } }).then((r) => r.text());
    exposition = await scrape(live.fraudwall.httpPort);
  }, 40_000);

  afterAll(async () => {
    await prometheus?.stop();
    await live?.close();
  });

  it('names only metric families that fraudwall exports', () => {
    const declared = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const families = (name: string): string[] => [name, name.replace(/_(bucket|sum|count)$/, '')];
    const missing = rules.flatMap((rule) => referencedMetrics(rule.expr).filter((name) => name !== 'up' && !families(name).some((f) => declared.has(f))).map((name) => `${rule.alert}: ${name}`));
    expect(missing.join('\n')).toBe('');
  });

  it('Prometheus loads every group and evaluates every rule without error; on the live traffic only the SERVFAIL ratio alert is pending', async () => {
    // The mixed traffic answers 1 query in 8 with SERVFAIL (its upstream failure): 12.5 % > 5 %, so
    // FraudwallServfailRatioHigh goes pending (it would fire after 10 minutes). Nothing else may:
    // the one wrong token is below the guessing threshold, the upstream answers, lists are loaded,
    // Redis is connected.
    let loaded: Awaited<ReturnType<PrometheusServer['rules']>> = [];
    const until = Date.now() + 20_000;
    const servfailState = (): string | undefined => loaded.flatMap((g) => g.rules).find((r) => r.name === 'FraudwallServfailRatioHigh')?.state;
    for (;;) {
      loaded = await prometheus!.rules();
      if (servfailState() === 'pending' || Date.now() > until) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(loaded.map((g) => g.name).sort()).toEqual(groups.map((g) => g.name).sort());
    const all = loaded.flatMap((g) => g.rules);
    expect(all).toHaveLength(rules.length);
    expect(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    expect(all.filter((r) => r.state !== 'inactive').map((r) => `${r.name}: ${r.state}`)).toEqual(['FraudwallServfailRatioHigh: pending']);
    expect(await prometheus!.queryScalar('max(fraudwall_redis_connected)', -1)).toBe(1);
    expect(await prometheus!.queryScalar('min(fraudwall_upstream_up)', -1)).toBe(1);
  });
});
