// Table-driven tests for statusesAfter(): every row names what a pass saw and did, and the status each entry gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusesAfter, type ListingOutcome, type PassFacts } from '../../../src/routing/statuses.js';
import { entryKey, type DesiredEntry, type EntryKind, type EntryStatus, type RoutingEntry } from '../../../src/routing/types.js';

const addr = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address, interface: iface });
const bgp = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: 'bgp' });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });
const key = entryKey;

const A = addr('192.0.2.53');
const B = addr('2001:db8::53');
const N = bgp('192.0.2.53');

const listing = (present: RoutingEntry[], unreadable: [EntryKind, string][] = []): ListingOutcome => ({
  present: new Set(present.map(key)),
  unreadable: new Map(unreadable),
});
const present: EntryStatus = { state: 'present' };
const error = (reason: string): EntryStatus => ({ state: 'error', reason });

interface Row {
  name: string;
  facts: Partial<PassFacts> & { desired: DesiredEntry[] };
  // Expected status per entry, by the entry.
  expect: [RoutingEntry, EntryStatus][];
}

const rows: Row[] = [
  { name: 'on the system and ours: present', facts: { desired: [want(A)], after: listing([A]), owned: new Set([key(A)]) }, expect: [[A, present]] },
  {
    name: 'on the system but not in the settled record: not present, the backend claimed success',
    facts: { desired: [want(A)], after: listing([A]) },
    expect: [[A, error('not on the system after applying, although the backend reported success')]],
  },
  {
    name: 'the kernel could not be listed: every entry an error, nothing else matters',
    facts: { desired: [want(A), want(N)], before: { error: 'ip: command not found' }, after: { error: 'ip: command not found' } },
    expect: [
      [A, error("cannot list the kernel's addresses and routes: ip: command not found")],
      [N, error("cannot list the kernel's addresses and routes: ip: command not found")],
    ],
  },
  {
    name: 'a kind not listed before planning: its entries are errors, the others carry on',
    facts: {
      desired: [want(A), want(N)],
      before: listing([], [['bgp', 'bgpd is not running']]),
      after: listing([A], [['bgp', 'bgpd is not running']]),
      owned: new Set([key(A)]),
    },
    expect: [
      [A, present],
      [N, error('cannot list bgp entries: bgpd is not running')],
    ],
  },
  {
    name: 'a kind listed before but not after applying',
    facts: { desired: [want(A), want(N)], after: listing([A], [['bgp', 'bgpd is not running']]), owned: new Set([key(A), key(N)]) },
    expect: [
      [A, present],
      [N, error('cannot list bgp entries after applying: bgpd is not running')],
    ],
  },
  {
    name: 'someone else holds it: conflict, whatever the listing after says',
    facts: {
      desired: [want(A)],
      conflicts: [{ entry: want(A), holders: [{ ...addr('192.0.2.53', 'eth0'), prefixLength: 24, label: 'eth0' }] }],
      after: listing([A]),
      owned: new Set([key(A)]),
    },
    expect: [
      [
        A,
        { state: 'conflict', reason: 'address 192.0.2.53 is already on eth0 as 192.0.2.53/24 (label eth0) and was not added by healthcast; leaving it alone' },
      ],
    ],
  },
  {
    name: 'a bgp statement configured by hand: conflict in bgpd words',
    facts: { desired: [want(N)], conflicts: [{ entry: want(N), holders: [N] }], after: listing([N]) },
    expect: [
      [N, { state: 'conflict', reason: 'a bgpd network statement for 192.0.2.53 is already configured and was not added by healthcast; leaving it alone' }],
    ],
  },
  {
    name: 'the record could not be written: the adds are errors, entries already owned stay present',
    facts: { desired: [want(A), want(B)], unrecorded: { entries: [B], reason: 'EROFS: read-only file system' }, after: listing([A]), owned: new Set([key(A)]) },
    expect: [
      [A, present],
      [B, error('not added: EROFS: read-only file system (healthcast only adds what it has recorded as its own)')],
    ],
  },
  {
    name: 'the listing after applying failed: errors, but earlier verdicts stand',
    facts: {
      desired: [want(A), want(B), want(N)],
      before: listing([], [['bgp', 'bgpd is not running']]),
      unrecorded: { entries: [B], reason: 'EROFS' },
      after: { error: 'ip exited with status 1' },
      owned: new Set([key(A)]),
    },
    expect: [
      [A, error('cannot list the kernel after applying: ip exited with status 1')],
      [B, error('not added: EROFS (healthcast only adds what it has recorded as its own)')],
      [N, error('cannot list bgp entries: bgpd is not running')],
    ],
  },
  {
    name: 'a failed op: that entry gets its own reason, the batch error covers the rest, applied ones are present',
    facts: {
      desired: [want(A), want(B), want(addr('192.0.2.54'))],
      after: listing([A]),
      owned: new Set([key(A)]),
      applyFailure: { perEntry: new Map([[key(B), 'Error: Nexthop device is not up.']]), reason: '1 of 3 ip operations failed' },
    },
    expect: [
      [A, present],
      [B, error('could not be added: Error: Nexthop device is not up.')],
      [addr('192.0.2.54'), error('could not be added: 1 of 3 ip operations failed')],
    ],
  },
];

for (const row of rows) {
  test(`statuses: ${row.name}`, () => {
    const facts: PassFacts = { before: listing([]), conflicts: [], after: listing([]), owned: new Set(), ...row.facts };
    const statuses = statusesAfter(facts);
    assert.deepEqual([...statuses.keys()].sort(), row.facts.desired.map(key).sort(), 'one status per desired entry');
    for (const [entry, status] of row.expect) assert.deepEqual(statuses.get(key(entry)), status, key(entry));
  });
}
