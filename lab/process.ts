// Start daemons in the foreground, wait for them to be ready, and stop exactly the ones we started, by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface Daemon {
  name: string;
  pid: number;
  child: ChildProcess;
  // Everything the daemon printed so far (stdout and stderr), for readiness checks and failure messages.
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const running = new Set<Daemon>();

export function startDaemon(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string } = {},
): Daemon {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const collect = (chunk: Buffer) => {
    if (text.length < 1_000_000) text += chunk.toString();
    log?.write(chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.once('error', (error) => {
      text += `\nspawn error: ${error.message}`;
      resolve(-1);
    });
  });
  const daemon: Daemon = {
    name,
    pid: child.pid ?? -1,
    child,
    output: () => text,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      running.delete(daemon);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      log?.end();
    },
  };
  running.add(daemon);
  void exited.then(() => running.delete(daemon));
  return daemon;
}

// Last-resort clean-up for a test process that is exiting: kill what is still ours.
export function killAllStarted(): void {
  for (const daemon of running) daemon.child.kill('SIGKILL');
  running.clear();
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function waitForOutput(daemon: Daemon, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    `${daemon.name} to print ${pattern}`,
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`${daemon.name} exited with ${daemon.child.exitCode}: ${daemon.output().slice(-2000)}`);
      return pattern.test(daemon.output());
    },
    { timeoutMs },
  );
}
