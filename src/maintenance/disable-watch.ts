// Watches the disable directory and hands the agent the holds its files make (disable-dir.ts decides which).
// fs.watch (inotify) notices a change at once; a poll every second is the safety net for what inotify misses (the
// directory created or replaced after the start, network file systems, a watch that failed).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { DrainEntry } from './drain-store.js';
import { disableHolds, NOTE_LIMIT_BYTES, sameHolds, type DisableFileEntry } from './disable-dir.js';

// A listing of an empty or small directory costs tens of microseconds: polling it every second is free.
export const DISABLE_POLL_MS = 1000;

export interface DisableWatchOptions {
  dir: string;
  clock: Clock;
  log: Logger;
  // The configured service names (for warnings about files naming none).
  services: () => readonly string[];
  // Called with every change of the holds (and once at the first scan); the agent applies them.
  apply: (holds: ReadonlyMap<string, DrainEntry>) => Promise<unknown>;
  pollMs?: number;
  read?: (dir: string) => Promise<DisableFileEntry[]>;
  watch?: (dir: string, onChange: () => void) => { close(): void } | undefined;
}

export class DisableWatch {
  private dir: string;
  private holds: ReadonlyMap<string, DrainEntry> = new Map();
  private timer: Timer | undefined;
  private watcher: { close(): void } | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private applied = false;
  // What was last said, so a warning or an error is logged once while it lasts, not every second.
  private warned = new Set<string>();
  private readError: string | undefined;
  private readonly log: Logger;

  constructor(private readonly options: DisableWatchOptions) {
    this.dir = options.dir;
    this.log = options.log.child({ component: 'disable-dir' });
  }

  // The first scan is awaited: the agent must know what is disabled before it announces anything.
  async start(): Promise<void> {
    await this.scan();
    if (this.stopped) return;
    this.timer = this.options.clock.setInterval(() => void this.scan(), this.options.pollMs ?? DISABLE_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
    this.closeWatcher();
  }

  // After a reload: another directory, or other services for the warnings.
  reload(dir: string): Promise<void> {
    if (dir !== this.dir) {
      this.log.info({ was: this.dir, now: dir }, 'disable_dir changed');
      this.dir = dir;
      this.closeWatcher();
    }
    this.warned = new Set();
    return this.scan();
  }

  // One scan now; a scan asked for while one runs runs once more after it (the change may have come mid-read).
  scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        await this.scanOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const dir = this.dir;
    if (!this.watcher) this.watcher = this.startWatcher(dir);
    let entries: DisableFileEntry[];
    try {
      entries = await (this.options.read ?? readDisableDir)(dir);
    } catch (error) {
      // Unreadable: nothing is known, so nothing changes (an operator's disable file is not lifted by a permission slip).
      const message = messageOf(error);
      if (message !== this.readError) this.log.error({ dir, err: message }, `disable_dir ${dir} cannot be read; the disable files last read stay in force`);
      this.readError = message;
      return;
    }
    if (this.readError !== undefined) this.log.info({ dir }, `disable_dir ${dir} readable again`);
    this.readError = undefined;
    const listing = disableHolds(dir, entries, this.options.services(), this.holds);
    const warned = new Set<string>();
    for (const { file, reason } of listing.warnings) {
      const key = `${file}\n${reason}`;
      warned.add(key);
      if (!this.warned.has(key)) this.log.warn({ file }, `disable file ${file} ${reason}`);
    }
    this.warned = warned;
    if (this.applied && sameHolds(listing.holds, this.holds)) return;
    this.holds = listing.holds;
    this.applied = true;
    try {
      await this.options.apply(listing.holds);
    } catch (error) {
      this.log.error({ err: messageOf(error) }, 'cannot apply the disable files');
    }
  }

  private startWatcher(dir: string): { close(): void } | undefined {
    const watch = this.options.watch ?? watchDir;
    try {
      return watch(dir, () => {
        if (!this.stopped) void this.scan();
      });
    } catch {
      // Missing or unreadable now: the poll tries again.
      return undefined;
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

// fs.watch on the directory; an error (the directory removed) closes it and the poll sets up a new one.
function watchDir(dir: string, onChange: () => void): { close(): void } {
  const watcher = fs.watch(dir, { persistent: false }, onChange);
  let closed = false;
  const handle = {
    close: () => {
      if (!closed) watcher.close();
      closed = true;
    },
  };
  watcher.on('error', () => handle.close());
  return handle;
}

// The directory's entries, each file's first NOTE_LIMIT_BYTES + 1 bytes (a huge file is never read whole).
// A missing directory holds nothing; any other error is thrown.
export async function readDisableDir(dir: string): Promise<DisableFileEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: DisableFileEntry[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let stat: fs.Stats;
    try {
      stat = await fsp.stat(file);
    } catch (error) {
      // Gone between readdir and stat: the next scan sees the directory as it is then.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const regular = stat.isFile();
    // An unreadable note still disables: the file's existence is the hold.
    const content = regular ? await readHead(file).catch((error: unknown) => `(cannot read the note: ${messageOf(error)})`) : '';
    entries.push({ name, regular, mtimeMs: stat.mtimeMs, content });
  }
  return entries;
}

async function readHead(file: string): Promise<string> {
  const handle = await fsp.open(file, 'r');
  try {
    const buffer = Buffer.alloc(NOTE_LIMIT_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
