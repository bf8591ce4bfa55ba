// The routing-policy decisions, from tables with an injected clock: the degraded state, the transition interval and
// the flap-damping penalty (issue 14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_DEGRADE, stepDegrade, type DegradeState } from '../../../src/core/degrade.js';
import { ceiling, decayed, flap, isSuppressed, NO_PENALTY, release, type DampingState } from '../../../src/core/damping.js';
import { probeIntervalMs } from '../../../src/core/probe-interval.js';
import { hookFor, serviceState } from '../../../src/core/service-state.js';
import { DEFAULT_DAMPING } from '../../../src/config/defaults.js';
import type { Phase } from '../../../src/core/state-machine.js';
import type { DampingConfig } from '../../../src/config/types.js';

const thresholds = { rise: 2, fall: 3 };
const degrade = (degraded: boolean, successes: number, failures: number, reason = 'not yet probed'): DegradeState => ({
  degraded,
  successes,
  failures,
  reason,
});

const degradeRows: { name: string; from: DegradeState; ok: boolean; to: DegradeState }[] = [
  { name: 'a fresh service is degraded until rise passes', from: INITIAL_DEGRADE, ok: true, to: degrade(true, 1, 0) },
  { name: 'rise passes clear it', from: degrade(true, 1, 0), ok: true, to: degrade(false, 2, 0) },
  { name: 'one failure of fall 3 keeps the metric', from: degrade(false, 7, 0), ok: false, to: degrade(false, 0, 1, 'slow') },
  { name: 'fall failures degrade, with the reason', from: degrade(false, 0, 2), ok: false, to: degrade(true, 0, 3, 'slow') },
  { name: 'a pass while degraded counts toward rise only', from: degrade(true, 0, 9, 'slow'), ok: true, to: degrade(true, 1, 0, 'slow') },
  { name: 'a failure while degraded stays degraded', from: degrade(true, 1, 0, 'old'), ok: false, to: degrade(true, 0, 1, 'slow') },
];
for (const row of degradeRows) {
  test(`degrade: ${row.name}`, () => assert.deepEqual(stepDegrade(row.from, row.ok, 'slow', thresholds), row.to));
}

const intervalRows: { phase: Phase; fast: number | undefined; ms: number }[] = [
  { phase: 'up', fast: 100, ms: 1000 },
  { phase: 'down', fast: 100, ms: 1000 },
  { phase: 'falling', fast: 100, ms: 100 },
  { phase: 'rising', fast: 100, ms: 100 },
  { phase: 'falling', fast: undefined, ms: 1000 },
  { phase: 'init', fast: 100, ms: 1000 },
];
for (const row of intervalRows) {
  test(`probe interval: ${row.phase} with fast_interval ${row.fast ?? 'unset'} -> ${row.ms} ms`, () => {
    assert.equal(probeIntervalMs({ intervalMs: 1000, ...(row.fast !== undefined ? { fastIntervalMs: row.fast } : {}) }, row.phase), row.ms);
  });
}

const defaults: DampingConfig = {
  halfLifeMs: DEFAULT_DAMPING.half_life,
  suppress: DEFAULT_DAMPING.suppress,
  reuse: DEFAULT_DAMPING.reuse,
  maxSuppressMs: DEFAULT_DAMPING.max_suppress,
};
const MIN = 60_000;

// Flaps at the given minutes; returns the state after the last one.
function flaps(minutes: readonly number[], config = defaults): DampingState {
  let state: DampingState = NO_PENALTY;
  for (const minute of minutes) state = flap(release(state, minute * MIN), config, minute * MIN);
  return state;
}

test('damping: the defaults never suppress a service that fails once an hour, for a day', () => {
  const state = flaps(Array.from({ length: 24 }, (_, hour) => hour * 60));
  assert.equal(state.suppressedUntil, undefined);
  assert.ok(state.penalty < 1100, `penalty ${state.penalty}`);
});

test('damping: the defaults suppress the third flap within a few minutes, until the penalty decays below reuse', () => {
  const state = flaps([0, 1, 2]);
  assert.ok(state.suppressedUntil !== undefined);
  // 3 flaps ~2.9k; down to 750 after log2(2.9k/750) ~1.95 half-lives of 15 min.
  const minutes = (state.suppressedUntil - 2 * MIN) / MIN;
  assert.ok(minutes > 25 && minutes < 32, `suppressed for ${minutes} min`);
  assert.equal(isSuppressed(state, state.suppressedUntil - 1), true);
  assert.equal(isSuppressed(state, state.suppressedUntil), false);
  assert.equal(release(state, state.suppressedUntil).suppressedUntil, undefined);
});

test('damping: the penalty halves every half_life', () => {
  const state: DampingState = { penalty: 2000, at: 0, suppressedUntil: undefined };
  assert.equal(decayed(state, defaults, defaults.halfLifeMs), 1000);
  assert.equal(decayed(state, defaults, 2 * defaults.halfLifeMs), 500);
});

test('damping: flapping for hours never suppresses longer than max_suppress', () => {
  const config = { ...defaults, maxSuppressMs: 30 * MIN };
  const state = flaps(
    Array.from({ length: 200 }, (_, index) => index * 0.5),
    config,
  );
  assert.ok(state.penalty <= ceiling(config) + 1e-6);
  assert.ok(state.suppressedUntil! - 99.5 * MIN <= 30 * MIN + 1, `suppressed for ${(state.suppressedUntil! - 99.5 * MIN) / MIN} min`);
});

test('state: degraded and suppressed are states of their own; hooks fire on announcement, not on the metric', () => {
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'up', degraded: true }), 'degraded');
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'falling', degraded: true }), 'degraded');
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'down', degraded: true }), 'down');
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'up', suppressed: true }), 'suppressed');
  assert.equal(hookFor('up', 'degraded'), undefined);
  assert.equal(hookFor('degraded', 'up'), undefined);
  assert.equal(hookFor('down', 'degraded'), 'on_up');
  assert.equal(hookFor('degraded', 'down'), 'on_down');
  assert.equal(hookFor('up', 'down'), 'on_down');
});
