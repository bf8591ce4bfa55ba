// Real FRR daemons (zebra, ospfd, ospf6d, optional bgpd) inside one namespace, with a private directory.
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, waitFor, type Daemon } from './process.js';
import { run } from './netns.js';
import { bfddConf, bgpdConf, ospf6dConf, ospfdConf, runsOspf, zebraConf, type FrrNodeOptions } from './frr-config.js';

export const FRR_BIN = '/usr/lib/frr';
export const VTYSH = 'vtysh';
// FRR writes these into the shared /var/run/frr whatever paths it is given (measured on 8.4).
const SHARED_STATE_DIR = '/var/run/frr';
const SHARED_STATE_FILE = /^(zebra|ospfd|ospf6d|bgpd|bfdd)[-.]/;

export interface FrrInstance {
  netns: string;
  dir: string;
  options: FrrNodeOptions;
  daemons: Daemon[];
  vtysh(...commands: string[]): Promise<string>;
  vtyshJson<T>(command: string): Promise<T>;
  stop(): Promise<void>;
  // The node goes silent without a sign (no carrier loss, no withdrawal): SIGSTOP / SIGCONT to every daemon, by PID.
  freeze(): void;
  thaw(): void;
  // Process-exit path: SIGKILL every daemon, release the shared state files; nothing asynchronous.
  killSync(): void;
}

let liveInstances = 0;
let sharedBefore: Set<string> | undefined;

function sharedStateFiles(): string[] {
  try {
    return fs.readdirSync(SHARED_STATE_DIR).filter((name) => SHARED_STATE_FILE.test(name));
  } catch {
    return [];
  }
}

// Call before starting an FRR instance of ours: notes what shared state files already exist.
export function claimSharedState(): void {
  if (liveInstances === 0) sharedBefore = new Set(sharedStateFiles());
  liveInstances += 1;
}

// When our last instance stops, remove the shared state files that appeared while ours ran.
export function releaseSharedState(): void {
  liveInstances -= 1;
  if (liveInstances > 0 || !sharedBefore) return;
  for (const name of sharedStateFiles()) {
    if (!sharedBefore.has(name)) fs.rmSync(path.join(SHARED_STATE_DIR, name), { force: true });
  }
  sharedBefore = undefined;
}

export async function vtysh(dir: string, commands: readonly string[], timeoutMs = 5000): Promise<string> {
  const args = ['--vty_socket', dir];
  for (const command of commands) args.push('-c', command);
  return (await run(VTYSH, args, { timeoutMs })).stdout;
}

// The arguments of every FRR daemon the lab and the tests start: its sockets and files in `dir`, no vty port, logs on
// stdout. `config` defaults to DAEMON.conf in `dir`.
export function frrDaemonArgs(name: string, dir: string, config = path.join(dir, `${name}.conf`)): string[] {
  const args = ['-P', '0', '--vty_socket', dir, '-z', path.join(dir, 'zserv.api'), '-f', config, '-i', path.join(dir, `${name}.pid`), '--log', 'stdout'];
  // bfdd's control socket would otherwise be the shared /var/run/frr/bfdd.sock.
  return name === 'bfdd' ? [...args, '--bfdctl', path.join(dir, 'bfdd.sock')] : args;
}

function startFrrDaemon(name: string, netns: string, dir: string): Daemon {
  const args = ['netns', 'exec', netns, path.join(FRR_BIN, name), ...frrDaemonArgs(name, dir)];
  return startDaemon(`${netns}/${name}`, 'ip', args, { logFile: path.join(dir, `${name}.log`) });
}

// Waits for a daemon to create `socket` (zserv.api, DAEMON.vty); fails at once if it exited.
export async function waitForSocket(daemon: Daemon, socket: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `${daemon.name} to create ${socket}`,
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`${daemon.name} exited with ${daemon.child.exitCode}: ${daemon.output().slice(-2000)}`);
      return fs.existsSync(socket);
    },
    { timeoutMs },
  );
}

// Starts zebra, waits for zserv.api, then the protocol daemons; stops whatever started if one fails.
export async function startFrr(options: FrrNodeOptions & { netns: string; dir: string; timeoutMs?: number }): Promise<FrrInstance> {
  const { netns, dir } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // bfdd first: the protocol daemons register their sessions with it (through zebra) as their neighbours come up.
  const protocols = [...(options.bfd ? ['bfdd'] : []), ...(runsOspf(options) ? ['ospfd', 'ospf6d'] : []), ...(options.bgp ? ['bgpd'] : [])];
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'zebra.conf'), zebraConf(options));
  if (runsOspf(options)) {
    fs.writeFileSync(path.join(dir, 'ospfd.conf'), ospfdConf(options));
    fs.writeFileSync(path.join(dir, 'ospf6d.conf'), ospf6dConf(options));
  }
  if (options.bgp) fs.writeFileSync(path.join(dir, 'bgpd.conf'), bgpdConf(options));
  if (options.bfd) fs.writeFileSync(path.join(dir, 'bfdd.conf'), bfddConf(options));
  // A stale socket makes the protocol daemons retry only after ~10 s.
  fs.rmSync(path.join(dir, 'zserv.api'), { force: true });
  // Daemons run as user frr (root is not in frrvty), so the directory must be theirs.
  await run('chown', ['-R', 'frr:frr', dir]);

  claimSharedState();
  const daemons: Daemon[] = [];
  let stopped = false;
  let frozen = false;
  const signalAll = (signal: NodeJS.Signals) => {
    for (const daemon of daemons) if (daemon.child.exitCode === null && daemon.child.signalCode === null) process.kill(daemon.pid, signal);
  };
  const instance: FrrInstance = {
    netns,
    dir,
    options,
    daemons,
    vtysh: (...commands) => vtysh(dir, commands),
    async vtyshJson<T>(command: string) {
      return JSON.parse(await vtysh(dir, [command])) as T;
    },
    freeze() {
      signalAll('SIGSTOP');
      frozen = true;
    },
    thaw() {
      signalAll('SIGCONT');
      frozen = false;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // A stopped daemon would act on SIGTERM only after SIGCONT.
      if (frozen) instance.thaw();
      // Protocol daemons first (reverse start order), zebra last, each waited for.
      for (const daemon of [...daemons].reverse()) await daemon.stop('SIGTERM', 5000);
      releaseSharedState();
    },
    killSync() {
      if (stopped) return;
      stopped = true;
      for (const daemon of daemons) {
        if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
      }
      releaseSharedState();
    },
  };
  try {
    const zebra = startFrrDaemon('zebra', netns, dir);
    daemons.push(zebra);
    await waitForSocket(zebra, path.join(dir, 'zserv.api'), timeoutMs);
    // bfdd's control socket defaults to the shared /var/run/frr/bfdd.sock: one per instance instead.
    for (const name of protocols) daemons.push(startFrrDaemon(name, netns, dir));
    for (const daemon of daemons) {
      const name = daemon.name.slice(daemon.name.lastIndexOf('/') + 1);
      await waitForSocket(daemon, path.join(dir, `${name}.vty`), timeoutMs);
    }
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return instance;
}

interface Ospf4Neighbors {
  neighbors?: Record<string, { state?: string; nbrState?: string }[]>;
}
interface Ospf6Neighbors {
  neighbors?: { neighborId: string; state: string }[];
}

// Number of Full adjacencies per protocol, read through vtysh JSON.
export async function fullAdjacencies(frr: FrrInstance): Promise<{ ospf: number; ospf6: number }> {
  const v4 = await frr.vtyshJson<Ospf4Neighbors>('show ip ospf neighbor json');
  const v6 = await frr.vtyshJson<Ospf6Neighbors>('show ipv6 ospf6 neighbor json');
  const ospf = Object.values(v4.neighbors ?? {})
    .flat()
    .filter((n) => (n.state ?? n.nbrState ?? '').startsWith('Full')).length;
  const ospf6 = (v6.neighbors ?? []).filter((n) => n.state.startsWith('Full')).length;
  return { ospf, ospf6 };
}

interface BgpSummary {
  ipv4Unicast?: { peers?: Record<string, { state?: string }> };
  ipv6Unicast?: { peers?: Record<string, { state?: string }> };
}

// Polls until every configured BGP neighbour is Established.
export async function waitForBgpSessions(frr: FrrInstance, timeoutMs = 20_000): Promise<void> {
  const wanted = frr.options.bgp?.neighbors.length ?? 0;
  await waitFor(
    `${frr.netns}: ${wanted} BGP sessions Established`,
    async () => {
      const summary = await frr.vtyshJson<BgpSummary>('show bgp summary json');
      const peers = [...Object.values(summary.ipv4Unicast?.peers ?? {}), ...Object.values(summary.ipv6Unicast?.peers ?? {})];
      return peers.filter((peer) => peer.state === 'Established').length >= wanted;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

// Polls until both OSPFv2 and OSPFv3 have `count` Full neighbours.
export async function waitForAdjacencies(frr: FrrInstance, count: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    `${frr.netns}: ${count} Full OSPF and OSPFv3 adjacencies`,
    async () => {
      const full = await fullAdjacencies(frr);
      return full.ospf >= count && full.ospf6 >= count;
    },
    { timeoutMs, intervalMs: 50 },
  );
}
