// What the maintenance wrapper does once its command has ended: pure, so every case is a table row in a test.

// The wrapper's own failures, in the convention of env(1) and timeout(1), so they cannot be mistaken for COMMAND's.
export const WrapperExit = { TIMED_OUT: 124, WRAPPER_FAILED: 125, NOT_EXECUTABLE: 126, NOT_FOUND: 127 } as const;

export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  spawnError?: string | undefined; // errno code when the command could not be started
}

export interface AfterCommand {
  exitCode: number;
  failed: boolean;
  resume: boolean;
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGPIPE: 13,
  SIGABRT: 6,
  SIGSEGV: 11,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGALRM: 14,
};

export function afterCommand(outcome: CommandOutcome, stayDrainedOnFailure: boolean): AfterCommand {
  let exitCode: number;
  if (outcome.spawnError !== undefined) exitCode = outcome.spawnError === 'ENOENT' ? WrapperExit.NOT_FOUND : WrapperExit.NOT_EXECUTABLE;
  else if (outcome.timedOut) exitCode = WrapperExit.TIMED_OUT;
  else if (outcome.signal !== null) exitCode = 128 + (SIGNALS[outcome.signal] ?? 0);
  else exitCode = outcome.exitCode ?? WrapperExit.WRAPPER_FAILED;
  const failed = exitCode !== 0;
  return { exitCode, failed, resume: !failed || !stayDrainedOnFailure };
}
