// "Advertised as FRR reports it": asks FRR (through vtysh) which service prefixes it originates, on an interval, and
// answers per service from the last answer. Best effort and never in the routing path: FRR not running, a daemon down
// or a timeout make the answer unknown (null in `status --json`), never an error.
import fs from 'node:fs';
import { checkAdvertised, normalizePrefix, type Advertised } from '../frr/advertised.js';
import type { Vtysh } from '../frr/vtysh.js';
import type { FrrProtocol } from '../frr/render-options.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { systemClock, type Clock, type Timer } from '../clock.js';

// Pure: true when FRR originates every address, false when it answered and misses one, undefined when not known.
export function serviceAdvertised(addresses: readonly string[], known: ReadonlyMap<string, Advertised>): boolean | undefined {
  let all = true;
  for (const address of addresses) {
    const answer = known.get(normalizePrefix(address));
    if (answer === undefined || answer === 'unknown') return undefined;
    if (answer === 'no') all = false;
  }
  return addresses.length === 0 ? undefined : all;
}

// Pure: what FRR should say right now, per prefix: a service's addresses are originated while they are announced
// (the agent's `announced` is false while they are parked in a grace period: the host's, not advertised).
// For AdvertisementOptions.expected.
export function expectedAdvertisement(services: readonly { addresses: readonly string[]; announced: boolean }[]): Map<string, boolean> {
  const expected = new Map<string, boolean>();
  for (const service of services) for (const address of service.addresses) expected.set(normalizePrefix(address), service.announced);
  return expected;
}

// Pure: whether the answers agree with what is expected (every expected prefix answered as expected).
export function agrees(expected: ReadonlyMap<string, boolean>, known: ReadonlyMap<string, Advertised>): boolean {
  for (const [prefix, wanted] of expected) if (known.get(normalizePrefix(prefix)) !== (wanted ? 'yes' : 'no')) return false;
  return true;
}

export interface AdvertisementOptions {
  vtysh: Pick<Vtysh, 'show'>;
  protocol: FrrProtocol;
  prefixes: () => string[];
  intervalMs: number;
  log: Logger;
  // Called after every answer from FRR (the agent compares it with what it wants).
  onAnswer?: () => void;
  // What FRR should say now (expectedAdvertisement): the quick checks after a change stop once FRR agrees. Without
  // it they stop once any answer changed.
  expected?: () => ReadonlyMap<string, boolean>;
  // After a change, FRR is asked every `quickMs` (default 100) for at most `quickLimitMs` (default 1500).
  quickMs?: number;
  quickLimitMs?: number;
  // Default systemClock.
  clock?: Clock;
}

// While FRR cannot be asked (not installed as configured, not running), ask less and less often, up to this.
const MAX_BACKOFF_MS = 60_000;
// zebra hands a new connected or kernel route to ospfd/bgpd within milliseconds, so FRR usually agrees at the first
// or second quick check; the limit covers a slower origination without asking FRR (one vtysh per family) for long.
const QUICK_MS = 100;
const QUICK_LIMIT_MS = 1500;

export class AdvertisementWatcher {
  private known = new Map<string, Advertised>();
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private quick: Timer | undefined;
  // While quick checks run: until when, and the answers when they began (what "changed" compares with).
  private quickUntil = 0;
  private quickBaseline: ReadonlyMap<string, Advertised> = new Map();
  private polling: Promise<void> | undefined;
  private lastProblem: string | undefined;
  private failures = 0;
  private running = false;

  constructor(private readonly options: AdvertisementOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.cycle();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.quick);
    this.timer = undefined;
    this.quick = undefined;
    await this.polling;
  }

  // Call after each routing change: FRR needs a moment to originate or flush, so it is asked again every quickMs until
  // it agrees (see `expected`) or quickLimitMs passed, instead of at the next interval. A change during the checks
  // extends them. Only while FRR answers: a failing FRR is asked on the backed-off interval.
  checkSoon(): void {
    if (!this.running || this.failures > 0) return;
    this.quickUntil = this.clock.monotonic() + (this.options.quickLimitMs ?? QUICK_LIMIT_MS);
    if (this.quick) return;
    this.quickBaseline = this.known;
    this.scheduleQuick();
  }

  private scheduleQuick(): void {
    this.quick = this.clock.setTimeout(() => void this.quickCheck(), this.options.quickMs ?? QUICK_MS);
    this.quick.unref();
  }

  private async quickCheck(): Promise<void> {
    await this.poll();
    if (!this.running) return;
    const done = this.failures > 0 || this.settled() || this.clock.monotonic() >= this.quickUntil;
    if (done) this.quick = undefined;
    else this.scheduleQuick();
  }

  private settled(): boolean {
    const expected = this.options.expected?.();
    if (expected) return agrees(expected, this.known);
    return [...this.known].some(([prefix, answer]) => this.quickBaseline.get(prefix) !== answer);
  }

  private async cycle(): Promise<void> {
    await this.poll();
    if (!this.running) return;
    const delay = this.failures === 0 ? this.options.intervalMs : Math.min(this.options.intervalMs * 2 ** this.failures, MAX_BACKOFF_MS);
    this.timer = this.clock.setTimeout(() => void this.cycle(), delay);
    this.timer.unref();
  }

  lookup(addresses: readonly string[]): boolean | undefined {
    return serviceAdvertised(addresses, this.known);
  }

  // One question to FRR; overlapping calls share it.
  poll(): Promise<void> {
    this.polling ??= this.ask().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async ask(): Promise<void> {
    const prefixes = [...new Set(this.options.prefixes())];
    if (prefixes.length === 0) return;
    try {
      const answers = await checkAdvertised(this.options.vtysh, prefixes, this.options.protocol);
      this.known = new Map([...answers].map(([prefix, answer]) => [prefix, answer.advertised]));
      const unknown = [...answers.values()].find((answer) => answer.advertised === 'unknown');
      this.failures = unknown ? this.failures + 1 : 0;
      this.report(unknown ? `FRR could not be asked: ${unknown.reason ?? 'unknown'}` : undefined);
      this.options.onAnswer?.();
    } catch (error) {
      this.known = new Map();
      this.failures += 1;
      this.report(`FRR could not be asked: ${messageOf(error)}`);
    }
  }

  // Logged once per change, not on every poll.
  private report(problem: string | undefined): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    if (problem) this.options.log.warn({ component: 'advertisement' }, `advertised state unknown: ${problem}`);
    else this.options.log.info({ component: 'advertisement' }, 'FRR answers: advertised state known');
  }
}

// A watcher when the configured vtysh exists; without FRR on the machine there is nothing to ask.
export function vtyshInstalled(binary: string): boolean {
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
