import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposedMetricNames, promqlMetricNames } from '../../support/promql-names.js';

test('the metric names a PromQL expression reads', () => {
  const rows: [string, string[]][] = [
    ['healthcast_service_state{state="down"} == 1', ['healthcast_service_state']],
    ['healthcast_service_wanted == 1 and healthcast_service_advertised == 0', ['healthcast_service_advertised', 'healthcast_service_wanted']],
    ['up{job="healthcast"} == 0', ['up']],
    [
      'histogram_quantile(0.99, sum by (instance, le) (rate(healthcast_x_bucket{instance=~"$instance"}[$__rate_interval] offset 1h))) > 2e-3',
      ['healthcast_x_bucket'],
    ],
    ['increase(healthcast_maintenance_runs_total{result="failed"}[1d]) > 0', ['healthcast_maintenance_runs_total']],
    ['max by (service) (a) == 0 unless on (service) b', ['a', 'b']],
    ['label_replace(m, "dst", "$1", "src", "(.*)") # a comment naming not_a_metric', ['m']],
    ['sum without (le) (rate(c:recorded:rate5m[5m])) / ignoring (x) group_left (y) d', ['c:recorded:rate5m', 'd']],
  ];
  for (const [expr, names] of rows) assert.deepEqual(promqlMetricNames(expr), names, expr);
});

test('the metric names a /metrics text declares, with histogram series', () => {
  const text = [
    '# HELP a_total x',
    '# TYPE a_total counter',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    '# TYPE g gauge',
    'g{service="x"} 1',
    'untyped_one 3',
  ].join('\n');
  assert.deepEqual([...exposedMetricNames(text)].sort(), ['a_total', 'g', 'h', 'h_bucket', 'h_count', 'h_sum', 'untyped_one']);
});
