// Probe runs that start together with the same timeout share one timer: the 10 or so rounds of a 10 ms slot start in
// one turn of the loop, so 1,000 runs a second set and clear about 100 timers instead of 1,000. Node computes a
// timer's expiry from the loop's cached clock, so a timer set late in a long turn already fires that much early; runs
// join a group only within JOIN_WINDOW_MS of its start, which keeps the sharing within that same margin.
const JOIN_WINDOW_MS = 1;

export interface Expirable {
  // The deadline passed; called at most once, also for a member that has left (it ignores it then).
  expire(): void;
}

// Groups still taking members, by timeout.
const open = new Map<number, DeadlineGroup>();

export class DeadlineGroup {
  private readonly members: Expirable[] = [];
  private pending = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    readonly openedAt: number,
  ) {
    this.timer = setTimeout(expireGroup, timeoutMs, this);
  }

  join(member: Expirable): void {
    this.members.push(member);
    this.pending += 1;
  }

  // A member that finished before the deadline; the timer goes when the last one has.
  leave(): void {
    this.pending -= 1;
    if (this.pending > 0) return;
    clearTimeout(this.timer);
    this.close();
  }

  expire(): void {
    this.close();
    for (const member of this.members) member.expire();
  }

  private close(): void {
    if (open.get(this.timeoutMs) === this) open.delete(this.timeoutMs);
  }
}

function expireGroup(group: DeadlineGroup): void {
  group.expire();
}

// The group `member` expires with, `timeoutMs` after `now` (performance.now()) give or take JOIN_WINDOW_MS.
export function joinDeadline(timeoutMs: number, member: Expirable, now: number): DeadlineGroup {
  let group = open.get(timeoutMs);
  if (!group || now - group.openedAt > JOIN_WINDOW_MS) {
    group = new DeadlineGroup(timeoutMs, now);
    open.set(timeoutMs, group);
  }
  group.join(member);
  return group;
}
