// LAN announcements for addresses placed on a LAN interface (floating-VIP style): gratuitous ARP (iputils `arping -U`)
// for IPv4 and unsolicited Neighbor Advertisements with the override flag (libndp's `ndptool -t na -U`) for IPv6, sent
// right after the reconciler reports the address added, so neighbours move their cache entry to this node's MAC at once.
// Both tools open the raw socket themselves (CAP_NET_RAW); the kernel's own ndisc_notify sends a single NA only, and
// Linux ignores a gratuitous ARP within `locktime` (1 s) of the entry's last update, which is why a count > 1 helps.
import { familyOf } from '../config/address.js';
import type { ServiceConfig } from '../config/types.js';
import type { AgentListener } from '../core/agent.js';
import type { Logger } from '../log.js';
import type { ReconcileReport, RoutingEntry } from '../routing/types.js';
import { runCommand } from '../maintenance/run-command.js';

export interface L2Job {
  service: string;
  family: 4 | 6;
  address: string;
  interface: string;
  count: number;
  // The LAN's routers of this family (`l2_router`): told directly, and their entry for the address refreshed.
  routers: string[];
}

// Pure: which added entries get announced. Routes and loopback addresses have no neighbours to tell.
export function planAnnouncements(added: readonly RoutingEntry[], services: readonly ServiceConfig[]): L2Job[] {
  const jobs: L2Job[] = [];
  for (const entry of added) {
    if (entry.kind !== 'address' || entry.interface === 'lo') continue;
    const service = services.find((candidate) => candidate.addresses.includes(entry.address) && candidate.interface === entry.interface);
    if (!service?.announceL2) continue;
    const family = familyOf(entry.address);
    const routers = (service.announceL2.routers ?? []).filter((router) => familyOf(router) === family);
    jobs.push({ service: service.name, family, address: entry.address, interface: entry.interface, count: service.announceL2.count, routers });
  }
  return jobs;
}

// Pure: the command lines for one job. arping paces its packets itself (1 s apart); ndptool sends one NA per run.
export function announceCommands(job: L2Job, tools: { arping?: string; ndptool?: string } = {}): string[][] {
  if (job.family === 4) return [[tools.arping ?? 'arping', '-U', '-c', String(job.count), '-I', job.interface, job.address]];
  return Array.from({ length: job.count }, () => [tools.ndptool ?? 'ndptool', '-t', 'na', '-U', '-i', job.interface, '-T', job.address, 'send']);
}

// Pure: what each router of the job is sent after the announcement (found necessary on real routers by the ucarp
// write-up the design follows). IPv6: the NA with the override flag unicast to the router too, since a router may miss
// or rate-limit the all-nodes one; ndptool refuses -U with -D ("Conflicts for both setting dest address and
// unsolicited flag"), so the unicast one carries the solicited flag with override, which Linux takes as a confirmed
// (REACHABLE) entry at this node's MAC. Then, for both families, one ping from the address to the router: to answer
// it the router uses its entry for the address, and the reply proves that entry leads here.
export function routerCommands(job: L2Job, router: string, tools: { ndptool?: string; ping?: string } = {}): { na?: string[]; ping: string[] } {
  const ping = [tools.ping ?? 'ping', '-c', '1', '-W', '1', '-I', job.address, router];
  if (job.family === 4) return { ping };
  return { na: [tools.ndptool ?? 'ndptool', '-t', 'na', '-i', job.interface, '-T', job.address, '-D', router, 'send'], ping };
}

export interface AnnouncerOptions {
  services: () => readonly ServiceConfig[];
  log: Logger;
  onResult?: (job: L2Job, ok: boolean) => void;
  intervalMs?: number; // between two NAs
  tools?: { arping?: string; ndptool?: string; ping?: string };
}

export class L2Announcer implements AgentListener {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly log: Logger;

  constructor(private readonly options: AnnouncerOptions) {
    this.log = options.log.child({ component: 'l2' });
  }

  onReport(report: ReconcileReport): void {
    for (const job of planAnnouncements(report.added, this.options.services())) {
      const key = `${job.interface}|${job.address}`;
      if (this.inFlight.has(key)) continue;
      const run = this.announce(job).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, run);
    }
  }

  async idle(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  private async announce(job: L2Job): Promise<void> {
    const commands = announceCommands(job, this.options.tools);
    const started = performance.now();
    for (const [index, argv] of commands.entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs ?? 1000));
      const outcome = await runCommand(argv, { timeoutMs: job.count * 1000 + 5000, stdio: 'capture' }).done;
      if (outcome.exitCode !== 0 || outcome.spawnError) {
        const why = outcome.spawnError ? `cannot run ${argv[0]} (${outcome.spawnError})` : `${argv[0]} exited ${outcome.exitCode ?? outcome.signal}`;
        this.log.warn(
          { service: job.service, address: job.address, interface: job.interface, output: outcome.output.trim().slice(-500) },
          `LAN announcement failed: ${why}`,
        );
        this.options.onResult?.(job, false);
        return;
      }
    }
    this.log.info(
      { service: job.service, address: job.address, interface: job.interface, count: job.count, duration_ms: Math.round(performance.now() - started) },
      job.family === 4 ? 'gratuitous ARP sent' : 'unsolicited neighbor advertisements sent',
    );
    this.options.onResult?.(job, true);
    for (const router of job.routers) await this.tellRouter(job, router);
  }

  // Best effort: a router that does not answer pings is logged, and the announcement still counts as sent.
  private async tellRouter(job: L2Job, router: string): Promise<void> {
    const { na, ping } = routerCommands(job, router, this.options.tools);
    const fields = { service: job.service, address: job.address, interface: job.interface, router };
    for (const argv of [na, ping]) {
      if (!argv) continue;
      const outcome = await runCommand(argv, { timeoutMs: 5000, stdio: 'capture' }).done;
      if (outcome.exitCode !== 0 || outcome.spawnError) {
        const why = outcome.spawnError ? `cannot run ${argv[0]} (${outcome.spawnError})` : `${argv.join(' ')} exited ${outcome.exitCode ?? outcome.signal}`;
        this.log.warn({ ...fields, output: outcome.output.trim().slice(-300) }, `l2_router ${router} not refreshed: ${why}`);
        return;
      }
    }
    this.log.info(fields, `l2_router ${router} refreshed: it reached ${job.address} at this node`);
  }
}
