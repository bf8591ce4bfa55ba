// The supervisor: owns the service runners, decides what should be announced, and hands that to the single routing writer.
// build() returns it without touching the process, so tests drive it directly.
import type { AgentConfig, ServiceConfig } from '../config/types.js';
import { serviceFingerprint } from '../config/types.js';
import type { Logger } from '../log.js';
import type { DesiredEntry, ReconcileReport } from '../routing/types.js';
import { ServiceRunner, type LastResult } from './service-runner.js';
import { isAnnounced, type HealthState, type Phase } from './state-machine.js';
import { ErrorCodes, HealthcastError } from '../errors.js';

// The routing writer as the agent sees it (src/routing/reconciler.ts implements it).
export interface RoutingWriter {
  start(): Promise<ReconcileReport>;
  kick(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

export type RoutingFactory = (options: { desired: () => DesiredEntry[]; onReport: (report: ReconcileReport) => void; config: AgentConfig }) => RoutingWriter;

export type AgentMode = 'created' | 'running' | 'paused' | 'stopped';

export interface ServiceStatus {
  name: string;
  phase: Phase;
  successes: number;
  failures: number;
  addresses: string[];
  wanted: boolean; // healthy enough to announce, and the agent is running
  announced: boolean; // every address is on the system as wanted
  routingError: string | undefined;
  last: LastResult | undefined;
}

export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  routing: RoutingFactory;
  random?: () => number;
  splay?: boolean;
}

interface RoutingView {
  announced: boolean;
  error: string | undefined;
}

export class Agent {
  private config: AgentConfig;
  private readonly runners = new Map<string, ServiceRunner>();
  private readonly routingView = new Map<string, RoutingView>();
  private readonly routing: RoutingWriter;
  private modeValue: AgentMode = 'created';
  private queue: Promise<unknown> = Promise.resolve();
  readonly startedAt = Date.now();

  constructor(private readonly options: AgentOptions) {
    this.config = options.config;
    this.routing = options.routing({ desired: () => this.desired(), onReport: (report) => this.onReport(report), config: options.config });
  }

  get mode(): AgentMode {
    return this.modeValue;
  }

  get currentConfig(): AgentConfig {
    return this.config;
  }

  // First pass removes whatever a previous run left behind (crash recovery), then probing begins.
  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'created') return;
      await this.routing.start();
      this.modeValue = 'running';
      for (const service of this.config.services) this.startRunner(service);
      this.options.log.info({ services: this.config.services.length, config: this.config.file }, 'agent started');
    });
  }

  // Withdraws everything and stops probing; resume() starts every service afresh.
  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'running') return;
      this.modeValue = 'paused';
      await this.stopRunners();
      await this.routing.kick();
      this.options.log.info('paused: everything withdrawn, probing stopped');
    });
  }

  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'paused') return;
      this.modeValue = 'running';
      for (const runner of this.runners.values()) runner.start({ splay: this.options.splay ?? true });
      this.options.log.info('resumed: services start afresh and need rise successes');
    });
  }

  // Withdraws everything healthcast owns and stops; safe to call more than once.
  shutdown(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue === 'stopped') return;
      this.modeValue = 'stopped';
      await this.stopRunners();
      await this.routing.kick();
      await this.routing.stop();
      this.options.log.info('stopped: everything withdrawn');
    });
  }

  // Unchanged services keep running (and stay announced), changed ones restart, removed ones are withdrawn.
  reload(next: AgentConfig): Promise<{ kept: string[]; restarted: string[]; added: string[]; removed: string[] }> {
    return this.serialize(async () => {
      const fixed = (['stateDir', 'routeProtocol'] as const).filter((key) => next[key] !== this.config[key]);
      if (fixed.length > 0) {
        throw new HealthcastError(ErrorCodes.CONFIG_INVALID, `cannot change ${fixed.join(', ')} on reload: restart healthcast instead`);
      }
      const result = { kept: [] as string[], restarted: [] as string[], added: [] as string[], removed: [] as string[] };
      const wanted = new Map(next.services.map((service) => [service.name, service]));
      for (const [name, runner] of this.runners) {
        const service = wanted.get(name);
        if (!service) {
          await runner.stop();
          this.runners.delete(name);
          this.routingView.delete(name);
          result.removed.push(name);
        } else if (serviceFingerprint(service) !== serviceFingerprint(runner.config)) {
          await runner.stop();
          this.runners.delete(name);
          result.restarted.push(name);
        } else {
          result.kept.push(name);
        }
      }
      this.config = next;
      for (const service of next.services) {
        if (this.runners.has(service.name)) continue;
        if (!result.restarted.includes(service.name)) result.added.push(service.name);
        if (this.modeValue === 'running') this.startRunner(service);
        else this.runners.set(service.name, this.newRunner(service));
      }
      this.options.log.level = next.logLevel;
      this.options.log.info(result, 'configuration reloaded');
      await this.routing.kick();
      return result;
    });
  }

  // Probe the named services (all when empty) immediately.
  async checkNow(names: readonly string[] = []): Promise<void> {
    const runners = names.length === 0 ? [...this.runners.values()] : names.map((name) => this.runner(name));
    await Promise.all(runners.map((runner) => runner.checkNow()));
  }

  status(): ServiceStatus[] {
    return [...this.runners.values()].map((runner) => {
      const view = this.routingView.get(runner.name);
      return {
        name: runner.name,
        phase: runner.state.phase,
        successes: runner.state.successes,
        failures: runner.state.failures,
        addresses: runner.config.addresses,
        wanted: this.wants(runner),
        announced: view?.announced ?? false,
        routingError: view?.error,
        last: runner.last,
      };
    });
  }

  logStates(): void {
    for (const status of this.status()) {
      this.options.log.info({ ...status, mode: this.modeValue }, 'service state');
    }
  }

  // What should be on the system now: the single source of truth the reconciler converges to.
  desired(): DesiredEntry[] {
    const entries: DesiredEntry[] = [];
    for (const runner of this.runners.values()) {
      if (!this.wants(runner)) continue;
      for (const address of runner.config.addresses) {
        entries.push({ service: runner.name, kind: runner.config.announce, address, interface: runner.config.interface });
      }
    }
    return entries;
  }

  private wants(runner: ServiceRunner): boolean {
    return this.modeValue === 'running' && runner.isRunning && isAnnounced(runner.state.phase);
  }

  private runner(name: string): ServiceRunner {
    const runner = this.runners.get(name);
    if (!runner) throw new HealthcastError(ErrorCodes.SERVICE_UNKNOWN, `no service named "${name}" (known: ${[...this.runners.keys()].join(', ') || 'none'})`);
    return runner;
  }

  private newRunner(service: ServiceConfig): ServiceRunner {
    const log = this.options.log.child({ service: service.name });
    return new ServiceRunner(service, {
      log,
      ...(this.options.random ? { random: this.options.random } : {}),
      onRound: (runner, previous, next) => this.onRound(runner, previous, next, log),
    });
  }

  private startRunner(service: ServiceConfig): void {
    const runner = this.newRunner(service);
    this.runners.set(service.name, runner);
    runner.start({ splay: this.options.splay ?? true });
  }

  private async stopRunners(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
  }

  private onRound(runner: ServiceRunner, previous: HealthState, next: HealthState, log: Logger): void {
    const last = runner.last;
    if (previous.phase !== next.phase) {
      log.info({ from: previous.phase, to: next.phase, reason: last?.reason, latency_ms: last?.durationMs }, `state ${previous.phase} -> ${next.phase}`);
    } else {
      log.debug({ phase: next.phase, ok: last?.ok, reason: last?.reason, latency_ms: last?.durationMs }, 'probe round');
    }
    if (isAnnounced(previous.phase) !== isAnnounced(next.phase)) {
      const decidedAt = Date.now();
      void this.routing.kick().then(
        (report) => log.info({ announce: isAnnounced(next.phase), decision_to_kernel_ms: Date.now() - decidedAt, reconcile_ms: report.durationMs }, isAnnounced(next.phase) ? 'announce applied' : 'withdraw applied'),
        (error: unknown) => log.error({ err: error }, 'routing update failed'),
      );
    }
  }

  private onReport(report: ReconcileReport): void {
    const byService = new Map<string, { present: number; total: number; problems: string[] }>();
    for (const status of report.desired.values()) {
      const entry = byService.get(status.service) ?? { present: 0, total: 0, problems: [] };
      entry.total += 1;
      if (status.state === 'present') entry.present += 1;
      if (status.state === 'conflict' || status.state === 'error') entry.problems.push(status.reason);
      byService.set(status.service, entry);
    }
    for (const runner of this.runners.values()) {
      const summary = byService.get(runner.name);
      const view: RoutingView = {
        announced: summary !== undefined && summary.present === summary.total && summary.total > 0,
        error: summary && summary.problems.length > 0 ? summary.problems.join('; ') : undefined,
      };
      const before = this.routingView.get(runner.name);
      if (view.error !== before?.error && view.error !== undefined) {
        this.options.log.warn({ service: runner.name, error: view.error }, 'service addresses cannot be announced');
      }
      this.routingView.set(runner.name, view);
    }
  }

  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export function buildAgent(options: AgentOptions): Agent {
  return new Agent(options);
}
