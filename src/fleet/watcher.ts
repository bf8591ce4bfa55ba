// Side effect: reads the fleet (who advertises each service prefix) from FRR's link-state database through vtysh, on
// request (after this node's own changes, when a decision needs a fresh view) and on a slow timer; faster while the
// caller says it matters (a service kept as the last advertiser). Never in the probe path: reads run on their own,
// one at a time; FRR not answering makes the reading unknown, never an error.
// Cost: a full read at 10,000 external LSAs is 3.7 MB of JSON and ~0.13 s of ospfd CPU (lab-notes), hence the slow
// default and reads on change.
import type { Vtysh } from '../frr/vtysh.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { FLEET_COMMANDS, parseOspf6AsExternalFleet, parseOspf6RouterId, parseOspfExternalFleet, type Advertisers, type FleetSnapshot } from './lsdb.js';

// One reading: the snapshot (undefined: FRR could not be asked, `problem` says why) and when the read began (epoch ms):
// a decision that asked for a fresh view at time T waits for a reading begun at or after T.
export interface FleetReading {
  snapshot: FleetSnapshot | undefined;
  at: number;
  problem?: string;
  // How long the read took (wall ms), and the slowest of the last few: the other nodes' reads take about as long, so
  // keep_last's guard covers them (one fast read on a loaded machine must not shorten it).
  durationMs?: number;
  slowestMs?: number;
}

export interface FleetWatcherOptions {
  vtysh: Pick<Vtysh, 'show'>;
  // The address families to read (from the services announced over OSPF); none: nothing is read.
  families: () => ReadonlySet<4 | 6>;
  log: Logger;
  onReading: (reading: FleetReading) => void;
  // The slow timer (default 10 s) and the fast one while `urgent()` (default 1 s).
  intervalMs?: number;
  urgentIntervalMs?: number;
  urgent?: () => boolean;
  clock?: Clock;
}

export const FLEET_INTERVAL_MS = 10_000;
export const FLEET_URGENT_INTERVAL_MS = 1000;
// After a change, LSAs take tens of ms (lab timers) to seconds (FRR defaults) to reach every router: read again then.
const FOLLOW_UP_MS = [250, 1000, 3000];
// How many recent read durations `slowestMs` looks back over.
const RECENT_READS = 10;

export class FleetWatcher {
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private readonly followUps = new Set<Timer>();
  private reading: Promise<void> | undefined;
  // A read was requested while one ran: run one more after it, so the answer is from after the request.
  private again = false;
  private running = false;
  private lastProblem: string | undefined;
  private last: FleetReading | undefined;
  private readonly recentMs: number[] = [];

  constructor(private readonly options: FleetWatcherOptions) {
    this.clock = options.clock ?? systemClock;
  }

  current(): FleetReading | undefined {
    return this.last;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.read();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    for (const timer of this.followUps) this.clock.clearTimeout(timer);
    this.followUps.clear();
    this.timer = undefined;
    await this.reading;
  }

  // A fresh read now (after the one in flight, if any).
  read(): void {
    if (!this.running) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOnce().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.read();
      } else this.schedule();
    });
  }

  // After this node announced or withdrew: read now and a few times more while the LSAs spread.
  changed(): void {
    this.read();
    for (const ms of FOLLOW_UP_MS) {
      const timer = this.clock.setTimeout(() => {
        this.followUps.delete(timer);
        this.read();
      }, ms);
      timer.unref();
      this.followUps.add(timer);
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.clock.clearTimeout(this.timer);
    const urgent = this.options.urgent?.() ?? false;
    const ms = urgent ? (this.options.urgentIntervalMs ?? FLEET_URGENT_INTERVAL_MS) : (this.options.intervalMs ?? FLEET_INTERVAL_MS);
    this.timer = this.clock.setTimeout(() => this.read(), ms);
    this.timer.unref();
  }

  private async readOnce(): Promise<void> {
    const at = this.clock.now();
    const families = this.options.families();
    if (families.size === 0) return;
    let reading: FleetReading;
    try {
      const snapshot = await readSnapshot(this.options.vtysh, families);
      const durationMs = this.clock.now() - at;
      this.recentMs.push(durationMs);
      if (this.recentMs.length > RECENT_READS) this.recentMs.shift();
      reading = { snapshot, at, durationMs, slowestMs: Math.max(...this.recentMs) };
    } catch (error) {
      reading = { snapshot: undefined, at, problem: `FRR could not be asked: ${messageOf(error)}` };
    }
    this.report(reading.problem);
    this.last = reading;
    this.options.onReading(reading);
  }

  // Logged once per change, not on every read.
  private report(problem: string | undefined): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    if (problem) this.options.log.warn({ component: 'fleet' }, `advertisers unknown: ${problem}`);
    else this.options.log.info({ component: 'fleet' }, 'FRR answers: advertisers known');
  }
}

// One read of each family's database (in parallel); the router-id from ospfd, or ospf6d for an IPv6-only fleet.
export async function readSnapshot(vtysh: Pick<Vtysh, 'show'>, families: ReadonlySet<4 | 6>): Promise<FleetSnapshot> {
  const [v4, v6, routerId6] = await Promise.all([
    families.has(4) ? vtysh.show(FLEET_COMMANDS[4]).then(parseOspfExternalFleet) : undefined,
    families.has(6) ? vtysh.show(FLEET_COMMANDS[6]).then(parseOspf6AsExternalFleet) : undefined,
    families.has(6) && !families.has(4) ? vtysh.show(FLEET_COMMANDS.routerId6).then(parseOspf6RouterId) : undefined,
  ]);
  const advertisers: Advertisers = new Map([...(v4?.advertisers ?? []), ...(v6 ?? [])]);
  return { routerId: (v4?.routerId ?? routerId6)!, advertisers };
}
