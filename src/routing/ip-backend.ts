// The real kernel backend: reads and writes through one long-lived `ip -j -force -batch -` (ip-batch-process.ts).
// iproute2 6.1 has no `proto` on addresses, so addresses are recognised by the ownership record (and IPv4 by label);
// routes carry `proto N` and only routes with that proto are listed.
import { sleep, systemClock, type Clock } from '../clock.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { ensureDrainInterface, removeIdleDrainInterface } from './drain-interface.js';
import { RoutingBatchError } from './batch-error.js';
import { IpBatchProcess, type BatchFailure } from './ip-batch-process.js';
import { batchLine, parseAddresses, parseLocalRoutes, parseRoutes, renewLine, splitAtIpv6Moves } from './ip-commands.js';
import type { KernelEntry, RoutingBackend, RoutingEntry, RoutingOp } from './types.js';

// How long a move waits for the kernel to make its new IPv6 copy usable before it removes the old one anyway.
const SETTLE_TIMEOUT_MS = 1000;
const SETTLE_POLL_MS = 1;

export interface IpBackendOptions {
  // The `proto` number on healthcast's kernel routes (config: route_protocol).
  routeProtocol: number;
  // Run every command in this network namespace (`ip -n NS`); tests and the benchmark use their own.
  namespace?: string;
  // Path of the ip binary.
  ip?: string;
  timeoutMs?: number;
  // Interfaces to create (dummy, else an empty bridge) and bring up when an add first needs them: the drain interface,
  // whose addresses FRR does not advertise.
  dummyInterfaces?: readonly string[];
  // Told when a moved IPv6 address was not usable within SETTLE_TIMEOUT_MS and its old copy was removed anyway.
  onSlowMove?: (message: string) => void;
  // The settle wait and the batch timeout; default systemClock.
  clock?: Clock;
  // The lease (valid_lft, whole seconds) every added address carries; none when undefined (config `lease: 0`).
  leaseSeconds?: number;
}

export class IpBackend implements RoutingBackend {
  // The drain interfaces park addresses under a /31 or /127 (ip-commands.ts).
  readonly parkingInterfaces: readonly string[];
  private readonly ensured = new Set<string>();
  // Drain interfaces this backend created or found since the last close: the ones close() may remove.
  private readonly used = new Set<string>();
  private readonly batch: IpBatchProcess;
  private readonly options: Required<Omit<IpBackendOptions, 'namespace' | 'dummyInterfaces' | 'onSlowMove' | 'leaseSeconds'>> &
    Pick<IpBackendOptions, 'namespace' | 'dummyInterfaces' | 'onSlowMove' | 'leaseSeconds'>;

  constructor(options: IpBackendOptions) {
    this.options = { ip: 'ip', timeoutMs: 30_000, clock: systemClock, ...options };
    this.parkingInterfaces = options.dummyInterfaces ?? [];
    this.batch = new IpBatchProcess({ ip: this.options.ip, namespace: this.options.namespace, timeoutMs: this.options.timeoutMs, clock: this.options.clock });
  }

  // Ends the ip process, and removes a drain interface this backend used once nothing is parked on it (a clean exit
  // leaves no hc-drain behind; one an operator made, without healthcast's alias, stays). A later call starts afresh.
  async close(): Promise<void> {
    this.batch.close();
    this.ensured.clear();
    for (const name of [...this.used]) {
      // Best effort: an empty drain interface left behind is harmless (nothing on it is advertised), and cleanup retries.
      const outcome = await removeIdleDrainInterface(this.options, name).catch(() => 'failed' as const);
      // Still in use (closed mid-drain): a later close, after the final withdraw, tries again.
      if (outcome !== 'in use' && outcome !== 'failed') this.used.delete(name);
    }
  }

  // One JSON line per command: all addresses, then our-proto routes of both families (`table all` lists IPv4 and IPv6
  // together; `table main` alone would be IPv4 only, and a batch line takes no `-6`).
  async list(): Promise<KernelEntry[]> {
    const result = await this.batch.run(['address show', `route show proto ${this.options.routeProtocol} table all`], 2);
    if (result.failures.length > 0)
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip failed to list addresses and routes: ${result.failures.map((f) => f.reason).join('; ')}`);
    const [addresses, routes] = result.documents;
    if (result.documents.length !== 2 || addresses === undefined || routes === undefined)
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip printed ${result.documents.length} JSON documents, expected 2 (addresses, routes)`);
    try {
      return [...parseAddresses(JSON.parse(addresses), this.parkingInterfaces), ...parseRoutes(JSON.parse(routes))];
    } catch (error) {
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `cannot parse ip output: ${messageOf(error)}`, { cause: error });
    }
  }

  // Created only when first needed, so a host that never drains never sees the interface.
  private async ensureInterfaces(ops: readonly RoutingOp[]): Promise<void> {
    const wanted = this.options.dummyInterfaces ?? [];
    const needed = new Set(
      ops.filter((op) => op.action === 'add' && wanted.includes(op.entry.interface) && !this.ensured.has(op.entry.interface)).map((op) => op.entry.interface),
    );
    for (const name of needed) {
      await ensureDrainInterface(this.options, name);
      this.ensured.add(name);
      this.used.add(name);
    }
  }

  // -force keeps going past a failed line, so one bad entry does not block the rest; failures are mapped back to ops.
  // An IPv6 move is applied in two requests with a wait between them (splitAtIpv6Moves).
  async apply(ops: readonly RoutingOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.ensureInterfaces(ops);
    const failures: { op: RoutingOp; reason: string }[] = [];
    for (const piece of splitAtIpv6Moves(ops)) {
      const result = await this.batch.run(piece.ops.map((op) => batchLine(op, this.options.routeProtocol, this.parkingInterfaces, this.options.leaseSeconds)));
      failures.push(...mapFailures(piece.ops, result.failures));
      const failed = new Set(result.failures.map((failure) => piece.ops[failure.index]?.entry));
      await this.settle(piece.settle.filter((entry) => !failed.has(entry)));
    }
    if (failures.length === 0) return;
    this.ensured.clear(); // someone may have deleted the interface: check again next time
    throw new RoutingBatchError(`${failures.length} of ${ops.length} ip operations failed`, failures, { details: failures.slice(0, 50).map((f) => f.reason) });
  }

  // One request of `address replace ... valid_lft N` lines; failures are mapped back to their entries. Without a lease
  // the lifetime is `forever`: what a leased run left becomes permanent.
  async renew(entries: readonly RoutingEntry[]): Promise<void> {
    const lifetime = this.options.leaseSeconds ?? 'forever';
    if (entries.length === 0) return;
    const result = await this.batch.run(entries.map((entry) => renewLine(entry, this.parkingInterfaces, lifetime)));
    const ops = entries.map((entry): RoutingOp => ({ action: 'add', entry }));
    const failures = mapFailures(ops, result.failures);
    if (failures.length > 0)
      throw new RoutingBatchError(`${failures.length} of ${entries.length} lease renewals failed`, failures, {
        details: failures.slice(0, 50).map((f) => f.reason),
      });
  }

  // Until every entry's address has its local route on its interface, or SETTLE_TIMEOUT_MS passed.
  private async settle(entries: readonly RoutingEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const interfaces = [...new Set(entries.map((entry) => entry.interface))];
    const clock = this.options.clock;
    const deadline = clock.monotonic() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const result = await this.batch.run(
        interfaces.map((name) => `route show table all dev ${name}`),
        interfaces.length,
      );
      // A listing that fails (the interface went away) cannot become ready: the removes go ahead as before.
      if (result.failures.length > 0 || result.documents.length !== interfaces.length) return;
      let local: Map<string, Set<string>>;
      try {
        local = new Map(interfaces.map((name, index) => [name, parseLocalRoutes(JSON.parse(result.documents[index]!))]));
      } catch (error) {
        this.options.onSlowMove?.(`cannot read the local routes of ${interfaces.join(', ')} (${messageOf(error)}); removing the old copies without waiting`);
        return;
      }
      const waiting = entries.filter((entry) => !local.get(entry.interface)?.has(entry.address));
      if (waiting.length === 0) return;
      if (clock.monotonic() >= deadline) {
        this.options.onSlowMove?.(
          `${waiting.map((entry) => `${entry.address} on ${entry.interface}`).join(', ')} not usable after ${SETTLE_TIMEOUT_MS} ms; removing the old copy anyway`,
        );
        return;
      }
      await sleep(clock, SETTLE_POLL_MS);
    }
  }
}

function mapFailures(ops: readonly RoutingOp[], failures: readonly BatchFailure[]): { op: RoutingOp; reason: string }[] {
  return failures.flatMap((failure) => {
    const op = ops[failure.index];
    return op ? [{ op, reason: failure.reason }] : [];
  });
}
