// Pure: everything the agent knows about one service, and how each event changes it. next(record, event, now, agent)
// returns the new record and the effects for the agent to carry out (kick the reconciler, set the record's timer, tell
// listeners). Tested from a table in test/unit/core/service-record.test.ts, like the state machine and the planner.
import type { ServiceConfig } from '../config/types.js';
import type { DesiredEntry } from '../routing/types.js';
import type { DrainEntry } from '../maintenance/drain-store.js';
import { serviceState, type ServiceState } from './service-state.js';
import { announceEntries, drainEntries } from './announcement.js';
import { INITIAL_STATE, isAnnounced, step, type HealthState, type Phase } from './state-machine.js';
import type { CombinedResult } from './combine.js';
import { INITIAL_DEGRADE, stepDegrade, type DegradeState } from './degrade.js';
import { flap, NO_PENALTY, release, type DampingState } from './damping.js';
import type { FleetReading } from '../fleet/watcher.js';
import { decideKeep, orphanedAddress } from '../fleet/keep-last.js';

export type AgentMode = 'created' | 'running' | 'paused' | 'stopped';

// The agent-wide facts a decision reads: one object for the agent's life, its fields updated in place.
export interface AgentView {
  mode: AgentMode;
  drainInterface: string;
  // The last reading of who advertises what (src/fleet/), when FRR is read: keep_last decides from it.
  fleet?: FleetReading | undefined;
}

export interface LastResult extends CombinedResult {
  at: number; // epoch ms when the probe finished
  lateMs?: number; // how long after its slot a scheduled round started (absent for check-now rounds)
  degrade?: { ok: boolean; reason: string }; // the probes with effect: degrade (absent when the service has none)
}

// What the last reconciler pass said about the service's entries.
export interface RoutingView {
  announced: boolean; // every desired entry is on the system
  error: string | undefined;
}

// Make before break: the advertisement is gone, the host still answers on the parked entries until `until`.
// `parking`: waiting for the pass that parks them (the period counts from there), at most until `until`.
export interface Grace {
  entries: DesiredEntry[];
  reason: string;
  parked: boolean;
  until: number; // epoch ms: the parking deadline, then the end of the period
}

// keep_last: the service failed but its addresses stay announced while the fleet rule decides (src/fleet/keep-last.ts).
// pending: waiting for a reading of the LSDB begun after `asked`; guard: the highest advertiser waits until `guardUntil`;
// last: no other router advertises some address, so this node keeps serving; standby: withdrawn for the fleet since
// `since`, announced again if a reading shows nobody advertising (not announced meanwhile).
export interface KeepHold {
  state: 'pending' | 'guard' | 'last' | 'standby';
  asked: number | undefined;
  guardUntil: number | undefined;
  reason: string;
  // guard: the other advertisers when the period began (a change starts it again).
  others?: readonly string[];
  since?: number;
}

export interface ServiceRecord {
  readonly config: ServiceConfig;
  readonly health: HealthState;
  readonly last: LastResult | undefined;
  // The operator's persisted hold (drained.json), shown as `maintenance` in status.
  readonly maintenance: DrainEntry | undefined;
  readonly grace: Grace | undefined;
  readonly routing: RoutingView | undefined;
  // The state listeners last heard of (undefined before the first note).
  readonly noted: ServiceState | undefined;
  // Routing policy: the degraded half of health (undefined without degrade probes) and the flap-damping penalty
  // (undefined without damping).
  readonly degrade?: DegradeState;
  readonly damping?: DampingState;
  // Failing but kept announced by keep_last (undefined: not held).
  readonly keep?: KeepHold | undefined;
}

export type ServiceEvent =
  | { kind: 'result'; result: LastResult } // a probe round finished
  | { kind: 'restart' } // probing starts afresh (start, resume, changed config): fail closed
  | { kind: 'mode'; from: AgentMode; to: AgentMode } // the whole agent pauses, resumes or stops
  | { kind: 'maintenance'; hold: DrainEntry | undefined } // an operator's hold begins or ends
  | { kind: 'removed' } // the service left the configuration
  | { kind: 'report'; view: RoutingView; desiredKeys: (entry: DesiredEntry) => boolean } // a reconciler pass ended
  | { kind: 'timer' } // the record's timer fired
  | { kind: 'note'; why: string; silent?: boolean } // compare the state with what listeners last heard
  | { kind: 'fleet' } // a new reading of the advertisers (agent.fleet)
  | { kind: 'recheck' }; // the keep_last timer fired

export type Effect =
  | { kind: 'kick'; announce?: boolean } // run a reconciler pass; `announce` when health decided it (logged with timing)
  | { kind: 'phase'; from: Phase; to: Phase }
  | { kind: 'state'; from: ServiceState; to: ServiceState; reason: string } // tell listeners once routing has applied
  | { kind: 'timer'; at: number } // (re)set the record's one timer
  | { kind: 'grace-started'; ms: number; reason: string }
  | { kind: 'grace-ended' } // settles once the pass of the kick before it has removed the parked entries
  | { kind: 'routing-error'; error: string } // a new reason the addresses cannot be announced
  | { kind: 'policy'; degraded: boolean; reason: string } // the advertised metric changes (degraded_metric or metric)
  | { kind: 'suppressed'; penalty: number; until: number } // flap damping holds the service withdrawn until `until`
  | { kind: 'fleet-read' } // keep_last needs a fresh reading of the advertisers
  | { kind: 'recheck'; at: number } // (re)set the record's keep_last timer
  | { kind: 'kept-last'; kept: boolean; reason: string } // became, or stopped being, the last advertiser kept
  | { kind: 'keep-withdraw'; reason: string; unknown: boolean } // keep_last let a failing service withdraw, and why
  | { kind: 'keep-rescue'; reason: string }; // standing by, it saw nobody advertise the service: announced again

export interface Transition {
  record: ServiceRecord;
  effects: readonly Effect[];
}

// The parking pass normally comes within milliseconds; if it never does (wanted again first), the period starts anyway.
export const PARKING_LIMIT_MS = 1000;

// A decision that asked for a fresh reading takes the answer it has after this long (vtysh's own timeout is 5 s).
export const KEEP_READ_LIMIT_MS = 6000;

// A service standing by makes the fleet be read quickly this long after it withdrew (the races it covers happen then),
// slowly after that.
export const STANDBY_URGENT_MS = 60_000;

const NONE: readonly Effect[] = Object.freeze([]);

export function newRecord(config: ServiceConfig, maintenance?: DrainEntry): ServiceRecord {
  const policy = {
    ...(hasDegradeProbes(config) ? { degrade: INITIAL_DEGRADE } : {}),
    ...(config.damping ? { damping: NO_PENALTY } : {}),
  };
  return { config, health: INITIAL_STATE, last: undefined, maintenance, grace: undefined, routing: undefined, noted: undefined, keep: undefined, ...policy };
}

export function hasDegradeProbes(config: ServiceConfig): boolean {
  return config.probes.some((probe) => probe.effect === 'degrade');
}

// Announced when the agent runs, health says so (or keep_last holds it), no operator holds it and flap damping does not
// suppress it.
export function wants(record: ServiceRecord, mode: AgentMode): boolean {
  return (
    mode === 'running' &&
    (isAnnounced(record.health.phase) || (record.keep !== undefined && record.keep.state !== 'standby')) &&
    record.maintenance === undefined &&
    record.damping?.suppressedUntil === undefined
  );
}

// Whether the service's addresses belong in the degraded prefix-lists: degraded health, announced or not, so a service
// that comes back while still degraded is never advertised at its good metric first.
export function isDegraded(record: ServiceRecord): boolean {
  return record.degrade?.degraded === true;
}

// Whether keep_last needs fresh readings of the fleet for this service now (the watcher then reads every second).
export function keepWatching(record: ServiceRecord, now: number): boolean {
  const { keep } = record;
  return keep !== undefined && (keep.state !== 'standby' || now - (keep.since ?? 0) < STANDBY_URGENT_MS);
}

// Kept announced as the last advertiser although its probes fail (`kept_last` in status).
export function keptLast(record: ServiceRecord): boolean {
  return record.keep?.state === 'last';
}

export function stateOf(record: ServiceRecord, mode: AgentMode): ServiceState {
  return serviceState({
    mode,
    drained: record.maintenance !== undefined,
    phase: record.health.phase,
    degraded: isDegraded(record),
    suppressed: record.damping?.suppressedUntil !== undefined,
  });
}

// What the service puts on the system now: its announcement, or the parked entries of its grace period.
export function desiredEntries(record: ServiceRecord, mode: AgentMode): readonly DesiredEntry[] {
  if (wants(record, mode)) return announceEntries(record.config);
  return record.grace?.entries ?? NONE_ENTRIES;
}

const NONE_ENTRIES: readonly DesiredEntry[] = Object.freeze([]);

export function next(record: ServiceRecord, event: ServiceEvent, now: number, agent: AgentView): Transition {
  const transition = decide(record, event, now, agent);
  return oneTimer(record, transition, event.kind === 'timer');
}

// The record has one timer: whenever a decision sets it or a suppression begins, it goes to the earliest deadline.
function oneTimer(before: ServiceRecord, transition: Transition, fired: boolean): Transition {
  const { record, effects } = transition;
  const until = record.damping?.suppressedUntil;
  const newSuppression = until !== undefined && until !== before.damping?.suppressedUntil;
  if (until === undefined || (!fired && !newSuppression && !effects.some((effect) => effect.kind === 'timer'))) return transition;
  const deadlines = [until, ...(record.grace ? [record.grace.until] : [])];
  const timer: Effect = { kind: 'timer', at: Math.min(...deadlines) };
  return { record, effects: [...effects.filter((effect) => effect.kind !== 'timer'), timer] };
}

function decide(record: ServiceRecord, event: ServiceEvent, now: number, agent: AgentView): Transition {
  switch (event.kind) {
    case 'result':
      return onResult(record, event.result, now, agent);
    case 'restart':
      return { record: { ...record, health: INITIAL_STATE, keep: undefined, ...(record.degrade ? { degrade: INITIAL_DEGRADE } : {}) }, effects: NONE };
    case 'mode':
      // Pausing or stopping withdraws every announced service: planned, so each gets its grace period (keep_last too).
      if (event.to === 'running') return { record, effects: NONE };
      if (!wants(record, event.from)) return { record: unkept(record), effects: NONE };
      return startGrace(unkept(record), event.to === 'paused' ? 'paused' : 'shutting down', now, agent);
    case 'maintenance': {
      const held = { ...unkept(record), maintenance: event.hold };
      if (event.hold === undefined || !wants(record, agent.mode)) return { record: { ...record, maintenance: event.hold }, effects: NONE };
      return startGrace(held, `drained by ${event.hold.by}`, now, agent);
    }
    case 'removed':
      return wants(record, agent.mode) ? startGrace(unkept(record), 'removed from the configuration', now, agent) : { record, effects: NONE };
    case 'fleet':
      return onFleet(record, now, agent);
    case 'recheck':
      return onRecheck(record, now, agent);
    case 'report':
      return onReport(record, event.view, event.desiredKeys, now);
    case 'timer':
      return onTimer(record, now, agent);
    case 'note':
      return note(record, agent.mode, event.why, event.silent ?? false, NONE);
  }
}

function onResult(record: ServiceRecord, last: LastResult, now: number, agent: AgentView): Transition {
  const previous = record.health;
  const health = step(previous, last.ok, record.config, now);
  const degrade = record.degrade && last.degrade ? stepDegrade(record.degrade, last.degrade.ok, last.degrade.reason, record.config) : record.degrade;
  let updated: ServiceRecord = degrade === record.degrade ? { ...record, health, last } : { ...record, health, last, degrade };
  const degradeTurned = isDegraded(record) !== isDegraded(updated);
  // The hot path: a round that keeps its phase changes nothing to apply or tell.
  if (previous.phase === health.phase && !degradeTurned) return { record: updated, effects: NONE };
  const effects: Effect[] = previous.phase === health.phase ? [] : [{ kind: 'phase', from: previous.phase, to: health.phase }];
  if (degradeTurned) effects.push({ kind: 'policy', degraded: isDegraded(updated), reason: degrade!.reason });
  const turned = isAnnounced(previous.phase) !== isAnnounced(health.phase);
  if (turned && !isAnnounced(health.phase) && record.config.keepLast && wants(record, agent.mode)) {
    const unknown = keepUnknown(record, agent);
    if (unknown === undefined) {
      // A failing service stays announced until the fleet rule, on a fresh view of the LSDB, says otherwise.
      const keep: KeepHold = { state: 'pending', asked: now, guardUntil: undefined, reason: 'probes failed: reading the advertisers' };
      return note({ ...updated, keep }, agent.mode, 'probe result', false, [
        ...effects,
        { kind: 'fleet-read' },
        { kind: 'recheck', at: now + KEEP_READ_LIMIT_MS },
      ]);
    }
    effects.push({ kind: 'keep-withdraw', reason: `${unknown}: withdrawing as without keep_last`, unknown: true });
  }
  // Failing again while the guard runs (it was recovering when the others came back): the guard's question is stale, the
  // others may be failing with it; decide afresh, as on the first failure.
  if (health.phase === 'down' && previous.phase !== 'down' && updated.keep?.state === 'guard') {
    const keep: KeepHold = { state: 'pending', asked: now, guardUntil: undefined, reason: 'probes failed again: reading the advertisers' };
    return note({ ...updated, keep }, agent.mode, 'probe result', false, [
      ...effects,
      { kind: 'fleet-read' },
      { kind: 'recheck', at: now + KEEP_READ_LIMIT_MS },
    ]);
  }
  // A withdrawal by health is a flap: damping adds its penalty, and may hold the service withdrawn for a while.
  if (turned && !isAnnounced(health.phase) && updated.damping && record.config.damping) {
    const damping = flap(updated.damping, record.config.damping, now);
    updated = { ...updated, damping };
    if (damping.suppressedUntil !== undefined) effects.push({ kind: 'suppressed', penalty: Math.round(damping.penalty), until: damping.suppressedUntil });
  }
  // Healthy again: whatever keep_last held is now plain health.
  if (isAnnounced(health.phase) && updated.keep) updated = unkept(updated);
  let result: Transition = { record: updated, effects };
  // Coming back while suppressed changes nothing on the system: the timer announces it once the penalty has decayed.
  const held = isAnnounced(health.phase) && updated.damping?.suppressedUntil !== undefined;
  if (turned && record.maintenance === undefined && !held) {
    if (!isAnnounced(health.phase) && record.config.drainOnFailure && agent.mode === 'running') {
      const graced = startGrace(updated, 'health failure', now, agent, isAnnounced(previous.phase));
      result = { record: graced.record, effects: [...effects, ...graced.effects] };
    }
    result = { record: result.record, effects: [...result.effects, { kind: 'kick', announce: isAnnounced(health.phase) }] };
  }
  return note(result.record, agent.mode, 'probe result', false, result.effects);
}

// Why keep_last cannot know the advertisers of this service, if it cannot.
function keepUnknown(record: ServiceRecord, agent: AgentView): string | undefined {
  if (record.config.announce === 'bgp') return "advertisers unknown for announce: bgp (the node does not see the fleet's BGP paths)";
  if (agent.fleet === undefined) return 'advertisers unknown (FRR is not read: no vtysh, or frr.protocol is not ospf)';
  return undefined;
}

function unkept(record: ServiceRecord): ServiceRecord {
  return record.keep === undefined ? record : { ...record, keep: undefined };
}

// A new reading of the advertisers: a held service waiting for a fresh one decides now.
function onFleet(record: ServiceRecord, now: number, agent: AgentView): Transition {
  const { keep } = record;
  const reading = agent.fleet;
  if (!keep || !reading || (keep.asked !== undefined && reading.at < keep.asked)) return { record, effects: NONE };
  if (keep.state === 'standby') return rescue(record, reading.snapshot, now, agent);
  return decideKeepHold(record, keep, reading.snapshot, now, agent, reading.slowestMs ?? reading.durationMs);
}

// The keep_last timer: a fresh reading is overdue (decide without it), or the guard period is over (ask for one).
function onRecheck(record: ServiceRecord, now: number, agent: AgentView): Transition {
  const { keep } = record;
  if (!keep) return { record, effects: NONE };
  if (keep.asked !== undefined) {
    if (now < keep.asked + KEEP_READ_LIMIT_MS) return { record, effects: [{ kind: 'recheck', at: keep.asked + KEEP_READ_LIMIT_MS }] };
    return decideKeepHold(record, keep, undefined, now, agent);
  }
  if (keep.state === 'guard' && keep.guardUntil !== undefined && now >= keep.guardUntil) {
    return { record: { ...record, keep: { ...keep, asked: now } }, effects: [{ kind: 'fleet-read' }, { kind: 'recheck', at: now + KEEP_READ_LIMIT_MS }] };
  }
  return { record, effects: NONE };
}

// Standing by: nobody advertises some address now, so this failing node announces again and decides anew (a fresh reading).
function rescue(record: ServiceRecord, snapshot: FleetReading['snapshot'], now: number, agent: AgentView): Transition {
  const orphan = orphanedAddress(snapshot, record.config.addresses);
  if (orphan === undefined || agent.mode !== 'running' || record.maintenance !== undefined || record.damping?.suppressedUntil !== undefined)
    return { record, effects: NONE };
  const reason = `no router advertises ${orphan} any more: announcing it again although the service is down`;
  const keep: KeepHold = { state: 'pending', asked: now, guardUntil: undefined, reason };
  return {
    record: { ...record, keep },
    effects: [{ kind: 'keep-rescue', reason }, { kind: 'kick', announce: true }, { kind: 'fleet-read' }, { kind: 'recheck', at: now + KEEP_READ_LIMIT_MS }],
  };
}

function decideKeepHold(record: ServiceRecord, keep: KeepHold, snapshot: FleetReading['snapshot'], now: number, agent: AgentView, readMs?: number): Transition {
  const guardMs = record.config.keepLastGuardMs;
  const { config } = record;
  const detectionMs = config.fall * config.intervalMs + config.timeoutMs;
  const guard = { guardUntil: keep.guardUntil, guardOthers: keep.others };
  const decision = decideKeep({ snapshot, addresses: config.addresses, now, guardMs, ...guard, readMs, detectionMs });
  if (decision.action === 'withdraw') {
    const effects: Effect[] = [{ kind: 'keep-withdraw', reason: decision.reason, unknown: decision.unknown === true }];
    if (keep.state === 'last') effects.push({ kind: 'kept-last', kept: false, reason: decision.reason });
    // Leaving the kept state is planned (another router serves): the usual grace; the first decision withdraws as a failure does.
    const graced =
      keep.state === 'last' || record.config.drainOnFailure
        ? startGrace(unkept(record), decision.reason, now, agent)
        : { record: unkept(record), effects: NONE };
    // Another router serves: stand by while still failing (unknown advertisers: plain withdrawal, as without keep_last).
    const standby: KeepHold = { state: 'standby', asked: undefined, guardUntil: undefined, reason: decision.reason, since: now };
    const after = decision.unknown ? graced.record : { ...graced.record, keep: standby };
    return { record: after, effects: [...effects, ...graced.effects, { kind: 'kick', announce: false }] };
  }
  if (decision.action === 'keep') {
    const effects: Effect[] = keep.state === 'last' ? [] : [{ kind: 'kept-last', kept: true, reason: decision.reason }];
    return { record: { ...record, keep: { state: 'last', asked: undefined, guardUntil: undefined, reason: decision.reason } }, effects };
  }
  const hold: KeepHold = { state: 'guard', asked: undefined, guardUntil: decision.until, reason: decision.reason, others: decision.others };
  const effects: Effect[] = decision.until === keep.guardUntil ? [] : [{ kind: 'recheck', at: decision.until }];
  if (keep.state === 'last') effects.push({ kind: 'kept-last', kept: false, reason: decision.reason });
  return { record: { ...record, keep: hold }, effects };
}

// `announced`: whether the service was announced before this event (the caller knows when the record no longer says).
function startGrace(record: ServiceRecord, reason: string, now: number, agent: AgentView, announced = true): Transition {
  const entries = drainEntries(record.config, agent.drainInterface);
  if (!announced || record.config.drainMs <= 0 || entries.length === 0) return { record, effects: NONE };
  // A grace period still running here is an earlier one's: the service was announced again meanwhile, and traffic came
  // back with it, so this withdrawal gets a full period of its own (the earlier one ends for whoever waits on it).
  const earlier: Effect[] = record.grace !== undefined ? [{ kind: 'grace-ended' }] : [];
  const grace: Grace = { entries, reason, parked: false, until: now + PARKING_LIMIT_MS };
  return {
    record: { ...record, grace },
    effects: [...earlier, { kind: 'grace-started', ms: record.config.drainMs, reason }, { kind: 'timer', at: grace.until }],
  };
}

function onReport(record: ServiceRecord, view: RoutingView, desiredKeys: (entry: DesiredEntry) => boolean, now: number): Transition {
  const effects: Effect[] = [];
  if (view.error !== undefined && view.error !== record.routing?.error) effects.push({ kind: 'routing-error', error: view.error });
  let grace = record.grace;
  // The period counts from the pass that parks the entries, so they stay parked for all of `drain` on a loaded machine.
  if (grace && !grace.parked && grace.entries.every(desiredKeys)) {
    grace = { ...grace, parked: true, until: now + record.config.drainMs };
    effects.push({ kind: 'timer', at: grace.until });
  }
  return { record: { ...record, routing: view, grace }, effects: effects.length > 0 ? effects : NONE };
}

function onTimer(before: ServiceRecord, now: number, agent: AgentView): Transition {
  // Flap damping's reuse time: the service may be announced again (if health still says so).
  if (before.damping && before.damping.suppressedUntil !== undefined && now >= before.damping.suppressedUntil) {
    const record = { ...before, damping: release(before.damping, now) };
    const rest = graceTimer(record, now);
    const kick: Effect[] = wants(record, agent.mode) ? [{ kind: 'kick', announce: true }] : [];
    return note(rest.record, agent.mode, 'flap damping: reused', false, [...rest.effects, ...kick]);
  }
  return graceTimer(before, now);
}

function graceTimer(record: ServiceRecord, now: number): Transition {
  const { grace } = record;
  if (!grace || now < grace.until) return { record, effects: grace ? [{ kind: 'timer', at: grace.until }] : NONE };
  if (!grace.parked) {
    const parked = { ...grace, parked: true, until: now + record.config.drainMs };
    return { record: { ...record, grace: parked }, effects: [{ kind: 'timer', at: parked.until }] };
  }
  return { record: { ...record, grace: undefined }, effects: [{ kind: 'kick' }, { kind: 'grace-ended' }] };
}

// Compares the state with the one listeners last heard of; up and down carry the probe's reason.
function note(record: ServiceRecord, mode: AgentMode, why: string, silent: boolean, effects: readonly Effect[]): Transition {
  const to = stateOf(record, mode);
  const from = record.noted ?? 'unknown';
  if (record.noted === to) return { record, effects };
  const noted = { ...record, noted: to };
  if (from === to || silent) return { record: noted, effects };
  const reason = to === 'up' || to === 'down' ? (record.last?.reason ?? why) : policyReason(record, to, why);
  return { record: noted, effects: [...effects, { kind: 'state', from, to, reason }] };
}

function policyReason(record: ServiceRecord, to: ServiceState, why: string): string {
  if (to === 'degraded') return record.degrade?.reason ?? why;
  const until = record.damping?.suppressedUntil;
  if (to === 'suppressed' && until !== undefined) {
    return `flap damping: penalty ${Math.round(record.damping!.penalty)}, reused at ${new Date(until).toISOString()}`;
  }
  return why;
}
