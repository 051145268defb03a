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

export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private values = new Float64Array(16);
  private readonly labels: Labels[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The index of the series with `labels`, created at 0 on first use; callers keep it for inc(). */
  series(labels: Labels): number {
    const key = JSON.stringify(labels);
    let index = this.index.get(key);
    if (index === undefined) {
      index = this.labels.length;
      this.labels.push(labels);
      this.index.set(key, index);
      if (index >= this.values.length) {
        const grown = new Float64Array(this.values.length * 2);
        grown.set(this.values);
        this.values = grown;
      }
    }
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
      values: this.labels.map((labels, i) => ({ labels, value: this.values[i]! })),
    };
  }
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly labels: Labels[] = [];
  private readonly index = new Map<string, number>();
  /** Per series: one non-cumulative count per bucket plus one for +Inf. */
  private counts: Float64Array;
  private sums: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(8 * (bounds.length + 1));
    this.sums = new Float64Array(8);
  }

  series(labels: Labels): number {
    const key = JSON.stringify(labels);
    let index = this.index.get(key);
    if (index === undefined) {
      index = this.labels.length;
      this.labels.push(labels);
      this.index.set(key, index);
      if (index >= this.sums.length) {
        const counts = new Float64Array(this.counts.length * 2);
        counts.set(this.counts);
        this.counts = counts;
        const sums = new Float64Array(this.sums.length * 2);
        sums.set(this.sums);
        this.sums = sums;
      }
    }
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
    this.labels.forEach((labels, series) => {
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
