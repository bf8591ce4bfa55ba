// Replaces a file atomically and durably (temp file, fsync, rename, fsync of the directory): the ownership record,
// the drain record, pidfiles and rendered FRR configs all use it, so a reader never sees half a file.
import fs from 'node:fs/promises';
import path from 'node:path';

export async function writeFileAtomic(file: string, body: string, options: { mode?: number; dirMode?: number } = {}): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
    const handle = await fs.open(temp, 'wx', options.mode ?? 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
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
