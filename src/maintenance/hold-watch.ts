// Ends maintenance holds whose owner has gone: a drain made by a process (the maintenance wrapper) names it, and when
// that process no longer exists nothing will ever resume the services, so the agent does, and logs it as an error.
// A hold whose owner asked to stay drained on failure (--stay-drained-on-failure) is kept and reported once.
// Uses only the agent's public API, so it works on any agent that has drainedServices and resumeServices.
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../log.js';
import type { ResumeResult } from '../core/agent.js';
import { messageOf } from '../errors.js';
import type { DrainEntry, DrainOwner } from './drain-store.js';
import { processAlive } from '../systemd/process-state.js';

export interface HoldAgent {
  readonly drainedServices: DrainEntry[];
  resumeServices(names: readonly string[], by: string): Promise<ResumeResult>;
}

export interface HoldVerdict {
  // Owner gone: resume.
  release: DrainEntry[];
  // Owner gone, but it asked to stay drained: keep, and say so.
  kept: DrainEntry[];
}

// Pure: which holds have lost their owner. A hold without a pid (cli, schedules, records from before pids) has no
// process to lose.
export function orphanedHolds(entries: readonly DrainEntry[], alive: (owner: DrainOwner) => boolean): HoldVerdict {
  const verdict: HoldVerdict = { release: [], kept: [] };
  for (const entry of entries) {
    if (entry.pid === undefined || alive(entry)) continue;
    (entry.stayDrained ? verdict.kept : verdict.release).push(entry);
  }
  return verdict;
}

export const HOLD_CHECK_INTERVAL_MS = 2000;

export interface HoldWatchOptions {
  agent: HoldAgent;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  alive?: (owner: DrainOwner) => boolean;
}

export class HoldWatch {
  private timer: Timer | undefined;
  private checking: Promise<string[]> | undefined;
  // Kept holds already reported (name + pid), so the log says it once, not every interval.
  private readonly reported = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly options: HoldWatchOptions) {
    this.log = options.log.child({ component: 'hold-watch' });
  }

  // Checks at once (holds left by wrappers that died while the agent was down) and then on every interval.
  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = this.options.clock.setInterval(() => void this.check(), this.options.intervalMs ?? HOLD_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  // One check now (also after SIGCONT: a wrapper may have given up while the agent was stopped); overlapping calls
  // share it. Resolves with the services resumed.
  check(): Promise<string[]> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<string[]> {
    const alive = this.options.alive ?? ((owner: DrainOwner) => processAlive(owner.pid!, owner.pidStart));
    const { release, kept } = orphanedHolds(this.options.agent.drainedServices, alive);
    for (const entry of kept) {
      const key = `${entry.name}/${entry.pid}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.log.warn(
        { service: entry.name, by: entry.by, pid: entry.pid, since: entry.since },
        `${entry.name} stays drained: its holder ${entry.by} has exited and asked to stay drained on failure (--stay-drained-on-failure); resume with: healthcast resume ${entry.name}`,
      );
    }
    const resumed: string[] = [];
    // One resume per owner, so the log and the record say whose hold ended.
    for (const [by, entries] of groupBy(release, (entry) => entry.by)) {
      const names = entries.map((entry) => entry.name);
      this.log.error(
        { services: names, by, pid: entries[0]!.pid, since: entries[0]!.since },
        `maintenance hold orphaned: ${by} has exited without resuming ${names.join(', ')}; resuming them now`,
      );
      try {
        const result = await this.options.agent.resumeServices(names, `hold-watch (holder ${by} gone)`);
        resumed.push(...result.services);
      } catch (error) {
        this.log.error({ services: names, err: messageOf(error) }, `cannot end the orphaned hold of ${names.join(', ')}`);
      }
    }
    return resumed;
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
