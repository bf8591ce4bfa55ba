// What one batch writes to bgpd: each address's ops are one change (announce, withdraw, hold, drop), from a table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BgpdConfig } from '../../../src/routing/bgp-commands.js';
import { bgpUnits, listedEntries, planBgpWrite } from '../../../src/routing/bgp-write.js';
import { BGP_INTERFACE, HELD_INTERFACE, type KernelEntry, type RoutingOp } from '../../../src/routing/types.js';

const on = (address: string, iface = BGP_INTERFACE): KernelEntry => ({
  kind: 'bgp',
  address,
  interface: iface,
  prefixLength: address.includes(':') ? 128 : 32,
});
const op = (action: 'add' | 'remove', address: string, iface = BGP_INTERFACE): RoutingOp => ({ action, entry: { kind: 'bgp', address, interface: iface } });
const LISTS = { 4: new Map([['192.0.2.60', 7]]), 6: new Map<string, number>() };
const router = (...lines: string[]) => ['router bgp 65001', 'address-family ipv4 unicast', ...lines, 'exit-address-family'];

function write(known: BgpdConfig, ops: RoutingOp[], virtual: ReadonlySet<string> = new Set(), max?: number) {
  return planBgpWrite('65001', known, bgpUnits(ops), virtual, max);
}
const shown = (entries: readonly KernelEntry[]) => entries.map((entry) => `${entry.address} ${entry.interface}`).sort();

test('units: one change per address from its ops', () => {
  const units = bgpUnits([
    op('remove', '192.0.2.1'),
    op('add', '192.0.2.1', HELD_INTERFACE),
    op('remove', '192.0.2.2', HELD_INTERFACE),
    op('add', '192.0.2.2'),
    op('add', '192.0.2.3'),
    op('remove', '192.0.2.4'),
    op('remove', '192.0.2.5', HELD_INTERFACE),
    op('add', '192.0.2.6', HELD_INTERFACE),
  ]);
  assert.deepEqual(
    units.map((unit) => `${unit.address} ${unit.change} ${unit.ops.length}`),
    ['192.0.2.1 hold 2', '192.0.2.2 announce 2', '192.0.2.3 announce 1', '192.0.2.4 withdraw 1', '192.0.2.5 drop 1', '192.0.2.6 hold 1'],
  );
});

test('a drain holds the statement back by its deny entry alone; an announcement deletes the entry and keeps the statement', () => {
  const known: BgpdConfig = { asn: '65001', networks: [on('192.0.2.53')], held: LISTS };
  const hold = write(known, [op('remove', '192.0.2.53'), op('add', '192.0.2.53', HELD_INTERFACE)]);
  // `network` again after the entry: nothing for bgpd, and a statement the belief lost is there again.
  assert.deepEqual(hold.lines, ['ip prefix-list HC-BGP-HOLD-V4 seq 8 deny 192.0.2.53/32', ...router('network 192.0.2.53/32')]);
  assert.deepEqual(shown(hold.after.networks), ['192.0.2.53 bgp-held']);
  assert.equal(hold.after.held?.[4]?.get('192.0.2.53'), 8);
  assert.equal(LISTS[4].has('192.0.2.53'), false, 'the input is not changed');

  const back = write(hold.after, [op('remove', '192.0.2.53', HELD_INTERFACE), op('add', '192.0.2.53')]);
  assert.equal(back.lines[0], 'no ip prefix-list HC-BGP-HOLD-V4 seq 8 deny 192.0.2.53/32', 'the deny entry goes first: that is the announcement');
  assert.deepEqual(shown(back.after.networks), ['192.0.2.53 bgp']);
  assert.equal(back.after.held?.[4]?.has('192.0.2.53'), false);

  // The drain ends: the statement goes, its deny entry stays (deleting it at once would let the route out for the
  // ~50 ms bgpd takes to act on the `no network`).
  const drop = write(hold.after, [op('remove', '192.0.2.53', HELD_INTERFACE)]);
  assert.deepEqual(drop.lines, router('no network 192.0.2.53/32'));
  assert.deepEqual(drop.after.networks, []);
  assert.equal(drop.after.held?.[4]?.get('192.0.2.53'), 8);
});

test('a withdrawal is held back before its `no network`; already denied: not twice; a held entry with no statement is written deny first', () => {
  const known: BgpdConfig = { asn: '65001', networks: [on('192.0.2.53'), on('192.0.2.60')], held: LISTS };
  assert.deepEqual(write(known, [op('remove', '192.0.2.53')]).lines, [
    'ip prefix-list HC-BGP-HOLD-V4 seq 8 deny 192.0.2.53/32',
    ...router('no network 192.0.2.53/32'),
  ]);
  assert.deepEqual(write(known, [op('remove', '192.0.2.60')]).lines, router('no network 192.0.2.60/32'));
  // After a crash: the record wants it held, bgpd has nothing.
  const fresh = write({ asn: '65001', networks: [], held: LISTS }, [op('add', '192.0.2.9', HELD_INTERFACE)]);
  assert.deepEqual(fresh.lines, ['ip prefix-list HC-BGP-HOLD-V4 seq 8 deny 192.0.2.9/32', ...router('network 192.0.2.9/32')]);
});

test('no hold list for the family, or too many at once: the hold is a `no network`, and the address is listed held meanwhile', () => {
  const known: BgpdConfig = { asn: '65001', networks: [on('192.0.2.53'), on('2001:db8::1')], held: { 4: new Map() } };
  const planned = write(known, [op('remove', '2001:db8::1'), op('add', '2001:db8::1', HELD_INTERFACE)]);
  assert.deepEqual(planned.lines, ['router bgp 65001', 'address-family ipv6 unicast', 'no network 2001:db8::1/128', 'exit-address-family']);
  assert.deepEqual([...planned.virtual], ['2001:db8::1']);
  assert.deepEqual(shown(listedEntries(planned.after, planned.virtual)), ['192.0.2.53 bgp', '2001:db8::1 bgp-held']);
  // Announced again: a new statement (bgpd's queue: ~50 ms), no longer listed held.
  const back = write(planned.after, [op('remove', '2001:db8::1', HELD_INTERFACE), op('add', '2001:db8::1')], planned.virtual);
  assert.deepEqual(back.lines, ['router bgp 65001', 'address-family ipv6 unicast', 'network 2001:db8::1/128', 'exit-address-family']);
  assert.deepEqual([...back.virtual], []);
  // The drain ends: nothing to write, nothing listed.
  const drop = write(planned.after, [op('remove', '2001:db8::1', HELD_INTERFACE)], planned.virtual);
  assert.deepEqual(drop.lines, []);
  assert.deepEqual(shown(listedEntries(drop.after, drop.virtual)), ['192.0.2.53 bgp']);

  // Over the cap in a family: none of that family's are denied (one table walk each in bgpd); the other family's are.
  const many = write(
    { asn: '65001', networks: [on('192.0.2.1'), on('192.0.2.2'), on('192.0.2.3'), on('2001:db8::1')], held: { 4: new Map(), 6: new Map() } },
    [op('remove', '192.0.2.1'), op('remove', '192.0.2.2'), op('add', '192.0.2.2', HELD_INTERFACE), op('remove', '192.0.2.3'), op('remove', '2001:db8::1')],
    new Set(),
    2,
  );
  assert.deepEqual(many.lines.slice(0, 1), ['ipv6 prefix-list HC-BGP-HOLD-V6 seq 1 deny 2001:db8::1/128']);
  assert.equal(many.lines.filter((line) => line.startsWith('ip prefix-list')).length, 0, 'no IPv4 deny entries over the cap');
  assert.deepEqual([...many.virtual], ['192.0.2.2']);
});

test('two holds in one write take two seqs; the listing shows a statement once even when also asked held', () => {
  const known: BgpdConfig = { asn: '65001', networks: [on('192.0.2.1'), on('192.0.2.2')], held: LISTS };
  const planned = write(known, [
    op('remove', '192.0.2.1'),
    op('add', '192.0.2.1', HELD_INTERFACE),
    op('remove', '192.0.2.2'),
    op('add', '192.0.2.2', HELD_INTERFACE),
  ]);
  assert.deepEqual(planned.lines.slice(0, 2), [
    'ip prefix-list HC-BGP-HOLD-V4 seq 8 deny 192.0.2.1/32',
    'ip prefix-list HC-BGP-HOLD-V4 seq 9 deny 192.0.2.2/32',
  ]);
  assert.deepEqual(shown(listedEntries(planned.after, new Set(['192.0.2.1']))), ['192.0.2.1 bgp-held', '192.0.2.2 bgp-held']);
});
