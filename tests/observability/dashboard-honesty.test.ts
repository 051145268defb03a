/**
 * The Grafana dashboard must only show what fraudwall really exports: every metric a panel names is on
 * a live /metrics, every expression parses in a real Prometheus, and, with that Prometheus scraping
 * the live fraudwall, every expression returns data. The required topics each have a panel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/require-tool.js';
import {
  allPanels,
  groupingLabels,
  loadDashboard,
  panelExprs,
  referencedMetrics,
  substituteVariables,
  variableQuery,
  type Dashboard,
  type PanelExpr,
} from './dashboard.js';
import { sampleNames, scrape } from '../helpers/metrics-text.js';
import { startFeaturedFraudwall, trafficScrapedTwice, type FeaturedFraudwall } from './live-fraudwall.js';
import { startPrometheus, type PrometheusServer } from './prometheus-server.js';
import { TEST_TOKEN } from '../e2e/harness.js';

const dashboard: Dashboard = loadDashboard();
const exprs: PanelExpr[] = panelExprs(dashboard);

describe('dashboard expressions (static)', () => {
  it('has panels with expressions at all', () => {
    expect(exprs.length).toBeGreaterThan(10);
    for (const { panel, expr } of exprs) expect(expr.trim(), `panel "${panel.title}" has an empty expr`).not.toBe('');
  });

  it('uses $__rate_interval for every range selector', () => {
    const bad = exprs.flatMap(({ panel, expr }) =>
      [...expr.matchAll(/\[([^\]]*)\]/g)].filter((m) => m[1] !== '$__rate_interval').map((m) => `${panel.title}: [${m[1]}] in ${expr}`),
    );
    expect(bad.join('\n')).toBe('');
    expect(exprs.some(({ expr }) => expr.includes('[$__rate_interval]'))).toBe(true);
  });

  /** Each required topic, as a predicate over one panel's targets. */
  const topics: { topic: string; matches: (targets: { expr: string; legend: string }[]) => boolean }[] = [
    {
      topic: 'query rate by transport',
      matches: (ts) => ts.some((t) => /rate\(fraudwall_queries_total\b/.test(t.expr) && groupingLabels(t.expr, t.legend).has('transport')),
    },
    {
      topic: 'blocked rate by list and category',
      matches: (ts) =>
        ts.some((t) => {
          const labels = groupingLabels(t.expr, t.legend);
          return /rate\(fraudwall_blocked_total\b/.test(t.expr) && labels.has('list') && labels.has('category');
        }),
    },
    {
      topic: 'block ratio',
      matches: (ts) => ts.some((t) => /fraudwall_blocked_total[\s\S]*\/[\s\S]*fraudwall_queries_total/.test(t.expr)),
    },
    {
      topic: 'responses by rcode and source',
      matches: (ts) =>
        ts.some((t) => {
          const labels = groupingLabels(t.expr, t.legend);
          return t.expr.includes('fraudwall_responses_total') && labels.has('rcode') && labels.has('source');
        }),
    },
    {
      topic: 'query latency p50 and p99',
      matches: (ts) =>
        ts.some((t) => /histogram_quantile\(\s*0?\.5\s*,[\s\S]*fraudwall_query_duration_seconds_bucket/.test(t.expr)) &&
        ts.some((t) => /histogram_quantile\(\s*0?\.99\s*,[\s\S]*fraudwall_query_duration_seconds_bucket/.test(t.expr)),
    },
    {
      topic: 'upstream latency p50 and p99',
      matches: (ts) =>
        ts.some((t) => /histogram_quantile\(\s*0?\.5\s*,[\s\S]*fraudwall_upstream_duration_seconds_bucket/.test(t.expr)) &&
        ts.some((t) => /histogram_quantile\(\s*0?\.99\s*,[\s\S]*fraudwall_upstream_duration_seconds_bucket/.test(t.expr)),
    },
    {
      topic: 'upstream errors by reason',
      matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_upstream_errors_total') && groupingLabels(t.expr, t.legend).has('reason')),
    },
    {
      topic: 'verdict-cache hit ratio',
      matches: (ts) =>
        ts.some((t) => /fraudwall_verdict_cache_hits_total[\s\S]*\/[\s\S]*fraudwall_verdict_cache_misses_total/.test(t.expr)),
    },
    {
      topic: 'blocklist sizes per list',
      matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_blocklist_entries') && groupingLabels(t.expr, t.legend).has('list')),
    },
    {
      topic: 'age of the last blocklist update',
      matches: (ts) => ts.some((t) => /time\(\)\s*-\s*fraudwall_blocklist_last_update_timestamp_seconds\b/.test(t.expr)),
    },
    {
      topic: 'malformed queries by reason',
      matches: (ts) =>
        ts.some((t) => t.expr.includes('fraudwall_malformed_queries_total') && groupingLabels(t.expr, t.legend).has('reason')),
    },
    {
      topic: 'process memory (RSS and heap)',
      matches: (ts) =>
        ts.some((t) => t.expr.includes('process_resident_memory_bytes')) && ts.some((t) => t.expr.includes('nodejs_heap_size_used_bytes')),
    },
    { topic: 'process CPU', matches: (ts) => ts.some((t) => /rate\(process_cpu_seconds_total\b/.test(t.expr)) },
    { topic: 'event-loop lag', matches: (ts) => ts.some((t) => /nodejs_eventloop_lag_\w+/.test(t.expr)) },
    {
      topic: 'fleet: one row per instance with Redis connection and lag',
      matches: (ts) =>
        ts.some((t) => t.expr.includes('fraudwall_redis_connected') && groupingLabels(t.expr, t.legend).has('instance')) &&
        ts.some((t) => t.expr.includes('fraudwall_redis_list_lag_versions') && groupingLabels(t.expr, t.legend).has('instance')),
    },
    {
      topic: 'blocks by how they matched (name, cname, ip, lookalike)',
      matches: (ts) => ts.some((t) => /rate\(fraudwall_blocked_total\b/.test(t.expr) && groupingLabels(t.expr, t.legend).has('reason')),
    },
    {
      topic: 'lookalikes by category and test',
      matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_lookalikes_total') && groupingLabels(t.expr, t.legend).has('test')),
    },
    {
      topic: 'early-warning events emitted and delivered',
      matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_events_emitted_total')) && ts.some((t) => t.expr.includes('fraudwall_events_delivered_total')),
    },
    {
      topic: 'early-warning events lost by reason, and the receiver refusing',
      matches: (ts) =>
        ts.some((t) => t.expr.includes('fraudwall_events_dropped_total') && groupingLabels(t.expr, t.legend).has('reason')) &&
        ts.some((t) => t.expr.includes('fraudwall_events_receiver_refusing')),
    },
    { topic: 'warning page visits', matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_warning_page_requests_total')) },
    {
      topic: 'fleet: shared list version per instance',
      matches: (ts) => ts.some((t) => t.expr.includes('fraudwall_redis_list_version') && groupingLabels(t.expr, t.legend).has('list')),
    },
  ];

  it.each(topics)('has a panel for $topic', ({ topic, matches }) => {
    const panels = allPanels(dashboard).filter((panel) =>
      matches((panel.targets ?? []).map((t) => ({ expr: t.expr ?? '', legend: t.legendFormat ?? '' }))),
    );
    expect(panels.map((p) => p.title), `no panel shows ${topic}`).not.toEqual([]);
  });
});

const hasTools = requireTool('prometheus', 'prometheus') && requireTool('redis-server', 'redis-server');

describe.skipIf(!hasTools)('dashboard against a live fraudwall (with a real Redis for the fleet panels) and a real Prometheus', () => {
  let live: FeaturedFraudwall | undefined;
  let prometheus: PrometheusServer | undefined;
  let exported = new Set<string>();
  let variables: Record<string, string> = {};

  beforeAll(async () => {
    live = await startFeaturedFraudwall();
    // A shared list, so the per-list fleet series exist.
    const pushed = await fetch(`http://127.0.0.1:${live.fraudwall.httpPort}/v1/lists/shared`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'text/plain' },
      body: 'shared.evil.test\n',
    });
    if (pushed.status !== 201) throw new Error(`pushing the shared list answered ${pushed.status}`);
    const target = `127.0.0.1:${live.fraudwall.httpPort}`;
    prometheus = await startPrometheus({ targets: [target], jobName: 'fraudwall', scrapeInterval: '1s' });
    await prometheus.waitForTargetsUp();
    await trafficScrapedTwice(live, (since) => prometheus!.waitForScrapeAfter(since));
    exported = sampleNames(await scrape(live.fraudwall.httpPort));
    variables = { __rate_interval: '1m', __interval: '1m', job: 'fraudwall', instance: target };
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    await live?.close();
  });

  it('names only metrics that the live fraudwall exports', () => {
    const missing = exprs.flatMap(({ panel, expr }) =>
      referencedMetrics(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel.title}: ${name}`),
    );
    expect(missing.join('\n')).toBe('');
    // The check is not vacuous: the dashboard names a good part of what is exported.
    const used = new Set(exprs.flatMap(({ expr }) => referencedMetrics(expr)));
    expect(used.size).toBeGreaterThan(15);
  });

  it('has expressions that parse in Prometheus and return data for the scraped fraudwall', async () => {
    const problems: string[] = [];
    for (const { panel, target, expr } of exprs) {
      const query = substituteVariables(expr, variables);
      const { status, body } = await prometheus!.rawQuery(query);
      if (status !== 200 || body.status !== 'success') {
        problems.push(`${panel.title} [${target.refId}]: HTTP ${status} ${body.errorType}: ${body.error}\n    ${query}`);
      } else if (Array.isArray(body.data?.result) && body.data.result.length === 0) {
        problems.push(`${panel.title} [${target.refId}]: no data\n    ${query}`);
      }
    }
    expect(problems.join('\n')).toBe('');
  });

  it('rejects a broken expression (the parse check can fail)', async () => {
    const { status, body } = await prometheus!.rawQuery('sum(rate(fraudwall_queries_total[1m])');
    expect(status).toBe(400);
    expect(body.errorType).toBe('bad_data');
  });

  it('has template variables whose queries find the scraped job and instance', async () => {
    const list = dashboard.templating?.list ?? [];
    const expected: Record<string, string> = { job: variables['job']!, instance: variables['instance']! };
    for (const variable of list.filter((v) => v.type === 'query')) {
      const match = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/.exec(variableQuery(variable));
      expect(match, `variable ${variable.name}: ${variableQuery(variable)}`).not.toBeNull();
      const selector = substituteVariables(match![1]!, { job: '.*', instance: '.*' });
      for (const name of referencedMetrics(selector)) expect(exported, `variable ${variable.name}`).toContain(name);
      const values = (await prometheus!.queryVector(selector)).map((sample) => sample.metric[match![2]!]);
      if (expected[variable.name] !== undefined) expect(values).toContain(expected[variable.name]);
    }
    expect(list.map((v) => v.name)).toEqual(expect.arrayContaining(['job', 'instance']));
  });
});
