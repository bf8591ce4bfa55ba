// Prometheus metrics: counters and histograms fed by agent events, per-service gauges read from the agent at scrape time
// (so they can never disagree with `healthcast status`). A private registry, so tests can build several.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentListener, ServiceStatus, StateChange } from '../core/agent.js';
import type { ServiceConfig } from '../config/types.js';
import type { ServiceProbeRun } from '../core/probe-service.js';
import type { Phase } from '../core/state-machine.js';
import type { ReconcileReport } from '../routing/types.js';
import { hookFor } from '../core/service-state.js';
import { ComputedGauge, SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from './series.js';

export const SERVICE_STATES = ['up', 'down', 'unknown', 'drained', 'draining', 'paused', 'stopped', 'degraded', 'suppressed'] as const;

export interface MetricsOptions {
  version: string;
  status: () => ServiceStatus[];
  // Process metrics (process_*, nodejs_*); off in unit tests that build many registries.
  processMetrics?: boolean;
}

// A service's per-round series, looked up once per service config rather than by label set every round.
interface RoundSeries {
  service: HistogramSeries;
  // Result series appear on the first result of their kind, as prom-client counters do.
  probes: Map<string, ProbeSeries>;
  first?: ProbeSeries;
}

interface ProbeSeries {
  labels: { service: string; probe: string };
  duration: HistogramSeries;
  ok?: CounterSeries;
  fail?: CounterSeries;
}

export class AgentMetrics implements AgentListener {
  readonly registry = new Registry();
  private readonly probeDuration: SeriesHistogram;
  private readonly probeResults: SeriesCounter;
  private readonly serviceDuration: SeriesHistogram;
  private readonly roundLateness: HistogramSeries;
  private readonly roundSeries = new WeakMap<ServiceConfig, RoundSeries>();
  // The agent's status for the scrape text() is writing.
  private scrapeStatus: ServiceStatus[] | undefined;
  private readonly transitions: Counter<'service' | 'from' | 'to'>;
  private readonly stateChanges: Counter<'service' | 'to'>;
  private readonly reconcileOps: Counter<'action'>;
  private readonly reconcileErrors: Counter;
  private readonly reconcileDuration: Histogram;
  private readonly leaseExpired: Counter;
  private readonly keptLastTotal: Counter<'service'>;
  readonly hookRuns: Counter<'service' | 'hook' | 'result'>;
  readonly maintenanceRuns: Counter<'job' | 'result'>;
  readonly maintenanceDuration: Histogram<'job'>;
  readonly l2Announcements: Counter<'family' | 'result'>;
  readonly controlRequests: Counter<'command' | 'result'>;
  private readonly decisionToKernel: Histogram<'action'>;
  private readonly configReloads: Counter<'result'>;
  private readonly configReloadOk: Gauge;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    this.probeDuration = new SeriesHistogram({
      name: 'healthcast_probe_duration_seconds',
      help: 'Duration of one probe, by service and probe (label "dns", or "dns#1" when a service has several)',
      labelNames: ['service', 'probe'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.probeResults = new SeriesCounter({
      name: 'healthcast_probe_results_total',
      help: 'Probe results by service, probe and result (ok, fail)',
      labelNames: ['service', 'probe', 'result'],
      registers,
    });
    this.serviceDuration = new SeriesHistogram({
      name: 'healthcast_service_check_duration_seconds',
      help: 'Duration of one probe round of a service (all its probes, in parallel)',
      labelNames: ['service'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    // One series for the whole agent: lateness is a property of the agent's event loop, not of a service.
    this.roundLateness = new SeriesHistogram({
      name: 'healthcast_probe_round_lateness_seconds',
      help: 'How long after its scheduled slot a probe round started: the agent keeping up with its schedule stays in the lowest buckets',
      labelNames: [],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }).series({});
    this.transitions = new Counter({
      name: 'healthcast_service_transitions_total',
      help: 'Health phase transitions (init, rising, up, falling, down)',
      labelNames: ['service', 'from', 'to'],
      registers,
    });
    this.stateChanges = new Counter({
      name: 'healthcast_service_state_changes_total',
      help: 'Service state changes once applied (up, down, drained, ...)',
      labelNames: ['service', 'to'],
      registers,
    });
    this.reconcileOps = new Counter({
      name: 'healthcast_reconciler_operations_total',
      help: 'Addresses and routes added or removed by the reconciler',
      labelNames: ['action'],
      registers,
    });
    this.reconcileErrors = new Counter({ name: 'healthcast_reconciler_errors_total', help: 'Reconciler passes that reported at least one error', registers });
    this.reconcileDuration = new Histogram({
      name: 'healthcast_reconcile_duration_seconds',
      help: 'Duration of one reconciler pass',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    // Should stay 0: each one is an address the kernel removed because the agent renewed its lease too late.
    this.leaseExpired = new Counter({
      name: 'healthcast_lease_expired_total',
      help: 'Addresses whose lease ran out while the agent ran (renewed too late) and that were re-added',
      registers,
    });
    this.keptLastTotal = new Counter({
      name: 'healthcast_kept_last_total',
      help: 'Times keep_last kept a failing service announced because no other router advertised it',
      labelNames: ['service'],
      registers,
    });
    this.hookRuns = new Counter({
      name: 'healthcast_hook_runs_total',
      help: 'Hook runs by service, hook and result (ok, failed, timeout)',
      labelNames: ['service', 'hook', 'result'],
      registers,
    });
    this.maintenanceRuns = new Counter({
      name: 'healthcast_maintenance_runs_total',
      help: 'Scheduled maintenance runs by job and result (ok, failed, skipped)',
      labelNames: ['job', 'result'],
      registers,
    });
    this.maintenanceDuration = new Histogram({
      name: 'healthcast_maintenance_duration_seconds',
      help: 'Duration of scheduled maintenance commands',
      labelNames: ['job'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.l2Announcements = new Counter({
      name: 'healthcast_l2_announcements_total',
      help: 'Gratuitous ARP / unsolicited NA runs by family and result',
      labelNames: ['family', 'result'],
      registers,
    });
    this.controlRequests = new Counter({
      name: 'healthcast_control_requests_total',
      help: 'Control socket requests by command and result',
      labelNames: ['command', 'result'],
      registers,
    });
    // From a health decision to the kernel having it: what an operator compares with FRR's own timers.
    this.decisionToKernel = new Histogram({
      name: 'healthcast_decision_to_kernel_seconds',
      help: 'From a health decision (announce or withdraw) to the reconciler pass that applied it',
      labelNames: ['action'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.configReloads = new Counter({
      name: 'healthcast_config_reloads_total',
      help: 'Configuration reloads (SIGHUP) by result (ok, failed)',
      labelNames: ['result'],
      registers,
    });
    // As Prometheus's own prometheus_config_last_reload_successful: a rejected reload leaves the old config running.
    this.configReloadOk = new Gauge({
      name: 'healthcast_config_last_reload_successful',
      help: 'Whether the last configuration reload was accepted (1; also before any) or rejected (0)',
      registers,
    });
    this.configReloadOk.set(1);

    // One status() per scrape for all five gauges (text() takes it once; the JSON path asks per gauge).
    const status = () => this.scrapeStatus ?? options.status();
    const perService = (value: (service: ServiceStatus) => number | undefined) =>
      function* (): Iterable<readonly [readonly string[], number]> {
        for (const service of status()) {
          const current = value(service);
          if (current !== undefined) yield [[service.name], current];
        }
      };
    new ComputedGauge({
      name: 'healthcast_service_state',
      help: 'The current state of each service: 1 for the state it is in, 0 for the others',
      labelNames: ['service', 'state'],
      registers,
      *values() {
        for (const service of status()) for (const state of SERVICE_STATES) yield [[service.name, state], service.state === state ? 1 : 0] as const;
      },
    });
    new ComputedGauge({
      name: 'healthcast_service_announced',
      help: 'Every address of the service is on the system (1) or not (0)',
      labelNames: ['service'],
      registers,
      values: perService((service) => (service.announced ? 1 : 0)),
    });
    new ComputedGauge({
      name: 'healthcast_service_wanted',
      help: 'The service is healthy and not drained, so its addresses should be announced (1) or not (0)',
      labelNames: ['service'],
      registers,
      values: perService((service) => (service.wanted ? 1 : 0)),
    });
    new ComputedGauge({
      name: 'healthcast_service_advertised',
      help: 'FRR advertises the service addresses (1) or not (0); absent while FRR is not asked',
      labelNames: ['service'],
      registers,
      values: perService((service) => (service.advertised === undefined ? undefined : service.advertised ? 1 : 0)),
    });
    new ComputedGauge({
      name: 'healthcast_service_maintenance',
      help: 'The service is drained for maintenance (1) or not (0)',
      labelNames: ['service'],
      registers,
      values: perService((service) => (service.drained ? 1 : 0)),
    });
    // Routing policy (issue 14).
    new ComputedGauge({
      name: 'healthcast_service_metric',
      help: 'The route metric the service is advertised with now (metric, or degraded_metric while degraded); absent when the FRR config sets none',
      labelNames: ['service'],
      registers,
      values: perService((service) => service.metric),
    });
    new ComputedGauge({
      name: 'healthcast_service_damping_penalty',
      help: 'The flap-damping penalty of the service (decays with half_life); absent without damping',
      labelNames: ['service'],
      registers,
      values: perService((service) => service.damping?.penalty),
    });
    new ComputedGauge({
      name: 'healthcast_service_advertisers',
      help: 'Routers advertising every address of the service (this one included), from the LSDB; absent while not known',
      labelNames: ['service'],
      registers,
      values: perService((service) => service.advertisers?.length),
    });
    new ComputedGauge({
      name: 'healthcast_service_kept_last',
      help: 'keep_last holds the failing service announced as the last advertiser (1) or not (0)',
      labelNames: ['service'],
      registers,
      values: perService((service) => (service.keptLast ? 1 : 0)),
    });
    new Gauge({ name: 'healthcast_build_info', help: 'Always 1; the version is a label', labelNames: ['version'], registers }).set(
      { version: options.version },
      1,
    );
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  onProbes(service: ServiceConfig, run: ServiceProbeRun, lateMs?: number): void {
    if (lateMs !== undefined) this.roundLateness.observe(lateMs / 1000);
    let series = this.roundSeries.get(service);
    if (!series) {
      series = { service: this.serviceDuration.series({ service: service.name }), probes: new Map() };
      this.roundSeries.set(service, series);
    }
    for (const { label, result } of run.results) {
      // Most services have one probe: its series is the first, found without the lookup by label.
      let probe = series.first?.labels.probe === label ? series.first : series.probes.get(label);
      if (!probe) {
        const labels = { service: service.name, probe: label };
        probe = { labels, duration: this.probeDuration.series(labels) };
        series.probes.set(label, probe);
        series.first ??= probe;
      }
      probe.duration.observe(result.durationMs / 1000);
      if (result.ok) (probe.ok ??= this.probeResults.series({ ...probe.labels, result: 'ok' })).inc();
      else (probe.fail ??= this.probeResults.series({ ...probe.labels, result: 'fail' })).inc();
    }
    series.service.observe(run.combined.durationMs / 1000);
  }

  onPhase(service: string, from: Phase, to: Phase): void {
    this.transitions.inc({ service, from, to });
  }

  onRoutingApplied(_service: string, announce: boolean, decisionToKernelMs: number): void {
    this.decisionToKernel.observe({ action: announce ? 'announce' : 'withdraw' }, decisionToKernelMs / 1000);
  }

  configReloaded(ok: boolean): void {
    this.configReloads.inc({ result: ok ? 'ok' : 'failed' });
    this.configReloadOk.set(ok ? 1 : 0);
  }

  onStateApplied(change: StateChange): void {
    // A service that never came up is not "going down" (the same rule as on_down): counting unknown -> down at start
    // made the shipped flapping alert see a flap on every restart.
    if (change.to === 'down' && hookFor(change.from, change.to) !== 'on_down') return;
    this.stateChanges.inc({ service: change.service, to: change.to });
  }

  onKeptLast(service: string, kept: boolean): void {
    if (kept) this.keptLastTotal.inc({ service });
  }

  onReport(report: ReconcileReport): void {
    if (report.added.length > 0) this.reconcileOps.inc({ action: 'add' }, report.added.length);
    if (report.removed.length > 0) this.reconcileOps.inc({ action: 'remove' }, report.removed.length);
    if (report.errors.length > 0) this.reconcileErrors.inc();
    this.reconcileDuration.observe(report.durationMs / 1000);
    if (report.expired) this.leaseExpired.inc(report.expired.length);
  }

  // The registry's text, with the per-round series and status gauges written directly: at 1,000 services they are
  // most of a 3 MB scrape, and prom-client's generic path builds an object per line before the string.
  async text(): Promise<string> {
    return (await this.parts()).join('');
  }

  // The text in pieces (one per metric), so the server can send them without joining 3 MB into one string first.
  async parts(): Promise<string[]> {
    // prom-client's Registry.metrics() is this loop; getMetricsAsString is the untyped per-metric step it uses.
    const registry = this.registry as unknown as { getMetricsAsString?: (metric: unknown) => Promise<string> };
    if (this.registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE || typeof registry.getMetricsAsString !== 'function')
      return [await this.registry.metrics()];
    const parts: string[] = [];
    this.scrapeStatus = this.options.status();
    try {
      for (const metric of this.registry.getMetricsAsArray()) {
        const own = metric as unknown;
        const direct = own instanceof SeriesHistogram || own instanceof SeriesCounter || own instanceof ComputedGauge;
        parts.push((parts.length > 0 ? '\n\n' : '') + (direct ? own.render() : await registry.getMetricsAsString.call(this.registry, metric)));
      }
    } finally {
      this.scrapeStatus = undefined;
    }
    parts.push('\n');
    return parts;
  }
}
