// What /proc says about a process: its one-letter state (T: stopped by SIGTSTP/SIGSTOP), its name and when it started.
// Node has no SO_PEERCRED, so this plus a pid written by the agent is how the CLI and the agent see each other.
import fs from 'node:fs';

export interface ProcStat {
  pid: number;
  // R, S, D, T (stopped), t (traced), Z (zombie), ...
  state: string;
  // The process name (`comm`, 15 bytes: "healthcast /etc" once the agent has set its title).
  comm: string;
  // Clock ticks after boot (field 22): with the pid, it names one process even after the pid is reused.
  startTicks: number;
}

// Pure: parses one /proc/PID/stat line. The name sits in parentheses and may hold spaces and ')'.
export function parseProcStat(pid: number, text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const startTicks = Number(fields[19]); // field 22 of the line, counted after the name
  if (!fields[0] || !Number.isFinite(startTicks)) return undefined;
  return { pid, state: fields[0], comm: text.slice(open + 1, close), startTicks };
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(pid, fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

// Alive and the same process: a zombie has exited, and another start time means the pid was reused.
export function processAlive(pid: number, startTicks?: number): boolean {
  const stat = readProcStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTicks === undefined || stat.startTicks === startTicks;
}

export function isStopped(stat: ProcStat | undefined): boolean {
  return stat?.state === 'T';
}

export function ownStartTicks(): number | undefined {
  return readProcStat(process.pid)?.startTicks;
}
