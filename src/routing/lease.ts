// The lease (dead man's switch), pure: every address healthcast adds carries a kernel lifetime (valid_lft), and the
// reconciler renews it every lease/3. An agent that dies, hangs or is frozen stops renewing, the kernel deletes the
// addresses by itself and FRR withdraws them. Only addresses: IPv4 routes take no lifetime, an expired IPv6 route is
// only deleted (and zebra told) at the kernel's next route GC (gc_interval, 30 s), and bgpd statements have none.
import type { RoutingEntry } from './types.js';

// Renewals per lease: two may fail or come late before an address expires.
export const RENEWALS_PER_LEASE = 3;

// The kernel deletes an expired address from a delayed work rounded up to a jiffy second: up to ~1 s after the
// lifetime. A missing leased address older than this was not renewed in time; a younger one was removed by someone.
export const EXPIRY_SLACK_MS = 500;

// What a lease of `leaseMs` means to the kernel and the timer; undefined when the lease is off (0).
export interface LeaseTerms {
  leaseMs: number;
  // valid_lft / preferred_lft: whole seconds, rounded up so the kernel's lifetime is never shorter than the lease.
  lifetimeSeconds: number;
  renewEveryMs: number;
}

export function leaseTerms(leaseMs: number | undefined): LeaseTerms | undefined {
  if (leaseMs === undefined || leaseMs <= 0) return undefined;
  return { leaseMs, lifetimeSeconds: Math.ceil(leaseMs / 1000), renewEveryMs: Math.max(1, Math.floor(leaseMs / RENEWALS_PER_LEASE)) };
}

// The words `ip address add|replace` takes for a lifetime; preferred = valid, so the address is never "deprecated"
// (an IPv6 source-address choice would avoid a deprecated one). 'forever' makes a leased address permanent again.
export function lifetimeWords(lifetimeSeconds: number | 'forever' | undefined): string {
  return lifetimeSeconds === undefined ? '' : ` valid_lft ${lifetimeSeconds} preferred_lft ${lifetimeSeconds}`;
}

// The entries a renewal covers: leased kinds only (addresses, parked ones included).
export function leased(entries: readonly RoutingEntry[]): RoutingEntry[] {
  return entries.filter((entry) => entry.kind === 'address');
}

// Among owned addresses found missing, those whose last lease ran out: the renewal came too late (the agent was frozen
// or starved), as opposed to someone deleting the address. `leasedAt` is the monotonic time of each entry's last
// add or renewal, by entryKey.
export function expiredAmong(
  missing: readonly RoutingEntry[],
  leasedAt: ReadonlyMap<string, number>,
  key: (entry: RoutingEntry) => string,
  now: number,
  terms: LeaseTerms,
): RoutingEntry[] {
  return leased(missing).filter((entry) => {
    const at = leasedAt.get(key(entry));
    return at !== undefined && now - at >= terms.lifetimeSeconds * 1000 - EXPIRY_SLACK_MS;
  });
}

// A renewal this late may find addresses already expired: a pass (listing, drift repair) must go first, or the
// renewal's `address replace` would silently re-create them (it creates what is missing) and the expiry go unseen.
export function renewalIsLate(lastRenewedAt: number | undefined, now: number, terms: LeaseTerms): boolean {
  return lastRenewedAt !== undefined && now - lastRenewedAt >= terms.lifetimeSeconds * 1000 - EXPIRY_SLACK_MS;
}
