/**
 * Reading /metrics: one scrape and one reader of the Prometheus text exposition for every suite,
 * whether the server runs in this process or as a child.
 */

/** The /metrics text of a server on 127.0.0.1 (throws unless it answers 200). */
export async function scrape(httpPort: number): Promise<string> {
  // A fresh connection per scrape (no keep-alive) so no HTTP socket outlives the call.
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000), headers: { connection: 'close' } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}

export interface MetricSample {
  /** The sample's name: a histogram's lines appear as NAME_bucket, NAME_sum and NAME_count. */
  readonly name: string;
  /** Label values as written, escapes (\" \\ \n) kept. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line of a text exposition, parsed; comments and blank lines are skipped. */
export function parseSamples(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(LABEL_PAIR)) labels[pair[1]!] = pair[2]!;
    out.push({ name: match[1]!, labels, value: Number(match[3]!.replace(/^\+?Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity')) });
  }
  return out;
}

/**
 * The value of one series written as fraudwall exposes it, labels in their order, e.g.
 * `fraudwall_gated_queries_total{decision="drop"}`; 0 when there is no such line.
 */
export function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The sum over every sample of metric `name` whose labels include each pair of `labels` (all of them by default). */
export function metricSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const sample of parseSamples(text)) {
    if (sample.name !== name) continue;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
  }
  return sum;
}

/** The samples of metric `name` summed by the value of one of their labels, e.g. reason → count. */
export function metricByLabel(text: string, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sample of parseSamples(text)) {
    const value = sample.labels[label];
    if (sample.name !== name || value === undefined) continue;
    out.set(value, (out.get(value) ?? 0) + sample.value);
  }
  return out;
}

/** The names of the samples in a text exposition (histograms appear as their _bucket/_sum/_count series). */
export function sampleNames(text: string): Set<string> {
  return new Set(parseSamples(text).map((sample) => sample.name));
}
