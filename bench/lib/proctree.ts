// CPU and memory of a whole process tree (a daemon, its helpers and their short-lived children), for comparing agents
// built differently: one Node process with a long-lived `ip`, or ExaBGP with a Python process per check and a `dig`
// per run. CPU counts each live process's own time plus what its reaped children used (cutime/cstime), so a child that
// exits inside the window lands in its parent's share; PSS shares the pages the processes have in common.
import fs from 'node:fs';
import { cpuTimes } from './procstat.js';

// Seconds of CPU the tree used so far (live processes plus the children they reaped).
export function treeCpuSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const t = cpuTimes(pid);
      total += t.user + t.system + t.childrenUser + t.childrenSystem;
    } catch {
      // exited meanwhile: its time is in its parent's children fields once reaped
    }
  }
  return total;
}

// Proportional set size of the tree, kB (/proc/PID/smaps_rollup).
export function treePssKb(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
