// The real kernel backend: reads and writes through one long-lived `ip -j -force -batch -` (ip-batch-process.ts).
// iproute2 6.1 has no `proto` on addresses, so addresses are recognised by the ownership record (and IPv4 by label);
// routes carry `proto N` and only routes with that proto are listed.
import { execa } from 'execa';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { RoutingBatchError } from './batch-error.js';
import { IpBatchProcess } from './ip-batch-process.js';
import { batchLine, parseAddresses, parseRoutes } from './ip-commands.js';
import type { KernelEntry, RoutingBackend, RoutingOp } from './types.js';

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
}

export class IpBackend implements RoutingBackend {
  // The drain interfaces park addresses under a /31 or /127 (ip-commands.ts).
  readonly parkingInterfaces: readonly string[];
  private readonly ensured = new Set<string>();
  private readonly batch: IpBatchProcess;
  private readonly options: Required<Omit<IpBackendOptions, 'namespace' | 'dummyInterfaces'>> & Pick<IpBackendOptions, 'namespace' | 'dummyInterfaces'>;

  constructor(options: IpBackendOptions) {
    this.options = { ip: 'ip', timeoutMs: 30_000, ...options };
    this.parkingInterfaces = options.dummyInterfaces ?? [];
    this.batch = new IpBatchProcess({ ip: this.options.ip, namespace: this.options.namespace, timeoutMs: this.options.timeoutMs });
  }

  // Ends the ip process; a later call starts a new one.
  close(): void {
    this.batch.close();
  }

  // One JSON line per command: all addresses, then our-proto routes of both families (`table all` lists IPv4 and IPv6
  // together; `table main` alone would be IPv4 only, and a batch line takes no `-6`).
  async list(): Promise<KernelEntry[]> {
    const result = await this.batch.run(['address show', `route show proto ${this.options.routeProtocol} table all`], 2);
    if (result.failures.length > 0) throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip failed to list addresses and routes: ${result.failures.map((f) => f.reason).join('; ')}`);
    const [addresses, routes] = result.documents;
    if (result.documents.length !== 2 || addresses === undefined || routes === undefined) throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip printed ${result.documents.length} JSON documents, expected 2 (addresses, routes)`);
    try {
      return [...parseAddresses(JSON.parse(addresses), this.parkingInterfaces), ...parseRoutes(JSON.parse(routes))];
    } catch (error) {
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `cannot parse ip output: ${messageOf(error)}`, { cause: error });
    }
  }

  // Created only when first needed, so a host that never drains never sees the interface.
  private async ensureInterfaces(ops: readonly RoutingOp[]): Promise<void> {
    const wanted = this.options.dummyInterfaces ?? [];
    const needed = new Set(ops.filter((op) => op.action === 'add' && wanted.includes(op.entry.interface) && !this.ensured.has(op.entry.interface)).map((op) => op.entry.interface));
    for (const name of needed) {
      const shown = await this.run(['-j', 'link', 'show', 'dev', name], '');
      if (shown.failed) {
        let added = await this.run(['link', 'add', name, 'type', 'dummy'], '');
        // Kernels built without the dummy driver still have bridges; a bridge without ports serves the same purpose.
        if (added.failed && /Unknown device type/i.test(added.stderr)) added = await this.run(['link', 'add', name, 'type', 'bridge'], '');
        if (added.failed) throw this.commandError(`create the drain interface ${name}`, added.stderr, added);
      }
      // No link-local address: the interface only parks service addresses.
      await this.run(['link', 'set', name, 'addrgenmode', 'none'], '');
      const up = await this.run(['link', 'set', name, 'up'], '');
      if (up.failed) throw this.commandError(`bring ${name} up`, up.stderr, up);
      this.ensured.add(name);
    }
  }

  // -force keeps going past a failed line, so one bad entry does not block the rest; failures are mapped back to ops.
  async apply(ops: readonly RoutingOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.ensureInterfaces(ops);
    const result = await this.batch.run(ops.map((op) => batchLine(op, this.options.routeProtocol, this.parkingInterfaces)));
    if (result.failures.length === 0) return;
    this.ensured.clear(); // someone may have deleted the interface: check again next time
    const failures = result.failures.flatMap((failure) => {
      const op = ops[failure.index];
      return op ? [{ op, reason: failure.reason }] : [];
    });
    throw new RoutingBatchError(`${failures.length} of ${ops.length} ip operations failed`, failures, { details: failures.slice(0, 50).map((f) => f.reason) });
  }

  private async run(args: string[], input: string) {
    const prefix = this.options.namespace === undefined ? [] : ['-n', this.options.namespace];
    try {
      return await execa(this.options.ip, [...prefix, ...args], { input, reject: false, timeout: this.options.timeoutMs, stripFinalNewline: false });
    } catch (error) {
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `cannot run ${this.options.ip}: ${messageOf(error)}`, { cause: error });
    }
  }

  private commandError(what: string, stderr: string, result: { shortMessage?: string }): HealthcastError {
    return new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip failed to ${what}: ${stderr.trim() || result.shortMessage || "unknown error"}`);
  }
}
