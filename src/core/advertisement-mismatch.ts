// Pure: whether what FRR advertises contradicts what healthcast wants for a service, and the likely cause.
import type { ServiceConfig } from '../config/types.js';

export interface AdvertisementView {
  name: string;
  announce: ServiceConfig['announce'];
  announced: boolean; // every address is on the system as wanted
  wanted: boolean;
  draining: boolean;
  advertised: boolean | undefined; // undefined: FRR could not be asked
}

export function advertisementMismatch(view: AdvertisementView): string | undefined {
  if (view.advertised === undefined) return undefined;
  if (view.announced && !view.advertised) {
    if (view.announce === 'bgp') return 'network statements are configured but bgpd does not originate them: is bgpd running with the expected AS?';
    const source = view.announce === 'route' ? 'redistribute kernel' : 'redistribute connected';
    return `the addresses are on the host but FRR does not originate them: is ospfd/ospf6d running, with \`${source} route-map ...\` whose prefix-list permits them (and \`match interface\` naming their interface)?`;
  }
  if (!view.wanted && !view.draining && view.advertised) {
    return 'FRR still originates addresses healthcast withdrew: another source advertises them (a static network statement, or the same address on an interface the route-map does not exclude)';
  }
  return undefined;
}

export interface MismatchReporterOptions {
  // A mismatch is told only when an answer at least this long after it first appeared still shows it (default 3 s):
  // FRR applies a change asynchronously, so an answer read right after healthcast's write may predate it (bgpd
  // listed a withdrawn network statement's path as valid for a moment after `no network`, in 3 of 15 withdrawals).
  // 500 ms was too short at 1,000 services failing together: bgpd took 1-3 s to drop all 1,000 statements (the
  // router lost the last route 2.4-3.6 s after the kill), and the peers bench logged 4,230 false warnings in 10 rounds.
  confirmMs?: number;
  // Asks FRR again soon (AdvertisementWatcher.checkSoon), so a suspected mismatch is confirmed or cleared quickly.
  recheck?: () => void;
  // Monotonic ms; default performance.now().
  now?: () => number;
}

const CONFIRM_MS = 3000;

// Logs a mismatch once when it appears (confirmed by a later answer) and once when it clears, never on every poll.
export class MismatchReporter {
  private readonly last = new Map<string, string>();
  // Seen once, not yet confirmed: the problem and when it was first seen.
  private readonly suspected = new Map<string, { problem: string; since: number }>();
  private readonly now: () => number;

  constructor(
    private readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
    // A new mismatch may be drift (bgpd restarted and lost its network statements): the caller re-checks the system.
    private readonly onNewMismatch: () => void = () => undefined,
    private readonly options: MismatchReporterOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  check(views: readonly AdvertisementView[]): void {
    const seen = new Set<string>();
    for (const view of views) {
      seen.add(view.name);
      const problem = advertisementMismatch(view);
      const before = this.last.get(view.name);
      if (problem !== undefined && problem !== before && !this.confirmed(view.name, problem)) continue;
      this.suspected.delete(view.name);
      if (problem === before) continue;
      if (problem) {
        this.last.set(view.name, problem);
        this.log.warn({ service: view.name, component: 'advertisement' }, `advertisement mismatch: ${problem}`);
        this.onNewMismatch();
      } else {
        this.last.delete(view.name);
        this.log.info({ service: view.name, component: 'advertisement' }, 'advertisement matches again');
      }
    }
    for (const name of this.last.keys()) if (!seen.has(name)) this.last.delete(name);
    for (const name of this.suspected.keys()) if (!seen.has(name)) this.suspected.delete(name);
  }

  // True once the same problem has been seen for confirmMs; until then it is a suspicion and FRR is asked again.
  private confirmed(name: string, problem: string): boolean {
    const now = this.now();
    const suspect = this.suspected.get(name);
    if (suspect?.problem === problem && now - suspect.since >= (this.options.confirmMs ?? CONFIRM_MS)) return true;
    if (suspect?.problem !== problem) this.suspected.set(name, { problem, since: now });
    this.options.recheck?.();
    return false;
  }
}
