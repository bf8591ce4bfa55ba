// The caller-kept series print exactly as prom-client's own Counter and Histogram fed the same observations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ComputedGauge, SeriesCounter, SeriesHistogram } from '../../../src/metrics/series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const labelNames = ['service', 'probe'] as const;
  return {
    theirs,
    ours,
    histograms: [
      new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: BUCKETS, registers: [theirs] }),
      new SeriesHistogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: BUCKETS, registers: [ours] }),
    ] as const,
    counters: [
      new Counter({ name: 'c_total', help: 'a counter', labelNames: [...labelNames, 'result'], registers: [theirs] }),
      new SeriesCounter({ name: 'c_total', help: 'a counter', labelNames: [...labelNames, 'result'], registers: [ours] }),
    ] as const,
  };
}

test('text and JSON output match prom-client for the same observations, including edges of buckets and beyond the last', async () => {
  const { theirs, ours, histograms, counters } = pair();
  const observations: [string, string, number][] = [
    ['a', 'dns', 0.0005],
    ['a', 'dns', 0.001],
    ['a', 'dns', 0.5],
    ['a', 'dns', 7],
    ['b', 'tcp#1', 0],
    ['a', 'dns', 0.01],
    ['b', 'tcp#1', 0.02],
    ['c"x\\y', 'dns', 1],
  ];
  for (const [service, probe, value] of observations) {
    histograms[0].observe({ service, probe }, value);
    histograms[1].series({ service, probe }).observe(value);
    const result = value < 1 ? 'ok' : 'fail';
    counters[0].inc({ service, probe, result });
    counters[1].series({ service, probe, result }).inc();
  }
  const expected = await theirs.metrics();
  assert.match(expected, /h_seconds_bucket\{le="\+Inf",service="a",probe="dns"\} 5/);
  assert.equal(await ours.metrics(), expected);
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('a series is made once per label set, whatever order the labels come in, and reset forgets them', async () => {
  const { ours, histograms } = pair();
  const series = histograms[1].series({ service: 'a', probe: 'dns' });
  assert.equal(histograms[1].series({ probe: 'dns', service: 'a' }), series);
  assert.notEqual(histograms[1].series({ service: 'a', probe: 'tcp' }), series);
  assert.throws(() => histograms[1].series({ service: 'a' }), /labels must be exactly service, probe/);
  assert.throws(() => histograms[1].series({ service: 'a', probe: 'dns', extra: 'x' }), /labels must be exactly/);
  assert.throws(() => series.observe(Number.NaN), /not a valid number/);
  series.observe(0.2);
  assert.match(await ours.metrics(), /h_seconds_count\{service="a",probe="dns"\} 1/);
  ours.resetMetrics();
  assert.doesNotMatch(await ours.metrics(), /h_seconds_count/);
});

test('a computed gauge prints as a prom-client Gauge set on collect, escaping label values', async () => {
  const theirs = new Registry();
  const ours = new Registry();
  const rows: [string, string, number][] = [
    ['a', 'up', 1],
    ['b"\\\nx', 'down', 0],
    ['c', 'up', 0],
  ];
  new Gauge({
    name: 'g_state',
    help: 'a "gauge"\\ with\nlines',
    labelNames: ['service', 'state'],
    registers: [theirs],
    collect() {
      this.reset();
      for (const [service, state, value] of rows) this.set({ service, state }, value);
    },
  });
  const gauge = new ComputedGauge({
    name: 'g_state',
    help: 'a "gauge"\\ with\nlines',
    labelNames: ['service', 'state'],
    registers: [ours],
    values: () => rows.map(([service, state, value]) => [[service, state], value] as const),
  });
  const expected = await theirs.metrics();
  assert.equal(await ours.metrics(), expected);
  assert.equal(`${gauge.render()}\n`, expected);
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('render() of each series metric is what the Registry writes for it', async () => {
  const { ours, histograms, counters } = pair();
  histograms[1].series({ service: 'a', probe: 'dns' }).observe(0.004);
  counters[1].series({ service: 'a', probe: 'dns', result: 'ok' }).inc(3);
  assert.equal(`${histograms[1].render()}\n\n${counters[1].render()}\n`, await ours.metrics());
});
