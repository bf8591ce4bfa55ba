// The supervisor: owns the service runners, decides what should be announced, and hands that to the single routing writer.
// build() returns it without touching the process, so tests drive it directly.
import type { AgentConfig, ServiceConfig } from '../config/types.js';
import { serviceFingerprint } from '../config/types.js';
import type { Logger } from '../log.js';
import { entryKey, type DesiredEntry, type ReconcileReport } from '../routing/types.js';
import { ServiceRunner, type LastResult } from './service-runner.js';
import { isAnnounced, type HealthState, type Phase } from './state-machine.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import type { ServiceProbeRun } from './probe-service.js';
import { drainOwner, MemoryDrainStore, type DrainEntry, type DrainOwner, type DrainStore } from '../maintenance/drain-store.js';
import { serviceState, type ServiceState } from '../control/service-state.js';
import { announceEntries, drainEntries, usesBgp } from './announcement.js';

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
  state: ServiceState;
  phase: Phase;
  successes: number;
  failures: number;
  addresses: string[];
  wanted: boolean; // healthy enough to announce, and the agent is running
  announced: boolean; // every address is on the system as wanted
  routingError: string | undefined;
  last: LastResult | undefined;
  // Whether FRR advertises the addresses, when an advertisement source is wired (undefined: not known).
  advertised: boolean | undefined;
  drained: DrainEntry | undefined;
  // A planned withdrawal is in progress: no longer advertised, still answered.
  draining: boolean;
  announce: ServiceConfig['announce'];
}

// A service's state changed and the routing change it needed has been applied (hooks and L2 announcements react here).
export interface StateChange {
  service: string;
  from: ServiceState;
  to: ServiceState;
  addresses: string[];
  reason: string;
}

// Observers of the agent; each call is guarded, so a failing listener never disturbs the agent.
export interface AgentListener {
  // lateMs: how long after its slot the round started (undefined for an operator's check-now).
  onProbes?(service: ServiceConfig, run: ServiceProbeRun, lateMs: number | undefined): void;
  onPhase?(service: string, from: Phase, to: Phase): void;
  onStateApplied?(change: StateChange): void;
  onReport?(report: ReconcileReport): void;
  // A new configuration was accepted (scheduled maintenance reschedules here).
  onReload?(config: AgentConfig): void;
  // The agent paused (everything withdrawn, the process is about to stop itself) or runs again.
  onMode?(mode: AgentMode): void;
}

export interface DrainResult {
  services: string[]; // everything asked for, now drained
  newly: string[]; // drained by this request (the rest were already drained)
  errors: string[]; // routing errors of the withdrawal, if any
}

export interface ResumeResult {
  services: string[]; // resumed by this request
  notDrained: string[];
}

export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  routing: RoutingFactory;
  random?: () => number;
  splay?: boolean;
  // Where drains are persisted (state_dir/drained.json in the process); in memory when omitted.
  drainStore?: DrainStore;
  listeners?: AgentListener[];
  advertised?: (service: string, addresses: readonly string[]) => boolean | undefined;
}

interface RoutingView {
  announced: boolean;
  error: string | undefined;
}

// A planned withdrawal in progress: the advertisement is gone, the host still answers until `done`.
interface Draining {
  entries: DesiredEntry[];
  done: Promise<void>;
}

export class Agent {
  private config: AgentConfig;
  private readonly runners = new Map<string, ServiceRunner>();
  private readonly routingView = new Map<string, RoutingView>();
  private readonly routing: RoutingWriter;
  private modeValue: AgentMode = 'created';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly drained = new Map<string, DrainEntry>();
  private readonly drainStore: DrainStore;
  private readonly listeners: AgentListener[];
  // The listeners' onProbes, bound: called 1,000 times a second at 1,000 services, without emit's lookup by name.
  private readonly probeListeners: NonNullable<AgentListener['onProbes']>[] = [];
  private readonly states = new Map<string, ServiceState>();
  private readonly draining = new Map<string, Draining>();
  // Drains waiting for the pass that parks their addresses on the drain interface: their period starts there.
  private readonly parking = new Set<{ keys: string[]; parked: () => void }>();
  readonly startedAt = Date.now();

  constructor(private readonly options: AgentOptions) {
    this.config = options.config;
    this.drainStore = options.drainStore ?? new MemoryDrainStore();
    this.listeners = [];
    for (const listener of options.listeners ?? []) this.addListener(listener);
    this.routing = options.routing({ desired: () => this.desired(), onReport: (report) => this.onReport(report), config: options.config });
  }

  get mode(): AgentMode {
    return this.modeValue;
  }

  get currentConfig(): AgentConfig {
    return this.config;
  }

  addListener(listener: AgentListener): void {
    this.listeners.push(listener);
    if (listener.onProbes) this.probeListeners.push(listener.onProbes.bind(listener));
  }

  // First pass removes whatever a previous run left behind (crash recovery), then probing begins.
  // Drains persisted by an earlier run apply from the first pass on.
  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'created') return;
      await this.loadDrained();
      await this.routing.start();
      this.modeValue = 'running';
      for (const service of this.config.services) this.startRunner(service);
      // The baseline: a service still drained from the last run did not just change, so nothing fires.
      this.noteStates(Promise.resolve(), 'agent started', { silent: true });
      const drained = [...this.drained.keys()];
      this.options.log.info({ services: this.config.services.length, config: this.config.file, ...(drained.length > 0 ? { drained } : {}) }, 'agent started');
    });
  }

  // Withdraws everything and stops probing; resume() starts every service afresh.
  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'running') return;
      const drains = this.beginDrains(this.announcedRunners(), 'paused');
      this.modeValue = 'paused';
      await this.stopRunners();
      await this.routing.kick();
      await drains;
      this.noteStates(Promise.resolve(), 'paused');
      this.emit('onMode', 'paused');
      this.options.log.info('paused: everything withdrawn, probing stopped');
    });
  }

  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue !== 'paused') return;
      this.modeValue = 'running';
      for (const runner of this.runners.values()) runner.start({ splay: this.options.splay ?? true });
      this.noteStates(Promise.resolve(), 'resumed');
      this.emit('onMode', 'running');
      this.options.log.info('resumed: services start afresh and need rise successes');
    });
  }

  // Withdraws everything healthcast owns and stops; safe to call more than once.
  shutdown(): Promise<void> {
    return this.serialize(async () => {
      if (this.modeValue === 'stopped') return;
      const drains = this.beginDrains(this.announcedRunners(), 'shutting down');
      this.modeValue = 'stopped';
      await this.stopRunners();
      await this.routing.kick();
      await Promise.all([drains, ...[...this.draining.values()].map((drain) => drain.done)]);
      await this.routing.kick();
      await this.routing.stop();
      this.noteStates(Promise.resolve(), 'stopped');
      this.options.log.info('stopped: everything withdrawn');
    });
  }

  // Unchanged services keep running (and stay announced), changed ones restart, removed ones are withdrawn.
  reload(next: AgentConfig): Promise<{ kept: string[]; restarted: string[]; added: string[]; removed: string[] }> {
    return this.serialize(async () => {
      const fixed: string[] = (['stateDir', 'routeProtocol', 'controlSocket', 'drainInterface'] as const).filter((key) => next[key] !== this.config[key]);
      // The routing writer talks to bgpd only when it was built with a BGP service.
      if (usesBgp(next.services) && !usesBgp(this.options.config.services)) fixed.push('the first announce: bgp service');
      if (fixed.length > 0) {
        throw new HealthcastError(ErrorCodes.CONFIG_INVALID, `cannot change ${fixed.join(', ')} on reload: restart healthcast instead`);
      }
      const result = { kept: [] as string[], restarted: [] as string[], added: [] as string[], removed: [] as string[] };
      const wanted = new Map(next.services.map((service) => [service.name, service]));
      for (const [name, runner] of this.runners) {
        const service = wanted.get(name);
        if (!service) {
          void this.beginDrains(this.wants(runner) ? [runner] : [], 'removed from the configuration');
          await runner.stop();
          this.runners.delete(name);
          this.routingView.delete(name);
          result.removed.push(name);
          this.states.delete(name);
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
      const applied = this.routing.kick();
      for (const name of result.removed) this.states.delete(name);
      this.noteStates(applied, 'configuration reloaded');
      this.emit('onReload', next);
      await applied;
      return result;
    });
  }

  // Re-read the system and repair drift now rather than at the next drift pass.
  async repair(): Promise<void> {
    await this.routing.kick();
  }

  // Probe the named services (all when empty) immediately.
  async checkNow(names: readonly string[] = []): Promise<void> {
    const runners = names.length === 0 ? [...this.runners.values()] : names.map((name) => this.runner(name));
    await Promise.all(runners.map((runner) => runner.checkNow()));
  }

  // Maintenance by service: persisted first (so it survives a crash right after), then withdrawn; resolves once the
  // withdrawal is applied. Probing goes on, so status still shows the service's health while it is drained.
  drainServices(names: readonly string[] | 'all', owner: string | DrainOwner): Promise<DrainResult> {
    const { by } = drainOwner(owner);
    return this.serialize(async () => {
      if (this.modeValue === 'stopped') throw new HealthcastError(ErrorCodes.AGENT_STATE, 'the agent is stopping; nothing to drain');
      const services = names === 'all' ? [...this.runners.keys()] : [...new Set(names)];
      for (const name of services) this.runner(name);
      const newly = services.filter((name) => !this.drained.has(name));
      if (newly.length === 0) return { services, newly, errors: [] };
      const since = new Date().toISOString();
      const announced = newly.map((name) => this.runner(name)).filter((runner) => this.wants(runner));
      await this.persistDrained((drained) => {
        for (const name of newly) drained.set(name, { name, since, ...drainOwner(owner) });
      });
      this.options.log.info({ services: newly, by }, `draining ${newly.join(', ')}`);
      const errors = await this.withdrawPlanned(newly, `drained by ${by}`, announced);
      return { services, newly, errors };
    });
  }

  // Ends the maintenance of the named services (all drained ones for 'all', including services no longer configured).
  resumeServices(names: readonly string[] | 'all', by: string): Promise<ResumeResult> {
    return this.serialize(async () => {
      const asked = names === 'all' ? [...this.drained.keys()] : [...new Set(names)];
      if (names !== 'all') for (const name of asked) if (!this.drained.has(name)) this.runner(name);
      const services = asked.filter((name) => this.drained.has(name));
      const notDrained = asked.filter((name) => !this.drained.has(name));
      if (services.length === 0) return { services, notDrained };
      await this.persistDrained((drained) => {
        for (const name of services) drained.delete(name);
      });
      this.options.log.info({ services, by }, `resuming ${services.join(', ')}`);
      const applied = this.routing.kick();
      this.noteStates(applied, `resumed by ${by}`);
      await applied;
      return { services, notDrained };
    });
  }

  get drainedServices(): DrainEntry[] {
    return [...this.drained.values()];
  }

  status(): ServiceStatus[] {
    return [...this.runners.values()].map((runner) => {
      const view = this.routingView.get(runner.name);
      return {
        name: runner.name,
        state: this.stateOf(runner),
        phase: runner.state.phase,
        successes: runner.state.successes,
        failures: runner.state.failures,
        addresses: runner.config.addresses,
        wanted: this.wants(runner),
        announced: view?.announced ?? false,
        routingError: view?.error,
        last: runner.last,
        advertised: this.options.advertised?.(runner.name, runner.config.addresses),
        drained: this.drained.get(runner.name),
        draining: this.draining.has(runner.name),
        announce: runner.config.announce,
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
    const wanted = new Set<string>();
    for (const runner of this.runners.values()) {
      if (!this.wants(runner)) continue;
      wanted.add(runner.name);
      entries.push(...announceEntries(runner.config));
    }
    for (const [name, drain] of this.draining) if (!wanted.has(name)) entries.push(...drain.entries);
    return entries;
  }

  private wants(runner: ServiceRunner): boolean {
    return this.modeValue === 'running' && runner.isRunning && isAnnounced(runner.state.phase) && !this.drained.has(runner.name);
  }

  private stateOf(runner: ServiceRunner): ServiceState {
    return serviceState({ mode: this.modeValue, drained: this.drained.has(runner.name), phase: runner.state.phase });
  }

  // The one place a planned withdrawal happens (drain, scheduled maintenance). desired() already leaves the services
  // out; this applies it and waits. The graceful step of the FRR integration (stop advertising first, keep the address
  // for `drain` seconds, then remove it) belongs here.
  private async withdrawPlanned(services: readonly string[], reason: string, announced: readonly ServiceRunner[] = []): Promise<string[]> {
    const drains = this.beginDrains(announced, reason);
    const applied = this.routing.kick();
    this.noteStates(applied, reason);
    await applied;
    await drains;
    // Judge by a pass after the drain: during it the addresses are desired on the drain interface on purpose.
    const report = await this.routing.kick();
    const stillWanted = [...report.desired.values()].filter((status) => services.includes(status.service));
    return [...report.errors, ...stillWanted.map((status) => `${status.service} is still wanted`)];
  }

  private announcedRunners(): ServiceRunner[] {
    return [...this.runners.values()].filter((runner) => this.wants(runner));
  }

  // Make before break: the caller makes the services unwanted and kicks; their addresses move to the drain interface
  // (no longer advertised, still answered), and when `drain` has passed they go. Resolves once they are gone.
  private beginDrains(runners: readonly ServiceRunner[], reason: string): Promise<void> {
    const started: Promise<void>[] = [];
    for (const runner of runners) {
      const { config } = runner;
      const entries = drainEntries(config, this.config.drainInterface);
      if (config.drainMs <= 0 || entries.length === 0 || this.draining.has(config.name)) continue;
      this.options.log.info({ service: config.name, drain_ms: config.drainMs, reason }, `draining: advertisement withdrawn, addresses kept on ${this.config.drainInterface} for ${config.drainMs}ms`);
      // The period counts from the pass that parks the addresses (on a loaded machine, or behind a pause that first
      // stops the probes, it can come 100 ms after the decision), so they stay parked for all of `drain`. If no such
      // pass comes (the service is wanted again first), it counts from a second after now.
      const parked = new Promise<void>((resolve) => {
        const waiting = { keys: entries.map(entryKey), parked: () => (this.parking.delete(waiting), clearTimeout(fallback), resolve()) };
        const fallback = setTimeout(waiting.parked, 1000);
        this.parking.add(waiting);
      });
      const done = parked.then(() => new Promise<void>((resolve) => setTimeout(resolve, config.drainMs))).then(async () => {
        this.draining.delete(config.name);
        await this.routing.kick();
      });
      this.draining.set(config.name, { entries, done });
      started.push(done);
    }
    return Promise.all(started).then(() => undefined);
  }

  private async loadDrained(): Promise<void> {
    try {
      for (const entry of await this.drainStore.load()) this.drained.set(entry.name, entry);
    } catch (error) {
      this.options.log.error({ err: messageOf(error) }, 'drain record unusable; starting with no service drained');
    }
  }

  // The record on disk changes first; memory follows only when the write succeeded.
  private async persistDrained(change: (drained: Map<string, DrainEntry>) => void): Promise<void> {
    const next = new Map(this.drained);
    change(next);
    await this.drainStore.save([...next.values()]);
    this.drained.clear();
    for (const [name, entry] of next) this.drained.set(name, entry);
  }

  // Compares every service's state with the last one seen; listeners hear about changes once `applied` settles.
  // A probe round notes only its own service: walking every runner each round would cost O(services²) per interval.
  private noteStates(applied: Promise<unknown>, why: string, options: { silent?: boolean; only?: ServiceRunner } = {}): void {
    for (const runner of options.only ? [options.only] : this.runners.values()) {
      const to = this.stateOf(runner);
      const from = this.states.get(runner.name) ?? 'unknown';
      this.states.set(runner.name, to);
      if (from === to || options.silent) continue;
      const reason = to === 'up' || to === 'down' ? (runner.last?.reason ?? why) : why;
      const change: StateChange = { service: runner.name, from, to, addresses: [...runner.config.addresses], reason };
      void applied.then(
        () => this.emit('onStateApplied', change),
        () => this.emit('onStateApplied', change),
      );
    }
  }

  private emit<K extends keyof AgentListener>(event: K, ...args: Parameters<NonNullable<AgentListener[K]>>): void {
    for (const listener of this.listeners) {
      try {
        (listener[event] as ((...a: typeof args) => void) | undefined)?.(...args);
      } catch (error) {
        this.options.log.error({ err: messageOf(error), event }, 'agent listener failed');
      }
    }
  }

  private emitProbes(service: ServiceConfig, run: ServiceProbeRun, lateMs: number | undefined): void {
    for (const listener of this.probeListeners) {
      try {
        listener(service, run, lateMs);
      } catch (error) {
        this.options.log.error({ err: messageOf(error), event: 'onProbes' }, 'agent listener failed');
      }
    }
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
      onProbes: (runner, run, lateMs) => this.emitProbes(runner.config, run, lateMs),
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
    if (previous.phase === next.phase) {
      // Guarded: at 1,000 rounds a second the fields object alone is garbage worth avoiding when debug is off.
      if (log.isLevelEnabled('debug')) log.debug({ phase: next.phase, ok: last?.ok, reason: last?.reason, latency_ms: last?.durationMs, late_ms: last?.lateMs }, 'probe round');
      // The service's state follows from its phase, the mode and its drain: the last two note every service when they
      // change, so a round that keeps the phase changes nothing to note or apply.
      return;
    }
    log.info({ from: previous.phase, to: next.phase, reason: last?.reason, latency_ms: last?.durationMs, late_ms: last?.lateMs }, `state ${previous.phase} -> ${next.phase}`);
    this.emit('onPhase', runner.name, previous.phase, next.phase);
    let applied: Promise<unknown> = Promise.resolve();
    if (isAnnounced(previous.phase) !== isAnnounced(next.phase) && !this.drained.has(runner.name)) {
      if (!isAnnounced(next.phase) && runner.config.drainOnFailure && this.modeValue === 'running') void this.beginDrains([runner], 'health failure');
      const decidedAt = Date.now();
      const kick = this.routing.kick();
      applied = kick;
      void kick.then(
        (report) => log.info({ announce: isAnnounced(next.phase), decision_to_kernel_ms: Date.now() - decidedAt, reconcile_ms: report.durationMs }, isAnnounced(next.phase) ? 'announce applied' : 'withdraw applied'),
        (error: unknown) => log.error({ err: error }, 'routing update failed'),
      );
    }
    this.noteStates(applied, 'probe result', { only: runner });
  }

  private onReport(report: ReconcileReport): void {
    for (const waiting of this.parking) if (waiting.keys.every((key) => report.desired.has(key))) waiting.parked();
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
    this.emit('onReport', report);
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
