// Lease renewals: what renewing N leased addresses costs, through the real ip backend's long-lived `ip -batch` in a
// throwaway namespace. One renewal = one request of N `address replace ... valid_lft` lines. CPU is counted for this
// process (the request text, the reply) and for the ip child (parsing, netlink, the kernel's work in its syscalls);
// the share of a core is that per renewal divided by the renewal period (lease/3). Goal: < 0.5 % at 1,000 addresses
// with the default lease (10 s). With --frr the namespace is a node of the anycast lab (real zebra, ospfd, ospf6d
// redistributing the addresses), and FRR's CPU over the renewals is measured too: each renewed address is one
// RTM_NEWADDR that zebra reads and passes on to the OSPF daemons.
// Usage (root): node dist/bench/lease.js [--count 1000] [--reps 30] [--lease 10s] [--frr]
import crypto from 'node:crypto';
import fs from 'node:fs';
import { silentLogger } from '../src/log.js';
import { IpBackend } from '../src/routing/ip-backend.js';
import { MemoryOwnershipStore } from '../src/routing/ownership.js';
import { Reconciler } from '../src/routing/reconciler.js';
import { leaseTerms } from '../src/routing/lease.js';
import { parseDuration } from '../src/config/duration.js';
import { DEFAULT_LEASE_MS } from '../src/config/defaults.js';
import type { DesiredEntry } from '../src/routing/types.js';
import { createNamespace, deleteNamespace } from '../lab/netns.js';
import { buildAnycastLab, type AnycastLab } from '../lab/topology.js';
import path from 'node:path';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const COUNT = Number(option('count', '1000'));
const REPS = Number(option('reps', '30'));
const TERMS = leaseTerms(parseDuration(option('lease', `${DEFAULT_LEASE_MS / 1000}s`)))!;
const FRR = process.argv.includes('--frr');
const FRR_DAEMONS = ['zebra', 'ospfd', 'ospf6d'];
const TICK_S = 100; // USER_HZ: /proc/PID/stat counts CPU in 1/100 s on Linux

// 198.18.0.0/15 and 2001:db8::/32, half and half, only inside our own namespace.
// With --frr, inside the lab's service ranges (192.0.2.0/24, 2001:db8::/32) so FRR redistributes them.
function addresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    if (FRR) return i < 250 ? `192.0.2.${i + 1}` : `2001:db8:c::${(i + 1).toString(16)}`;
    return i % 2 === 1 ? `2001:db8:c::${(i + 1).toString(16)}` : `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  });
}

// CPU ms of the node's FRR daemons, read from their pid files.
function frrCpu(topology: AnycastLab | undefined): number {
  const dir = topology?.nodes[0]?.frr?.dir;
  if (!dir) return 0;
  return FRR_DAEMONS.reduce((sum, name) => sum + cpuOf(Number(fs.readFileSync(path.join(dir, `${name}.pid`), 'utf8'))), 0);
}

// utime + stime of a process, ms.
function cpuOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK_S;
}

// CPU ms of the backend's `ip` processes: the live ones (our children whose command is ip) plus those already ended
// and reaped (this process's cutime + cstime): the backend replaces its ip every RECYCLE_AFTER_LINES lines.
function ipCpu(): number {
  let live = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1]!.split(' ')[1]);
      if (ppid === process.pid && stat.includes('(ip)')) live += cpuOf(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const own = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return live + ((Number(own[13]) + Number(own[14])) * 1000) / TICK_S;
}

async function main(): Promise<void> {
  const topology = FRR ? await buildAnycastLab({ nodes: 1, name: 'leasebench' }) : undefined;
  const ns = topology?.nodes[0]!.netns ?? `hc-lease-${crypto.randomBytes(3).toString('hex')}`;
  if (!topology) await createNamespace(ns);
  try {
    const backend = new IpBackend({ routeProtocol: 201, namespace: ns, leaseSeconds: TERMS.lifetimeSeconds });
    const desired: DesiredEntry[] = addresses(COUNT).map((address) => ({ kind: 'address', address, interface: 'lo', service: 's' }));
    const reconciler = new Reconciler({
      backend,
      ownership: new MemoryOwnershipStore(),
      desired: () => desired,
      log: silentLogger(),
      driftIntervalMs: 3_600_000,
    });
    const report = await reconciler.start();
    if (report.added.length !== COUNT) throw new Error(`added ${report.added.length} of ${COUNT}: ${report.errors.join('; ')}`);
    const entries = desired.map(({ kind, address, interface: iface }) => ({ kind, address, interface: iface }));
    await backend.renew(entries); // warm-up
    // FRR's baseline: as long idle as the renewals will take, so its own timers are subtracted.
    const idleStart = frrCpu(topology);
    const idleStarted = performance.now();
    if (topology) await new Promise((resolve) => setTimeout(resolve, 5000));
    const idlePerMs = topology ? (frrCpu(topology) - idleStart) / (performance.now() - idleStarted) : 0;
    const frrBefore = frrCpu(topology);
    const renewalsStarted = performance.now();
    const wall: number[] = [];
    const ownBefore = process.cpuUsage();
    const ipBefore = ipCpu();
    for (let i = 0; i < REPS; i += 1) {
      const started = performance.now();
      await backend.renew(entries);
      wall.push(performance.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // a replaced ip is reaped into cutime
    const own = process.cpuUsage(ownBefore);
    const ownMs = (own.user + own.system) / 1000 / REPS;
    const ipMs = (ipCpu() - ipBefore) / REPS;
    const frrMs = Math.max(0, frrCpu(topology) - frrBefore - idlePerMs * (performance.now() - renewalsStarted)) / REPS;
    wall.sort((a, b) => a - b);
    const perRenewal = ownMs + ipMs;
    const share = (perRenewal / TERMS.renewEveryMs) * 100;
    console.log(
      JSON.stringify({
        addresses: COUNT,
        reps: REPS,
        lease_s: TERMS.lifetimeSeconds,
        renew_every_ms: TERMS.renewEveryMs,
        wall_ms: { min: round(wall[0]!), median: round(wall[Math.floor(wall.length / 2)]!), max: round(wall.at(-1)!) },
        cpu_ms_per_renewal: { agent: round(ownMs), ip: round(ipMs), total: round(perRenewal), ...(topology ? { frr: round(frrMs) } : {}) },
        core_percent: round(share, 3),
        ...(topology ? { frr_core_percent: round((frrMs / TERMS.renewEveryMs) * 100, 3) } : {}),
      }),
    );
    await reconciler.stop();
  } finally {
    if (topology) await topology.lab.destroy();
    else await deleteNamespace(ns);
  }
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

await main();
