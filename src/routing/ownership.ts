// The write-ahead record of what healthcast added: state_dir/owned.json, replaced atomically, plus an in-memory one.
import { writeFileAtomic } from '../atomic-file.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { entryKey, type OwnershipStore, type RoutingEntry } from './types.js';

export const OWNERSHIP_FILE = 'owned.json';
const VERSION = 1;

const recordSchema = z.strictObject({
  version: z.literal(VERSION),
  updated: z.string(),
  entries: z.array(z.strictObject({ kind: z.enum(['address', 'route', 'bgp']), address: z.string().min(1), interface: z.string().min(1) })),
});

function sorted(entries: readonly RoutingEntry[]): RoutingEntry[] {
  return entries.map(({ kind, address, interface: iface }) => ({ kind, address, interface: iface })).sort((a, b) => entryKey(a).localeCompare(entryKey(b)));
}

// Survives a crash of healthcast: a reader sees either the old or the new file, never half of one (temp + rename). Durable
// across a machine crash (fsync) only when the record names a bgpd statement; see save().
export class FileOwnershipStore implements OwnershipStore {
  readonly file: string;

  constructor(
    readonly stateDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = path.join(stateDir, OWNERSHIP_FILE);
  }

  // A missing file is an empty record. An unreadable or corrupt one is moved aside to owned.json.corrupt-<ts> and
  // reported as OWNERSHIP_CORRUPT (never silently read as empty): the caller decides how to recover.
  async load(): Promise<RoutingEntry[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw await this.corrupt(`cannot be read (${messageOf(error)})`, error);
    }
    let parsed: z.output<typeof recordSchema>;
    try {
      parsed = recordSchema.parse(JSON.parse(text));
    } catch (error) {
      const why =
        error instanceof z.ZodError
          ? error.issues
              .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
              .slice(0, 3)
              .join('; ')
          : messageOf(error);
      throw await this.corrupt(`is not a valid version-${VERSION} record (${why})`, error);
    }
    return parsed.entries;
  }

  async save(entries: readonly RoutingEntry[]): Promise<void> {
    const body = JSON.stringify({ version: VERSION, updated: this.now().toISOString(), entries: sorted(entries) }, null, 2) + '\n';
    try {
      // Kernel addresses and routes do not survive a reboot, so a record of only those need not either: atomic is enough
      // (the rename), and skipping two fsyncs takes ~2 ms off every announce. A bgpd statement can outlive a reboot (a
      // `write memory`), so a record that names one is written durably.
      await writeFileAtomic(this.file, body, { durable: entries.some((entry) => entry.kind === 'bgp') });
    } catch (error) {
      throw new HealthcastError(ErrorCodes.OWNERSHIP_WRITE, `cannot write ownership record ${this.file}: ${messageOf(error)}`, { cause: error });
    }
  }

  private async corrupt(why: string, cause: unknown): Promise<HealthcastError> {
    const aside = `${this.file}.corrupt-${this.now().toISOString().replace(/[:.]/g, '-')}`;
    let where: string;
    try {
      await fs.rename(this.file, aside);
      where = `moved aside to ${aside}`;
    } catch (error) {
      where = `could not be moved aside (${messageOf(error)})`;
    }
    return new HealthcastError(ErrorCodes.OWNERSHIP_CORRUPT, `ownership record ${this.file} ${why}; ${where}`, { cause });
  }
}

// For unit tests: the same contract in memory, with failure injection.
export class MemoryOwnershipStore implements OwnershipStore {
  entries: RoutingEntry[];
  saves = 0;
  // When set, save() throws it (as OWNERSHIP_WRITE) and keeps the old entries.
  failSave: string | undefined;
  // When set, the next load() throws OWNERSHIP_CORRUPT once and the record reads as empty afterwards.
  corruptOnce = false;
  // Called after every successful save, e.g. to record the order of events.
  onSave: ((entries: readonly RoutingEntry[]) => void) | undefined;

  constructor(entries: readonly RoutingEntry[] = []) {
    this.entries = sorted(entries);
  }

  async load(): Promise<RoutingEntry[]> {
    if (this.corruptOnce) {
      this.corruptOnce = false;
      this.entries = [];
      throw new HealthcastError(ErrorCodes.OWNERSHIP_CORRUPT, 'ownership record (memory) is corrupt; moved aside');
    }
    return sorted(this.entries);
  }

  async save(entries: readonly RoutingEntry[]): Promise<void> {
    if (this.failSave !== undefined) throw new HealthcastError(ErrorCodes.OWNERSHIP_WRITE, `cannot write ownership record (memory): ${this.failSave}`);
    this.entries = sorted(entries);
    this.saves += 1;
    this.onSave?.(this.entries);
  }
}
