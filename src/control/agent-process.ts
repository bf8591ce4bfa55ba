// Is the agent behind a control socket stopped (SIGTSTP/SIGSTOP, process state T)? A stopped agent answers nothing,
// so without this the CLI could only time out. The agent writes its pid beside its socket (`<socket>.pid`, removed on
// exit); the CLI reads it and asks /proc, which takes well under a millisecond.
import fs from 'node:fs';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { readProcStat, type ProcStat } from '../systemd/process-state.js';
import { writeFileAtomic } from '../atomic-file.js';

export function agentPidFile(socket: string): string {
  return `${socket}.pid`;
}

export async function writeAgentPid(socket: string, pid = process.pid): Promise<void> {
  await writeFileAtomic(agentPidFile(socket), `${pid}\n`, { mode: 0o644, dirMode: 0o755 });
}

// Synchronous, for exit paths; only our own pid is removed (a second agent refused on the socket must not remove it).
export function removeAgentPid(socket: string, pid = process.pid): void {
  if (readAgentPid(socket) === pid) fs.rmSync(agentPidFile(socket), { force: true });
}

export function readAgentPid(socket: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(agentPidFile(socket), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// Pure: a stopped process that is a healthcast agent (its title starts so; a pid left by a crash and reused by another
// program is not mistaken for it).
export function stoppedAgentIn(stat: ProcStat | undefined): number | undefined {
  return stat !== undefined && stat.state === 'T' && stat.comm.startsWith('healthcast') ? stat.pid : undefined;
}

// The pid of the stopped agent behind this socket, or undefined (running, gone, or unknown).
export function stoppedAgent(socket: string, read: (pid: number) => ProcStat | undefined = readProcStat): number | undefined {
  const pid = readAgentPid(socket);
  return pid === undefined ? undefined : stoppedAgentIn(read(pid));
}

export class AgentStoppedError extends HealthcastError {
  constructor(readonly pid: number) {
    super(
      ErrorCodes.AGENT_STATE,
      `the agent (pid ${pid}) is stopped (SIGTSTP or SIGSTOP; process state T): every service is withdrawn and it answers nothing until it is continued; continue it with: kill -CONT ${pid}`,
    );
  }
}
