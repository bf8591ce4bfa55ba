// The degraded prefix-lists: desired x what FRR has -> vtysh lines, from a table (src/frr/degraded-plan.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredLists, parseRunningLists, planLists, SENTINEL, SENTINEL_SEQ, type ListState } from '../../../src/frr/degraded-plan.js';

const V4 = 'HC-DEGRADED-V4-65000';
const V6 = 'HC-DEGRADED-V6-65000';
const withSentinel = (entries: [string, number][]) => new Map<string, number>([[SENTINEL, SENTINEL_SEQ], ...entries]);

const rows: { name: string; degraded: { address: string; metric: number }[]; present: ListState; lines: string[] }[] = [
  { name: 'nothing degraded, nothing there', degraded: [], present: new Map(), lines: [] },
  {
    name: 'a first degraded address: the closing deny, then the entry',
    degraded: [{ address: '192.0.2.53', metric: 65000 }],
    present: new Map(),
    lines: [`ip prefix-list ${V4} seq ${SENTINEL_SEQ} deny any`, `ip prefix-list ${V4} seq 10 permit 192.0.2.53/32`],
  },
  {
    name: 'IPv6 goes to the V6 list with ipv6 prefix-list',
    degraded: [{ address: '2001:db8:53::53', metric: 65000 }],
    present: new Map([[V6, withSentinel([])]]),
    lines: [`ipv6 prefix-list ${V6} seq 10 permit 2001:db8:53::53/128`],
  },
  {
    name: 'already there: nothing to send',
    degraded: [{ address: '192.0.2.53', metric: 65000 }],
    present: new Map([[V4, withSentinel([['192.0.2.53/32', 10]])]]),
    lines: [],
  },
  {
    name: 'no longer degraded: removed by its seq, the closing deny stays',
    degraded: [],
    present: new Map([[V4, withSentinel([['192.0.2.53/32', 20]])]]),
    lines: [`no ip prefix-list ${V4} seq 20 permit 192.0.2.53/32`],
  },
  {
    name: 'a new entry takes the lowest free seq',
    degraded: [
      { address: '192.0.2.53', metric: 65000 },
      { address: '192.0.2.54', metric: 65000 },
    ],
    present: new Map([[V4, withSentinel([['192.0.2.53/32', 10]])]]),
    lines: [`ip prefix-list ${V4} seq 20 permit 192.0.2.54/32`],
  },
  {
    name: 'moved to another level: added there before it leaves the old one',
    degraded: [{ address: '192.0.2.53', metric: 1000 }],
    present: new Map([[V4, withSentinel([['192.0.2.53/32', 10]])]]),
    lines: [
      `ip prefix-list HC-DEGRADED-V4-1000 seq ${SENTINEL_SEQ} deny any`,
      'ip prefix-list HC-DEGRADED-V4-1000 seq 10 permit 192.0.2.53/32',
      `no ip prefix-list ${V4} seq 10 permit 192.0.2.53/32`,
    ],
  },
];

for (const row of rows) {
  test(`degraded lists: ${row.name}`, () => {
    const plan = planLists(desiredLists(row.degraded), row.present);
    assert.deepEqual(plan.lines, row.lines);
    // Applying the plan and planning again sends nothing: the mirror is what FRR now has.
    assert.deepEqual(planLists(desiredLists(row.degraded), plan.next).lines, []);
  });
}

test('degraded lists: read back from show running-config (FRR 8.4 text), other lists ignored', () => {
  const text = [
    'ip prefix-list HC-SERVICES-V4 seq 10 permit 192.0.2.53/32',
    `ip prefix-list ${V4} seq 10 permit 192.0.2.53/32`,
    `ip prefix-list ${V4} seq 4294967295 deny any`,
    `ipv6 prefix-list ${V6} seq 30 permit 2001:db8:53::53/128`,
    `ip prefix-list ${V4} seq 20 deny 192.0.2.9/32`,
  ].join('\n');
  assert.deepEqual(
    parseRunningLists(text),
    new Map([
      [V4, withSentinel([['192.0.2.53/32', 10]])],
      [V6, new Map([['2001:db8:53::53/128', 30]])],
    ]),
  );
});
