// Counters and histograms whose series are plain objects the caller keeps, for metrics fed on every probe round:
// prom-client's own observe() validates and hashes the label set on every call, a visible cost at 1,000 rounds a
// second. These register with a prom-client Registry and print exactly as its Counter and Histogram do.
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
  exemplar?: null;
}

interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ExportedValue[];
  aggregator: 'sum';
}

interface Options {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: Registry[];
}

// One label set's counter value.
export class CounterSeries {
  value = 0;

  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

// One label set's histogram: a count per bucket (not cumulative; summed when printed), sum and count.
export class HistogramSeries {
  sum = 0;
  count = 0;
  readonly perBucket: Float64Array;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.perBucket = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    for (let index = 0; index < bounds.length; index++) {
      if (value <= bounds[index]!) {
        this.perBucket[index] = this.perBucket[index]! + 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

abstract class SeriesMetric<S extends { labels: Labels }> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  private readonly labelNames: readonly string[];
  private byKey = new Map<string, S>();

  constructor(options: Options) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    // A Registry takes any object with name, help, type and get(); it prints what get() returns.
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  // The series for these labels (every label name, no other), made on first use; keep it and update it directly.
  series(labels: Labels): S {
    const names = Object.keys(labels);
    if (names.length !== this.labelNames.length || !this.labelNames.every((name) => typeof labels[name] === 'string')) {
      throw new Error(`${this.name}: labels must be exactly ${this.labelNames.join(', ')}, got ${names.join(', ')}`);
    }
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let found = this.byKey.get(key);
    if (!found) {
      const ordered: Labels = {};
      for (const name of this.labelNames) ordered[name] = labels[name]!;
      found = this.create(ordered);
      this.byKey.set(key, found);
    }
    return found;
  }

  reset(): void {
    this.byKey = new Map();
  }

  protected all(): S[] {
    return [...this.byKey.values()];
  }

  protected abstract create(labels: Labels): S;
}

// A counter with caller-kept series.
export class SeriesCounter extends SeriesMetric<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }

  get(): Promise<Exported> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.all().map((series) => ({ labels: series.labels, value: series.value })) });
  }
}

// A histogram with caller-kept series and fixed bucket bounds.
export class SeriesHistogram extends SeriesMetric<HistogramSeries> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(options: Options & { buckets: readonly number[] }) {
    super(options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  // As prom-client prints a histogram: the bucket label `le` first, then the series labels.
  getForPromString(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const series of this.all()) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.perBucket[index]!;
        values.push({ labels: { le: bound }, sharedLabels: series.labels, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  async get(): Promise<Exported> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }
}
