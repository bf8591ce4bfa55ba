// The supervisor: routes events to each service's record (service-record.ts decides), and the records' effects to the
// single routing writer, the timers and the listeners. build() returns it without touching the process.
import type { AgentConfig, ServiceConfig } from '../config/types.js';
import { serviceFingerprint } from '../config/types.js';
import type { Logger } from '../log.js';
import { entryKey, type DesiredEntry, type ReconcileReport } from '../routing/types.js';
import type { LeaseStatus } from '../routing/reconciler.js';
import { ServiceRunner, SlotTimers } from './service-runner.js';
import type { Phase } from './state-machine.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import type { ServiceProbeRun } from './probe-service.js';
import { DISABLE_ALL } from '../maintenance/disable-dir.js';
import { drainOwner, MemoryDrainStore, type DrainEntry, type DrainOwner, type DrainStore } from '../maintenance/drain-store.js';
import type { ServiceState } from './service-state.js';
import { usesBgp } from './announcement.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { FreezeWatch } from './freeze-watch.js';
import { freezeThresholdMs } from './freeze.js';
import type { DegradedAddress } from '../frr/degraded-plan.js';
import { decayed } from './damping.js';
import { probeIntervalMs } from './probe-interval.js';
import type { FleetReading } from '../fleet/watcher.js';
import { serviceAdvertisers } from '../fleet/lsdb.js';
import {
  desiredEntries,
  isDegraded,
  keepWatching,
  keptLast,
  newRecord,
  next,
  stateOf,
  wants,
  type AgentMode,
  type AgentView,
  type Effect,
  type LastResult,
  type RoutingView,
  type ServiceEvent,
  type ServiceRecord,
} from './service-record.js';

export type { AgentMode, LastResult } from './service-record.js';

// The routing writer as the agent sees it (src/routing/reconciler.ts implements it).
export interface RoutingWriter {
  start(): Promise<ReconcileReport>;
  kick(): Promise<ReconcileReport>;
  stop(): Promise<void>;
  // The address lease and its last renewal, for status (undefined: off).
  lease?(): LeaseStatus | undefined;
}

export type RoutingFactory = (options: { desired: () => DesiredEntry[]; onReport: (report: ReconcileReport) => void; config: AgentConfig }) => RoutingWriter;

// The writer of the advertised metric (src/frr/degraded-lists.ts); only built when a service has degrade probes.
export interface PolicyWriter {
  start(): Promise<void>;
  kick(): Promise<void>;
  stop(): void;
}

export type PolicyFactory = (options: { degraded: () => DegradedAddress[]; config: AgentConfig }) => PolicyWriter | undefined;

// What status shows: the service's state, or `draining` while its grace period keeps the addresses parked.
export type ShownState = ServiceState | 'draining';

export interface ServiceStatus {
  name: string;
  state: ShownState;
  phase: Phase;
  successes: number;
  failures: number;
  addresses: string[];
  wanted: boolean; // healthy enough to announce, and the agent is running
  announced: boolean; // wanted, and every address is on the system as announced (parked ones do not count)
  routingError: string | undefined;
  last: LastResult | undefined;
  // Whether FRR advertises the addresses, when an advertisement source is wired (undefined: not known).
  advertised: boolean | undefined;
  // The operator's hold (maintenance), when there is one.
  drained: DrainEntry | undefined;
  // Every hold on the service, the disable file's first (drained is the first of them).
  holds?: DrainEntry[];
  // In its grace period: no longer advertised, still answered.
  draining: boolean;
  announce: ServiceConfig['announce'];
  // Routing policy: the metric advertised now (undefined: the FRR config's default), why it is degraded, and flap damping.
  metric?: number | undefined;
  degradedReason?: string;
  damping?: { penalty: number; suppressed: boolean; reuseAt: string | undefined };
  // The routers (router-ids) advertising every address, this one included, from FRR's LSDB (undefined: not known).
  advertisers?: string[] | undefined;
  // keep_last holds the failing service announced: no other router advertises it.
  keptLast?: boolean;
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
  // A routing change health decided has been applied, this long after the decision (monotonic ms).
  onRoutingApplied?(service: string, announce: boolean, decisionToKernelMs: number): void;
  // A new configuration was accepted (scheduled maintenance reschedules here).
  onReload?(config: AgentConfig): void;
  // The agent paused (everything withdrawn, the process is about to stop itself) or runs again.
  onMode?(mode: AgentMode): void;
  // keep_last began (kept) or stopped holding a failing service as the last advertiser.
  onKeptLast?(service: string, kept: boolean): void;
}

export interface DrainResult {
  services: string[]; // everything asked for, now drained
  newly: string[]; // drained by this request (the rest were already drained)
  errors: string[]; // routing errors of the withdrawal, if any
  // Services no other router advertised when they were drained (the LSDB said so): the drain left none.
  alone?: string[];
}

export interface ResumeResult {
  services: string[]; // resumed by this request
  notDrained: string[];
  // Still held by a disable file: they stay in maintenance until it is removed, whatever `resume` says.
  heldByFile?: string[];
}

export interface DisableResult {
  held: string[]; // newly in maintenance by a disable file
  released: string[]; // no longer held by any file (resumed unless an operator's drain holds them)
}

export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  routing: RoutingFactory;
  clock?: Clock;
  random?: () => number;
  splay?: boolean;
  // Where maintenance holds are persisted (state_dir/drained.json in the process); in memory when omitted.
  drainStore?: DrainStore;
  listeners?: AgentListener[];
  advertised?: (service: string, addresses: readonly string[]) => boolean | undefined;
  policy?: PolicyFactory;
  // Asks the fleet watcher for a fresh reading of the advertisers (keep_last decisions wait for one).
  readFleet?: () => void;
}

// One service as the agent holds it: the pure record, and the side-effect handles its effects act on.
interface ServiceSlot {
  record: ServiceRecord;
  runner: ServiceRunner;
  log: Logger;
  timer: Timer | undefined;
  // keep_last's timer (guard period, overdue reading).
  keepTimer?: Timer | undefined;
  // Settles when the grace period in progress ends.
  graceDone: { promise: Promise<void>; resolve: () => void } | undefined;
}

export class Agent {
  private config: AgentConfig;
  private readonly services = new Map<string, ServiceSlot>();
  // Services removed from the configuration during their grace period: their parked entries stay until it ends.
  private readonly retiring = new Map<string, ServiceSlot>();
  // The persisted truth of maintenance holds; may name services that are no longer configured.
  private readonly holds = new Map<string, DrainEntry>();
  // The disable directory's holds, by service name or `all` (src/maintenance/disable-dir.ts); a holder of their own:
  // removing a file never ends an operator's drain, and `resume` never ends a file's hold.
  private readonly disabled = new Map<string, DrainEntry>();
  private readonly view: AgentView;
  private readonly routing: RoutingWriter;
  private readonly policy: PolicyWriter | undefined;
  private readonly clock: Clock;
  private readonly slots: SlotTimers;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly drainStore: DrainStore;
  private readonly listeners: AgentListener[];
  // The listeners' onProbes, bound: called 1,000 times a second at 1,000 services, without emit's lookup by name.
  private readonly probeListeners: NonNullable<AgentListener['onProbes']>[] = [];
  // Notices that the agent did not run (someone else's SIGSTOP, a debugger, a cgroup freeze, a blocked loop).
  private readonly freezeWatch: FreezeWatch;
  readonly startedAt: number;

  constructor(private readonly options: AgentOptions) {
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.slots = new SlotTimers(this.clock);
    this.startedAt = this.clock.now();
    this.view = { mode: 'created', drainInterface: options.config.drainInterface };
    this.drainStore = options.drainStore ?? new MemoryDrainStore();
    this.listeners = [];
    for (const listener of options.listeners ?? []) this.addListener(listener);
    this.freezeWatch = new FreezeWatch(this.clock, freezeThresholdMs(options.config.leaseMs), (awayMs) => this.afterFreeze(awayMs));
    // Every pass asks about a freeze first: the first pass after SIGCONT must not re-add what the kernel let expire on
    // the strength of health from before the freeze.
    const desired = () => {
      this.freezeWatch.check();
      return this.desired();
    };
    this.routing = options.routing({ desired, onReport: (report) => this.onReport(report), config: options.config });
    this.policy = options.policy?.({ degraded: () => this.degradedAddresses(), config: options.config });
  }

  get mode(): AgentMode {
    return this.view.mode;
  }

  get currentConfig(): AgentConfig {
    return this.config;
  }

  addListener(listener: AgentListener): void {
    this.listeners.push(listener);
    if (listener.onProbes) this.probeListeners.push(listener.onProbes.bind(listener));
  }

  // First pass removes whatever a previous run left behind (crash recovery), then probing begins.
  // Holds persisted by an earlier run apply from the first pass on.
  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.view.mode !== 'created') return;
      await this.loadHolds();
      for (const service of this.config.services) this.addService(service);
      // Degrade-capable services start degraded (fail closed): listed before their addresses are ever announced.
      await this.policy?.start();
      await this.routing.start();
      this.view.mode = 'running';
      this.freezeWatch.start();
      for (const slot of this.services.values()) this.startProbing(slot);
      // The baseline: a service still held from the last run did not just change, so nothing fires.
      this.noteAll('agent started', true);
      const drained = [...this.holds.keys()];
      this.options.log.info({ services: this.config.services.length, config: this.config.file, ...(drained.length > 0 ? { drained } : {}) }, 'agent started');
    });
  }

  // Withdraws everything and stops probing; resume() starts every service afresh.
  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.view.mode !== 'running') return;
      // The process is about to stop itself: that gap is planned, and resume() starts afresh anyway.
      this.freezeWatch.stop();
      const graces = this.changeMode('paused');
      await this.stopRunners();
      await this.routing.kick();
      await graces;
      this.noteAll('paused');
      this.emit('onMode', 'paused');
      this.options.log.info('paused: everything withdrawn, probing stopped');
    });
  }

  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.view.mode !== 'paused') return;
      this.changeMode('running');
      this.freezeWatch.start();
      for (const slot of this.services.values()) this.startProbing(slot);
      this.noteAll('resumed');
      this.emit('onMode', 'running');
      this.options.log.info('resumed: services start afresh and need rise successes');
    });
  }

  // Withdraws everything healthcast owns and stops; safe to call more than once.
  shutdown(): Promise<void> {
    return this.serialize(async () => {
      if (this.view.mode === 'stopped') return;
      this.freezeWatch.stop();
      this.changeMode('stopped');
      await this.stopRunners();
      await this.routing.kick();
      await this.gracesOf([...this.services.values(), ...this.retiring.values()]);
      await this.routing.kick();
      await this.routing.stop();
      this.policy?.stop();
      this.noteAll('stopped');
      this.options.log.info('stopped: everything withdrawn');
    });
  }

  // Unchanged services keep running (and stay announced), changed ones restart, removed ones are withdrawn.
  reload(config: AgentConfig): Promise<{ kept: string[]; restarted: string[]; added: string[]; removed: string[] }> {
    return this.serialize(async () => {
      const fixed: string[] = (['stateDir', 'routeProtocol', 'controlSocket', 'drainInterface', 'leaseMs'] as const).filter(
        (key) => config[key] !== this.config[key],
      );
      // The routing writer talks to bgpd only when it was built with a BGP service.
      if (usesBgp(config.services) && !usesBgp(this.options.config.services)) fixed.push('the first announce: bgp service');
      if (fixed.length > 0) {
        throw new HealthcastError(ErrorCodes.CONFIG_INVALID, `cannot change ${fixed.join(', ')} on reload: restart healthcast instead`);
      }
      const result = { kept: [] as string[], restarted: [] as string[], added: [] as string[], removed: [] as string[] };
      const wanted = new Map(config.services.map((service) => [service.name, service]));
      for (const [name, slot] of this.services) {
        const service = wanted.get(name);
        if (!service) {
          this.dispatch(slot, { kind: 'removed' });
          await slot.runner.stop();
          this.services.delete(name);
          if (slot.record.grace) this.retiring.set(name, slot);
          else this.clearTimer(slot);
          result.removed.push(name);
        } else if (serviceFingerprint(service) !== serviceFingerprint(slot.runner.config)) {
          await slot.runner.stop();
          result.restarted.push(name);
        } else {
          result.kept.push(name);
        }
      }
      this.config = config;
      for (const service of config.services) {
        if (result.kept.includes(service.name)) continue;
        if (!result.restarted.includes(service.name)) result.added.push(service.name);
        const slot = this.addService(service);
        if (this.view.mode === 'running') this.startProbing(slot);
      }
      this.options.log.level = config.logLevel;
      this.options.log.info(result, 'configuration reloaded');
      const applied = this.routing.kick();
      this.noteAll('configuration reloaded', false, applied);
      this.emit('onReload', config);
      await applied;
      return result;
    });
  }

  // The agent did not run for `awayMs` without pausing itself: what it knows of health is that old, and the kernel may
  // have let the leased addresses expire. As after SIGTSTP/SIGCONT, every service starts afresh (fail closed): health
  // back to init at once (the pass that asked sees it), then fresh runners, so nothing is announced again before `rise`
  // fresh successes. No grace period: the service may have died while the agent was away.
  private afterFreeze(awayMs: number): void {
    if (this.view.mode !== 'running') return;
    const away = Math.round(awayMs);
    this.options.log.warn(
      { gap_ms: away, services: this.services.size },
      `the agent did not run for ${away} ms (stopped by someone else, frozen, or its event loop blocked): every service starts afresh and needs rise fresh successes`,
    );
    for (const slot of this.services.values()) this.dispatch(slot, { kind: 'restart' });
    void this.serialize(async () => {
      if (this.view.mode !== 'running') return;
      await this.stopRunners();
      for (const slot of this.services.values()) this.startProbing(slot);
      const applied = this.routing.kick();
      this.noteAll(`restarted after ${away} ms without running`, false, applied);
      await applied;
    });
  }

  // Re-read the system and repair drift now rather than at the next drift pass.
  async repair(): Promise<void> {
    await this.routing.kick();
  }

  // Probe the named services (all when empty) immediately.
  async checkNow(names: readonly string[] = []): Promise<void> {
    const slots = names.length === 0 ? [...this.services.values()] : names.map((name) => this.slot(name));
    await Promise.all(slots.map((slot) => slot.runner.checkNow()));
  }

  // Maintenance by service: persisted first (so it survives a crash right after), then withdrawn; resolves once the
  // withdrawal is applied. Probing goes on, so status still shows the service's health while it is held. The owner
  // (a wrapper's pid) lets the hold watch end a hold whose holder has gone.
  drainServices(names: readonly string[] | 'all', owner: string | DrainOwner): Promise<DrainResult> {
    const { by } = drainOwner(owner);
    return this.serialize(async () => {
      if (this.view.mode === 'stopped') throw new HealthcastError(ErrorCodes.AGENT_STATE, 'the agent is stopping; nothing to drain');
      const services = names === 'all' ? [...this.services.keys()] : [...new Set(names)];
      for (const name of services) this.slot(name);
      const newly = services.filter((name) => !this.holds.has(name));
      if (newly.length === 0) return { services, newly, errors: [], alone: [] };
      const alone = newly.filter((name) => this.lastAdvertiser(this.slot(name)));
      const since = new Date(this.clock.now()).toISOString();
      await this.persistHolds((holds) => {
        for (const name of newly) holds.set(name, { name, since, ...drainOwner(owner) });
      });
      this.options.log.info({ services: newly, by }, `draining ${newly.join(', ')}`);
      const slots = newly.map((name) => this.slot(name));
      for (const slot of slots) this.dispatch(slot, { kind: 'maintenance', hold: this.holdOf(slot.runner.name) });
      if (alone.length > 0)
        this.options.log.warn({ services: alone }, `drained although no other router advertises ${alone.join(', ')}: left with no advertiser`);
      const errors = await this.withdrawPlanned(slots, `drained by ${by}`);
      return { services, newly, errors, alone };
    });
  }

  // Ends the maintenance of the named services (all held ones for 'all', including services no longer configured).
  resumeServices(names: readonly string[] | 'all', by: string): Promise<ResumeResult> {
    return this.serialize(async () => {
      const asked = names === 'all' ? [...this.holds.keys()] : [...new Set(names)];
      if (names !== 'all') for (const name of asked) if (!this.holds.has(name)) this.slot(name);
      const services = asked.filter((name) => this.holds.has(name));
      const heldByFile = asked.filter((name) => this.fileHoldOf(name) !== undefined);
      const notDrained = asked.filter((name) => !this.holds.has(name) && !heldByFile.includes(name));
      const byFile = heldByFile.length > 0 ? { heldByFile } : {};
      if (services.length === 0) return { services, notDrained, ...byFile };
      await this.persistHolds((holds) => {
        for (const name of services) holds.delete(name);
      });
      this.options.log.info({ services, by }, `resuming ${services.join(', ')}`);
      for (const name of services) {
        const slot = this.services.get(name);
        if (slot) this.dispatch(slot, { kind: 'maintenance', hold: this.holdOf(name) });
      }
      const applied = this.routing.kick();
      this.noteAll(`resumed by ${by}`, false, applied);
      await applied;
      return { services, notDrained, ...byFile };
    });
  }

  // A new reading of the advertisers: status shows it, and keep_last decisions waiting for one decide now.
  onFleetReading(reading: FleetReading): void {
    this.view.fleet = reading;
    for (const slot of this.services.values()) if (slot.record.keep) this.dispatch(slot, { kind: 'fleet' });
  }

  // Whether a service is held by keep_last (the fleet is then read more often).
  anyKept(): boolean {
    for (const slot of this.services.values()) if (keepWatching(slot.record, this.clock.now())) return true;
    return false;
  }

  // Announced here, and the LSDB shows no other router advertising one of its addresses.
  private lastAdvertiser(slot: ServiceSlot): boolean {
    const snapshot = this.view.fleet?.snapshot;
    if (!snapshot || slot.record.config.announce === 'bgp' || !wants(slot.record, this.view.mode)) return false;
    return slot.record.config.addresses.some((address) => {
      const others = serviceAdvertisers(snapshot, [address])!.filter((id) => id !== snapshot.routerId);
      return others.length === 0;
    });
  }

  get drainedServices(): DrainEntry[] {
    return [...this.holds.values()];
  }

  // The holds of the disable files, replacing the last ones (src/maintenance/disable-watch.ts calls it on a change).
  // A newly held service drains as after `healthcast drain`; resolves once the withdrawal (and its grace) is applied.
  setDisableFiles(holds: ReadonlyMap<string, DrainEntry>): Promise<DisableResult> {
    return this.serialize(async () => {
      if (this.view.mode === 'stopped') return { held: [], released: [] };
      const before = new Map([...this.services.keys()].map((name) => [name, this.fileHoldOf(name)]));
      this.disabled.clear();
      for (const [target, hold] of holds) this.disabled.set(target, hold);
      const held: ServiceSlot[] = [];
      const released: string[] = [];
      for (const [name, slot] of this.services) {
        const was = before.get(name);
        const now = this.fileHoldOf(name);
        if (was?.file === now?.file && was?.note === now?.note) continue;
        if (!was) held.push(slot);
        if (!now) released.push(name);
        this.dispatch(slot, { kind: 'maintenance', hold: this.holdOf(name) });
      }
      const result = { held: held.map((slot) => slot.runner.name), released };
      if (held.length > 0) this.options.log.info({ services: result.held }, `disabled by file: ${result.held.join(', ')}`);
      if (released.length > 0) this.options.log.info({ services: released }, `disable file removed: ${released.join(', ')}`);
      // Before the start there is nothing announced to withdraw: the first pass already leaves them out.
      if (this.view.mode === 'created' || (held.length === 0 && released.length === 0)) return result;
      if (held.length > 0) await this.withdrawPlanned(held, 'disabled by file');
      if (released.length > 0) {
        const applied = this.routing.kick();
        this.noteAll('disable file removed', false, applied);
        await applied;
      }
      return result;
    });
  }

  // The routing writer's address lease, for status (undefined: off, or a writer without one).
  lease(): LeaseStatus | undefined {
    return this.routing.lease?.();
  }

  status(): ServiceStatus[] {
    return [...this.services.values()].map(({ record, runner }) => {
      const wanted = wants(record, this.view.mode);
      return {
        name: runner.name,
        state: record.grace && !wanted ? 'draining' : stateOf(record, this.view.mode),
        phase: record.health.phase,
        successes: record.health.successes,
        failures: record.health.failures,
        addresses: record.config.addresses,
        wanted,
        announced: wanted && (record.routing?.announced ?? false),
        routingError: record.routing?.error,
        last: record.last,
        advertised: this.options.advertised?.(runner.name, record.config.addresses),
        drained: record.maintenance,
        holds: this.holdsOf(runner.name),
        draining: record.grace !== undefined,
        announce: record.config.announce,
        ...this.policyStatus(record),
        advertisers: record.config.announce === 'bgp' ? undefined : serviceAdvertisers(this.view.fleet?.snapshot, record.config.addresses),
        keptLast: keptLast(record),
      };
    });
  }

  private policyStatus(record: ServiceRecord): Pick<ServiceStatus, 'metric' | 'degradedReason' | 'damping'> {
    const degraded = isDegraded(record);
    const { damping } = record;
    const config = record.config.damping;
    return {
      metric: degraded ? record.config.degradedMetric : record.config.metric,
      ...(degraded ? { degradedReason: record.degrade!.reason } : {}),
      ...(damping && config
        ? {
            damping: {
              penalty: Math.round(decayed(damping, config, this.clock.now())),
              suppressed: damping.suppressedUntil !== undefined,
              reuseAt: damping.suppressedUntil === undefined ? undefined : new Date(damping.suppressedUntil).toISOString(),
            },
          }
        : {}),
    };
  }

  logStates(): void {
    for (const status of this.status()) {
      this.options.log.info({ ...status, mode: this.view.mode }, 'service state');
    }
  }

  // What should be on the system now: the single source of truth the reconciler converges to.
  // The addresses the degraded prefix-lists should hold, with their degraded metric.
  degradedAddresses(): DegradedAddress[] {
    const degraded: DegradedAddress[] = [];
    for (const slot of this.services.values()) {
      const metric = slot.record.config.degradedMetric;
      if (metric === undefined || !isDegraded(slot.record)) continue;
      for (const address of slot.record.config.addresses) degraded.push({ address, metric });
    }
    return degraded;
  }

  desired(): DesiredEntry[] {
    const entries: DesiredEntry[] = [];
    for (const slot of this.services.values()) entries.push(...desiredEntries(slot.record, this.view.mode));
    for (const slot of this.retiring.values()) entries.push(...(slot.record.grace?.entries ?? []));
    return entries;
  }

  // Applies a planned withdrawal the records already decided (their grace periods started) and waits for it to end.
  private async withdrawPlanned(slots: readonly ServiceSlot[], reason: string): Promise<string[]> {
    const applied = this.routing.kick();
    this.noteAll(reason, false, applied);
    await applied;
    await this.gracesOf(slots);
    // Judge by a pass after the grace period: during it the addresses are desired on the drain interface on purpose.
    const report = await this.routing.kick();
    const names = new Set(slots.map((slot) => slot.runner.name));
    const stillWanted = [...report.desired.values()].filter((status) => names.has(status.service));
    return [...report.errors, ...stillWanted.map((status) => `${status.service} is still wanted`)];
  }

  private changeMode(mode: AgentMode): Promise<void> {
    const from = this.view.mode;
    for (const slot of this.services.values()) this.dispatch(slot, { kind: 'mode', from, to: mode });
    this.view.mode = mode;
    return this.gracesOf([...this.services.values()]);
  }

  private gracesOf(slots: readonly ServiceSlot[]): Promise<void> {
    return Promise.all(slots.map((slot) => slot.graceDone?.promise)).then(() => undefined);
  }

  // The one place a record changes: the decision is next()'s, the agent only carries out its effects.
  private dispatch(slot: ServiceSlot, event: ServiceEvent, applied?: Promise<unknown>): void {
    const { record, effects } = next(slot.record, event, this.clock.now(), this.view);
    slot.record = record;
    if (!record.keep && slot.keepTimer) {
      this.clock.clearTimeout(slot.keepTimer);
      slot.keepTimer = undefined;
    }
    if (effects.length > 0) this.carryOut(slot, effects, applied);
  }

  private carryOut(slot: ServiceSlot, effects: readonly Effect[], applied: Promise<unknown> = Promise.resolve()): void {
    const name = slot.runner.name;
    for (const effect of effects) {
      switch (effect.kind) {
        case 'kick':
          applied = this.kickFor(slot, effect.announce);
          break;
        case 'phase': {
          const last = slot.record.last;
          slot.log.info(
            { from: effect.from, to: effect.to, reason: last?.reason, latency_ms: last?.durationMs, late_ms: last?.lateMs },
            `state ${effect.from} -> ${effect.to}`,
          );
          this.emit('onPhase', name, effect.from, effect.to);
          break;
        }
        case 'state': {
          const change: StateChange = { service: name, from: effect.from, to: effect.to, addresses: [...slot.record.config.addresses], reason: effect.reason };
          const tell = () => this.emit('onStateApplied', change);
          void applied.then(tell, tell);
          break;
        }
        case 'timer':
          this.clearTimer(slot);
          slot.timer = this.clock.setTimeout(() => this.onTimer(slot), Math.max(0, effect.at - this.clock.now()));
          break;
        case 'grace-started': {
          let resolve!: () => void;
          const promise = new Promise<void>((done) => (resolve = done));
          slot.graceDone = { promise, resolve };
          this.options.log.info(
            { service: name, drain_ms: effect.ms, reason: effect.reason },
            `draining: advertisement withdrawn, addresses kept on ${this.view.drainInterface} for ${effect.ms}ms`,
          );
          break;
        }
        case 'grace-ended':
          this.clearTimer(slot);
          void applied.then(slot.graceDone?.resolve, slot.graceDone?.resolve);
          slot.graceDone = undefined;
          if (this.retiring.get(name) === slot) this.retiring.delete(name);
          break;
        case 'policy':
          slot.log.info(
            { degraded: effect.degraded, reason: effect.reason },
            effect.degraded ? 'degraded: advertised with degraded_metric' : 'no longer degraded',
          );
          void this.policy?.kick();
          break;
        case 'suppressed':
          slot.log.warn(
            { penalty: effect.penalty, reuse_at: new Date(effect.until).toISOString() },
            'flap damping: withdrawn until the penalty decays below reuse',
          );
          break;
        case 'routing-error':
          this.options.log.warn({ service: name, error: effect.error }, 'service addresses cannot be announced');
          break;
        case 'fleet-read':
          this.options.readFleet?.();
          break;
        case 'recheck':
          this.clock.clearTimeout(slot.keepTimer);
          slot.keepTimer = this.clock.setTimeout(
            () => {
              slot.keepTimer = undefined;
              this.dispatch(slot, { kind: 'recheck' });
            },
            Math.max(0, effect.at - this.clock.now()),
          );
          break;
        case 'kept-last':
          if (effect.kept)
            slot.log.warn({ reason: effect.reason, keep_last: true }, 'keep_last: the last advertiser: addresses kept announced although the service is down');
          else slot.log.info({ reason: effect.reason, keep_last: true }, 'keep_last: no longer the last advertiser');
          this.emit('onKeptLast', name, effect.kept);
          break;
        case 'keep-rescue':
          slot.log.warn({ reason: effect.reason, keep_last: true }, 'keep_last: announced again: no router advertises the service');
          break;
        case 'keep-withdraw':
          if (effect.unknown) slot.log.warn({ reason: effect.reason, keep_last: true }, 'keep_last: withdrawing: advertisers unknown');
          else slot.log.info({ reason: effect.reason, keep_last: true }, 'keep_last: withdrawing');
          break;
      }
    }
  }

  // A kick health decided: logged with the time from the decision to the kernel.
  private kickFor(slot: ServiceSlot, announce: boolean | undefined): Promise<unknown> {
    const kick = this.routing.kick();
    if (announce === undefined) return kick;
    const decidedAt = this.clock.monotonic();
    void kick.then(
      (report) => {
        const ms = this.clock.monotonic() - decidedAt;
        slot.log.info({ announce, decision_to_kernel_ms: ms, reconcile_ms: report.durationMs }, announce ? 'announce applied' : 'withdraw applied');
        this.emit('onRoutingApplied', slot.runner.name, announce, ms);
      },
      (error: unknown) => slot.log.error({ err: error }, 'routing update failed'),
    );
    return kick;
  }

  private onTimer(slot: ServiceSlot): void {
    slot.timer = undefined;
    this.dispatch(slot, { kind: 'timer' });
  }

  private clearTimer(slot: ServiceSlot): void {
    this.clock.clearTimeout(slot.timer);
    slot.timer = undefined;
  }

  // Tells listeners of every state change since they last heard; they hear once `applied` settles.
  private noteAll(why: string, silent = false, applied?: Promise<unknown>): void {
    for (const slot of this.services.values()) this.dispatch(slot, { kind: 'note', why, silent }, applied);
  }

  private async loadHolds(): Promise<void> {
    try {
      for (const entry of await this.drainStore.load()) this.holds.set(entry.name, entry);
    } catch (error) {
      this.options.log.error({ err: messageOf(error) }, 'drain record unusable; starting with no service drained');
    }
  }

  // The record on disk changes first; memory follows only when the write succeeded.
  private async persistHolds(change: (holds: Map<string, DrainEntry>) => void): Promise<void> {
    const updated = new Map(this.holds);
    change(updated);
    await this.drainStore.save([...updated.values()]);
    this.holds.clear();
    for (const [name, entry] of updated) this.holds.set(name, entry);
  }

  // A disable file's hold on the service: its own file, else `all`.
  private fileHoldOf(name: string): DrainEntry | undefined {
    const hold = this.disabled.get(name) ?? this.disabled.get(DISABLE_ALL);
    return hold && { ...hold, name };
  }

  // Every holder of the service, the file first: it is the one `resume` cannot end, so status names it first.
  private holdsOf(name: string): DrainEntry[] {
    return [this.fileHoldOf(name), this.holds.get(name)].filter((hold): hold is DrainEntry => hold !== undefined);
  }

  private holdOf(name: string): DrainEntry | undefined {
    return this.holdsOf(name)[0];
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

  private slot(name: string): ServiceSlot {
    const slot = this.services.get(name);
    if (!slot) throw new HealthcastError(ErrorCodes.SERVICE_UNKNOWN, `no service named "${name}" (known: ${[...this.services.keys()].join(', ') || 'none'})`);
    return slot;
  }

  // A fresh record; a service restarted by a reload, or re-added during its grace period, keeps what outlives probing
  // (its grace period, routing view and the state listeners last heard of).
  private addService(service: ServiceConfig): ServiceSlot {
    const earlier = this.services.get(service.name) ?? this.retiring.get(service.name);
    this.retiring.delete(service.name);
    const log = this.options.log.child({ service: service.name });
    const fresh = newRecord(service, this.holdOf(service.name));
    const record = earlier ? { ...fresh, grace: earlier.record.grace, routing: earlier.record.routing, noted: earlier.record.noted } : fresh;
    const slot: ServiceSlot = { record, log, timer: earlier?.timer, graceDone: earlier?.graceDone, runner: undefined as unknown as ServiceRunner };
    slot.runner = new ServiceRunner(service, {
      log,
      clock: this.clock,
      slots: this.slots,
      ...(this.options.random ? { random: this.options.random } : {}),
      onRound: (_runner, run, lateMs) => this.onRound(slot, run, lateMs),
    });
    // The timer of an earlier slot calls back into that slot: move it here.
    if (earlier?.timer) {
      this.clearTimer(earlier);
      if (record.grace) slot.timer = this.clock.setTimeout(() => this.onTimer(slot), Math.max(0, record.grace.until - this.clock.now()));
    }
    this.services.set(service.name, slot);
    return slot;
  }

  private startProbing(slot: ServiceSlot): void {
    this.dispatch(slot, { kind: 'restart' });
    // A restarted record is degraded again until its degrade probes pass (many kicks coalesce into one pass).
    if (slot.record.degrade) void this.policy?.kick();
    slot.runner.start({ splay: this.options.splay ?? true });
  }

  private async stopRunners(): Promise<void> {
    await Promise.all([...this.services.values()].map((slot) => slot.runner.stop()));
  }

  // The hot path: 1,000 rounds a second at 1,000 services.
  private onRound(slot: ServiceSlot, run: ServiceProbeRun, lateMs: number | undefined): void {
    const { combined } = run;
    for (const listener of this.probeListeners) {
      try {
        listener(slot.record.config, run, lateMs);
      } catch (error) {
        this.options.log.error({ err: messageOf(error), event: 'onProbes' }, 'agent listener failed');
      }
    }
    const result: LastResult = { ok: combined.ok, reason: combined.reason, durationMs: combined.durationMs, at: this.clock.now(), lateMs };
    if (run.degrade) result.degrade = { ok: run.degrade.ok, reason: run.degrade.reason };
    const phase = slot.record.health.phase;
    this.dispatch(slot, { kind: 'result', result });
    const { fastIntervalMs } = slot.record.config;
    if (fastIntervalMs !== undefined) {
      const next = probeIntervalMs(slot.record.config, slot.record.health.phase);
      if (next < slot.record.config.intervalMs) slot.runner.hurry(next);
    }
    // Guarded: at 1,000 rounds a second the fields object alone is garbage worth avoiding when debug is off.
    if (slot.record.health.phase === phase && slot.log.isLevelEnabled('debug')) {
      slot.log.debug({ phase, ok: result.ok, reason: result.reason, latency_ms: result.durationMs, late_ms: lateMs }, 'probe round');
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
    const desiredKeys = (entry: DesiredEntry) => report.desired.has(entryKey(entry));
    for (const slot of [...this.services.values(), ...this.retiring.values()]) {
      const summary = byService.get(slot.runner.name);
      const view: RoutingView = {
        announced: summary !== undefined && summary.present === summary.total && summary.total > 0,
        error: summary && summary.problems.length > 0 ? summary.problems.join('; ') : undefined,
      };
      this.dispatch(slot, { kind: 'report', view, desiredKeys });
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
