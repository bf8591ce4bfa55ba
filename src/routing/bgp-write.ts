// Pure: what one batch of bgp ops writes to bgpd, and what bgpd holds after it. The ops of one address are one
// change: its statement is announced, withdrawn, held back (a drain: statement kept, deny entry added) or dropped
// (a held statement removed). Kept apart from the backend so the table of cases is tested without a bgpd.
import { familyOf, withPrefix } from '../config/address.js';
import { HOLD_LISTS, HOLD_MAX_PER_WRITE, HOLD_SENTINEL_SEQ, bgpConfigLines, type BgpdConfig, type Held } from './bgp-commands.js';
import { BGP_INTERFACE, HELD_INTERFACE, type KernelEntry, type RoutingOp } from './types.js';

export type BgpChange = 'announce' | 'withdraw' | 'hold' | 'drop';

export interface BgpUnit {
  address: string;
  change: BgpChange;
  ops: RoutingOp[];
}

// One unit per address, in the order the addresses first appear.
export function bgpUnits(ops: readonly RoutingOp[]): BgpUnit[] {
  const byAddress = new Map<string, RoutingOp[]>();
  for (const op of ops) byAddress.set(op.entry.address, [...(byAddress.get(op.entry.address) ?? []), op]);
  return [...byAddress].map(([address, mine]) => ({ address, ops: mine, change: changeOf(mine) }));
}

function changeOf(ops: readonly RoutingOp[]): BgpChange {
  const add = ops.find((op) => op.action === 'add');
  if (add) return add.entry.interface === HELD_INTERFACE ? 'hold' : 'announce';
  return ops.some((op) => op.entry.interface !== HELD_INTERFACE) ? 'withdraw' : 'drop';
}

export interface BgpWrite {
  // The whole write: hold-list lines first (a neighbour's filter acts at once), then the `router bgp` block.
  lines: string[];
  after: BgpdConfig;
  // Addresses asked to be held that could not be (no hold list for the family, or too many deny entries for one
  // write): withdrawn by `no network` instead, and listed as held so the drain goes on as planned.
  virtual: Set<string>;
}

export function planBgpWrite(
  asn: string,
  known: BgpdConfig,
  units: readonly BgpUnit[],
  virtualBefore: ReadonlySet<string>,
  maxPerWrite = HOLD_MAX_PER_WRITE,
): BgpWrite {
  const statements = new Map(known.networks.map((entry) => [entry.address, entry.interface]));
  const lists: Record<number, Map<string, number>> = {};
  const listOf = (family: 4 | 6) => {
    const current = known.held?.[family];
    return current ? (lists[family] ??= new Map(current)) : undefined;
  };
  const virtual = new Set(virtualBefore);
  const holdLines: string[] = [];
  const network: RoutingOp[] = [];
  const entry = (address: string) => ({ kind: 'bgp' as const, address, interface: BGP_INTERFACE });
  // Where the address ends up: its statement announced, held or gone (undefined), and whether it is held without one.
  const settle = (address: string, statement: string | undefined, heldWithoutStatement = false) => {
    if (statement === undefined) statements.delete(address);
    else statements.set(address, statement);
    if (heldWithoutStatement) virtual.add(address);
    else virtual.delete(address);
  };
  // Each deny entry makes bgpd re-walk the neighbours' table: past the cap a family's batch rides `no network` alone.
  const denials = (family: 4 | 6) =>
    units.filter((unit) => (unit.change === 'withdraw' || unit.change === 'hold') && familyOf(unit.address) === family && !listOf(family)?.has(unit.address))
      .length;
  const mayDeny = { 4: denials(4) <= maxPerWrite, 6: denials(6) <= maxPerWrite };
  const deny = (address: string): boolean => {
    const family = familyOf(address);
    const list = listOf(family);
    if (!list) return false;
    if (list.has(address)) return true;
    const next = Math.max(0, ...list.values()) + 1;
    if (!mayDeny[family] || next >= HOLD_SENTINEL_SEQ) return false;
    list.set(address, next);
    holdLines.push(holdEntry(family, next, address));
    return true;
  };
  for (const { address, change } of units) {
    const family = familyOf(address);
    if (change === 'announce') {
      const list = listOf(family);
      const seq = list?.get(address);
      if (list && seq !== undefined) {
        list.delete(address);
        holdLines.push(`no ${holdEntry(family, seq, address)}`);
      }
      // Also when the statement is believed there (held): written again, it costs bgpd nothing and mends a wrong belief.
      network.push({ action: 'add', entry: entry(address) });
      settle(address, BGP_INTERFACE);
    } else if (change === 'withdraw') {
      deny(address);
      network.push({ action: 'remove', entry: entry(address) });
      settle(address, undefined);
    } else if (change === 'hold' && deny(address)) {
      network.push({ action: 'add', entry: entry(address) });
      settle(address, HELD_INTERFACE);
    } else {
      // A hold that cannot be written, or drop: the statement goes. A dropped one's deny entry stays until the next
      // announcement deletes it (deleting it now would let the route out for the ~50 ms bgpd takes on `no network`).
      if (statements.has(address)) network.push({ action: 'remove', entry: entry(address) });
      settle(address, undefined, change === 'hold');
    }
  }
  const networks: KernelEntry[] = [...statements].map(([address, iface]) => ({
    kind: 'bgp',
    address,
    interface: iface,
    prefixLength: familyOf(address) === 4 ? 32 : 128,
  }));
  const held: Held = { ...known.held, ...lists };
  return {
    lines: [...holdLines, ...(network.length > 0 ? bgpConfigLines(asn, network) : [])],
    after: { ...known, networks, ...(known.held ? { held } : {}) },
    virtual,
  };
}

// One entry of a hold list, as written and as FRR prints it.
function holdEntry(family: 4 | 6, seq: number, address: string): string {
  return `${family === 4 ? 'ip' : 'ipv6'} prefix-list ${HOLD_LISTS[family]} seq ${seq} deny ${withPrefix(address)}`;
}

// What list() reports: the statements, plus a held entry for each address held without a statement (above).
export function listedEntries(known: BgpdConfig, virtual: ReadonlySet<string>): KernelEntry[] {
  const entries = known.networks.map((entry) => ({ ...entry }));
  const configured = new Set(entries.map((entry) => entry.address));
  for (const address of virtual) {
    if (!configured.has(address)) entries.push({ kind: 'bgp', address, interface: HELD_INTERFACE, prefixLength: familyOf(address) === 4 ? 32 : 128 });
  }
  return entries;
}
