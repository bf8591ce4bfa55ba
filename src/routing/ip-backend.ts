// The real kernel backend: reads with `ip -j`, writes with ONE `ip -force -batch -` process per batch.
// iproute2 6.1 has no `proto` on addresses, so addresses are recognised by the ownership record (and IPv4 by label);
// routes carry `proto N` and only routes with that proto are listed.
import { execa } from 'execa';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { RoutingBatchError } from './batch-error.js';
import { batchLine, parseAddresses, parseBatchFailures, parseRoutes } from './ip-commands.js';
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
  private readonly options: Required<Omit<IpBackendOptions, 'namespace' | 'dummyInterfaces'>> & Pick<IpBackendOptions, 'namespace' | 'dummyInterfaces'>;

  constructor(options: IpBackendOptions) {
    this.options = { ip: 'ip', timeoutMs: 30_000, ...options };
    this.parkingInterfaces = options.dummyInterfaces ?? [];
  }

  // One `ip -j -batch` process prints one JSON line per command: all addresses, then our-proto routes of both families
  // (`table all` lists IPv4 and IPv6 together; `table main` alone would be IPv4 only, and a batch line takes no `-6`).
  async list(): Promise<KernelEntry[]> {
    const script = `address show\nroute show proto ${this.options.routeProtocol} table all\n`;
    const result = await this.run(['-j', '-batch', '-'], script);
    if (result.failed) throw this.commandError('list addresses and routes', result.stderr, result);
    const lines = result.stdout.split('\n').filter((line) => line.trim() !== '');
    if (lines.length !== 2) throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip printed ${lines.length} JSON documents, expected 2 (addresses, routes)`);
    try {
      return [...parseAddresses(JSON.parse(lines[0] ?? ''), this.parkingInterfaces), ...parseRoutes(JSON.parse(lines[1] ?? ''))];
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
    const script = ops.map((op) => batchLine(op, this.options.routeProtocol, this.parkingInterfaces)).join('\n') + '\n';
    const result = await this.run(['-force', '-batch', '-'], script);
    if (!result.failed) return;
    this.ensured.clear(); // someone may have deleted the interface: check again next time
    const failures = parseBatchFailures(result.stderr, ops);
    const summary = failures.length > 0 ? `${failures.length} of ${ops.length} ip operations failed` : `ip -batch failed: ${result.stderr.trim() || result.shortMessage}`;
    throw new RoutingBatchError(summary, failures, { details: result.stderr.split('\n').filter(Boolean).slice(0, 50) });
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
