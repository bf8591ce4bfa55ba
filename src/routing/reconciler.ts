// The single writer of routing state: each pass diffs desired entries against the kernel and the ownership record,
// applies one batch, re-lists the kernel and reports. Passes never overlap; kicks during a pass coalesce into one more.
import type { Logger } from '../log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { isHealthcastError, messageOf } from '../errors.js';
import { RoutingBatchError } from './batch-error.js';
import { plan, sameEntries, settleRecord, uniqueByKey, type Conflict, type Plan } from './diff.js';
import { carriesHealthcastMark, isHostEntry } from './label.js';
import { expiredAmong, leased, leaseTerms, renewalIsLate, type LeaseTerms } from './lease.js';
import { PartialListError } from './partial-list.js';
import { conflictReason, statusesAfter, type ListingOutcome, type PassFacts } from './statuses.js';
import {
  ENTRY_KINDS,
  entryKey,
  describeEntry,
  KERNEL_KINDS,
  type EntryKind,
  type DesiredEntry,
  type EntryStatus,
  type KernelEntry,
  type OwnershipStore,
  type ReconcileReport,
  type RoutingBackend,
  type RoutingEntry,
  type RoutingOp,
} from './types.js';

export interface ReconcilerDeps {
  backend: RoutingBackend;
  ownership: OwnershipStore;
  desired: () => DesiredEntry[];
  log: Logger;
  // How often a pass runs unasked, to repair drift (someone removed one of our addresses).
  driftIntervalMs: number;
  onReport?: (report: ReconcileReport) => void;
  // The drift timer and pass durations; default systemClock.
  clock?: Clock;
  // The lease on added addresses (config `lease`, ms; 0 or absent: off). The backend puts it on each add; the reconciler
  // renews every lease/3 through backend.renew().
  leaseMs?: number;
}

// What status shows of the lease: its length and the last renewal that covered every leased address.
export interface LeaseStatus {
  leaseMs: number;
  renewedAt: number | undefined; // wall clock, epoch ms
}

const LOGGED_ENTRIES = 20;

// A listing, with the kinds it does not cover this pass (not handled by the backend, or FRR unreachable) and why:
// entries of those kinds are neither planned nor forgotten, only reported.
interface Listing {
  entries: KernelEntry[];
  unreadable: ReadonlyMap<EntryKind, string>;
}

// A listing that failed as a whole: the reason as reported, the message as logged.
interface ListingFailure {
  error: string;
  message: string;
}

// What the write-ahead step lets the pass do.
interface RecordedAhead {
  adds: DesiredEntry[];
  // What the record holds while the batch runs (a superset of the truth).
  record: RoutingEntry[];
  unrecorded?: PassFacts['unrecorded'];
}

// Coded errors already read well; errno errors get their code in front.
function reasonOf(error: unknown): string {
  return isHealthcastError(error) ? error.message : messageOf(error);
}

function describe(entries: readonly RoutingEntry[]): string[] {
  const shown = entries.slice(0, LOGGED_ENTRIES).map(describeEntry);
  if (entries.length > LOGGED_ENTRIES) shown.push(`... and ${entries.length - LOGGED_ENTRIES} more`);
  return shown;
}

function outcomeOf(listing: Listing | ListingFailure): ListingOutcome {
  if ('error' in listing) return { error: listing.error };
  return { present: new Set(listing.entries.filter(isHostEntry).map(entryKey)), unreadable: listing.unreadable };
}

export class Reconciler {
  private readonly log: Logger;
  private readonly clock: Clock;
  // What healthcast owns right now (confirmed by the last listing); undefined until the first pass has loaded it.
  private owned: RoutingEntry[] | undefined;
  // What the record on disk says, when known; the record is always a superset of `owned`.
  private persisted: RoutingEntry[] | undefined;
  private running: Promise<ReconcileReport> | undefined;
  private queued: Promise<ReconcileReport> | undefined;
  private timer: Timer | undefined;
  private started = false;
  private passes = 0;
  private loggedConflicts = new Set<string>();
  private loggedUnreadable = new Set<string>();
  private readonly terms: LeaseTerms | undefined;
  private renewTimer: Timer | undefined;
  private renewing = false;
  // Passes and renewals take turns: a renewal must never re-create (replace) what a pass is removing.
  private writer: Promise<unknown> = Promise.resolve();
  // Monotonic time of each owned address's last add or renewal (entryKey), to tell an expiry from a deletion.
  private readonly leasedAt = new Map<string, number>();
  // Monotonic and wall time of the last renewal that covered every owned address.
  private lastRenewedMono: number | undefined;
  private lastRenewedAt: number | undefined;
  // Without a lease: owned addresses the last listing showed with a lifetime (a leased run left them), made permanent.
  private dynamicKeys = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.log = deps.log.child({ component: 'reconciler' });
    this.clock = deps.clock ?? systemClock;
    this.terms = leaseTerms(deps.leaseMs);
  }

  // For status: undefined when the lease is off.
  lease(): LeaseStatus | undefined {
    return this.terms ? { leaseMs: this.terms.leaseMs, renewedAt: this.lastRenewedAt } : undefined;
  }

  // The first pass is crash recovery: it removes what the record says is ours and nobody wants any more.
  // With a lease, the first pass is followed at once by a renewal (addresses a previous run left have little time left),
  // then one every lease/3; without, by one renewal that makes what a leased run left permanent.
  start(): Promise<ReconcileReport> {
    if (this.started) return this.kick();
    this.started = true;
    this.timer = this.clock.setInterval(() => void this.kick(), this.deps.driftIntervalMs);
    this.timer.unref();
    if (this.terms) {
      this.renewTimer = this.clock.setInterval(() => void this.renewTick(), this.terms.renewEveryMs);
      this.renewTimer.unref();
    }
    const first = this.kick();
    void first.then(() => this.renewTick());
    return first;
  }

  // Never rejects. A late tick (the agent was frozen or starved) runs a pass first: the listing finds what expired
  // and the drift repair re-adds and counts it, where a renewal would have re-created it unseen.
  private async renewTick(): Promise<void> {
    if (this.renewing || !this.started) return;
    this.renewing = true;
    try {
      if (this.terms && renewalIsLate(this.lastRenewedMono, this.clock.monotonic(), this.terms)) {
        this.log.warn(
          { late_ms: Math.round(this.clock.monotonic() - this.lastRenewedMono! - this.terms.renewEveryMs) },
          'lease renewal is late (was the agent frozen or starved?); checking the kernel before renewing',
        );
        await this.kick();
      }
      await this.exclusive(() => this.renew());
    } finally {
      this.renewing = false;
    }
  }

  // One batch for every owned address; a failure is logged and retried at the next tick (two may fail before expiry).
  private async renew(): Promise<void> {
    const renew = this.deps.backend.renew;
    if (!this.started || this.owned === undefined || !renew) return;
    const entries = this.terms ? leased(this.owned) : leased(this.owned).filter((entry) => this.dynamicKeys.has(entryKey(entry)));
    const at = this.clock.monotonic();
    try {
      if (entries.length > 0) await renew.call(this.deps.backend, entries);
    } catch (error) {
      const failed = new Set(error instanceof RoutingBatchError ? error.failures.map((f) => entryKey(f.op.entry)) : entries.map(entryKey));
      for (const entry of entries) if (!failed.has(entryKey(entry))) this.leasedAt.set(entryKey(entry), at);
      const details =
        error instanceof RoutingBatchError
          ? error.failures.slice(0, LOGGED_ENTRIES).map((f) => `${f.op.entry.address} dev ${f.op.entry.interface}: ${f.reason}`)
          : undefined;
      this.log.error(
        { err: messageOf(error), details },
        this.terms
          ? `lease renewal failed for ${failed.size} of ${entries.length} addresses; retrying in ${this.terms.renewEveryMs} ms`
          : 'cannot make the addresses a leased run left permanent',
      );
      return;
    }
    if (!this.terms) return;
    for (const entry of entries) this.leasedAt.set(entryKey(entry), at);
    this.lastRenewedMono = at;
    this.lastRenewedAt = this.clock.now();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writer.then(work, work);
    this.writer = run.catch(() => undefined);
    return run;
  }

  // Requests a pass; resolves with the report of a pass that started after this call. Never rejects.
  kick(): Promise<ReconcileReport> {
    if (this.queued) return this.queued;
    if (!this.running) return this.launch();
    const after = (): Promise<ReconcileReport> => {
      this.queued = undefined;
      return this.launch();
    };
    this.queued = this.running.then(after, after);
    return this.queued;
  }

  // Stops the drift timer and waits for passes in flight. kick() still works afterwards (e.g. a final withdraw).
  // Renewals stop too: what stays on the system expires within the lease unless a later start() renews it.
  async stop(): Promise<void> {
    this.clock.clearInterval(this.timer);
    this.clock.clearInterval(this.renewTimer);
    this.timer = undefined;
    this.renewTimer = undefined;
    this.started = false;
    while (this.running || this.queued) await (this.queued ?? this.running);
    await this.writer;
    await this.deps.backend.close?.();
  }

  private launch(): Promise<ReconcileReport> {
    const pass = this.exclusive(() => this.pass()).finally(() => {
      if (this.running === pass) this.running = undefined;
    });
    this.running = pass;
    return pass;
  }

  // A pass must never reject (kick() promises it, the timer relies on it): anything unexpected becomes a report.
  private async pass(): Promise<ReconcileReport> {
    const started = this.clock.monotonic();
    try {
      return await this.passUnguarded(started);
    } catch (error) {
      this.log.error({ err: messageOf(error) }, 'reconcile pass failed unexpectedly');
      const report: ReconcileReport = {
        desired: new Map(),
        added: [],
        removed: [],
        errors: [`reconcile pass failed: ${messageOf(error)}`],
        durationMs: this.clock.monotonic() - started,
      };
      try {
        this.deps.onReport?.(report);
      } catch {
        // already logged above; a throwing callback must not hide the failure
      }
      return report;
    }
  }

  // The steps of a pass; the statuses it reports are decided by statusesAfter() (statuses.ts) from what it gathered.
  private async passUnguarded(started: number): Promise<ReconcileReport> {
    const first = this.passes === 0;
    this.passes += 1;
    const errors: string[] = [];
    const finish = (facts: PassFacts, added: RoutingEntry[], removed: RoutingEntry[], expired: RoutingEntry[] = []) =>
      this.report(started, errors, facts.desired, statusesAfter(facts), added, removed, expired);

    // 1. What is wanted, and what is there.
    const desired = this.readDesired(errors);
    if (desired === undefined) return this.report(started, errors, [], new Map(), [], []);
    const listed = await this.listingOrFailure();
    const listedAt = this.clock.monotonic();
    if ('error' in listed) {
      errors.push(`cannot list the kernel's addresses and routes: ${listed.error}`);
      this.log.error({ err: listed.message }, 'cannot list kernel state; nothing changed');
      return finish({ desired, before: outcomeOf(listed), conflicts: [], after: outcomeOf(listed), owned: new Set() }, [], []);
    }
    const owned = this.owned ?? (await this.loadOwned(listed.entries, errors));

    // 2. Plan over the kinds listed; entries of the others are reported, and kept in the record as they are.
    const unlisted = (entry: RoutingEntry) => listed.unreadable.has(entry.kind);
    const p = plan(
      desired.filter((entry) => !unlisted(entry)),
      listed.entries,
      owned.filter((entry) => !unlisted(entry)),
      { parkingInterfaces: this.deps.backend.parkingInterfaces },
    );
    this.noteUnreadable(listed, desired, owned, errors);
    this.noteConflicts(p.conflicts);
    if (p.stale.length > 0) this.log.info({ entries: describe(p.stale) }, `forgetting ${p.stale.length} recorded entries that are no longer on the system`);

    // 3. Write-ahead, then 4. apply what was recorded, in the plan's order.
    const ahead = await this.recordAhead(p, owned, owned.filter(unlisted), errors);
    const addKeys = new Set(ahead.adds.map(entryKey));
    const ops: RoutingOp[] = p.ops.filter((op) => op.action === 'remove' || addKeys.has(entryKey(op.entry)));
    // Not on the first pass: what ran out while no agent lived is the lease doing its job. Counted whether or not it is
    // still desired: after a freeze the agent restarts health first, so what expired is no longer wanted (stale).
    const expired = this.terms && !first ? expiredAmong([...p.drifted, ...p.stale], this.leasedAt, entryKey, this.clock.monotonic(), this.terms) : [];
    this.logChanges(p, ahead.adds, first, new Set(expired.map(entryKey)));
    const appliedAt = this.clock.monotonic();
    const applyFailure = ops.length > 0 ? await this.apply(ops, errors) : undefined;

    // 5. Never trust the batch: what the system shows now is the truth.
    const writtenAt = this.clock.monotonic();
    const after = ops.length > 0 ? await this.listingOrFailure() : listed;
    const relistedAt = this.clock.monotonic();
    const facts = { desired, before: outcomeOf(listed), conflicts: p.conflicts, unrecorded: ahead.unrecorded, after: outcomeOf(after), applyFailure };
    if ('error' in after) {
      errors.push(`cannot list the kernel after applying: ${after.error}`);
      this.log.error({ err: after.message }, 'cannot re-list kernel state after applying');
      this.owned = ahead.record; // a superset of the truth: safe until the next listing settles it
      return finish({ ...facts, owned: new Set() }, [], []);
    }

    // 6. Settle the record to what is there, and report.
    await this.settleOwned(ahead.record, after, errors);
    // Where a slow pass spends its time (debug): listing, record + write, listing after, settling the record.
    if (ops.length > 0)
      this.log.debug(
        {
          list_ms: listedAt - started,
          plan_record_apply_ms: writtenAt - listedAt,
          apply_ms: writtenAt - appliedAt,
          relist_ms: relistedAt - writtenAt,
          settle_ms: this.clock.monotonic() - relistedAt,
        },
        'pass steps',
      );
    const present = new Set(after.entries.filter(isHostEntry).map(entryKey));
    const added = ahead.adds.filter((entry) => present.has(entryKey(entry)));
    const removed = p.removes.filter((entry) => !present.has(entryKey(entry)) && !after.unreadable.has(entry.kind));
    this.noteLeases(added, appliedAt);
    if (!this.terms) this.dynamicKeys = new Set(after.entries.filter((entry) => entry.dynamic).map(entryKey));
    const report = finish({ ...facts, owned: new Set((this.owned ?? []).map(entryKey)) }, added, removed, expired);
    return report;
  }

  // Added addresses start a lease at the batch; entries no longer owned are forgotten.
  private noteLeases(added: readonly RoutingEntry[], at: number): void {
    if (!this.terms) return;
    for (const entry of leased(added)) this.leasedAt.set(entryKey(entry), at);
    const owned = new Set((this.owned ?? []).map(entryKey));
    for (const key of this.leasedAt.keys()) if (!owned.has(key)) this.leasedAt.delete(key);
  }

  private readDesired(errors: string[]): DesiredEntry[] | undefined {
    try {
      return uniqueByKey(this.deps.desired());
    } catch (error) {
      errors.push(`cannot compute desired entries: ${messageOf(error)}`);
      this.log.error({ err: messageOf(error) }, 'cannot compute desired entries; skipping this pass');
      return undefined;
    }
  }

  // The record must name an entry before it exists. If it cannot be written, the adds do not happen (fail closed);
  // removals and entries already owned go on.
  private async recordAhead(p: Plan, owned: readonly RoutingEntry[], heldOwned: readonly RoutingEntry[], errors: string[]): Promise<RecordedAhead> {
    const record = [...p.recordBeforeApply, ...heldOwned];
    if (p.adds.length === 0 || sameEntries(record, this.persisted ?? [])) return { adds: p.adds, record };
    try {
      await this.deps.ownership.save(record);
      this.persisted = record;
      return { adds: p.adds, record };
    } catch (error) {
      errors.push(messageOf(error));
      this.log.error({ err: messageOf(error), entries: describe(p.adds) }, `cannot record ownership; not adding ${p.adds.length} entries`);
      const stale = new Set(p.stale.map(entryKey));
      return { adds: [], record: owned.filter((entry) => !stale.has(entryKey(entry))), unrecorded: { entries: p.adds, reason: reasonOf(error) } };
    }
  }

  private logChanges(p: Plan, adds: readonly DesiredEntry[], first: boolean, expired: ReadonlySet<string>): void {
    if (p.removes.length > 0)
      this.log.info({ entries: describe(p.removes) }, `${first ? 'crash recovery: ' : ''}removing ${p.removes.length} entries nobody wants`);
    const driftKeys = new Set(p.drifted.map(entryKey));
    for (const entry of p.stale)
      if (expired.has(entryKey(entry)))
        this.log.warn(
          { interface: entry.interface },
          `the lease of ${entry.address} ran out before it was renewed (the agent was frozen or starved); no longer wanted, not re-added`,
        );
    for (const entry of p.drifted) {
      if (expired.has(entryKey(entry)))
        this.log.warn(
          { service: entry.service, interface: entry.interface },
          `the lease of ${entry.address} ran out before it was renewed (the agent was frozen or starved); re-adding`,
        );
      else if (adds.includes(entry))
        this.log.warn(
          { service: entry.service },
          first
            ? `${entry.kind} ${entry.address} is recorded as ours but missing; re-adding`
            : `${entry.kind} ${entry.address} was removed by someone else; re-adding`,
        );
    }
    const fresh = adds.filter((entry) => !driftKeys.has(entryKey(entry)));
    if (fresh.length > 0) this.log.info({ entries: describe(fresh) }, `adding ${fresh.length} entries`);
  }

  // A failed batch is not the end of the pass: the listing after it says what took effect.
  private async apply(ops: readonly RoutingOp[], errors: string[]): Promise<PassFacts['applyFailure']> {
    try {
      await this.deps.backend.apply(ops);
      return undefined;
    } catch (error) {
      errors.push(messageOf(error));
      const failures = error instanceof RoutingBatchError ? error.failures : [];
      this.log.error(
        {
          err: messageOf(error),
          details:
            error instanceof RoutingBatchError ? failures.slice(0, LOGGED_ENTRIES).map((f) => `${f.op.action} ${f.op.entry.address}: ${f.reason}`) : undefined,
        },
        'batch failed (partly or wholly)',
      );
      return { perEntry: new Map(failures.map((f) => [entryKey(f.op.entry), f.reason])), reason: reasonOf(error) };
    }
  }

  // Keeps what the listing shows of the kinds it covers, and the record's entries of the kinds it does not.
  private async settleOwned(record: readonly RoutingEntry[], after: Listing, errors: string[]): Promise<void> {
    const unlisted = (entry: RoutingEntry) => after.unreadable.has(entry.kind);
    this.owned = [
      ...settleRecord(
        record.filter((entry) => !unlisted(entry)),
        after.entries,
      ),
      ...record.filter(unlisted),
    ];
    if (this.persisted !== undefined && sameEntries(this.owned, this.persisted)) return;
    try {
      await this.deps.ownership.save(this.owned);
      this.persisted = this.owned;
    } catch (error) {
      errors.push(messageOf(error));
      this.log.error(
        { err: messageOf(error) },
        'cannot update the ownership record after applying (it still lists entries that are gone; they are dropped on the next successful write)',
      );
    }
  }

  private report(
    started: number,
    errors: string[],
    desired: readonly DesiredEntry[],
    statuses: ReadonlyMap<string, EntryStatus>,
    added: RoutingEntry[],
    removed: RoutingEntry[],
    expired: RoutingEntry[] = [],
  ): ReconcileReport {
    const result: ReconcileReport = { desired: new Map(), added, removed, errors, durationMs: this.clock.monotonic() - started };
    if (expired.length > 0) result.expired = expired;
    for (const entry of desired) {
      const status = statuses.get(entryKey(entry)) ?? { state: 'error', reason: 'no status computed' };
      result.desired.set(entryKey(entry), { ...status, service: entry.service });
    }
    try {
      this.deps.onReport?.(result);
    } catch (error) {
      this.log.error({ err: messageOf(error) }, 'onReport callback threw');
    }
    return result;
  }

  private async listingOrFailure(): Promise<Listing | ListingFailure> {
    try {
      return await this.listing();
    } catch (error) {
      return { error: reasonOf(error), message: messageOf(error) };
    }
  }

  // Logged once when a conflict appears, not on every pass.
  private noteConflicts(conflicts: readonly Conflict[]): void {
    const reasons = new Set<string>();
    for (const conflict of conflicts) {
      const reason = conflictReason(conflict);
      reasons.add(reason);
      if (!this.loggedConflicts.has(reason)) this.log.error({ service: conflict.entry.service, address: conflict.entry.address }, reason);
    }
    this.loggedConflicts = reasons;
  }

  // Kinds the backend does not handle are unreadable like kinds it could not list this time (PartialListError).
  private async listing(): Promise<Listing> {
    const handled = new Set(this.deps.backend.kinds ?? KERNEL_KINDS);
    const unreadable = new Map<EntryKind, string>();
    for (const kind of ENTRY_KINDS) if (!handled.has(kind)) unreadable.set(kind, `the routing backend does not handle ${kind} entries`);
    try {
      return { entries: await this.deps.backend.list(), unreadable };
    } catch (error) {
      if (!(error instanceof PartialListError)) throw error;
      for (const [kind, reason] of error.unreadable) unreadable.set(kind, reason);
      return { entries: [...error.entries], unreadable };
    }
  }

  // Reported only when something of that kind is desired or recorded (an OSPF-only host has no bgpd to reach);
  // logged once per change of reason.
  private noteUnreadable(listed: Listing, desired: readonly RoutingEntry[], owned: readonly RoutingEntry[], errors: string[]): void {
    const messages = new Set<string>();
    for (const [kind, reason] of listed.unreadable) {
      const wanted = desired.filter((entry) => entry.kind === kind);
      const recorded = owned.filter((entry) => entry.kind === kind);
      if (wanted.length === 0 && recorded.length === 0) continue;
      const message = `cannot list ${kind} entries: ${reason}`;
      errors.push(message);
      messages.add(message);
      if (!this.loggedUnreadable.has(message))
        this.log.error({ desired: describe(wanted), recorded: describe(recorded) }, `${message}; leaving ${kind} entries as they are this pass`);
    }
    this.loggedUnreadable = messages;
  }

  // A corrupt or unreadable record must not stop routing: claim only entries that carry healthcast's mark.
  private async loadOwned(kernel: readonly KernelEntry[], errors: string[]): Promise<RoutingEntry[]> {
    try {
      const entries = await this.deps.ownership.load();
      this.persisted = entries;
      return entries;
    } catch (error) {
      const claimed = kernel.filter(carriesHealthcastMark).map(({ kind, address, interface: iface }) => ({ kind, address, interface: iface }));
      errors.push(messageOf(error));
      this.log.error(
        { err: messageOf(error), claimed: describe(claimed) },
        `ownership record unusable; treating ${claimed.length} entries that carry healthcast's label or route proto as ours (IPv6 addresses carry no mark and are left alone)`,
      );
      this.persisted = undefined;
      return claimed;
    }
  }
}
