/**
 * promtool's own linters: the live /metrics exposition and the shipped docker/prometheus.yml.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/require-tool.js';
import { DOCKER_DIR } from './dashboard.js';
import { promtool } from './prometheus-server.js';
import { sampleNames, scrape } from '../helpers/metrics-text.js';
import { sendMixedTraffic, startLiveFraudwall, type LiveFraudwall } from './live-fraudwall.js';


const PROMETHEUS_YML = join(DOCKER_DIR, 'prometheus.yml');

describe.skipIf(!requireTool('promtool', 'prometheus'))('promtool', () => {
  let live: LiveFraudwall | undefined;
  let exposition = '';

  beforeAll(async () => {
    live = await startLiveFraudwall();
    // Traffic first, so every labelled family has samples for the linter to look at.
    await sendMixedTraffic(live.fraudwall.port);
    exposition = await scrape(live.fraudwall.httpPort);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('check metrics accepts the whole live /metrics output', async () => {
    const names = sampleNames(exposition);
    for (const name of [
      'fraudwall_queries_total',
      'fraudwall_blocked_total',
      'fraudwall_responses_total',
      'fraudwall_query_duration_seconds_bucket',
      'fraudwall_upstream_duration_seconds_bucket',
      'fraudwall_upstream_errors_total',
      'fraudwall_malformed_queries_total',
      'fraudwall_blocklist_entries',
      'process_resident_memory_bytes',
    ]) {
      expect(names, 'the exposition under test lacks a family').toContain(name);
    }
    const result = await promtool(['check', 'metrics'], { input: exposition });
    const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
    expect({ code: result.code, lines }).toEqual({ code: 0, lines: [] });
  });

  it('check metrics does complain about a bad exposition (the check can fail)', async () => {
    const bad = '# HELP fraudwall_things A counter without _total.\n# TYPE fraudwall_things counter\nfraudwall_things 1\n';
    const result = await promtool(['check', 'metrics'], { input: bad });
    expect(`${result.stdout}${result.stderr}`).toMatch(/_total/);
  });

  it('check config accepts docker/prometheus.yml', async () => {
    const result = await promtool(['check', 'config', PROMETHEUS_YML]);
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('docker/prometheus.yml scrapes fraudwall:8053 every 15 s as job fraudwall, and Prometheus itself', () => {
    interface ScrapeConfig {
      job_name: string;
      scrape_interval?: string;
      metrics_path?: string;
      static_configs?: { targets: string[] }[];
    }
    const config = parse(readFileSync(PROMETHEUS_YML, 'utf8')) as {
      global?: { scrape_interval?: string };
      scrape_configs: ScrapeConfig[];
    };
    const job = (name: string): ScrapeConfig | undefined => config.scrape_configs.find((c) => c.job_name === name);
    const fraudwall = job('fraudwall');
    expect(fraudwall?.static_configs?.flatMap((s) => s.targets)).toEqual(['fraudwall:8053']);
    expect(fraudwall?.scrape_interval ?? config.global?.scrape_interval).toBe('15s');
    expect(fraudwall?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job('prometheus')?.static_configs?.flatMap((s) => s.targets)).toEqual(['localhost:9090']);
  });
});
