// "Advertised as FRR reports it": asks FRR (through vtysh) which service prefixes it originates, on an interval, and
// answers per service from the last answer. Best effort and never in the routing path: FRR not running, a daemon down
// or a timeout make the answer unknown (null in `status --json`), never an error.
import fs from 'node:fs';
import { checkAdvertised, normalizePrefix, type Advertised } from '../frr/advertised.js';
import type { Vtysh } from '../frr/vtysh.js';
import type { FrrProtocol } from '../frr/render-options.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';

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

export interface AdvertisementOptions {
  vtysh: Pick<Vtysh, 'show'>;
  protocol: FrrProtocol;
  prefixes: () => string[];
  intervalMs: number;
  log: Logger;
  // Called after every answer from FRR (the agent compares it with what it wants).
  onAnswer?: () => void;
}

// While FRR cannot be asked (not installed as configured, not running), ask less and less often, up to this.
const MAX_BACKOFF_MS = 60_000;

export class AdvertisementWatcher {
  private known = new Map<string, Advertised>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastProblem: string | undefined;
  private failures = 0;
  private running = false;

  constructor(private readonly options: AdvertisementOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.cycle();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.soon);
    await this.polling;
  }

  // After a change FRR needs a moment to originate or flush: ask again shortly (once, and only while FRR answers).
  pollSoon(delayMs = 1000): void {
    if (!this.running || this.soon || this.failures > 0) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.poll();
    }, delayMs);
    this.soon.unref();
  }

  private async cycle(): Promise<void> {
    await this.poll();
    if (!this.running) return;
    const delay = this.failures === 0 ? this.options.intervalMs : Math.min(this.options.intervalMs * 2 ** this.failures, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => void this.cycle(), delay);
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
