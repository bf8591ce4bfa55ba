// Counters and histograms whose series are plain objects the caller keeps, for metrics fed on every probe round:
// prom-client's own observe() validates and hashes the label set on every call, a visible cost at 1,000 rounds a
// second. These register with a prom-client Registry and print exactly as its Counter and Histogram do. A Registry takes
// them by duck typing, not by a documented interface: prom-client is pinned to an exact version in package.json, and
// test/unit/metrics/series.test.ts compares their text with prom-client's own on each upgrade.
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

// As prom-client writes them, so a text rendered here reads the same as one rendered by its Registry.
function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeString(value).replace(/"/g, '\\"')}"`)
    .join(',');
}

// A string built by concatenation is a tree of pieces in V8 (~5 per head, 32 bytes each); these heads live as long as
// their series (30,000 at 1,000 services). Reading a character flattens the tree, and the GC then drops the pieces:
// half the memory (measured: 100,000 heads 24.7 MB as built, 12.2 MB flattened).
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

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
  type: 'counter' | 'histogram' | 'gauge';
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
  // The line up to its value, made once.
  readonly head: string;

  constructor(
    readonly labels: Labels,
    name: string,
  ) {
    const text = labelText(labels);
    this.head = flat(text ? `${name}{${text}} ` : `${name} `);
  }

  inc(by = 1): void {
    this.value += by;
  }
}

// One label set's histogram: a count per bucket (not cumulative; summed when printed), sum and count.
export class HistogramSeries {
  sum = 0;
  count = 0;
  readonly perBucket: Float64Array;
  // Each bucket line up to its value, then the +Inf, _sum and _count heads: made once, not on every scrape.
  readonly heads: string[];

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
    name: string,
  ) {
    this.perBucket = new Float64Array(bounds.length);
    const text = labelText(labels);
    const tail = text ? `,${text}}` : '}';
    const own = text ? `{${text}}` : '';
    this.heads = [
      ...bounds.map((bound) => `${name}_bucket{le="${bound}"${tail} `),
      `${name}_bucket{le="+Inf"${tail} `,
      `${name}_sum${own} `,
      `${name}_count${own} `,
    ].map(flat);
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

  // The metric as Prometheus text, as prom-client's Registry writes it (no trailing newline).
  render(): string {
    const lines = [`# HELP ${escapeString(this.name)} ${escapeString(this.help)}`, `# TYPE ${escapeString(this.name)} ${this.type}`];
    for (const series of this.byKey.values()) this.renderSeries(series, lines);
    return lines.join('\n');
  }

  protected abstract readonly type: 'counter' | 'histogram';

  protected abstract create(labels: Labels): S;

  protected abstract renderSeries(series: S, lines: string[]): void;
}

// A counter with caller-kept series.
export class SeriesCounter extends SeriesMetric<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels, this.name);
  }

  protected renderSeries(series: CounterSeries, lines: string[]): void {
    lines.push(series.head + valueText(series.value));
  }

  get(): Promise<Exported> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.all().map((series) => ({ labels: series.labels, value: series.value })),
    });
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
    return new HistogramSeries(labels, this.bounds, this.name);
  }

  protected renderSeries(series: HistogramSeries, lines: string[]): void {
    const heads = series.heads;
    let cumulative = 0;
    for (let index = 0; index < this.bounds.length; index++) {
      cumulative += series.perBucket[index]!;
      lines.push(heads[index]! + valueText(cumulative));
    }
    const at = this.bounds.length;
    lines.push(heads[at]! + valueText(series.count), heads[at + 1]! + valueText(series.sum), heads[at + 2]! + valueText(series.count));
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

// A gauge whose series are computed when scraped (from the agent's status), written straight to text: prom-client's
// Gauge would reset and set one hashed series per service and state on every scrape.
export class ComputedGauge {
  readonly type = 'gauge' as const;
  readonly aggregator = 'sum' as const;
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly values: () => Iterable<readonly [readonly string[], number]>;
  // Escaped label values seen before (service names repeat on every scrape).
  private readonly escaped = new Map<string, string>();

  constructor(options: Options & { values: () => Iterable<readonly [readonly string[], number]> }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.values = options.values;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const [labelValues, value] of this.values()) {
      const labels: Labels = {};
      this.labelNames.forEach((name, index) => (labels[name] = labelValues[index]!));
      values.push({ labels, value });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {}

  render(): string {
    const lines = [`# HELP ${escapeString(this.name)} ${escapeString(this.help)}`, `# TYPE ${escapeString(this.name)} ${this.type}`];
    for (const [labelValues, value] of this.values()) {
      let text = '';
      for (let index = 0; index < this.labelNames.length; index++)
        text += `${index === 0 ? '' : ','}${this.labelNames[index]}="${this.escape(labelValues[index]!)}"`;
      lines.push(`${this.name}${text ? `{${text}}` : ''} ${valueText(value)}`);
    }
    return lines.join('\n');
  }

  private escape(value: string): string {
    let found = this.escaped.get(value);
    if (found === undefined) {
      found = escapeString(value).replace(/"/g, '\\"');
      if (this.escaped.size > 100_000) this.escaped.clear();
      this.escaped.set(value, found);
    }
    return found;
  }
}
