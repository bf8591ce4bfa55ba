// announce: bgp. Writes `network` statements under `router bgp ASN` (bgp-commands.ts has the text; where frr-config's
// outbound hold list is there, a withdrawal first adds a deny entry to it: the router hears at once; a drain holds the
// statement back by that entry alone, bgp-write.ts plans each batch), through bgpd's vty
// socket when the agent gives one (vty-socket.ts: ~1 ms) or a vtysh process (~100 ms). Lists through vtysh (`show bgp
// vrfs json` + `show running-config bgpd`), but off the path between a decision and its write: once a listing is
// known, list() answers from it (updated by each write that succeeded) and the real listing runs verifyDelayMs after
// the pass, as a verification. A verification that finds bgpd elsewhere than believed (a bgpd restart lost the
// statements, a write did not take, bgpd is down) replaces the belief, or drops it, and calls onDrift: the reconciler
// runs a pass that plans from the truth. Any failed write drops the belief too, so that pass re-lists for real.
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { VtyshError, type Vtysh } from '../frr/vtysh.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { RoutingBatchError, type OpFailure } from './batch-error.js';
import { LIST_COMMANDS, NETWORK_NOT_FOUND, parseBgpdListing, type BgpdConfig } from './bgp-commands.js';
import { bgpUnits, listedEntries, planBgpWrite } from './bgp-write.js';
import { entryKey, type EntryKind, type KernelEntry, type RoutingBackend, type RoutingOp } from './types.js';

export interface BgpBackendOptions {
  vtysh: Vtysh;
  // frr.asn: when set, bgpd's default instance must run this AS (checked before every write). When unset, the AS of
  // the running instance is used. healthcast never creates a BGP instance.
  asn?: number;
  // Where statements are written; default `vtysh`. The agent passes bgpd's vty socket (src/frr/vty-socket.ts).
  writer?: Pick<Vtysh, 'configure'> & { close?(): void };
  // A verification found bgpd differing from the belief (or could not read it): run a pass.
  onDrift?: () => void;
  // The verification's timer; default systemClock.
  clock?: Clock;
  // How long after the last list() or write the verification reads bgpd (default 200 ms: after the pass and its neighbours).
  verifyDelayMs?: number;
}

// Long enough that a burst of passes (ten services failing within a second) shares one vtysh listing.
const VERIFY_DELAY_MS = 200;

// Pure: whether two listings name the same instance and statements.
export function sameListing(a: BgpdConfig, b: BgpdConfig): boolean {
  if (a.asn !== b.asn || a.networks.length !== b.networks.length) return false;
  const keys = new Set(a.networks.map(entryKey));
  return b.networks.every((entry) => keys.has(entryKey(entry)));
}

// One line per op for reports: FRR's words without the (long) vtysh command line.
export function bgpFailureReason(error: unknown): string {
  if (!(error instanceof VtyshError)) return messageOf(error);
  switch (error.code) {
    case ErrorCodes.VTYSH_DAEMON_DOWN:
      return `${error.daemon ?? 'a daemon'} is not running`;
    case ErrorCodes.VTYSH_REJECTED:
      return `FRR rejected it: ${error.frrMessage}`;
    case ErrorCodes.VTYSH_NOT_RUNNING:
      return `FRR is not reachable: ${error.frrMessage}`;
    case ErrorCodes.VTYSH_TIMEOUT:
      return 'vtysh got no answer in time (bgpd stopped, hung or overloaded)';
    default:
      return error.message;
  }
}

export class BgpBackend implements RoutingBackend {
  readonly kinds: readonly EntryKind[] = ['bgp'];
  // What bgpd is believed to hold: the last listing, plus the writes that succeeded since. undefined: list for real.
  private known: BgpdConfig | undefined;
  // Bumped by every write: a verification that overlapped one cannot tell which side of it bgpd was on.
  private generation = 0;
  private verifyTimer: Timer | undefined;
  private verifying: Promise<void> | undefined;
  // Addresses held (a drain) without a statement: no hold list for the family, or too many at once (bgp-write.ts).
  private virtual = new Set<string>();
  private readonly clock: Clock;
  private readonly writer: Pick<Vtysh, 'configure'> & { close?(): void };

  constructor(private readonly options: BgpBackendOptions) {
    this.clock = options.clock ?? systemClock;
    this.writer = options.writer ?? options.vtysh;
  }

  // Throws the VtyshError as is (VTYSH_DAEMON_DOWN "bgpd is not running", VTYSH_NOT_RUNNING, VTYSH_TIMEOUT), so the
  // reconciler reports bgp entries as errors with FRR's words while it goes on with the kernel's.
  async list(): Promise<KernelEntry[]> {
    if (this.known) {
      this.verifySoon();
      return listedEntries(this.known, this.virtual);
    }
    this.generation += 1;
    this.known = await this.read();
    return listedEntries(this.known, this.virtual);
  }

  // Waits for a verification in flight or due (tests, and callers that need bgpd's word now).
  async verified(): Promise<void> {
    if (this.verifyTimer) {
      this.clock.clearTimeout(this.verifyTimer);
      this.verifyTimer = undefined;
      await this.verify();
    }
    await this.verifying;
  }

  // The reconciler stops: no verification, the vty socket closed (reopened on the next write).
  close(): void {
    this.clock.clearTimeout(this.verifyTimer);
    this.verifyTimer = undefined;
    this.writer.close?.();
  }

  private async read(): Promise<BgpdConfig> {
    return parseBgpdListing(await this.options.vtysh.run(LIST_COMMANDS));
  }

  // One verification at a time, verifyDelayMs after the last request for one.
  private verifySoon(): void {
    this.clock.clearTimeout(this.verifyTimer);
    this.verifyTimer = this.clock.setTimeout(() => {
      this.verifyTimer = undefined;
      void this.verify();
    }, this.options.verifyDelayMs ?? VERIFY_DELAY_MS);
    this.verifyTimer.unref();
  }

  private verify(): Promise<void> {
    if (this.verifying) {
      // The one in flight may predate a write: look again after it.
      void this.verifying.then(() => this.verifySoon());
      return this.verifying;
    }
    this.verifying = this.check().finally(() => {
      this.verifying = undefined;
    });
    return this.verifying;
  }

  private async check(): Promise<void> {
    const generation = this.generation;
    let listed: BgpdConfig;
    try {
      listed = await this.read();
    } catch {
      // bgpd down, hung or unreadable: the next pass lists for real and reports why.
      if (this.known === undefined) return;
      this.known = undefined;
      this.options.onDrift?.();
      return;
    }
    if (generation !== this.generation) {
      this.verifySoon();
      return;
    }
    const believed = this.known;
    this.known = listed;
    // Nothing was believed (a write failed): the next pass would have listed anyway.
    if (believed && !sameListing(believed, listed)) this.options.onDrift?.();
  }

  // vtysh stops at the first rejected line and keeps the lines before it. The whole batch goes in one write; if FRR
  // rejects a line, each address's change is retried in its own write so every op gets its own answer (adding a
  // statement twice is accepted; removing one that is already gone counts as done). Failures are per op, as
  // RoutingBatchError. The ops of one address are one change (bgp-write.ts): a drain's hold is its deny entry alone.
  async apply(ops: readonly RoutingOp[]): Promise<void> {
    if (ops.length === 0) return;
    const foreign = ops.find((op) => op.entry.kind !== 'bgp');
    if (foreign) throw new HealthcastError(ErrorCodes.USAGE, `the bgp backend got a ${foreign.entry.kind} op for ${foreign.entry.address}`);
    let asn: string;
    try {
      asn = await this.instanceAsn();
    } catch (error) {
      throw this.batchError(
        ops,
        ops.map((op) => ({ op, reason: bgpFailureReason(error) })),
        error,
      );
    }
    // instanceAsn() listed bgpd when nothing was believed.
    const before = this.known ?? { asn, networks: [] };
    const units = bgpUnits(ops);
    const planned = planBgpWrite(asn, before, units, this.virtual);
    try {
      if (planned.lines.length > 0) await this.write(planned.lines);
      if (this.known) this.known = planned.after;
      this.virtual = planned.virtual;
      return;
    } catch (error) {
      // What took effect is bgpd's to say: the pass's own listing after the batch reads it.
      this.known = undefined;
      if (!(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED)) {
        throw this.batchError(
          ops,
          ops.map((op) => ({ op, reason: bgpFailureReason(error) })),
          error,
        );
      }
    }
    const failures: OpFailure[] = [];
    // One change at a time, each planned from the state the ones before it left (so two holds never share a seq).
    let state = before;
    for (const [index, unit] of units.entries()) {
      const one = planBgpWrite(asn, state, [unit], this.virtual);
      try {
        if (one.lines.length > 0) await this.write(one.lines);
        state = one.after;
        this.virtual = one.virtual;
      } catch (error) {
        const gone = unit.change === 'withdraw' || unit.change === 'drop';
        if (gone && error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED && NETWORK_NOT_FOUND.test(error.frrMessage)) continue;
        failures.push(...unit.ops.map((op) => ({ op, reason: bgpFailureReason(error) })));
        // bgpd gone or hung: the remaining ops would only wait for the same answer.
        if (!(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED)) {
          for (const rest of units.slice(index + 1)) failures.push(...rest.ops.map((op) => ({ op, reason: bgpFailureReason(error) })));
          break;
        }
      }
    }
    if (failures.length > 0) throw this.batchError(ops, failures);
  }

  // Every write moves the generation before and after: a verification that read bgpd meanwhile is not trusted. The
  // verification after it is due verifyDelayMs after the last write.
  private async write(lines: readonly string[]): Promise<void> {
    this.generation += 1;
    try {
      await this.writer.configure(lines);
    } finally {
      this.generation += 1;
      this.verifySoon();
    }
  }

  // The AS to write under: the running default instance's, checked against frr.asn when that is set.
  private async instanceAsn(): Promise<string> {
    if (!this.known) await this.list();
    const running = this.known?.asn;
    if (running === undefined) {
      throw new HealthcastError(
        ErrorCodes.BGP_INSTANCE,
        'bgpd has no `router bgp` instance in its default VRF; healthcast does not create one (configure `router bgp ASN` and its neighbours in FRR first)',
      );
    }
    if (this.options.asn !== undefined && String(this.options.asn) !== running) {
      throw new HealthcastError(ErrorCodes.BGP_INSTANCE, `frr.asn is ${this.options.asn} but bgpd runs \`router bgp ${running}\`; not touching another AS`);
    }
    return running;
  }

  private batchError(ops: readonly RoutingOp[], failures: OpFailure[], cause?: unknown): RoutingBatchError {
    const first = failures[0]?.reason ?? 'unknown error';
    return new RoutingBatchError(`${failures.length} of ${ops.length} bgp network operations failed: ${first}`, failures, { cause });
  }
}
