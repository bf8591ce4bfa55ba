// What the CLI prints and how it exits; injectable so commands are testable without a process.
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

export const processIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

// 3: the agent is stopped (SIGTSTP/SIGSTOP) and answers nothing until `kill -CONT PID` (docs/operations.md).
export const ExitCode = { OK: 0, FAILED: 1, USAGE_OR_CONFIG: 2, AGENT_STOPPED: 3 } as const;
