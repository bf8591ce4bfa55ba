// announce: bgp. Lists and writes `network` statements under `router bgp ASN` through vtysh: one vtysh process per
// listing (`show bgp vrfs json` + `show running-config bgpd`), one per batch of changes (bgp-commands.ts has the text).
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { VtyshError, type Vtysh } from '../frr/vtysh.js';
import { RoutingBatchError, type OpFailure } from './batch-error.js';
import { bgpConfigLines, LIST_COMMANDS, NETWORK_NOT_FOUND, parseBgpdListing, type BgpdConfig } from './bgp-commands.js';
import type { EntryKind, KernelEntry, RoutingBackend, RoutingOp } from './types.js';

export interface BgpBackendOptions {
  vtysh: Vtysh;
  // frr.asn: when set, bgpd's default instance must run this AS (checked before every write). When unset, the AS of
  // the running instance is used. healthcast never creates a BGP instance.
  asn?: number;
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
  // The last listing: writes use its AS (the reconciler always lists right before it applies).
  private lastConfig: BgpdConfig | undefined;

  constructor(private readonly options: BgpBackendOptions) {}

  // Throws the VtyshError as is (VTYSH_DAEMON_DOWN "bgpd is not running", VTYSH_NOT_RUNNING, VTYSH_TIMEOUT), so the
  // reconciler reports bgp entries as errors with FRR's words while it goes on with the kernel's.
  async list(): Promise<KernelEntry[]> {
    this.lastConfig = undefined;
    this.lastConfig = parseBgpdListing(await this.options.vtysh.run(LIST_COMMANDS));
    return this.lastConfig.networks.map((entry) => ({ ...entry }));
  }

  // vtysh stops at the first rejected line and keeps the lines before it. The whole batch goes in one process; if FRR
  // rejects a line, each op is retried in its own process so every op gets its own answer (adding a statement twice
  // is accepted; removing one that is already gone counts as done). Failures are per op, as RoutingBatchError.
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
    try {
      await this.options.vtysh.configure(bgpConfigLines(asn, ops));
      return;
    } catch (error) {
      if (!(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED)) {
        throw this.batchError(
          ops,
          ops.map((op) => ({ op, reason: bgpFailureReason(error) })),
          error,
        );
      }
    }
    const failures: OpFailure[] = [];
    for (const [index, op] of ops.entries()) {
      try {
        await this.options.vtysh.configure(bgpConfigLines(asn, [op]));
      } catch (error) {
        if (op.action === 'remove' && error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED && NETWORK_NOT_FOUND.test(error.frrMessage))
          continue;
        failures.push({ op, reason: bgpFailureReason(error) });
        // bgpd gone or hung: the remaining ops would only wait for the same answer.
        if (!(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED)) {
          for (const rest of ops.slice(index + 1)) failures.push({ op: rest, reason: bgpFailureReason(error) });
          break;
        }
      }
    }
    if (failures.length > 0) throw this.batchError(ops, failures);
  }

  // The AS to write under: the running default instance's, checked against frr.asn when that is set.
  private async instanceAsn(): Promise<string> {
    if (!this.lastConfig) await this.list();
    const running = this.lastConfig?.asn;
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
