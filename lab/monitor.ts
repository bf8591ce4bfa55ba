// `ip monitor` inside a namespace: every address or route change with the kernel-side time ip stamped on it,
// so benchmarks and tests see each change exactly once instead of polling and missing short ones.
import { startDaemon, waitFor, type Daemon } from './process.js';
import { ip } from './netns.js';

export interface NetlinkEvent {
  // Epoch milliseconds from ip's own timestamp (-ts), taken when the message arrived.
  time: number;
  deleted: boolean;
  // The address or route destination without prefix length (e.g. "192.0.2.53", "2001:db8::1").
  target: string;
  text: string;
}

export interface Monitor {
  events: NetlinkEvent[];
  // Events about one address or destination, in order.
  about(target: string): NetlinkEvent[];
  waitFor(what: string, match: (event: NetlinkEvent) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<NetlinkEvent>;
  stop(): Promise<void>;
}

// "[2026-11-22T02:17:29.039630] ..." is local time with microseconds.
function parseStamp(stamp: string): number {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d+)$/.exec(stamp);
  if (!match) return Number.NaN;
  const n = (index: number) => Number(match[index]);
  return new Date(n(1), n(2) - 1, n(3), n(4), n(5), n(6)).getTime() + Number(`0.${match[7]}`) * 1000;
}

export function parseMonitorLine(line: string, kind: 'address' | 'route'): NetlinkEvent | undefined {
  const match = /^\[([^\]]+)\]\s+(Deleted\s+)?(.*)$/.exec(line.trim());
  if (!match) return undefined;
  const body = match[3] ?? '';
  let target: string | undefined;
  if (kind === 'address') target = /\sinet6?\s+([0-9a-f:.]+)\//i.exec(body)?.[1];
  else target = /^([0-9a-f:.]+)(?:\/\d+)?\s/i.exec(body.replace(/^(unicast|local|broadcast|multicast)\s+/, ''))?.[1];
  if (target === undefined) return undefined;
  return { time: parseStamp(match[1] ?? ''), deleted: match[2] !== undefined, target, text: body };
}

// "IFNAME ADDRESS" of an address event ("INDEX: IFNAME ..." starts an `ip -o monitor address` line).
function addressKey(event: NetlinkEvent): string {
  return `${/^\d+:\s+(\S+)/.exec(event.text)?.[1] ?? ''} ${event.target}`;
}

// Starts `ip -n NS -ts -o monitor KIND` and waits briefly so the subscription exists before the caller acts.
// Address events are changes of presence: a new-address message for an address already on that interface (a lease
// renewal, `ip address replace`, a flag change) is not recorded; the addresses present at the start are read once.
export async function startMonitor(netns: string, kind: 'address' | 'route'): Promise<Monitor> {
  const daemon: Daemon = startDaemon(`${netns}/monitor-${kind}`, 'ip', ['-n', netns, '-ts', '-o', 'monitor', kind]);
  const events: NetlinkEvent[] = [];
  const present = new Set<string>();
  // Until the addresses present at the start are known, events wait: a renewal that arrives before that listing
  // would otherwise count as an address appearing (it did, under load, in a clean-clone CI run).
  let pending: NetlinkEvent[] | undefined = kind === 'address' ? [] : undefined;
  const record = (event: NetlinkEvent) => {
    if (kind === 'address') {
      const key = addressKey(event);
      if (event.deleted) present.delete(key);
      else if (present.has(key)) return;
      else present.add(key);
    }
    events.push(event);
  };
  let partial = '';
  daemon.child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      const event = parseMonitorLine(raw, kind);
      if (!event) continue;
      if (pending) pending.push(event);
      else record(event);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 150));
  if (kind === 'address') {
    const links = JSON.parse(await ip(['-n', netns, '-j', 'address', 'show'])) as { ifname: string; addr_info?: { local?: string }[] }[];
    for (const link of links) for (const info of link.addr_info ?? []) if (info.local) present.add(`${link.ifname} ${info.local}`);
    const waiting = pending ?? [];
    pending = undefined;
    for (const event of waiting) record(event);
  }
  if (daemon.child.exitCode !== null) throw new Error(`ip monitor ${kind} in ${netns} exited: ${daemon.output()}`);
  return {
    events,
    about: (target) => events.filter((event) => event.target === target),
    waitFor: (what, match, options = {}) =>
      waitFor(`${netns}: ${what}`, () => events.slice(options.since ?? 0).find(match), { timeoutMs: options.timeoutMs ?? 10_000, intervalMs: 5 }),
    stop: () => daemon.stop('SIGTERM', 2000),
  };
}
