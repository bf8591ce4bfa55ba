// Our small vtysh client (npm has none): `vtysh [--vty_socket DIR] -c ... [-c ...]` through execa, bounded in time,
// every failure a VtyshError with a code (see vtysh-errors.ts for what FRR prints in each case).
import { execa } from 'execa';
import { ErrorCodes, HealthcastError } from '../errors.js';
import type { FrrSection } from './schema.js';
import { DEFAULT_VTYSH } from '../config/defaults.js';
import { classifyVtysh, describeCommands, VtyshError, type VtyshOutcome } from './vtysh-errors.js';

export { VtyshError } from './vtysh-errors.js';

// A `show ... json` on a small node answers in ~80 ms; vtysh itself never gives up on a stopped daemon.
export const DEFAULT_VTYSH_TIMEOUT_MS = 5000;

export interface VtyshOptions {
  binary?: string;
  // Directory of the daemons' *.vty sockets (FRR's --vty_socket); default /var/run/frr.
  vtySocket?: string;
  timeoutMs?: number;
  // Extra environment (tests put a fake vtysh first on PATH this way).
  env?: Readonly<Record<string, string>>;
}

// The interface the agent (announce, drain, checks) depends on; tests substitute an in-process fake.
export interface Vtysh {
  // Runs the commands in one vtysh process; resolves with stdout when vtysh exits 0.
  run(commands: readonly string[]): Promise<string>;
  // One `show ... json` command, parsed. VTYSH_BAD_OUTPUT (with FRR's text in `stdout`) when it is not JSON.
  show<T = unknown>(command: string): Promise<T>;
  // `configure terminal` then the lines, in order; calls from one client never interleave. Resolves with any
  // notes FRR printed. vtysh stops at the first rejected line, so earlier lines stay applied: send lines whose
  // partial application is safe, or undo on VTYSH_REJECTED.
  configure(lines: readonly string[]): Promise<string>;
}

function checkCommand(command: string): void {
  // vtysh splits a -c argument at line feeds into several commands; one argument must stay one command.
  if (command.trim() === '' || /[\r\n]/.test(command)) {
    throw new HealthcastError(ErrorCodes.USAGE, `vtysh command must be one non-empty line: ${JSON.stringify(command)}`);
  }
}

export function createVtysh(options: VtyshOptions = {}): Vtysh {
  const binary = options.binary ?? DEFAULT_VTYSH;
  const timeoutMs = options.timeoutMs ?? DEFAULT_VTYSH_TIMEOUT_MS;
  let configureQueue: Promise<unknown> = Promise.resolve();

  async function run(commands: readonly string[]): Promise<string> {
    if (commands.length === 0) throw new HealthcastError(ErrorCodes.USAGE, 'vtysh needs at least one command');
    commands.forEach(checkCommand);
    const args = options.vtySocket ? ['--vty_socket', options.vtySocket] : [];
    for (const command of commands) args.push('-c', command);
    const result = await execa(binary, args, {
      reject: false,
      timeout: timeoutMs,
      forceKillAfterDelay: 1000,
      stdin: 'ignore',
      env: options.env,
    });
    const outcome: VtyshOutcome = {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      timedOut: result.timedOut,
      spawnError: result.exitCode === undefined && !result.signal && !result.timedOut ? (result.code ?? 'spawn failed') : undefined,
    };
    const error = classifyVtysh(outcome, commands, { binary, timeoutMs });
    if (error) throw error;
    return outcome.stdout;
  }

  async function show<T>(command: string): Promise<T> {
    return parseShowJson<T>(`vtysh ${describeCommands([command])}`, command, await run([command]));
  }

  function configure(lines: readonly string[]): Promise<string> {
    if (lines.length === 0) return Promise.resolve('');
    const next = configureQueue.then(() => run(['configure terminal', ...lines]));
    configureQueue = next.catch(() => undefined);
    return next;
  }

  return { run, show, configure };
}

// A `show ... json` answer parsed; VTYSH_BAD_OUTPUT (FRR's text in `frrMessage`) when it is not JSON. `who` names
// the path the command took in the message (`vtysh -c '...'`, `ospfd vty: '...'`).
export function parseShowJson<T>(who: string, command: string, stdout: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch (cause) {
    const text = stdout.trim();
    const said = text ? `printed ${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}...` : text)}` : 'printed nothing';
    throw new VtyshError(ErrorCodes.VTYSH_BAD_OUTPUT, `${who}: expected JSON, FRR ${said}`, {
      commands: [command],
      outcome: { exitCode: 0, stdout, stderr: '', timedOut: false },
      frrMessage: text,
      cause,
    });
  }
}

// The client the agent uses, from the `frr:` section of healthcast.yaml.
export function vtyshFromConfig(frr: Pick<FrrSection, 'vtysh' | 'vty_socket' | 'vtysh_timeout'>): Vtysh {
  return createVtysh({ binary: frr.vtysh, vtySocket: frr.vty_socket, timeoutMs: frr.vtysh_timeout });
}
