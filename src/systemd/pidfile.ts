// The pidfile of `healthcast run --pidfile FILE` (rc.local): written atomically, refused while it names a live process,
// removed on exit only if it still names us.
import fs from 'node:fs';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writePidfile(file: string, pid = process.pid): Promise<void> {
  const existing = readPid(file);
  if (existing !== undefined && existing !== pid && isAlive(existing)) {
    throw new HealthcastError(ErrorCodes.AGENT_STATE, `pidfile ${file} names process ${existing}, which is running: is healthcast already running?`);
  }
  await writeFileAtomic(file, `${pid}\n`, { mode: 0o644, dirMode: 0o755 });
}

// Synchronous, for exit paths.
export function removePidfile(file: string, pid = process.pid): void {
  if (readPid(file) === pid) fs.rmSync(file, { force: true });
}
