// A listing that read some kinds of entries but not others (bgpd down while the kernel answers): the reconciler plans
// the kinds it could read and leaves the others, and their records, untouched for that pass.
import { ErrorCodes, HealthcastError } from '../errors.js';
import type { EntryKind, KernelEntry } from './types.js';

export class PartialListError extends HealthcastError {
  // What could be listed, complete for every kind not in `unreadable`.
  readonly entries: readonly KernelEntry[];
  // Why each kind could not be listed (FRR's own words for bgp).
  readonly unreadable: ReadonlyMap<EntryKind, string>;

  constructor(entries: readonly KernelEntry[], unreadable: ReadonlyMap<EntryKind, string>, options: { cause?: unknown } = {}) {
    const what = [...unreadable].map(([kind, reason]) => `${kind}: ${reason}`).join('; ');
    super(ErrorCodes.BACKEND_COMMAND, `listing incomplete (${what})`, options);
    this.name = 'PartialListError';
    this.entries = entries;
    this.unreadable = unreadable;
  }
}
