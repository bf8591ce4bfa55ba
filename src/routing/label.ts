// How healthcast marks the IPv4 addresses it adds, so they can be recognised when the ownership record is lost.
import { familyOf } from '../config/address.js';
import type { KernelEntry } from './types.js';

const IFNAMSIZ = 15; // the kernel's limit for an interface name and for an address label

// IF:healthcast, or IF:hc when that is too long; undefined when even IF:hc does not fit (IPv6 takes no label at all).
export function healthcastLabel(iface: string): string | undefined {
  for (const suffix of [':healthcast', ':hc']) {
    if (iface.length + suffix.length <= IFNAMSIZ) return iface + suffix;
  }
  return undefined;
}

// Host prefixes are the only addresses healthcast ever adds; anything else is someone else's.
export function isHostEntry(entry: KernelEntry): boolean {
  if (entry.kind === 'route' || entry.prefixLength === undefined) return true;
  return entry.prefixLength === (familyOf(entry.address) === 4 ? 32 : 128);
}

// Used only when the ownership record is unusable: a labelled IPv4 host address or a route with our proto.
// IPv6 addresses carry no mark (iproute2 6.1 has no `proto` on addresses), so they are never claimed this way.
// bgp network statements carry no mark either, so they are left alone too.
export function carriesHealthcastMark(entry: KernelEntry): boolean {
  if (entry.kind === 'bgp' || !isHostEntry(entry)) return false;
  if (entry.kind === 'route') return true;
  return entry.label !== undefined && entry.label === healthcastLabel(entry.interface);
}
