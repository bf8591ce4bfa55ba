// The drain interface (config drain_interface, hc-drain): created when a drain first needs it, marked with an alias so
// healthcast can tell it from an interface an operator made, and removed again once it is idle (backend close, i.e. a
// clean exit, and `healthcast cleanup`). Nothing here runs on the path of an announce: only create and remove.
import { execa } from 'execa';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';

// The mark: interfaces carry no proto or label, but an alias (IFLA_IFALIAS) survives until the interface goes.
export const DRAIN_INTERFACE_ALIAS = 'healthcast drain interface';

export interface IpRunner {
  ip: string;
  namespace?: string;
  timeoutMs: number;
}

interface RunResult {
  failed: boolean;
  stdout: string;
  stderr: string;
  shortMessage?: string;
}

async function run(runner: IpRunner, args: string[]): Promise<RunResult> {
  const prefix = runner.namespace === undefined ? [] : ['-n', runner.namespace];
  try {
    const result = await execa(runner.ip, [...prefix, ...args], { reject: false, timeout: runner.timeoutMs, stripFinalNewline: false });
    return { failed: result.failed, stdout: String(result.stdout), stderr: String(result.stderr), shortMessage: result.shortMessage };
  } catch (error) {
    throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, `cannot run ${runner.ip}: ${messageOf(error)}`, { cause: error });
  }
}

function commandError(runner: IpRunner, what: string, result: RunResult): HealthcastError {
  return new HealthcastError(ErrorCodes.BACKEND_COMMAND, `${runner.ip} failed to ${what}: ${result.stderr.trim() || result.shortMessage || 'unknown error'}`);
}

// Creates the interface (dummy, else an empty bridge) when it does not exist, and brings it up. An existing one is used
// as it is: only one healthcast created carries the alias, and only such a one is ever removed.
export async function ensureDrainInterface(runner: IpRunner, name: string): Promise<void> {
  const shown = await run(runner, ['-j', 'link', 'show', 'dev', name]);
  if (shown.failed) {
    let added = await run(runner, ['link', 'add', name, 'type', 'dummy']);
    // Kernels built without the dummy driver still have bridges; a bridge without ports serves the same purpose.
    if (added.failed && /Unknown device type/i.test(added.stderr)) added = await run(runner, ['link', 'add', name, 'type', 'bridge']);
    if (added.failed) throw commandError(runner, `create the drain interface ${name}`, added);
    await run(runner, ['link', 'set', name, 'alias', DRAIN_INTERFACE_ALIAS]);
  }
  // No link-local address: the interface only parks service addresses.
  await run(runner, ['link', 'set', name, 'addrgenmode', 'none']);
  const up = await run(runner, ['link', 'set', name, 'up']);
  if (up.failed) throw commandError(runner, `bring ${name} up`, up);
}

export type DrainInterfaceRemoval = 'removed' | 'absent' | 'not created by healthcast' | 'in use';

// Removes the interface when healthcast created it and no address sits on it; says why not otherwise.
export async function removeIdleDrainInterface(runner: IpRunner, name: string): Promise<DrainInterfaceRemoval> {
  const shown = await run(runner, ['-j', 'link', 'show', 'dev', name]);
  if (shown.failed) return 'absent';
  const links = JSON.parse(shown.stdout) as { ifalias?: string }[];
  if (links[0]?.ifalias !== DRAIN_INTERFACE_ALIAS) return 'not created by healthcast';
  const addresses = await run(runner, ['-j', 'address', 'show', 'dev', name]);
  if (addresses.failed) return 'absent';
  const parked = (JSON.parse(addresses.stdout) as { addr_info?: unknown[] }[]).some((link) => (link.addr_info ?? []).length > 0);
  if (parked) return 'in use';
  const deleted = await run(runner, ['link', 'del', name]);
  if (deleted.failed) {
    if (/Cannot find device/i.test(deleted.stderr)) return 'absent';
    throw commandError(runner, `remove the drain interface ${name}`, deleted);
  }
  return 'removed';
}
