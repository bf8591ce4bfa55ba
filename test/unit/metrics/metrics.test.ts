import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from '../../../src/metrics/metrics.js';
import { MetricsServer } from '../../../src/metrics/server.js';
import { parseListen, formatListen } from '../../../src/metrics/listen.js';
import { silentLogger } from '../../../src/log.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { ServiceStatus, StateChange } from '../../../src/core/agent.js';

function status(overrides: Partial<ServiceStatus>): ServiceStatus {
  return {
    name: 'dns',
    state: 'up',
    phase: 'up',
    successes: 1,
    failures: 0,
    addresses: ['192.0.2.53'],
    wanted: true,
    announced: true,
    routingError: undefined,
    last: undefined,
    advertised: undefined,
    drained: undefined,
    draining: false,
    announce: 'address',
    ...overrides,
  };
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('listen addresses', () => {
  assert.deepEqual(parseListen('127.0.0.1:9735'), { host: '127.0.0.1', port: 9735 });
  assert.deepEqual(parseListen('[::1]:9735'), { host: '::1', port: 9735 });
  assert.equal(formatListen({ host: '::1', port: 1 }), '[::1]:1');
  for (const bad of ['localhost:9735', '127.0.0.1', '[127.0.0.1]:1', '127.0.0.1:70000', '::1:9735']) assert.equal(typeof parseListen(bad), 'string', bad);
});

test('probe, transition and reconciler metrics follow events; service gauges follow the agent at scrape time', async () => {
  const probe = switchProbe();
  let services: ServiceStatus[] = [
    status({}),
    status({ name: 'web', state: 'drained', announced: false, wanted: false, advertised: false, drained: { name: 'web', since: 'x', by: 'cli' } }),
  ];
  const metrics = new AgentMetrics({ version: '9.9.9', status: () => services, processMetrics: false });
  const dns = serviceConfig('dns', ['192.0.2.53'], probe.definition);
  metrics.onProbes(dns, { combined: { ok: true, reason: 'ok', durationMs: 3 }, results: [{ label: 'tcp', result: { ok: true, durationMs: 3 } }] });
  metrics.onProbes(dns, {
    combined: { ok: false, reason: 'x', durationMs: 700 },
    results: [{ label: 'tcp', result: { ok: false, durationMs: 700, reason: 'x' } }],
  });
  metrics.onPhase('dns', 'up', 'falling');
  metrics.onProbes(dns, { combined: { ok: true, reason: 'ok', durationMs: 3 }, results: [] }, 0.4);
  metrics.onProbes(dns, { combined: { ok: true, reason: 'ok', durationMs: 3 }, results: [] }, 30);
  metrics.onReport({ desired: new Map(), added: [{ kind: 'address', address: '192.0.2.53', interface: 'lo' }], removed: [], errors: ['boom'], durationMs: 12 });
  let text = await metrics.text();
  assert.equal(value(text, 'healthcast_probe_results_total{service="dns",probe="tcp",result="ok"}'), 1);
  assert.equal(value(text, 'healthcast_probe_results_total{service="dns",probe="tcp",result="fail"}'), 1);
  assert.equal(value(text, 'healthcast_probe_duration_seconds_bucket{le="0.005",service="dns",probe="tcp"}'), 1);
  assert.equal(value(text, 'healthcast_probe_duration_seconds_bucket{le="1",service="dns",probe="tcp"}'), 2);
  assert.equal(value(text, 'healthcast_service_transitions_total{service="dns",from="up",to="falling"}'), 1);
  assert.equal(value(text, 'healthcast_probe_round_lateness_seconds_bucket{le="0.001"}'), 1);
  assert.equal(value(text, 'healthcast_probe_round_lateness_seconds_bucket{le="0.025"}'), 1);
  assert.equal(value(text, 'healthcast_probe_round_lateness_seconds_bucket{le="0.05"}'), 2);
  assert.equal(value(text, 'healthcast_probe_round_lateness_seconds_count'), 2);
  assert.equal(value(text, 'healthcast_reconciler_operations_total{action="add"}'), 1);
  assert.equal(value(text, 'healthcast_reconciler_errors_total'), 1);
  assert.equal(value(text, 'healthcast_service_state{service="web",state="drained"}'), 1);
  assert.equal(value(text, 'healthcast_service_state{service="web",state="up"}'), 0);
  assert.equal(value(text, 'healthcast_service_announced{service="dns"}'), 1);
  assert.equal(value(text, 'healthcast_service_maintenance{service="web"}'), 1);
  assert.equal(value(text, 'healthcast_service_advertised{service="web"}'), 0);
  assert.equal(value(text, 'healthcast_service_advertised{service="dns"}'), undefined, 'unknown advertisement is absent, not 0');
  assert.equal(value(text, 'healthcast_build_info{version="9.9.9"}'), 1);

  services = [status({ state: 'down', announced: false })];
  text = await metrics.text();
  assert.equal(value(text, 'healthcast_service_state{service="dns",state="down"}'), 1);
  assert.equal(value(text, 'healthcast_service_announced{service="dns"}'), 0);
  assert.equal(value(text, 'healthcast_service_state{service="web",state="drained"}'), undefined, 'a removed service disappears');
  for (const name of text
    .split('\n')
    .filter((line) => line.startsWith('# TYPE'))
    .map((line) => line.split(' ')[2]!)) {
    assert.match(name, /^healthcast_[a-z0-9_]+$/, name);
    if (/_total$/.test(name)) assert.match(text, new RegExp(`# TYPE ${name} counter`));
  }
});

test('the HTTP endpoint serves /metrics (with process metrics) and nothing else', async (t) => {
  const metrics = new AgentMetrics({ version: '1', status: () => [] });
  const server = new MetricsServer(metrics, { host: '127.0.0.1', port: 0 }, silentLogger());
  const { port } = await server.listen();
  t.after(() => server.close());
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  const body = await response.text();
  assert.match(body, /^healthcast_build_info\{version="1"\} 1$/m);
  assert.match(body, /^process_cpu_seconds_total /m);
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
});

test('text() writes exactly what the registry would, with status() asked once per scrape', async () => {
  const probe = switchProbe();
  let asked = 0;
  const services = [
    status({}),
    status({ name: 'web', state: 'drained', announced: false, wanted: false, advertised: false, drained: { name: 'web', since: 'x', by: 'cli' } }),
    status({ name: 'x"y', advertised: true }),
  ];
  const metrics = new AgentMetrics({ version: '1.2.3', status: () => ((asked += 1), services), processMetrics: false });
  for (const service of services) {
    const config = serviceConfig(service.name, ['192.0.2.53'], probe.definition);
    metrics.onProbes(config, { combined: { ok: true, reason: 'ok', durationMs: 3 }, results: [{ label: 'dns', result: { ok: true, durationMs: 3 } }] });
    metrics.onProbes(config, {
      combined: { ok: false, reason: 'x', durationMs: 40 },
      results: [{ label: 'dns', result: { ok: false, durationMs: 40, reason: 'x' } }],
    });
    metrics.onPhase(service.name, 'init', 'rising');
    metrics.onProbes(config, { combined: { ok: true, reason: 'ok', durationMs: 3 }, results: [] }, 7);
  }
  asked = 0;
  const text = await metrics.text();
  assert.equal(asked, 1);
  assert.equal(text, await metrics.registry.metrics());
  assert.match(text, /^healthcast_service_state\{service="x\\"y",state="up"\} 1$/m);
});

test('state changes to down count only from up (or drained): a service that never came up is not a flap', async () => {
  const metrics = new AgentMetrics({ version: '1', status: () => [], processMetrics: false });
  const change = (from: StateChange['from'], to: StateChange['to']) => metrics.onStateApplied({ service: 'dns', from, to, addresses: [], reason: 'x' });
  change('unknown', 'down'); // the first verdict at start
  let text = await metrics.text();
  assert.equal(value(text, 'healthcast_service_state_changes_total{service="dns",to="down"}'), undefined);
  change('down', 'up');
  change('up', 'down');
  text = await metrics.text();
  assert.equal(value(text, 'healthcast_service_state_changes_total{service="dns",to="down"}'), 1);
  assert.equal(value(text, 'healthcast_service_state_changes_total{service="dns",to="up"}'), 1);
});

test('decision-to-kernel time by action; reloads counted, the last one accepted or not', async () => {
  const metrics = new AgentMetrics({ version: '1', status: () => [], processMetrics: false });
  let text = await metrics.text();
  assert.equal(value(text, 'healthcast_config_last_reload_successful'), 1, 'no reload yet: the running config is good');
  metrics.onRoutingApplied('dns', true, 3);
  metrics.onRoutingApplied('dns', false, 40);
  metrics.configReloaded(false);
  text = await metrics.text();
  assert.equal(value(text, 'healthcast_decision_to_kernel_seconds_bucket{le="0.005",action="announce"}'), 1);
  assert.equal(value(text, 'healthcast_decision_to_kernel_seconds_bucket{le="0.025",action="withdraw"}'), 0);
  assert.equal(value(text, 'healthcast_decision_to_kernel_seconds_bucket{le="0.05",action="withdraw"}'), 1);
  assert.equal(value(text, 'healthcast_config_last_reload_successful'), 0);
  assert.equal(value(text, 'healthcast_config_reloads_total{result="failed"}'), 1);
  metrics.configReloaded(true);
  assert.equal(value(await metrics.text(), 'healthcast_config_last_reload_successful'), 1);
});

test('fleet gauges: advertisers (absent while unknown), kept_last, and the kept_last counter', async () => {
  const services: ServiceStatus[] = [
    status({ advertisers: ['0.0.0.2', '0.0.0.3'] }),
    status({ name: 'ntp', state: 'down', advertisers: ['0.0.0.4'], keptLast: true }),
    status({ name: 'web' }),
  ];
  const metrics = new AgentMetrics({ version: '1', status: () => services, processMetrics: false });
  metrics.onKeptLast('ntp', true);
  metrics.onKeptLast('ntp', false);
  metrics.onKeptLast('ntp', true);
  const text = await metrics.text();
  assert.equal(value(text, 'healthcast_service_advertisers{service="dns"}'), 2);
  assert.equal(value(text, 'healthcast_service_advertisers{service="ntp"}'), 1);
  assert.equal(value(text, 'healthcast_service_advertisers{service="web"}'), undefined, 'unknown is absent, not 0');
  assert.equal(value(text, 'healthcast_service_kept_last{service="ntp"}'), 1);
  assert.equal(value(text, 'healthcast_service_kept_last{service="dns"}'), 0);
  assert.equal(value(text, 'healthcast_kept_last_total{service="ntp"}'), 2);
});
