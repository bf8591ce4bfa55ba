// Pure text for `ip`: batch lines to write and JSON to read, kept apart from the process handling so tests reach them.
import net from 'node:net';
import { canonical, familyOf, withPrefix } from '../config/address.js';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { healthcastLabel } from './label.js';
import { lifetimeWords } from './lease.js';
import type { KernelEntry, RoutingEntry, RoutingOp } from './types.js';

// A parked address (on a parking interface during a drain) sits under this prefix length, with `noprefixroute` so the
// kernel adds no route for the /31 or /127 itself: zebra sees the connected prefix X/31, not X/32, which the
// route-maps never match, and a prefix distinct from lo's X/32, so the address may be on both during the move
// (FRR 8.4's zebra mishandles the same connected prefix on two interfaces). A /31 or /127 has no broadcast or
// subnet-router anycast address, so nothing else changes on the host.
export const PARKING_PREFIX_LENGTH = { 4: 31, 6: 127 } as const;

function prefixOf(address: string, parked: boolean): string {
  return parked ? `${address}/${PARKING_PREFIX_LENGTH[familyOf(address)]}` : withPrefix(address);
}

// One `ip -batch` line per op. Routes use `add`, not `replace`: replace would silently take over a route someone
// else installed for the same destination (other proto), while add fails with "File exists" and leaves it alone.
// `ip -batch` takes no `-6` prefix on a line; the family follows from the address, so v4 and v6 share one form.
// An added address carries the lease (`valid_lft N preferred_lft N`) when `lifetimeSeconds` is set.
export function batchLine(op: RoutingOp, routeProtocol: number, parkingInterfaces: readonly string[] = [], lifetimeSeconds?: number): string {
  const { entry } = op;
  // bgp entries belong to bgpd (CompositeBackend routes them there); `ip` must never see one.
  if (entry.kind === 'bgp') throw new HealthcastError(ErrorCodes.USAGE, `the ip backend got a bgp entry (${entry.address}); use CompositeBackend`);
  if (entry.kind === 'route') {
    return `route ${op.action === 'add' ? 'add' : 'del'} ${withPrefix(entry.address)} dev ${entry.interface} proto ${routeProtocol}`;
  }
  if (op.action === 'remove') return `address del ${prefixOf(entry.address, parkingInterfaces.includes(entry.interface))} dev ${entry.interface}`;
  return addressLine('add', entry, parkingInterfaces, lifetimeSeconds);
}

// A renewal: `replace` with the same prefix, label and flags as the add, and a fresh lifetime. It renews in place
// (no RTM_DELADDR, FRR does not re-originate), but it also creates an address that is gone: the reconciler only renews
// what its last listing showed, never while a pass runs, and runs a pass first when the renewal is late.
export function renewLine(entry: RoutingEntry, parkingInterfaces: readonly string[], lifetimeSeconds: number | 'forever'): string {
  if (entry.kind !== 'address') throw new HealthcastError(ErrorCodes.USAGE, `only addresses carry a lease, not ${entry.kind} ${entry.address}`);
  return addressLine('replace', entry, parkingInterfaces, lifetimeSeconds);
}

// A leased IPv6 address takes `noprefixroute` too: the kernel removes the prefix route of a deleted address only when
// the address was permanent, so a leased one (deleted by healthcast or expired) would leave `ADDR/128 dev lo proto
// kernel` behind, and the node would keep routing the anycast address to itself (found by test/e2e/drain.test.ts).
function addressLine(
  verb: 'add' | 'replace',
  entry: RoutingEntry,
  parkingInterfaces: readonly string[],
  lifetimeSeconds: number | 'forever' | undefined,
): string {
  const parked = parkingInterfaces.includes(entry.interface);
  const prefix = prefixOf(entry.address, parked);
  const six = familyOf(entry.address) === 6;
  const noPrefixRoute = parked || (six && lifetimeSeconds !== undefined);
  const flags = (noPrefixRoute ? ' noprefixroute' : '') + (six ? ' nodad' : '') + lifetimeWords(lifetimeSeconds);
  const label = familyOf(entry.address) === 4 ? healthcastLabel(entry.interface) : undefined;
  return `address ${verb} ${prefix} dev ${entry.interface}${label ? ` label ${label}` : ''}${flags}`;
}

interface IpAddressInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  label?: string;
  dynamic?: boolean;
}

interface IpLink {
  ifname?: string;
  addr_info?: IpAddressInfo[];
}

interface IpRoute {
  dst?: string;
  dev?: string;
  table?: string;
}

// Every address on every interface (conflict detection needs all of them), with its prefix length and label. On a
// parking interface a /31 or /127 is a parked host address and is listed as one.
export function parseAddresses(json: unknown, parkingInterfaces: readonly string[] = []): KernelEntry[] {
  if (!Array.isArray(json)) throw new Error('`ip -j address show` did not print a JSON array');
  const entries: KernelEntry[] = [];
  for (const link of json as IpLink[]) {
    if (typeof link.ifname !== 'string') continue;
    for (const info of link.addr_info ?? []) {
      if ((info.family !== 'inet' && info.family !== 'inet6') || typeof info.local !== 'string') continue;
      const entry: KernelEntry = { kind: 'address', address: canonical(info.local), interface: link.ifname };
      const family = familyOf(entry.address);
      const parked = parkingInterfaces.includes(link.ifname) && info.prefixlen === PARKING_PREFIX_LENGTH[family];
      if (parked) entry.prefixLength = family === 4 ? 32 : 128;
      else if (typeof info.prefixlen === 'number') entry.prefixLength = info.prefixlen;
      if (typeof info.label === 'string') entry.label = info.label;
      if (info.dynamic === true) entry.dynamic = true;
      entries.push(entry);
    }
  }
  return entries;
}

// Host routes in the main table (ip prints no `table` for main); the caller already filtered by proto.
export function parseRoutes(json: unknown): KernelEntry[] {
  if (!Array.isArray(json)) throw new Error('`ip -j route show` did not print a JSON array');
  const entries: KernelEntry[] = [];
  for (const route of json as IpRoute[]) {
    if (typeof route.dst !== 'string' || typeof route.dev !== 'string') continue;
    if (route.table !== undefined && route.table !== 'main') continue;
    const [address = '', length] = route.dst.split('/');
    if (net.isIP(address) === 0) continue; // "default" and the like
    if (length !== undefined && length !== String(familyOf(address) === 4 ? 32 : 128)) continue;
    entries.push({ kind: 'route', address: canonical(address), interface: route.dev });
  }
  return entries;
}

// A piece of one apply: its ops go to ip in one request; `settle` are the IPv6 addresses it adds that a later piece
// removes from another interface (a move), whose local routes must exist before that piece runs.
export interface BatchPiece {
  ops: RoutingOp[];
  settle: RoutingEntry[];
}

const isIpv6Address = (entry: RoutingEntry) => entry.kind === 'address' && familyOf(entry.address) === 6;

// The kernel inserts a new IPv6 address's local route from its DAD worker, after `ip` has returned (with nodad too):
// until then the host drops packets for the address. A move that removes the old copy in the same request loses the
// queries that arrive in between (4 of 200 moves on an idle machine), so the request is cut before each such remove.
// IPv4 inserts the local route as the address is added and needs no cut.
export function splitAtIpv6Moves(ops: readonly RoutingOp[]): BatchPiece[] {
  const pieces: BatchPiece[] = [{ ops: [], settle: [] }];
  let addedInPiece = new Map<string, RoutingEntry[]>();
  for (const op of ops) {
    const piece = pieces[pieces.length - 1]!;
    const movedFrom =
      op.action === 'remove' && isIpv6Address(op.entry)
        ? (addedInPiece.get(op.entry.address) ?? []).filter((added) => added.interface !== op.entry.interface)
        : [];
    if (movedFrom.length > 0) {
      piece.settle = [...addedInPiece.values()]
        .flat()
        .filter((added) =>
          ops.some(
            (later) =>
              later.action === 'remove' && isIpv6Address(later.entry) && later.entry.address === added.address && later.entry.interface !== added.interface,
          ),
        );
      pieces.push({ ops: [], settle: [] });
      addedInPiece = new Map();
    }
    pieces[pieces.length - 1]!.ops.push(op);
    if (op.action === 'add' && isIpv6Address(op.entry)) addedInPiece.set(op.entry.address, [...(addedInPiece.get(op.entry.address) ?? []), op.entry]);
  }
  return pieces;
}

interface IpLocalRoute {
  type?: string;
  dst?: string;
}

// The addresses with a local route in `ip -j route show table all dev IF` (ip omits `dev` when filtering by it).
export function parseLocalRoutes(json: unknown): Set<string> {
  if (!Array.isArray(json)) throw new Error('`ip -j route show` did not print a JSON array');
  const local = new Set<string>();
  for (const route of json as IpLocalRoute[]) {
    if (route.type !== 'local' || typeof route.dst !== 'string' || net.isIP(route.dst) === 0) continue;
    local.add(canonical(route.dst));
  }
  return local;
}
