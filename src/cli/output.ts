// What the CLI prints and how it exits; injectable so commands are testable without a process.
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
}

export const processIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export const ExitCode = { OK: 0, FAILED: 1, USAGE_OR_CONFIG: 2 } as const;
