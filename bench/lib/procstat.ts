// CPU time and memory of a process from /proc, so a benchmark measures the agent from outside without touching it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export interface CpuTimes {
  user: number; // seconds
  system: number;
  childrenUser: number; // children that exited and were waited for
  childrenSystem: number;
}

export function cpuTimes(pid: number | 'self' = 'self'): CpuTimes {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3, the state.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]) / clockTicks();
  return { user: at(14), system: at(15), childrenUser: at(16), childrenSystem: at(17) };
}

export interface Memory {
  rssKb: number;
  peakRssKb: number; // VmHWM: the high-water mark over the process's life
}

export function memory(pid: number | 'self' = 'self'): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKb: kb('VmRSS'), peakRssKb: kb('VmHWM') };
}

// CPU seconds per thread name (main thread "node", V8's "V8 DefaultWorke", libuv's "libuv-worker", ...), so a
// benchmark can say whether time goes to JavaScript, garbage collection helpers or the thread pool.
export function cpuByThread(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[14 - 3]) + Number(fields[15 - 3])) / clockTicks();
      const label = tid === String(pid) ? 'main' : name;
      byName.set(label, (byName.get(label) ?? 0) + seconds);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}
