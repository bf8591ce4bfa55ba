// The shipped alert rules and Grafana dashboard against a real agent: `promtool check rules`; every metric they name
// exists in the agent's /metrics (a renamed metric breaks this test); and `promtool test rules` evaluates each alert on
// series taken from that scrape, where the agent runs one healthy service (advertised by real FRR), one failing, one
// held by a disable file, and has just rejected a reload; it reads its FRR, so the fleet gauges are exported too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { requirePrerequisites } from '../../support/prereq.js';
import { repoRoot } from '../../support/paths.js';
import { exposedMetricNames, promqlMetricNames } from '../../support/promql-names.js';
import { buildDnsAnycastLab } from '../../../lab/dns-anycast.js';
import { agentConfig, agentPaths, startAgent, writeConfig } from '../../../lab/healthcast.js';
import { waitFor } from '../../../lab/process.js';
import { run } from '../../../lab/netns.js';
import { freePort } from '../../../lab/unbound.js';
import { controlRequest } from '../../../src/control/client.js';
import type { StatusJson } from '../../../src/control/status.js';

const RULES = path.join(repoRoot, 'packaging', 'prometheus', 'healthcast-alerts.yml');
const DASHBOARD = path.join(repoRoot, 'packaging', 'grafana', 'healthcast.json');
const COMMANDS = ['ip', 'sysctl', 'vtysh', 'unbound', 'promtool', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
// Series Prometheus makes itself for every target, never in an exporter's /metrics.
const PROMETHEUS_OWN = new Set(['up']);
const TARGET = { instance: 'node-a', job: 'healthcast' };
// Alerts aggregated over the fleet: their labels are the service's, not one target's.
const FLEET_WIDE = new Set(['HealthcastServiceNoAdvertisers']);

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

// What the scenario must make each alert do at the evaluation time (5 h: past every rule's `for`); absent: nothing.
const EXPECTED: Record<string, Record<string, string>[]> = {
  HealthcastServiceDown: [{ service: 'broken', state: 'down', severity: 'warning' }],
  HealthcastMaintenanceTooLong: [{ service: 'held', severity: 'warning' }],
  HealthcastConfigReloadFailed: [{ severity: 'warning' }],
  // One node: the withdrawn services have no advertiser at all, as the LSDB this agent reads says. A fleet-wide rule
  // (max by service): no instance or job label.
  HealthcastServiceNoAdvertisers: [
    { service: 'broken', severity: 'critical' },
    { service: 'held', severity: 'critical' },
  ],
};

// The metric names an alert or panel reads that the agent's scrape lacks.
function missingNames(names: readonly string[], exposed: Set<string>): string[] {
  return names.filter((name) => !exposed.has(name) && !PROMETHEUS_OWN.has(name));
}

// Every sample of the scrape as a promtool input series, constant for 7 h; the target's labels added as Prometheus
// would (an exporter's own `job`/`instance` become `exported_job`/`exported_instance`).
function inputSeries(scrape: string): { series: string; values: string }[] {
  const series: { series: string; values: string }[] = [{ series: `up{instance="${TARGET.instance}",job="${TARGET.job}"}`, values: '1+0x420' }];
  for (const line of scrape.split('\n')) {
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const value = Number(sample[3]);
    if (!Number.isFinite(value)) continue;
    const labels = (sample[2] ?? '').replace(/(^|,)(job|instance)=/g, '$1exported_$2=');
    const all = [labels, `instance="${TARGET.instance}"`, `job="${TARGET.job}"`].filter(Boolean).join(',');
    series.push({ series: `${sample[1]}{${all}}`, values: `${value}+0x420` });
  }
  return series;
}

test(
  'alert rules and dashboard: promtool checks them, every metric they read is in a real agent /metrics, and each alert evaluates on its scrape',
  { timeout: 180_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
    const checked = await run('promtool', ['check', 'rules', RULES]);
    assert.match(checked.stdout, /SUCCESS: \d+ rules found/);

    const lab = await buildDnsAnycastLab({ name: 'opsmon', addresses: ['192.0.2.53'] });
    try {
      // Node a's agent gives way to one with the scenario's three services and metrics on.
      lab.agents.a.signal('SIGTERM');
      await lab.agents.a.exited;
      const metricsPort = await freePort();
      const paths = agentPaths(lab.a, 'monitoring');
      fs.mkdirSync(path.join(paths.dir, 'disable.d'), { recursive: true });
      fs.writeFileSync(path.join(paths.dir, 'disable.d', 'held'), 'monitoring test');
      const dns = { type: 'dns', server: '127.0.0.1', port: lab.port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' };
      const config = agentConfig(
        paths.stateDir,
        [
          { name: 'ok', addresses: ['192.0.2.54'], probes: [dns] },
          { name: 'broken', addresses: ['192.0.2.55'], probes: [{ type: 'tcp', host: '127.0.0.1', ports: [1] }] },
          { name: 'held', addresses: ['192.0.2.56'], probes: [dns] },
        ],
        { metrics: { listen: `127.0.0.1:${metricsPort}` }, frr: { vty_socket: lab.a.frr!.dir } },
      );
      const agent = await startAgent(lab.lab, lab.a, { name: 'monitoring', config });
      const socket = path.join(paths.dir, 'control.sock');
      const byName = async () =>
        new Map(((await controlRequest(socket, { command: 'status' }, { timeoutMs: 5000 })) as StatusJson).services.map((s) => [s.name, s]));
      await waitFor(
        'ok advertised by FRR, broken down, held in maintenance',
        async () => {
          const services = await byName();
          return services.get('ok')?.advertised === true && services.get('broken')?.state === 'down' && services.get('held')?.state === 'drained';
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      // A rejected reload: the old configuration keeps running.
      const since = agent.lines().length;
      writeConfig(paths.configFile, { ...config, services: 'not a list' });
      agent.signal('SIGHUP');
      await agent.waitForLine('reload rejected', (line) => line.msg.startsWith('reload rejected'), { since });

      const script = `fetch('http://127.0.0.1:${metricsPort}/metrics').then(async (r) => process.stdout.write(await r.text()))`;
      const scrape = (await lab.a.exec(process.execPath, ['-e', script])).stdout;
      assert.match(scrape, /^healthcast_service_advertised\{service="ok"\} 1$/m, 'FRR was asked: advertised is exported');
      assert.match(scrape, /^healthcast_config_last_reload_successful 0$/m);
      const exposed = exposedMetricNames(scrape);

      const rules = parse(fs.readFileSync(RULES, 'utf8')) as RuleFile;
      const problems: string[] = [];
      for (const group of rules.groups) {
        for (const rule of group.rules) {
          const names = promqlMetricNames(rule.expr);
          assert.ok(names.length > 0, `${rule.alert}: reads some metric`);
          const missing = missingNames(names, exposed);
          if (missing.length > 0) problems.push(`alert ${rule.alert} reads ${missing.join(', ')}, not in the agent's /metrics`);
        }
      }

      const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
        templating: { list: { name: string; query?: string | { query: string } }[] };
      };
      for (const panel of dashboard.panels) {
        assert.ok(panel.targets.length > 0, `panel ${panel.title} has a query`);
        for (const target of panel.targets) {
          const names = promqlMetricNames(target.expr);
          assert.ok(names.length > 0, `panel ${panel.title}: ${target.expr} reads some metric`);
          const missing = missingNames(names, exposed);
          if (missing.length > 0) problems.push(`panel "${panel.title}" reads ${missing.join(', ')}, not in the agent's /metrics`);
        }
      }
      for (const variable of dashboard.templating.list) {
        const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
        const metric = /^label_values\(([A-Za-z_:][A-Za-z0-9_:]*)\s*,/.exec(query ?? '')?.[1];
        if (metric && !exposed.has(metric)) problems.push(`variable ${variable.name} reads ${metric}, not in the agent's /metrics`);
      }
      assert.deepEqual(problems, [], 'every metric the rules and the dashboard read');

      // promtool evaluates every alert on the scrape. The annotations are left out of the copy it loads: promtool
      // compares them too, and they are text for people, not part of when an alert fires.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-promtool-'));
      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const bare: RuleFile = { groups: rules.groups.map((group) => ({ ...group, rules: group.rules.map(({ annotations: _a, ...rule }) => rule) })) };
      fs.writeFileSync(path.join(dir, 'rules.yml'), stringify(bare));
      const alertNames = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert!));
      for (const name of Object.keys(EXPECTED)) assert.ok(alertNames.includes(name), `${name} is a shipped alert`);
      const tests = {
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: inputSeries(scrape),
            alert_rule_test: alertNames.map((alertname) => ({
              eval_time: '5h',
              alertname,
              exp_alerts: (EXPECTED[alertname] ?? []).map((labels) => ({ exp_labels: FLEET_WIDE.has(alertname) ? labels : { ...labels, ...TARGET } })),
            })),
          },
        ],
      };
      fs.writeFileSync(path.join(dir, 'tests.yml'), stringify(tests));
      const evaluated = await run('promtool', ['test', 'rules', path.join(dir, 'tests.yml')], { timeoutMs: 60_000 }).then(
        () => 'SUCCESS',
        (error: Error) => error.message,
      );
      assert.equal(evaluated, 'SUCCESS', 'promtool test rules on the scrape');
      t.diagnostic(`${alertNames.length} alerts evaluated on ${tests.tests[0]!.input_series.length} series from the scrape`);
    } finally {
      await lab.destroy();
    }
  },
);
