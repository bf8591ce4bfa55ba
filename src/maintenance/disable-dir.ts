// Pure: which services a disable directory (`disable_dir`) holds in maintenance. A file named after a service, or
// `all`, is a hold of its own beside the operator's drains (configuration management and people create and remove
// files; no control socket needed). Its content, if any, is the operator's note. The reading is disable-watch.ts's.
import path from 'node:path';
import { SERVICE_NAME } from '../config/names.js';
import type { DrainEntry } from './drain-store.js';

// The file that holds every service, including those a reload adds later.
export const DISABLE_ALL = 'all';
// A note is for a human reading status: a few lines. A bigger file is cut here (and read no further).
export const NOTE_LIMIT_BYTES = 1024;

// One directory entry as read from disk: `content` holds at most NOTE_LIMIT_BYTES + 1 bytes, so a cut can be told.
export interface DisableFileEntry {
  name: string;
  regular: boolean;
  mtimeMs: number;
  content: string;
}

export interface DisableListing {
  // By target: a service name or `all`; entries for names no configured service has are kept (a reload may add it).
  holds: Map<string, DrainEntry>;
  // Files that hold nothing or name no configured service, with why: each is worth one warning.
  warnings: { file: string; reason: string }[];
}

// `previous` keeps a hold's `since` while its file stays (editing the note does not restart the clock).
export function disableHolds(
  dir: string,
  entries: readonly DisableFileEntry[],
  services: readonly string[],
  previous: ReadonlyMap<string, DrainEntry> = new Map(),
): DisableListing {
  const listing: DisableListing = { holds: new Map(), warnings: [] };
  const known = new Set(services);
  for (const entry of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    // Hidden files are how editors and configuration management stage a file before renaming it into place.
    if (entry.name.startsWith('.')) continue;
    const file = path.join(dir, entry.name);
    if (!entry.regular) {
      listing.warnings.push({ file, reason: 'not a regular file; ignored' });
      continue;
    }
    if (entry.name !== DISABLE_ALL && !SERVICE_NAME.test(entry.name)) {
      listing.warnings.push({ file, reason: `names no service (a file must be named after a service or "${DISABLE_ALL}"); ignored` });
      continue;
    }
    if (entry.name !== DISABLE_ALL && !known.has(entry.name)) {
      listing.warnings.push({ file, reason: `names no configured service (known: ${services.join(', ') || 'none'}); it holds the service once configured` });
    }
    const note = noteOf(entry.content);
    const earlier = previous.get(entry.name);
    listing.holds.set(entry.name, {
      name: entry.name,
      since: earlier?.file === file ? earlier.since : new Date(entry.mtimeMs).toISOString(),
      by: `disable file ${file}`,
      file,
      ...(note !== undefined ? { note } : {}),
    });
  }
  return listing;
}

// The note as status shows it: trimmed, control characters (other than newline and tab) made visible, cut at the limit.
export function noteOf(content: string): string | undefined {
  const cut = Buffer.byteLength(content) > NOTE_LIMIT_BYTES;
  const text = (cut ? Buffer.from(content).subarray(0, NOTE_LIMIT_BYTES).toString('utf8') : content)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?')
    .trim();
  if (text === '') return undefined;
  return cut ? `${text} [cut at ${NOTE_LIMIT_BYTES} bytes]` : text;
}

// Two listings hold the same when every target has the same file and note (since does not change a decision).
export function sameHolds(a: ReadonlyMap<string, DrainEntry>, b: ReadonlyMap<string, DrainEntry>): boolean {
  if (a.size !== b.size) return false;
  for (const [target, hold] of a) {
    const other = b.get(target);
    if (!other || other.file !== hold.file || other.note !== hold.note) return false;
  }
  return true;
}
