// Pure text for `ip`: batch lines to write and JSON to read, kept apart from the process handling so tests reach them.
import net from 'node:net';
import { canonical, familyOf, withPrefix } from '../config/address.js';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { healthcastLabel } from './label.js';
import type { OpFailure } from './batch-error.js';
import type { KernelEntry, RoutingOp } from './types.js';

// One `ip -batch` line per op. Routes use `add`, not `replace`: replace would silently take over a route someone
// else installed for the same destination (other proto), while add fails with "File exists" and leaves it alone.
// `ip -batch` takes no `-6` prefix on a line; the family follows from the address, so v4 and v6 share one form.
export function batchLine(op: RoutingOp, routeProtocol: number): string {
  const { entry } = op;
  // bgp entries belong to bgpd (CompositeBackend routes them there); `ip` must never see one.
  if (entry.kind === 'bgp') throw new HealthcastError(ErrorCodes.USAGE, `the ip backend got a bgp entry (${entry.address}); use CompositeBackend`);
  const prefix = withPrefix(entry.address);
  if (entry.kind === 'route') {
    return `route ${op.action === 'add' ? 'add' : 'del'} ${prefix} dev ${entry.interface} proto ${routeProtocol}`;
  }
  if (op.action === 'remove') return `address del ${prefix} dev ${entry.interface}`;
  if (familyOf(entry.address) === 6) return `address add ${prefix} dev ${entry.interface} nodad`;
  const label = healthcastLabel(entry.interface);
  return `address add ${prefix} dev ${entry.interface}${label ? ` label ${label}` : ''}`;
}

// `ip -force -batch` prints the error, then "Command failed -:N" for line N; map that back to the ops.
export function parseBatchFailures(stderr: string, ops: readonly RoutingOp[]): OpFailure[] {
  const failures: OpFailure[] = [];
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = /^Command failed -:(\d+)\s*$/.exec(line.trim());
    if (!match) {
      if (line.trim() !== '') pending.push(line.trim());
      continue;
    }
    const op = ops[Number(match[1]) - 1];
    if (op) failures.push({ op, reason: pending.join('; ') || 'ip reported a failure' });
    pending = [];
  }
  return failures;
}

interface IpAddressInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  label?: string;
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

// Every address on every interface (conflict detection needs all of them), with its prefix length and label.
export function parseAddresses(json: unknown): KernelEntry[] {
  if (!Array.isArray(json)) throw new Error('`ip -j address show` did not print a JSON array');
  const entries: KernelEntry[] = [];
  for (const link of json as IpLink[]) {
    if (typeof link.ifname !== 'string') continue;
    for (const info of link.addr_info ?? []) {
      if ((info.family !== 'inet' && info.family !== 'inet6') || typeof info.local !== 'string') continue;
      const entry: KernelEntry = { kind: 'address', address: canonical(info.local), interface: link.ifname };
      if (typeof info.prefixlen === 'number') entry.prefixLength = info.prefixlen;
      if (typeof info.label === 'string') entry.label = info.label;
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
