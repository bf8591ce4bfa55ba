// The one writer of the degraded prefix-lists (degraded-plan.ts decides). A prefix-list lives in each daemon that uses
// it, so the lists are written to every daemon whose route-maps match them (ospfd, ospf6d, bgpd, as configured), each
// over its own vty socket, kept open: a vtysh process costs 70-100 ms before the first line reaches a daemon, a line on
// an open socket well under a millisecond. A change of a service's degraded state is one batch per daemon from an
// in-memory mirror of its lists. A full sync reads every candidate daemon's own `show running-config` (which lists its
// route-maps match, and what they hold) at start (a crashed agent's leftovers), after any failure, and every
// `syncIntervalMs` (an FRR restart forgets the entries; the sync puts them back). When no candidate daemon's socket
// answers (FRR elsewhere behind a vtysh wrapper, or sockets we may not open) the fallback target, vtysh, does it all.
import type { Logger } from '../log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { ErrorCodes, isHealthcastError, messageOf } from '../errors.js';
import type { Vtysh } from './vtysh.js';
import type { DaemonVty } from './vty-socket.js';
import type { FrrDaemon } from './vty-reader.js';
import {
  bgpSoftOut,
  changedV6Addresses,
  desiredListsOf,
  parseRunningLists,
  planLists,
  referencedFamilies,
  type DegradedAddress,
  type Family,
  type ListState,
} from './degraded-plan.js';

// Where the lists are written: a daemon's vty socket, or vtysh (which sends each line to every daemon).
export interface ListTarget {
  name: string;
  // `show running-config` as this target sees it; throws HC_ERR_VTYSH_DAEMON_DOWN when it is not there.
  read(): Promise<string>;
  write(lines: readonly string[]): Promise<unknown>;
  close?(): void;
}

// Reads through the daemon's socket (vty-reader.ts: `show running-config DAEMON` is the daemon's own), writes through
// its kept write connection (vty-socket.ts). bgpd's batch ends with an outbound soft refresh (bgpSoftOut): its
// route-map timer would otherwise delay the change.
export function daemonTarget(daemon: FrrDaemon, writer: DaemonVty, reader: Pick<Vtysh, 'run'>): ListTarget {
  const batch = (lines: readonly string[]) => (daemon === 'bgpd' ? [...lines, ...bgpSoftOut(lines)] : lines);
  return {
    name: daemon,
    read: () => reader.run([`show running-config ${daemon}`]),
    write: (lines) => writer.configure(batch(lines)),
    close: () => writer.close(),
  };
}

export function vtyshTarget(vtysh: Pick<Vtysh, 'run' | 'configure'>): ListTarget {
  return { name: 'vtysh', read: () => vtysh.run(['show running-config']), write: (lines) => vtysh.configure(lines) };
}

export interface DegradedListsOptions {
  // The daemons that may use the lists (ospfd, ospf6d, bgpd), read at each full sync.
  daemons: readonly ListTarget[];
  // Used alone when no daemon's socket answered.
  fallback: ListTarget;
  degraded: () => readonly DegradedAddress[];
  log: Logger;
  syncIntervalMs: number;
  clock?: Clock;
  // IPv6 kernel routes sent to ospf6d again once their entries changed (degraded-resend.ts): ospf6d would otherwise
  // apply the new metric only after its fixed 5 s.
  resend?: { resend(addresses: readonly string[]): Promise<void>; close(): void };
}

interface InUse {
  target: ListTarget;
  families: readonly Family[];
  lists: ListState;
}

export class DegradedLists {
  private inUse: InUse[] | undefined; // undefined: unknown, the next pass reads FRR first
  private running: Promise<void> | undefined;
  private again = false;
  private timer: Timer | undefined;
  private readonly clock: Clock;
  private warnedUnused = false;
  // Each applied pass, for the benchmark and tests: lines sent per target and how long the writes took.
  onApplied?: (lines: readonly string[], ms: number, targets: readonly string[]) => void;

  constructor(private readonly options: DegradedListsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    await this.kick();
    this.timer = this.clock.setInterval(() => {
      this.inUse = undefined;
      void this.kick();
    }, this.options.syncIntervalMs);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
    for (const target of [...this.options.daemons, this.options.fallback]) target.close?.();
    this.options.resend?.close();
  }

  // The targets of the last full sync (tests, bench).
  targets(): string[] {
    return (this.inUse ?? []).map((used) => used.target.name);
  }

  // Coalescing: a kick during a pass runs one more pass after it, with the state as it is then.
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.pass();
    } while (this.again);
  }

  // Every candidate daemon that answers and whose route-maps match the lists; vtysh when none answered.
  private async discover(): Promise<InUse[]> {
    const found: InUse[] = [];
    let answered = 0;
    for (const target of this.options.daemons) {
      let text: string;
      try {
        text = await target.read();
      } catch (error) {
        if (isHealthcastError(error, ErrorCodes.VTYSH_DAEMON_DOWN)) continue;
        throw error;
      }
      answered += 1;
      const families = referencedFamilies(text);
      if (families.length > 0) found.push({ target, families, lists: parseRunningLists(text) });
    }
    if (answered === 0) {
      const { fallback } = this.options;
      return [{ target: fallback, families: [4, 6], lists: parseRunningLists(await fallback.read()) }];
    }
    if (found.length === 0 && !this.warnedUnused) {
      this.warnedUnused = true;
      this.options.log.warn(
        {},
        'no FRR route-map matches the HC-DEGRADED prefix-lists (healthcast frr-config renders them): a degraded service keeps its metric',
      );
    }
    return found;
  }

  private async pass(): Promise<void> {
    const full = this.inUse === undefined;
    try {
      const inUse = this.inUse ?? (await this.discover());
      const degraded = this.options.degraded();
      const plans = inUse.map((used) => ({ used, plan: planLists(desiredListsOf(degraded, used.families), used.lists) }));
      const started = this.clock.monotonic();
      const changed = plans.filter(({ plan }) => plan.lines.length > 0);
      // Each daemon's list is its own: the writes go out together, and the router sees whichever daemon it hears from.
      const results = await Promise.allSettled(changed.map(({ used, plan }) => used.target.write(plan.lines)));
      this.inUse = plans.map(({ used, plan }) => ({ ...used, lists: plan.next }));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      const v6 = changedV6Addresses(changed.flatMap(({ plan }) => plan.lines));
      // Not a failure of the lists: without the re-send ospf6d still applies them, after its 5 s.
      if (v6.length > 0 && this.options.resend)
        await this.options.resend.resend(v6).catch((error: unknown) => this.options.log.warn({ err: messageOf(error) }, 'IPv6 routes not re-sent to ospf6d'));
      if (changed.length > 0) {
        const ms = this.clock.monotonic() - started;
        const lines = changed.flatMap(({ plan }) => plan.lines);
        const targets = changed.map(({ used }) => used.target.name);
        this.options.log.info({ lines: lines.length, targets, write_ms: Math.round(ms * 10) / 10, full }, 'degraded prefix-lists updated');
        this.onApplied?.(lines, ms, targets);
      }
    } catch (error) {
      this.inUse = undefined;
      this.options.log.warn({ err: messageOf(error) }, 'degraded prefix-lists not updated; retrying from what FRR has');
      // One retry from FRR's own view (the mirror may have been wrong: FRR restarted); the periodic sync does the rest.
      if (!full) this.again = true;
    }
  }
}
