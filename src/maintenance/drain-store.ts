// The services an operator drained: state_dir/drained.json, so a drain survives restarts and reloads until resumed.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';

export const DRAIN_FILE = 'drained.json';
const VERSION = 1;

const recordSchema = z.strictObject({
  version: z.literal(VERSION),
  updated: z.string(),
  // pid, pidStart and stayDrained came later: records without them stay valid (a hold nobody watches).
  services: z.array(
    z.strictObject({
      name: z.string().min(1),
      since: z.string(),
      by: z.string(),
      pid: z.number().int().positive().optional(),
      pidStart: z.number().int().nonnegative().optional(),
      stayDrained: z.boolean().optional(),
    }),
  ),
});

// Who holds a drain: a label ("cli", "maintenance (pid N)", "schedule:JOB") and, for a process that must end it
// (the maintenance wrapper), that process: its pid, its start time (clock ticks after boot, /proc/PID/stat field 22,
// so a reused pid is not mistaken for it) and whether it asked to stay drained should it fail.
export interface DrainOwner {
  by: string;
  pid?: number | undefined;
  pidStart?: number | undefined;
  stayDrained?: boolean | undefined;
}

// One drained service: when, and by whom. A hold from the disable directory (disable-dir.ts) names its file and the
// file's content as the operator's note; those are never persisted here (the file itself is their record).
export interface DrainEntry extends DrainOwner {
  name: string;
  since: string;
  file?: string | undefined;
  note?: string | undefined;
}

// The owner as given, without undefined fields (the record stays as small as before for `cli` drains).
export function drainOwner(by: string | DrainOwner): DrainOwner {
  if (typeof by === 'string') return { by };
  return {
    by: by.by,
    ...(by.pid !== undefined ? { pid: by.pid } : {}),
    ...(by.pidStart !== undefined ? { pidStart: by.pidStart } : {}),
    ...(by.stayDrained ? { stayDrained: true } : {}),
  };
}

export interface DrainStore {
  load(): Promise<DrainEntry[]>;
  save(entries: readonly DrainEntry[]): Promise<void>;
}

export class FileDrainStore implements DrainStore {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = path.join(stateDir, DRAIN_FILE);
  }

  // Missing: nothing drained. Corrupt: moved aside and reported (DRAIN_CORRUPT); the caller decides.
  async load(): Promise<DrainEntry[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new HealthcastError(ErrorCodes.DRAIN_CORRUPT, `drain record ${this.file} cannot be read: ${messageOf(error)}`, { cause: error });
    }
    try {
      return recordSchema.parse(JSON.parse(text)).services;
    } catch (error) {
      const aside = `${this.file}.corrupt-${this.now().toISOString().replace(/[:.]/g, '-')}`;
      await fs.rename(this.file, aside).catch(() => undefined);
      throw new HealthcastError(
        ErrorCodes.DRAIN_CORRUPT,
        `drain record ${this.file} is not a valid version-${VERSION} record (${messageOf(error).slice(0, 200)}); moved aside to ${aside}`,
        { cause: error },
      );
    }
  }

  async save(entries: readonly DrainEntry[]): Promise<void> {
    const services = [...entries].sort((a, b) => a.name.localeCompare(b.name));
    const body = JSON.stringify({ version: VERSION, updated: this.now().toISOString(), services }, null, 2) + '\n';
    try {
      await writeFileAtomic(this.file, body);
    } catch (error) {
      throw new HealthcastError(ErrorCodes.DRAIN_WRITE, `cannot write drain record ${this.file}: ${messageOf(error)}`, { cause: error });
    }
  }
}

// For unit tests: the same contract in memory.
export class MemoryDrainStore implements DrainStore {
  entries: DrainEntry[];
  failSave: string | undefined;

  constructor(entries: readonly DrainEntry[] = []) {
    this.entries = [...entries];
  }

  async load(): Promise<DrainEntry[]> {
    return [...this.entries];
  }

  async save(entries: readonly DrainEntry[]): Promise<void> {
    if (this.failSave !== undefined) throw new HealthcastError(ErrorCodes.DRAIN_WRITE, `cannot write drain record (memory): ${this.failSave}`);
    this.entries = [...entries];
  }
}
