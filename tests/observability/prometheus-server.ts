/**
 * A real Prometheus (the Debian `prometheus` package) as a child process, scraping loopback targets
 * into a throw-away TSDB, with small wrappers around its HTTP API. Every wait is bounded.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../helpers/built-cli.js';
import { startDaemon } from '../helpers/daemon.js';
import { assertLoopback } from '../helpers/loopback.js';
import { findTool } from '../helpers/require-tool.js';
import { runProgram, type ProgramResult } from '../helpers/run-program.js';

/** Runs Debian's `promtool` (the prometheus package) with `args`, `input` on its stdin. */
export function promtool(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ProgramResult> {
  const bin = findTool('promtool');
  if (bin === null) throw new Error("'promtool' is not installed (apt-get install prometheus)");
  return runProgram(bin, [...args], { input: options.input ?? '', timeoutMs: options.timeoutMs ?? 10_000 });
}

export interface StartPrometheusOpts {
  /** host:port of each target; loopback only. */
  readonly targets: readonly string[];
  /** Default `fraudwall`. */
  readonly jobName?: string;
  /** Default `1s`. */
  readonly scrapeInterval?: string;
  /** Rule files to load (absolute paths), evaluated every scrape interval. */
  readonly ruleFiles?: readonly string[];
}

/** One rule as /api/v1/rules reports it. */
export interface PromRule {
  readonly name: string;
  readonly type: 'alerting' | 'recording';
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string;
  readonly lastEvaluation: string;
  readonly state?: 'inactive' | 'pending' | 'firing';
}

export interface PromRuleGroup {
  readonly name: string;
  readonly rules: readonly PromRule[];
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** What /api/v1/query answers (error fields only on failure). */
export interface PromQueryBody {
  readonly status: 'success' | 'error';
  readonly data?: { readonly resultType: string; readonly result: unknown };
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: readonly string[];
}

export interface PromTarget {
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
  readonly lastScrape: string;
  readonly scrapeUrl: string;
  readonly labels: Record<string, string>;
}

export interface PrometheusServer {
  readonly port: number;
  readonly url: string;
  readonly jobName: string;
  readonly configPath: string;
  /** stdout and stderr collected so far (Prometheus logs to stderr). */
  output(): string;
  /** GET /api/v1/query; never throws on an HTTP error status, returns it with the body. */
  rawQuery(expr: string): Promise<{ status: number; body: PromQueryBody }>;
  /** An instant vector query that must succeed; returns its samples. */
  queryVector(expr: string): Promise<PromSample[]>;
  /** The single value of a query that returns at most one sample; `absent` when it returns none. */
  queryScalar(expr: string, absent?: number): Promise<number>;
  targets(): Promise<PromTarget[]>;
  /** GET /api/v1/rules: the loaded rule groups with each rule's health and state. */
  rules(): Promise<PromRuleGroup[]>;
  /** Waits until every target of the job is up (at least one successful scrape). */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /**
   * Waits until every target has a scrape that started after `sinceMs` (epoch ms) stored in the TSDB:
   * counters bumped before `sinceMs` are then visible through queries.
   */
  waitForScrapeAfter(sinceMs: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function prometheusConfig(opts: StartPrometheusOpts): string {
  const interval = opts.scrapeInterval ?? '1s';
  for (const target of opts.targets) assertLoopback(target.slice(0, target.lastIndexOf(':')).replace(/^\[|\]$/g, ''));
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(opts.ruleFiles === undefined ? [] : ['rule_files:', ...opts.ruleFiles.map((file) => `  - '${file}'`)]),
    'scrape_configs:',
    `  - job_name: ${opts.jobName ?? 'fraudwall'}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(opts: StartPrometheusOpts): Promise<PrometheusServer> {
  const bin = findTool('prometheus');
  if (bin === null) throw new Error("startPrometheus: 'prometheus' is not installed (apt-get install prometheus)");
  const daemon = await startDaemon({
    name: 'prometheus',
    bin,
    configure: async (dir, port) => {
      await writeFile(join(dir, 'prometheus.yml'), prometheusConfig(opts));
      return [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
    },
    // Ready when /-/ready says so (TSDB opened, config loaded).
    ready: async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(5000) });
      await response.text();
      return response.status === 200;
    },
    readyTimeoutMs: 15_000,
    pollMs: 100,
    portTaken: /address already in use/i,
  });
  const { port, output, stop } = daemon;
  const url = `http://127.0.0.1:${port}`;
  const jobName = opts.jobName ?? 'fraudwall';
  const configPath = join(daemon.dir, 'prometheus.yml');

  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, text: await response.text() };
  };

  const rawQuery = async (expr: string): Promise<{ status: number; body: PromQueryBody }> => {
    const { status, text } = await get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    let body: PromQueryBody;
    try {
      body = JSON.parse(text) as PromQueryBody;
    } catch {
      body = { status: 'error', errorType: 'not-json', error: text };
    }
    return { status, body };
  };

  const queryVector = async (expr: string): Promise<PromSample[]> => {
    const { status, body } = await rawQuery(expr);
    if (status !== 200 || body.status !== 'success' || body.data === undefined) {
      throw new Error(`query ${expr} failed: HTTP ${status} ${body.errorType ?? ''}: ${body.error ?? ''}`);
    }
    if (body.data.resultType !== 'vector') throw new Error(`query ${expr} returned a ${body.data.resultType}, not a vector`);
    return body.data.result as PromSample[];
  };

  const queryScalar = async (expr: string, absent = 0): Promise<number> => {
    const samples = await queryVector(expr);
    if (samples.length === 0) return absent;
    if (samples.length > 1) throw new Error(`query ${expr} returned ${samples.length} samples, expected at most one`);
    return Number(samples[0]!.value[1]);
  };

  const targets = async (): Promise<PromTarget[]> => {
    const { status, text } = await get('/api/v1/targets?state=active');
    if (status !== 200) throw new Error(`GET /api/v1/targets: HTTP ${status}: ${text}`);
    const body = JSON.parse(text) as { data: { activeTargets: PromTarget[] } };
    return body.data.activeTargets.filter((target) => target.labels['job'] === jobName);
  };

  const rules = async (): Promise<PromRuleGroup[]> => {
    const { status, text } = await get('/api/v1/rules');
    if (status !== 200) throw new Error(`GET /api/v1/rules: HTTP ${status}: ${text}`);
    return (JSON.parse(text) as { data: { groups: PromRuleGroup[] } }).data.groups;
  };

  const waitFor = async (what: string, timeoutMs: number, check: () => Promise<string | true>): Promise<void> => {
    const until = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const exited = daemon.exited();
      if (exited !== null) throw new Error(`prometheus exited (${exited}) while waiting for ${what}:\n${output()}`);
      const result = await check();
      if (result === true) return;
      last = result;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last}\n${output()}`);
      await sleep(100);
    }
  };

  return {
    port,
    url,
    jobName,
    configPath,
    output,
    rawQuery,
    queryVector,
    queryScalar,
    targets,
    rules,
    waitForTargetsUp: (timeoutMs = 10_000) =>
      waitFor('targets up', timeoutMs, async () => {
        const list = await targets();
        if (list.length !== opts.targets.length) return `${list.length} of ${opts.targets.length} targets known`;
        const down = list.filter((target) => target.health !== 'up');
        return down.length === 0 ? true : down.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('; ');
      }),
    waitForScrapeAfter: (sinceMs: number, timeoutMs = 10_000) =>
      waitFor(`a scrape after ${new Date(sinceMs).toISOString()}`, timeoutMs, async () => {
        // `up` is written with the scrape's own timestamp once the scrape's samples are committed.
        const samples = await queryVector(`timestamp(up{job="${jobName}"})`);
        const stale = samples.filter((sample) => Number(sample.value[1]) * 1000 <= sinceMs);
        if (samples.length === opts.targets.length && stale.length === 0) return true;
        return `latest scrapes at ${samples.map((s) => new Date(Number(s.value[1]) * 1000).toISOString()).join(', ') || 'none'}`;
      }),
    stop,
  };
}
