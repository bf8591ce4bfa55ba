// The agent's per-service decisions, from a table: record before, event, record after (the fields that matter), effects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  desiredEntries,
  KEEP_READ_LIMIT_MS,
  keepWatching,
  STANDBY_URGENT_MS,
  newRecord,
  next,
  PARKING_LIMIT_MS,
  wants,
  type AgentMode,
  type Effect,
  type ServiceEvent,
  type ServiceRecord,
} from '../../../src/core/service-record.js';
import type { HealthState } from '../../../src/core/state-machine.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { ServiceConfig } from '../../../src/config/types.js';
import type { FleetReading } from '../../../src/fleet/watcher.js';

const NOW = 1_000_000;
const probe = switchProbe().definition;
const config = (overrides: Partial<ServiceConfig> = {}) => serviceConfig('dns', ['192.0.2.53'], probe, { rise: 2, fall: 2, drainMs: 500, ...overrides });
const HOLD = { name: 'dns', since: '2026-01-01T00:00:00.000Z', by: 'cli' };
const FILE_HOLD = {
  name: 'dns',
  since: '2026-01-01T00:00:00.000Z',
  by: 'disable file /etc/healthcast/disable.d/dns',
  file: '/etc/healthcast/disable.d/dns',
  note: 'disk swap',
};
const parkedEntry = { service: 'dns', kind: 'address' as const, address: '192.0.2.53', interface: 'hc-drain' };

const health = (phase: HealthState['phase'], successes = 0, failures = 0): HealthState => ({ phase, successes, failures });
const record = (fields: Partial<ServiceRecord> = {}): ServiceRecord => ({ ...newRecord(config()), noted: 'unknown', ...fields });
const up = (fields: Partial<ServiceRecord> = {}) => record({ health: health('up', 5), noted: 'up', ...fields });
const result = (ok: boolean, reason = ok ? 'all probes passed' : 'dns: timed out'): ServiceEvent => ({
  kind: 'result',
  result: { ok, reason, durationMs: 3, at: NOW },
});
const graceOf = (parked: boolean, until: number, reason: string) => ({ entries: [parkedEntry], reason, parked, until });
const report = (parkedNow: boolean, error?: string): ServiceEvent => ({ kind: 'report', view: { announced: !parkedNow, error }, desiredKeys: () => parkedNow });

const slowProbe = { ...switchProbe().definition, type: 'slow' };
const degradableConfig = config({
  probes: [
    { type: probe.type, timeoutMs: 15, options: {}, definition: probe },
    { type: 'slow', timeoutMs: 15, options: {}, definition: slowProbe, effect: 'degrade' },
  ],
  degradedMetric: 65000,
});
const degradeState = (degraded: boolean, successes = 0, failures = 0, reason = 'not yet probed') => ({ degraded, successes, failures, reason });
const degradable = (fields: Partial<ServiceRecord> = {}) => up({ config: degradableConfig, degrade: degradeState(false, 5), ...fields });
const degradeResult = (degradeOk: boolean, ok = true): ServiceEvent => ({
  kind: 'result',
  result: {
    ok,
    reason: ok ? 'all probes passed' : 'dns: timed out',
    durationMs: 3,
    at: NOW,
    degrade: { ok: degradeOk, reason: degradeOk ? 'all probes passed' : 'slow: 900 ms' },
  },
});
const dampingConfig = { halfLifeMs: 60_000, suppress: 2000, reuse: 625, maxSuppressMs: 600_000 };
const dampable = (fields: Partial<ServiceRecord> = {}) =>
  up({ config: config({ damping: dampingConfig }), damping: { penalty: 0, at: 0, suppressedUntil: undefined }, ...fields });
const suppressedAt = (until: number) => ({ penalty: 2500, at: NOW - 1, suppressedUntil: until });

// keep_last: this node is 0.0.0.3; a reading of the LSDB begun at `at` in which `ids` advertise 192.0.2.53.
const keeping = (fields: Partial<ServiceRecord> = {}) => up({ config: config({ keepLast: true, keepLastGuardMs: 3000 }), ...fields });
const seen = (ids: string[], at = NOW, slowestMs?: number): FleetReading => ({
  at,
  snapshot: { routerId: '0.0.0.3', advertisers: new Map([['192.0.2.53/32', new Set(ids)]]) },
  ...(slowestMs === undefined ? {} : { slowestMs }),
});
const hold = (state: 'pending' | 'guard' | 'last', fields: { asked?: number; guardUntil?: number; reason?: string; others?: string[] } = {}) => ({
  state,
  asked: fields.asked,
  guardUntil: fields.guardUntil,
  reason: fields.reason ?? '',
  ...(state === 'guard' ? { others: fields.others ?? ['0.0.0.2'] } : {}),
});
const standby = (reason = 'other routers advertise every address; 0.0.0.4 (higher router-id) decides for the fleet') => ({
  state: 'standby' as const,
  asked: undefined,
  guardUntil: undefined,
  reason,
  since: NOW,
});
const falling = health('falling', 0, 1);
const downHealth = { phase: 'down' as const, successes: 0, failures: 2, withdrawnAt: NOW };

interface Row {
  name: string;
  before: ServiceRecord;
  event: ServiceEvent;
  mode?: AgentMode;
  fleet?: FleetReading;
  after: Partial<ServiceRecord>;
  effects: Effect[];
}

const rows: Row[] = [
  { name: 'a passing round that keeps the phase changes only the counts', before: up(), event: result(true), after: { health: health('up', 6) }, effects: [] },
  {
    name: 'rise reached: up, announce, tell listeners',
    before: record({ health: health('rising', 1) }),
    event: result(true),
    after: { health: health('up', 2), noted: 'up' },
    effects: [
      { kind: 'phase', from: 'rising', to: 'up' },
      { kind: 'kick', announce: true },
      { kind: 'state', from: 'unknown', to: 'up', reason: 'all probes passed' },
    ],
  },
  {
    name: 'one failure of fall 2 keeps it announced (falling), nothing to apply',
    before: up(),
    event: result(false),
    after: { health: health('falling', 0, 1), noted: 'up' },
    effects: [{ kind: 'phase', from: 'up', to: 'falling' }],
  },
  {
    name: 'fall reached: withdraw at once, with the probe reason',
    before: up({ health: health('falling', 0, 1) }),
    event: result(false),
    after: { health: { phase: 'down', successes: 0, failures: 2, withdrawnAt: NOW }, noted: 'down', grace: undefined },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'fall reached with drain_on_failure: the withdrawal gets its grace period',
    before: { ...up({ health: health('falling', 0, 1) }), config: config({ drainOnFailure: true }) },
    event: result(false),
    after: { noted: 'down', grace: graceOf(false, NOW + PARKING_LIMIT_MS, 'health failure') },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'grace-started', ms: 500, reason: 'health failure' },
      { kind: 'timer', at: NOW + PARKING_LIMIT_MS },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'a held service changes phase but nothing is applied',
    before: up({ maintenance: HOLD, noted: 'drained', health: health('falling', 0, 1) }),
    event: result(false),
    after: { noted: 'drained' },
    effects: [{ kind: 'phase', from: 'falling', to: 'down' }],
  },
  {
    name: 'restart: fail closed, the rest kept',
    before: up({ maintenance: HOLD }),
    event: { kind: 'restart' },
    after: { health: health('init'), maintenance: HOLD },
    effects: [],
  },
  {
    name: 'pause withdraws an announced service with a grace period',
    before: up(),
    event: { kind: 'mode', from: 'running', to: 'paused' },
    after: { grace: graceOf(false, NOW + PARKING_LIMIT_MS, 'paused') },
    effects: [
      { kind: 'grace-started', ms: 500, reason: 'paused' },
      { kind: 'timer', at: NOW + PARKING_LIMIT_MS },
    ],
  },
  {
    name: 'stop from paused: nothing announced, nothing to keep',
    before: up(),
    event: { kind: 'mode', from: 'paused', to: 'stopped' },
    mode: 'paused',
    after: { grace: undefined },
    effects: [],
  },
  {
    name: 'drain 0: no grace period',
    before: { ...up(), config: config({ drainMs: 0 }) },
    event: { kind: 'mode', from: 'running', to: 'stopped' },
    after: { grace: undefined },
    effects: [],
  },
  {
    name: 'a kernel route has nothing to park',
    before: { ...up(), config: config({ announce: 'route' }) },
    event: { kind: 'mode', from: 'running', to: 'stopped' },
    after: { grace: undefined },
    effects: [],
  },
  {
    name: 'a maintenance hold on an announced service starts its grace period',
    before: up(),
    event: { kind: 'maintenance', hold: HOLD },
    after: { maintenance: HOLD, grace: graceOf(false, NOW + PARKING_LIMIT_MS, 'drained by cli') },
    effects: [
      { kind: 'grace-started', ms: 500, reason: 'drained by cli' },
      { kind: 'timer', at: NOW + PARKING_LIMIT_MS },
    ],
  },
  {
    name: 'a hold on a service that is down only holds',
    before: record({ health: health('down', 0, 3) }),
    event: { kind: 'maintenance', hold: HOLD },
    after: { maintenance: HOLD, grace: undefined },
    effects: [],
  },
  {
    name: 'another holder takes over a held service (a disable file goes, an operator drain stays): it only holds',
    before: up({ maintenance: FILE_HOLD, noted: 'drained' }),
    event: { kind: 'maintenance', hold: HOLD },
    after: { maintenance: HOLD, grace: undefined, noted: 'drained' },
    effects: [],
  },
  {
    name: "a disable file on an announced service drains it like an operator's drain",
    before: up(),
    event: { kind: 'maintenance', hold: FILE_HOLD },
    after: { maintenance: FILE_HOLD, grace: graceOf(false, NOW + PARKING_LIMIT_MS, `drained by ${FILE_HOLD.by}`) },
    effects: [
      { kind: 'grace-started', ms: 500, reason: `drained by ${FILE_HOLD.by}` },
      { kind: 'timer', at: NOW + PARKING_LIMIT_MS },
    ],
  },
  {
    name: 'announced again during its grace period, then withdrawn: a full period of its own (the earlier one ends)',
    before: up({ grace: graceOf(true, NOW + 100, 'paused') }),
    event: { kind: 'maintenance', hold: HOLD },
    after: { maintenance: HOLD, grace: graceOf(false, NOW + PARKING_LIMIT_MS, 'drained by cli') },
    effects: [{ kind: 'grace-ended' }, { kind: 'grace-started', ms: 500, reason: 'drained by cli' }, { kind: 'timer', at: NOW + PARKING_LIMIT_MS }],
  },
  {
    name: 'removed while announced: grace period',
    before: up(),
    event: { kind: 'removed' },
    after: { grace: graceOf(false, NOW + PARKING_LIMIT_MS, 'removed from the configuration') },
    effects: [
      { kind: 'grace-started', ms: 500, reason: 'removed from the configuration' },
      { kind: 'timer', at: NOW + PARKING_LIMIT_MS },
    ],
  },
  {
    name: 'the pass that parks the entries starts the period',
    before: up({ grace: graceOf(false, NOW + 700, 'paused') }),
    event: report(true),
    after: { grace: graceOf(true, NOW + 500, 'paused'), routing: { announced: false, error: undefined } },
    effects: [{ kind: 'timer', at: NOW + 500 }],
  },
  {
    name: 'a pass that has not parked them changes nothing of the grace',
    before: up({ grace: graceOf(false, NOW + 700, 'paused') }),
    event: report(false),
    after: { grace: graceOf(false, NOW + 700, 'paused') },
    effects: [],
  },
  {
    name: 'a new routing error is logged once',
    before: up({ routing: { announced: false, error: 'x' } }),
    event: report(false, 'conflict'),
    after: { routing: { announced: true, error: 'conflict' } },
    effects: [{ kind: 'routing-error', error: 'conflict' }],
  },
  {
    name: 'the same routing error again is not',
    before: up({ routing: { announced: false, error: 'conflict' } }),
    event: report(false, 'conflict'),
    after: {},
    effects: [],
  },
  {
    name: 'no parking pass within the limit: the period starts anyway',
    before: up({ grace: graceOf(false, NOW, 'paused') }),
    event: { kind: 'timer' },
    after: { grace: graceOf(true, NOW + 500, 'paused') },
    effects: [{ kind: 'timer', at: NOW + 500 }],
  },
  {
    name: 'the period is over: remove the parked entries',
    before: up({ grace: graceOf(true, NOW, 'paused') }),
    event: { kind: 'timer' },
    after: { grace: undefined },
    effects: [{ kind: 'kick' }, { kind: 'grace-ended' }],
  },
  {
    name: 'a timer that fires early waits again',
    before: up({ grace: graceOf(true, NOW + 2, 'paused') }),
    event: { kind: 'timer' },
    after: { grace: graceOf(true, NOW + 2, 'paused') },
    effects: [{ kind: 'timer', at: NOW + 2 }],
  },
  {
    name: 'note: paused',
    before: up(),
    event: { kind: 'note', why: 'paused' },
    mode: 'paused',
    after: { noted: 'paused' },
    effects: [{ kind: 'state', from: 'up', to: 'paused', reason: 'paused' }],
  },
  {
    name: 'note, silent: the baseline at start tells nobody',
    before: up({ maintenance: HOLD, noted: undefined }),
    event: { kind: 'note', why: 'agent started', silent: true },
    after: { noted: 'drained' },
    effects: [],
  },
  { name: 'note with nothing changed', before: up(), event: { kind: 'note', why: 'reloaded' }, after: { noted: 'up' }, effects: [] },
  // Routing policy (issue 14): the degraded state and flap damping.
  {
    name: 'degraded: fall failing rounds of the degrade probes raise the metric, nothing is withdrawn',
    before: degradable({ degrade: degradeState(false, 0, 1) }),
    event: degradeResult(false),
    after: { health: health('up', 6), degrade: degradeState(true, 0, 2, 'slow: 900 ms'), noted: 'degraded' },
    effects: [
      { kind: 'policy', degraded: true, reason: 'slow: 900 ms' },
      { kind: 'state', from: 'up', to: 'degraded', reason: 'slow: 900 ms' },
    ],
  },
  {
    name: 'degraded: one failing degrade round of fall 2 changes nothing to apply',
    before: degradable(),
    event: degradeResult(false),
    after: { degrade: degradeState(false, 0, 1, 'slow: 900 ms'), noted: 'up' },
    effects: [],
  },
  {
    name: 'degraded: rise passing rounds restore the metric',
    before: degradable({ degrade: degradeState(true, 1, 0, 'slow: 900 ms'), noted: 'degraded' }),
    event: degradeResult(true),
    after: { degrade: degradeState(false, 2, 0, 'slow: 900 ms'), noted: 'up' },
    effects: [
      { kind: 'policy', degraded: false, reason: 'slow: 900 ms' },
      { kind: 'state', from: 'degraded', to: 'up', reason: 'all probes passed' },
    ],
  },
  {
    name: 'degraded: a down probe failing past fall still withdraws a degraded service',
    before: degradable({ health: health('falling', 0, 1), degrade: degradeState(true, 0, 3, 'slow: 900 ms'), noted: 'degraded' }),
    event: degradeResult(false, false),
    after: { health: { phase: 'down', successes: 0, failures: 2, withdrawnAt: NOW }, noted: 'down' },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'degraded', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'degraded: restart starts degraded again (fail closed)',
    before: degradable({ degrade: degradeState(false, 9, 0) }),
    event: { kind: 'restart' },
    after: { health: { phase: 'init', successes: 0, failures: 0 }, degrade: { degraded: true, successes: 0, failures: 0, reason: 'not yet probed' } },
    effects: [],
  },
  {
    name: 'damping: a withdrawal below suppress adds the penalty and withdraws as usual',
    before: dampable({ health: health('falling', 0, 1) }),
    event: result(false),
    after: { damping: { penalty: 1000, at: NOW, suppressedUntil: undefined }, noted: 'down' },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'damping: the flap that reaches suppress holds the service withdrawn; the timer is set for the reuse time',
    before: dampable({ health: health('falling', 0, 1), damping: { penalty: 1500, at: NOW, suppressedUntil: undefined } }),
    event: result(false),
    after: { damping: { penalty: 2500, at: NOW, suppressedUntil: NOW + 2 * 60_000 }, noted: 'down' },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'suppressed', penalty: 2500, until: NOW + 2 * 60_000 },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
      { kind: 'timer', at: NOW + 2 * 60_000 },
    ],
  },
  {
    name: 'damping: healthy again while suppressed: nothing to apply, state suppressed',
    before: dampable({ health: health('rising', 1), damping: suppressedAt(NOW + 60_000), noted: 'down' }),
    event: result(true),
    after: { health: health('up', 2), noted: 'suppressed' },
    effects: [
      { kind: 'phase', from: 'rising', to: 'up' },
      { kind: 'state', from: 'down', to: 'suppressed', reason: `flap damping: penalty 2500, reused at ${new Date(NOW + 60_000).toISOString()}` },
    ],
  },
  {
    name: 'damping: the reuse time announces a healthy service',
    before: dampable({ damping: suppressedAt(NOW), noted: 'suppressed' }),
    event: { kind: 'timer' },
    after: { damping: { penalty: 2500, at: NOW - 1, suppressedUntil: undefined }, noted: 'up' },
    effects: [
      { kind: 'kick', announce: true },
      { kind: 'state', from: 'suppressed', to: 'up', reason: 'flap damping: reused' },
    ],
  },
  {
    name: 'damping: a grace timer before the reuse time keeps the reuse timer',
    before: dampable({ damping: suppressedAt(NOW + 5000), grace: graceOf(true, NOW, 'paused'), noted: 'suppressed' }),
    event: { kind: 'timer' },
    after: { grace: undefined },
    effects: [{ kind: 'kick' }, { kind: 'grace-ended' }, { kind: 'timer', at: NOW + 5000 }],
  },
  {
    name: 'keep_last, fall reached: stay announced and ask for a fresh reading of the advertisers',
    before: keeping({ health: falling }),
    event: result(false),
    fleet: seen(['0.0.0.2', '0.0.0.3'], NOW - 5000),
    after: { health: downHealth, keep: hold('pending', { asked: NOW, reason: 'probes failed: reading the advertisers' }), noted: 'down' },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      { kind: 'fleet-read' },
      { kind: 'recheck', at: NOW + KEEP_READ_LIMIT_MS },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'keep_last without a reading of FRR: withdraw as without it, and say why',
    before: keeping({ health: falling }),
    event: result(false),
    after: { health: downHealth, keep: undefined },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      {
        kind: 'keep-withdraw',
        reason: 'advertisers unknown (FRR is not read: no vtysh, or frr.protocol is not ospf): withdrawing as without keep_last',
        unknown: true,
      },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
  {
    name: 'keep_last, pending: a reading begun before the question is not fresh enough',
    before: keeping({ health: downHealth, keep: hold('pending', { asked: NOW }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.3'], NOW - 1),
    after: { keep: hold('pending', { asked: NOW }) },
    effects: [],
  },
  {
    name: 'keep_last, pending: alone in the fresh reading: kept as the last advertiser',
    before: keeping({ health: downHealth, keep: hold('pending', { asked: NOW }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.3']),
    after: { keep: hold('last', { reason: 'no other router advertises 192.0.2.53: keeping the last advertisement' }) },
    effects: [{ kind: 'kept-last', kept: true, reason: 'no other router advertises 192.0.2.53: keeping the last advertisement' }],
  },
  {
    name: 'keep_last, pending: a higher router-id also advertises: withdraw at once',
    before: keeping({ health: downHealth, keep: hold('pending', { asked: NOW }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.3', '0.0.0.4']),
    after: {
      keep: {
        state: 'standby',
        asked: undefined,
        guardUntil: undefined,
        reason: 'other routers advertise every address; 0.0.0.4 (higher router-id) decides for the fleet',
        since: NOW,
      },
    },
    effects: [
      { kind: 'keep-withdraw', reason: 'other routers advertise every address; 0.0.0.4 (higher router-id) decides for the fleet', unknown: false },
      { kind: 'kick', announce: false },
    ],
  },
  {
    name: 'keep_last, pending: the highest of several: guard period',
    before: keeping({ health: downHealth, keep: hold('pending', { asked: NOW }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3']),
    after: {
      keep: hold('guard', { guardUntil: NOW + 3000, reason: 'highest router-id among the advertisers (others: 0.0.0.2): waiting 3000ms before deciding' }),
    },
    effects: [{ kind: 'recheck', at: NOW + 3000 }],
  },
  {
    name: 'keep_last, pending, reads slow (1.2 s at worst lately): the guard covers detection (2 x 200 + 150 ms) and 3 reads',
    before: keeping({
      config: config({ keepLast: true, keepLastGuardMs: 3000, intervalMs: 200, timeoutMs: 150 }),
      health: downHealth,
      keep: hold('pending', { asked: NOW }),
    }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3'], NOW, 1200),
    after: {
      keep: hold('guard', { guardUntil: NOW + 4150, reason: 'highest router-id among the advertisers (others: 0.0.0.2): waiting 4150ms before deciding' }),
    },
    effects: [{ kind: 'recheck', at: NOW + 4150 }],
  },
  {
    name: 'keep_last, guard: the same others still advertise: keep waiting, the timer stands',
    before: keeping({ health: downHealth, keep: hold('guard', { guardUntil: NOW + 1000 }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3']),
    after: { keep: hold('guard', { guardUntil: NOW + 1000, reason: 'guard period: others (0.0.0.2) still advertise' }) },
    effects: [],
  },
  {
    name: 'keep_last, guard: one of the others withdrew meanwhile: the fleet is not settled, the guard starts again',
    before: keeping({ health: downHealth, keep: hold('guard', { guardUntil: NOW + 1000, others: ['0.0.0.1', '0.0.0.2'] }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3']),
    after: {
      keep: hold('guard', {
        guardUntil: NOW + 3000,
        reason: 'advertisers changed during the guard period (0.0.0.1, 0.0.0.2 -> 0.0.0.2): waiting 3000ms again',
      }),
    },
    effects: [{ kind: 'recheck', at: NOW + 3000 }],
  },
  {
    name: 'keep_last, guard over, but the others changed since it began: guard again rather than withdraw',
    before: keeping({ health: downHealth, keep: hold('guard', { guardUntil: NOW, asked: NOW, others: ['0.0.0.1', '0.0.0.2'] }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3']),
    after: {
      keep: hold('guard', {
        guardUntil: NOW + 3000,
        reason: 'advertisers changed during the guard period (0.0.0.1, 0.0.0.2 -> 0.0.0.2): waiting 3000ms again',
      }),
    },
    effects: [{ kind: 'recheck', at: NOW + 3000 }],
  },
  {
    name: 'keep_last, guard while recovering (rising), fails again: the guard is stale, decide afresh on a new reading',
    before: keeping({ health: health('rising', 1), keep: hold('guard', { guardUntil: NOW + 500 }), noted: 'down' }),
    event: result(false),
    after: {
      health: { phase: 'down', successes: 0, failures: 1 },
      keep: hold('pending', { asked: NOW, reason: 'probes failed again: reading the advertisers' }),
    },
    effects: [{ kind: 'phase', from: 'rising', to: 'down' }, { kind: 'fleet-read' }, { kind: 'recheck', at: NOW + KEEP_READ_LIMIT_MS }],
  },
  {
    name: 'keep_last, kept as the last while recovering, fails again: still the last, nothing to decide',
    before: keeping({ health: health('rising', 1), keep: hold('last'), noted: 'down' }),
    event: result(false),
    after: { health: { phase: 'down', successes: 0, failures: 1 }, keep: hold('last') },
    effects: [{ kind: 'phase', from: 'rising', to: 'down' }],
  },
  {
    name: 'keep_last, guard over: ask for a fresh reading',
    before: keeping({ health: downHealth, keep: hold('guard', { guardUntil: NOW }) }),
    event: { kind: 'recheck' },
    after: { keep: hold('guard', { guardUntil: NOW, asked: NOW }) },
    effects: [{ kind: 'fleet-read' }, { kind: 'recheck', at: NOW + KEEP_READ_LIMIT_MS }],
  },
  {
    name: 'keep_last, guard over and others still advertise: withdraw',
    before: keeping({ health: downHealth, keep: hold('guard', { guardUntil: NOW, asked: NOW }) }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.2', '0.0.0.3']),
    after: {
      keep: standby('others (0.0.0.2) still advertise after the guard period'),
    },
    effects: [
      { kind: 'keep-withdraw', reason: 'others (0.0.0.2) still advertise after the guard period', unknown: false },
      { kind: 'kick', announce: false },
    ],
  },
  {
    name: 'keep_last, no fresh reading in time: decide as unknown (withdraw)',
    before: keeping({ health: downHealth, keep: hold('pending', { asked: NOW - KEEP_READ_LIMIT_MS }) }),
    event: { kind: 'recheck' },
    after: { keep: undefined },
    effects: [
      { kind: 'keep-withdraw', reason: 'advertisers unknown (FRR could not be asked): withdrawing as without keep_last', unknown: true },
      { kind: 'kick', announce: false },
    ],
  },
  {
    name: 'keep_last, kept and another router advertises again (higher id): withdraw with the usual grace',
    before: keeping({ health: downHealth, keep: hold('last') }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.3', '0.0.0.9']),
    after: {
      keep: {
        state: 'standby',
        asked: undefined,
        guardUntil: undefined,
        reason: 'other routers advertise every address; 0.0.0.9 (higher router-id) decides for the fleet',
        since: NOW,
      },
      grace: graceOf(false, NOW + 1000, 'other routers advertise every address; 0.0.0.9 (higher router-id) decides for the fleet'),
    },
    effects: [
      { kind: 'keep-withdraw', reason: 'other routers advertise every address; 0.0.0.9 (higher router-id) decides for the fleet', unknown: false },
      { kind: 'kept-last', kept: false, reason: 'other routers advertise every address; 0.0.0.9 (higher router-id) decides for the fleet' },
      { kind: 'grace-started', ms: 500, reason: 'other routers advertise every address; 0.0.0.9 (higher router-id) decides for the fleet' },
      { kind: 'timer', at: NOW + 1000 },
      { kind: 'kick', announce: false },
    ],
  },
  {
    name: 'keep_last, kept: healthy again is plain health (no longer kept)',
    before: keeping({ health: health('rising', 1), keep: hold('last') }),
    event: result(true),
    after: { keep: undefined, health: health('up', 2) },
    effects: [
      { kind: 'phase', from: 'rising', to: 'up' },
      { kind: 'kick', announce: true },
    ],
  },
  {
    name: 'keep_last, kept: drained by an operator withdraws anyway (deliberate)',
    before: keeping({ health: downHealth, keep: hold('last') }),
    event: { kind: 'maintenance', hold: HOLD },
    after: { keep: undefined, maintenance: HOLD, grace: graceOf(false, NOW + 1000, 'drained by cli') },
    effects: [
      { kind: 'grace-started', ms: 500, reason: 'drained by cli' },
      { kind: 'timer', at: NOW + 1000 },
    ],
  },
  {
    name: 'keep_last, kept: stopping withdraws anyway (deliberate)',
    before: keeping({ health: downHealth, keep: hold('last') }),
    event: { kind: 'mode', from: 'running', to: 'stopped' },
    after: { keep: undefined, grace: graceOf(false, NOW + 1000, 'shutting down') },
    effects: [
      { kind: 'grace-started', ms: 500, reason: 'shutting down' },
      { kind: 'timer', at: NOW + 1000 },
    ],
  },
  {
    name: 'keep_last, standing by: another router still advertises: stay withdrawn',
    before: keeping({ health: downHealth, keep: standby(), noted: 'down' }),
    event: { kind: 'fleet' },
    fleet: seen(['0.0.0.4']),
    after: { keep: standby() },
    effects: [],
  },
  {
    name: 'keep_last, standing by: nobody advertises any more (the one it deferred to withdrew too): announce again, decide afresh',
    before: keeping({ health: downHealth, keep: standby(), noted: 'down' }),
    event: { kind: 'fleet' },
    fleet: seen([]),
    after: {
      keep: hold('pending', { asked: NOW, reason: 'no router advertises 192.0.2.53 any more: announcing it again although the service is down' }),
    },
    effects: [
      { kind: 'keep-rescue', reason: 'no router advertises 192.0.2.53 any more: announcing it again although the service is down' },
      { kind: 'kick', announce: true },
      { kind: 'fleet-read' },
      { kind: 'recheck', at: NOW + KEEP_READ_LIMIT_MS },
    ],
  },
  {
    name: 'keep_last, standing by while drained: nobody advertises, still nothing (deliberate)',
    before: keeping({ health: downHealth, keep: standby(), maintenance: HOLD, noted: 'drained' }),
    event: { kind: 'fleet' },
    fleet: seen([]),
    after: { keep: standby() },
    effects: [],
  },
  {
    name: 'keep_last, standing by: FRR not answering: nothing to conclude',
    before: keeping({ health: downHealth, keep: standby(), noted: 'down' }),
    event: { kind: 'fleet' },
    fleet: { at: NOW, snapshot: undefined, problem: 'FRR could not be asked' },
    after: { keep: standby() },
    effects: [],
  },
  {
    name: 'keep_last, standing by: pausing clears it (nothing announced to withdraw)',
    before: keeping({ health: downHealth, keep: standby(), noted: 'down' }),
    event: { kind: 'mode', from: 'running', to: 'paused' },
    after: { keep: undefined },
    effects: [],
  },
  {
    name: 'keep_last, standing by: healthy again is plain health',
    before: keeping({ health: health('rising', 1), keep: standby(), noted: 'down' }),
    event: result(true),
    after: { keep: undefined, health: health('up', 2) },
    effects: [
      { kind: 'phase', from: 'rising', to: 'up' },
      { kind: 'kick', announce: true },
      { kind: 'state', from: 'down', to: 'up', reason: 'all probes passed' },
    ],
  },
  {
    name: 'keep_last with announce: bgp: advertisers unknown, withdraw and say why',
    before: up({ config: config({ keepLast: true, announce: 'bgp' }), health: falling }),
    event: result(false),
    fleet: seen(['0.0.0.3']),
    after: { keep: undefined },
    effects: [
      { kind: 'phase', from: 'falling', to: 'down' },
      {
        kind: 'keep-withdraw',
        reason: "advertisers unknown for announce: bgp (the node does not see the fleet's BGP paths): withdrawing as without keep_last",
        unknown: true,
      },
      { kind: 'kick', announce: false },
      { kind: 'state', from: 'up', to: 'down', reason: 'dns: timed out' },
    ],
  },
];

for (const row of rows) {
  test(`service record: ${row.name}`, () => {
    const { record: after, effects } = next(row.before, row.event, NOW, { mode: row.mode ?? 'running', drainInterface: 'hc-drain', fleet: row.fleet });
    for (const [key, value] of Object.entries(row.after)) assert.deepEqual(after[key as keyof ServiceRecord], value, key);
    assert.deepEqual(effects, row.effects);
  });
}

test('the hot path: a round that keeps the phase returns no effects and leaves the input record as it was', () => {
  const before = up();
  const frozen = structuredClone({ ...before, config: undefined });
  const { effects } = next(before, result(true), NOW, { mode: 'running', drainInterface: 'hc-drain' });
  assert.equal(effects.length, 0);
  assert.deepEqual({ ...before, config: undefined }, frozen, 'next() never changes the record it is given');
});

test('desired entries: the announcement while wanted, the parked entries during the grace period, else nothing', () => {
  const announced = [{ service: 'dns', kind: 'address', address: '192.0.2.53', interface: 'lo' }];
  assert.deepEqual(desiredEntries(up(), 'running'), announced);
  assert.deepEqual(desiredEntries(up({ grace: graceOf(true, NOW, 'paused') }), 'paused'), [parkedEntry]);
  assert.deepEqual(desiredEntries(up({ maintenance: HOLD }), 'running'), []);
  assert.deepEqual(desiredEntries(record({ health: health('rising', 1) }), 'running'), []);
  assert.equal(wants(up({ health: health('falling', 0, 1) }), 'running'), true, 'falling still announces');
  assert.equal(wants(up(), 'created'), false);
  assert.equal(wants(record({ health: health('down'), keep: hold('last') }), 'running'), true, 'kept by keep_last still announces');
  assert.equal(wants(record({ health: health('down'), keep: hold('last'), maintenance: HOLD }), 'running'), false);
  assert.equal(wants(record({ health: health('down'), keep: standby() }), 'running'), false, 'standing by is withdrawn');
});

test('keep_last reads the fleet every second while it holds a service, and for a minute after it stood by', () => {
  assert.equal(keepWatching(record({ health: health('down'), keep: hold('guard') }), NOW), true);
  assert.equal(keepWatching(record({ health: health('down'), keep: standby() }), NOW + STANDBY_URGENT_MS - 1), true);
  assert.equal(keepWatching(record({ health: health('down'), keep: standby() }), NOW + STANDBY_URGENT_MS), false);
  assert.equal(keepWatching(up(), NOW), false);
});
