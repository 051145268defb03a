/**
 * Counters and histograms for the query path. prom-client's label children still hash their labels
 * on every call (about a microsecond each); these keep every series in a typed array, so counting
 * is an array increment, and render the values only when Prometheus scrapes. Both implement the
 * small interface prom-client's Registry reads (name, help, type, aggregator, get()).
 */

type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: string;
  values: MetricValue[];
  aggregator: string;
}

/** Label sets numbered in order of first use. */
class SeriesIndex {
  readonly labels: Labels[] = [];
  private readonly byKey = new Map<string, number>();

  /** The series number of `labels`, and whether this call created it. */
  lookup(labels: Labels): { index: number; created: boolean } {
    const key = JSON.stringify(labels);
    const known = this.byKey.get(key);
    if (known !== undefined) return { index: known, created: false };
    const index = this.labels.length;
    this.labels.push(labels);
    this.byKey.set(key, index);
    return { index, created: true };
  }
}

/** `array` grown (doubled) until it holds `length` elements. */
function ensureLength(array: Float64Array<ArrayBuffer>, length: number): Float64Array<ArrayBuffer> {
  if (length <= array.length) return array;
  const grown = new Float64Array(Math.max(length, array.length * 2));
  grown.set(array);
  return grown;
}

export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private values = new Float64Array(16);
  private readonly index = new SeriesIndex();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The index of the series with `labels`, created at 0 on first use; callers keep it for inc(). */
  series(labels: Labels): number {
    const { index } = this.index.lookup(labels);
    this.values = ensureLength(this.values, index + 1);
    return index;
  }

  inc(series: number, by = 1): void {
    this.values[series]! += by;
  }

  value(series: number): number {
    return this.values[series]!;
  }

  async get(): Promise<MetricData> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.index.labels.map((labels, i) => ({ labels, value: this.values[i]! })),
    };
  }
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly index = new SeriesIndex();
  /** Per series: one non-cumulative count per bucket plus one for +Inf. */
  private counts: Float64Array<ArrayBuffer>;
  private sums: Float64Array<ArrayBuffer>;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(8 * (bounds.length + 1));
    this.sums = new Float64Array(8);
  }

  series(labels: Labels): number {
    const { index } = this.index.lookup(labels);
    this.sums = ensureLength(this.sums, index + 1);
    this.counts = ensureLength(this.counts, (index + 1) * (this.bounds.length + 1));
    return index;
  }

  observe(series: number, value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[series * (bounds.length + 1) + bucket]! += 1;
    this.sums[series]! += value;
  }

  async get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    const width = this.bounds.length + 1;
    this.index.labels.forEach((labels, series) => {
      let cumulative = 0;
      for (let bucket = 0; bucket < width; bucket++) {
        cumulative += this.counts[series * width + bucket]!;
        const le = bucket < this.bounds.length ? String(this.bounds[bucket]) : '+Inf';
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: this.sums[series]!, metricName: `${this.name}_sum` });
      values.push({ labels, value: cumulative, metricName: `${this.name}_count` });
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * A counter whose values live elsewhere as running totals (cache hit counts, ignored answers…)
 * and are read when Prometheus scrapes: nothing to keep in step, no deltas to track.
 */
export class ReadCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => readonly MetricValue[],
  ) {}

  async get(): Promise<MetricData> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.read()] };
  }
}
