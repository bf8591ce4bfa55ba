import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_STATE, holdDownRemaining, isAnnounced, step, type HealthState, type Phase } from '../../../src/core/state-machine.js';

const S = (phase: Phase, successes = 0, failures = 0, withdrawnAt?: number): HealthState =>
  withdrawnAt === undefined ? { phase, successes, failures } : { phase, successes, failures, withdrawnAt };
const NOW = 100_000;

// [from, probe ok?, rise, fall, expected]
const table: [HealthState, boolean, number, number, HealthState][] = [
  [INITIAL_STATE, true, 3, 2, S('rising', 1, 0)],
  [INITIAL_STATE, false, 3, 2, S('down', 0, 1)],
  [INITIAL_STATE, true, 1, 2, S('up', 1, 0)],
  [S('rising', 1), true, 3, 2, S('rising', 2, 0)],
  [S('rising', 2), true, 3, 2, S('up', 3, 0)],
  [S('rising', 2), false, 3, 2, S('down', 0, 1)],
  [S('down', 0, 5), false, 3, 2, S('down', 0, 6)],
  [S('down', 0, 5), true, 3, 2, S('rising', 1, 0)],
  [S('up', 7), true, 3, 2, S('up', 8, 0)],
  [S('up', 7), false, 3, 2, S('falling', 0, 1)],
  [S('up', 7), false, 3, 1, S('down', 0, 1, NOW)],
  [S('falling', 0, 1), false, 3, 2, S('down', 0, 2, NOW)],
  [S('falling', 0, 1), true, 3, 2, S('up', 1, 0)],
  [S('falling', 0, 1), false, 3, 3, S('falling', 0, 2)],
];

for (const [from, ok, rise, fall, expected] of table) {
  test(`${from.phase}(${from.successes}/${from.failures}) + ${ok ? 'ok' : 'fail'} with rise ${rise} fall ${fall} -> ${expected.phase}`, () => {
    assert.deepEqual(step(from, ok, { rise, fall }, NOW), expected);
  });
}

test('only up and falling are announced (fail closed)', () => {
  const announced = (['init', 'rising', 'up', 'falling', 'down'] as Phase[]).filter(isAnnounced);
  assert.deepEqual(announced, ['up', 'falling']);
});

test('a flapping service never reaches up unless rise successes are consecutive', () => {
  let state = INITIAL_STATE;
  for (let i = 0; i < 50; i += 1) state = step(state, i % 3 !== 2, { rise: 3, fall: 2 });
  assert.notEqual(state.phase, 'up');
  assert.equal(isAnnounced(state.phase), false);
});

// [from, ok, holdDownMs, expected]: the hold-down keeps a risen service back until it expires.
const holdDownTable: [HealthState, boolean, number, HealthState][] = [
  [S('rising', 2, 0, NOW - 1000), true, 3000, S('rising', 3, 0, NOW - 1000)],
  [S('rising', 5, 0, NOW - 1000), true, 3000, S('rising', 6, 0, NOW - 1000)],
  [S('rising', 5, 0, NOW - 3000), true, 3000, S('up', 6, 0)],
  [S('rising', 2, 0, NOW - 1000), true, 0, S('up', 3, 0)],
  [S('down', 0, 1, NOW - 1000), false, 3000, S('down', 0, 2, NOW - 1000)],
  [S('rising', 2, 0, NOW - 1000), false, 3000, S('down', 0, 1, NOW - 1000)],
];
for (const [from, ok, holdDownMs, expected] of holdDownTable) {
  test(`hold-down ${holdDownMs}ms: ${from.phase}(${from.successes}) withdrawn ${NOW - (from.withdrawnAt ?? NOW)}ms ago + ${ok ? 'ok' : 'fail'} -> ${expected.phase}`, () => {
    assert.deepEqual(step(from, ok, { rise: 3, fall: 2, holdDownMs }, NOW), expected);
  });
}

test('hold-down remaining', () => {
  assert.equal(holdDownRemaining(S('rising', 1, 0, NOW - 500), { rise: 3, fall: 2, holdDownMs: 2000 }, NOW), 1500);
  assert.equal(holdDownRemaining(S('rising', 1, 0), { rise: 3, fall: 2, holdDownMs: 2000 }, NOW), 0);
});
