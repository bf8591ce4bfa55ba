// Runs one argument-array command (no shell) with a time limit: TERM at the limit, KILL a grace period later.
import { spawn, type StdioOptions } from 'node:child_process';
import type { CommandOutcome } from './wrapper.js';

export interface RunningCommand {
  pid: number | undefined;
  // Forwards a signal (the wrapper's own SIGINT/SIGTERM) to the command.
  kill(signal: NodeJS.Signals): void;
  done: Promise<CommandOutcome & { durationMs: number; output: string }>;
}

const OUTPUT_LIMIT = 8 * 1024;

export function runCommand(
  argv: readonly string[],
  options: { timeoutMs?: number | undefined; killGraceMs?: number; stdio?: 'inherit' | 'capture'; env?: NodeJS.ProcessEnv } = {},
): RunningCommand {
  const started = performance.now();
  const [file, ...args] = argv;
  const stdio: StdioOptions = options.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'];
  const child = spawn(file ?? '', args, { stdio, env: childEnvironment(options.env ?? process.env) });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT); // the tail is what explains a failure
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let timedOut = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          graceTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 5000);
        }, options.timeoutMs);
  const done = new Promise<CommandOutcome & { durationMs: number; output: string }>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code ?? 'EUNKNOWN';
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      resolve({
        exitCode: spawnError === undefined ? code : null,
        signal,
        timedOut,
        ...(spawnError !== undefined ? { spawnError } : {}),
        durationMs: performance.now() - started,
        output,
      });
    });
  });
  return {
    pid: child.pid,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    done,
  };
}

// What a command started by the agent must not inherit: systemd's notify socket and watchdog (a child that calls
// sd_notify would speak for the agent) and the daemon handshake.
const PRIVATE_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'HEALTHCAST_DAEMON_CHILD'];

export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of PRIVATE_VARIABLES) delete copy[name];
  return copy;
}
