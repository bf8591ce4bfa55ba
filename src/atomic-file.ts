// Replaces a file atomically (temp file, rename) and, unless told otherwise, durably (fsync of the file before the
// rename and of the directory after): the ownership record, the drain record, pidfiles and rendered FRR configs all
// use it, so a reader never sees half a file.
import fs from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  mode?: number;
  dirMode?: number;
  // false: atomic against a crash of the process, not of the machine; for records of state a reboot clears anyway.
  durable?: boolean;
}

export async function writeFileAtomic(file: string, body: string, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
    const handle = await fs.open(temp, 'wx', options.mode ?? 0o600);
    try {
      await handle.writeFile(body);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
    if (!durable) return;
    const dirHandle = await fs.open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
