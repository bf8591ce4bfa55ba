// Process state from /proc, because a zombie still passes `kill -0` and a stopped process is state T.
import fs from 'node:fs';
import { waitFor } from './process.js';

// One-letter state (R, S, D, T, t, Z, ...), or undefined when the PID is gone.
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

export function isGone(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === 'Z' || state === 'X';
}

// Signals one PID and waits until it has exited (or is a zombie); SIGKILL after the grace time.
export async function terminatePid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (isGone(pid)) return;
  try {
    process.kill(pid, signal);
    // A stopped process would hold the signal until continued.
    if (processState(pid) === 'T') process.kill(pid, 'SIGCONT');
  } catch {
    return;
  }
  try {
    await waitFor(`PID ${pid} to exit after ${signal}`, () => isGone(pid), { timeoutMs: graceMs, intervalMs: 10 });
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitFor(`PID ${pid} to exit after SIGKILL`, () => isGone(pid), { timeoutMs: 2000, intervalMs: 10 });
  }
}
