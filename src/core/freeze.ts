// Pure: telling an agent that did not run (stopped by someone else's SIGSTOP, a debugger or a cgroup freeze, or its
// event loop blocked) from one that ran late. A watchdog ticks every WATCH_TICK_MS; when the loop stayed away much
// longer than that, what the agent knows of its services' health is as old as the gap, and the kernel may have let the
// leased addresses expire: the agent starts every service afresh (src/core/freeze-watch.ts, Agent.afterFreeze).

// How often the watchdog looks: 2 wake-ups a second, nothing next to 1,000 probe rounds a second.
export const WATCH_TICK_MS = 500;

// Without a lease, and the most a lease lets the threshold grow to: a service stays announced fall x interval (2 s by
// default) after it fails, so 3 s away is already longer than the agent would normally take to notice a failure.
export const MAX_FREEZE_THRESHOLD_MS = 3000;

// How much longer than a tick the loop may stay away before that counts as a freeze: a whole renewal period (lease/3,
// at least 1 s since a lease is at least 3 s) and at most 3 s. An address can expire only once the loop stayed away about
// two renewal periods (2/3 of the lease), so a freeze long enough for that is always seen before the pass after it,
// while a loaded machine's loop delays (a few hundred ms on the 2-core CI machine) stay far below.
export function freezeThresholdMs(leaseMs: number): number {
  return leaseMs > 0 ? Math.min(leaseMs / 3, MAX_FREEZE_THRESHOLD_MS) : MAX_FREEZE_THRESHOLD_MS;
}

// How long the loop did not run (ms since it was last seen) when that exceeds the expected `tickMs` by at least
// `thresholdMs`: a freeze. Undefined for a loop that ran on time or merely late.
export function frozenFor(lastSeenAt: number, now: number, tickMs: number, thresholdMs: number): number | undefined {
  const away = now - lastSeenAt;
  return away - tickMs >= thresholdMs ? away : undefined;
}
