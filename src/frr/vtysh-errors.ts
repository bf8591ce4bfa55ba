// What a finished vtysh run means, from its exit code and output alone (pure, so every case has a table test).
// Measured on FRR 8.4.4 (docs/frr.md has the transcript):
//   no daemon reachable     exit 1, stderr "Exiting: failed to connect to any daemons."
//                           (not root, not in frrvty: "% Can't open configuration file /etc/frr/vtysh.conf due to
//                            'Permission denied'." and "Hint: ... running me as a privileged user!" around it)
//   zebra up, ospfd down    exit 1, stderr "ospfd is not running" (earlier -c commands' output still on stdout)
//   unknown command         exit 1, stdout "% Unknown command: CMD" (also "% Ambiguous command", "% Command
//                           incomplete"); vtysh stops at the first failing -c, later ones are not run
//   config refused          exit 1, stdout "% Configuration failed.\n\nError type: validation\nError description: ..."
//                           or a daemon's own text ("BGP is already running; AS is 65001")
//   daemon stopped (SIGSTOP) vtysh waits forever: only our timeout ends it
//   "show ... json" with no instance: exit 0 and text ("% OSPF is not enabled on vrf default") or nothing at all
import { ErrorCodes, HealthcastError, type ErrorCode } from '../errors.js';

export interface VtyshOutcome {
  exitCode?: number;
  signal?: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  // errno code when vtysh could not be started (ENOENT, EACCES).
  spawnError?: string;
}

// A failed vtysh call: `code` to branch on, FRR's own words in `frrMessage`, everything else for logs.
export class VtyshError extends HealthcastError {
  override name = 'VtyshError';
  readonly commands: readonly string[];
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly frrMessage: string;
  // The daemon vtysh named as down (DAEMON_DOWN only).
  readonly daemon: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    fields: { commands: readonly string[]; outcome?: VtyshOutcome; frrMessage?: string; daemon?: string; cause?: unknown },
  ) {
    const outcome = fields.outcome;
    const details = [outcome?.stdout.trim(), outcome?.stderr.trim()].filter((text): text is string => Boolean(text));
    super(code, message, { details, cause: fields.cause });
    this.commands = fields.commands;
    this.exitCode = outcome?.exitCode;
    this.stdout = outcome?.stdout ?? '';
    this.stderr = outcome?.stderr ?? '';
    this.frrMessage = fields.frrMessage ?? '';
    this.daemon = fields.daemon;
  }
}

const MAX_QUOTE = 500;

function quote(text: string): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' | ');
  return flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE)}...` : flat;
}

// For messages: the commands as one would type them.
export function describeCommands(commands: readonly string[]): string {
  return commands.map((command) => `-c '${command}'`).join(' ');
}

// FRR's error lines: "% ..." and the text after "Configuration failed." that explains it.
function frrErrorText(stdout: string, stderr: string): string {
  const text = [stdout, stderr]
    .map((part) => part.trim())
    .filter(Boolean)
    .join('\n');
  const start = text.search(/^%/m);
  return quote(start >= 0 ? text.slice(start) : text);
}

// undefined means success: exit 0, not timed out. The caller decides what the output means.
export function classifyVtysh(outcome: VtyshOutcome, commands: readonly string[], context: { binary: string; timeoutMs: number }): VtyshError | undefined {
  const what = `vtysh ${describeCommands(commands)}`;
  if (outcome.spawnError) {
    const reason =
      outcome.spawnError === 'ENOENT'
        ? `${context.binary} not found (is FRR installed? set frr.vtysh)`
        : `cannot run ${context.binary} (${outcome.spawnError})`;
    return new VtyshError(ErrorCodes.VTYSH_NOT_RUNNING, `${what}: ${reason}`, { commands, outcome, frrMessage: reason });
  }
  if (outcome.timedOut) {
    return new VtyshError(ErrorCodes.VTYSH_TIMEOUT, `${what}: no answer within ${context.timeoutMs}ms (a daemon is stopped, hung or overloaded)`, {
      commands,
      outcome,
    });
  }
  const stderr = outcome.stderr;
  if (/failed to connect to any daemons/i.test(stderr)) {
    const permission = /permission denied/i.test(stderr) ? ' (permission denied: run as root or as a member of group frrvty)' : '';
    return new VtyshError(ErrorCodes.VTYSH_NOT_RUNNING, `${what}: FRR is not running or its vty sockets are not reachable${permission}: ${quote(stderr)}`, {
      commands,
      outcome,
      frrMessage: quote(stderr),
    });
  }
  const down = /^(\S+) is not running\s*$/m.exec(stderr) ?? /closing connection to (\S+) because of an I\/O error/.exec(stderr);
  if (down) {
    return new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, `${what}: ${down[1]} is not running: ${quote(stderr)}`, {
      commands,
      outcome,
      daemon: down[1],
      frrMessage: quote(stderr),
    });
  }
  if (outcome.exitCode === 0) return undefined;
  if (outcome.exitCode === undefined) {
    return new VtyshError(ErrorCodes.VTYSH_BAD_OUTPUT, `${what}: vtysh was killed by ${outcome.signal ?? 'a signal'}`, { commands, outcome });
  }
  const frrMessage = frrErrorText(outcome.stdout, stderr) || `exit code ${outcome.exitCode}, no message`;
  return new VtyshError(ErrorCodes.VTYSH_REJECTED, `${what}: FRR rejected it: ${frrMessage}`, { commands, outcome, frrMessage });
}
