// A network-namespace lab that always tears itself down: on destroy(), on failure, on SIGINT/SIGTERM and at exit.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from './process.js';
import { processState, terminatePid } from './proc.js';
import {
  addAddress,
  createNamespace,
  createVeth,
  deleteAddress,
  deleteNamespace,
  deleteNamespaceSync,
  ip,
  kernelRoutes,
  listAddresses,
  runIn,
  type CommandResult,
  type KernelRoute,
} from './netns.js';
import { startFrr, type FrrInstance } from './frr.js';
import type { BgpOptions } from './frr-config.js';
import type { BfdProfile } from '../src/frr/render-options.js';
import { startUnbound, type DnsRecord, type Unbound } from './unbound.js';

const NODE_NAME = /^[a-z][a-z0-9]{0,11}$/;

export interface LabNode {
  lab: Lab;
  name: string;
  netns: string;
  dir: string;
  index: number;
  // veth interfaces inside this node's namespace, in link order.
  interfaces: string[];
  frr?: FrrInstance;
  exec(command: string, args: readonly string[], options?: { timeoutMs?: number }): Promise<CommandResult>;
  addAddress(cidr: string, options?: { dev?: string; label?: string }): Promise<void>;
  deleteAddress(cidr: string, dev?: string): Promise<void>;
  addresses(dev?: string): Promise<string[]>;
  routes(family: 4 | 6): Promise<KernelRoute[]>;
}

export interface LabLink {
  a: LabNode;
  b: LabNode;
  aIf: string;
  bIf: string;
  // Interface addresses without prefix length: IPv4 from 198.51.100.0/24 (/30 each), IPv6 from 2001:db8:ffff::/48 (/64 each).
  aV4: string;
  bV4: string;
  aV6: string;
  bV6: string;
}

const liveLabs = new Set<Lab>();
let handlersInstalled = false;

// Signal and exit hooks, once per process: a Ctrl-C or a killed test run must not leave namespaces behind.
function installProcessHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      const exitCode = signal === 'SIGINT' ? 130 : 143;
      const all = [...liveLabs].map((lab) => lab.destroy().catch(() => undefined));
      const force = setTimeout(() => process.exit(exitCode), 15_000);
      void Promise.all(all).finally(() => {
        clearTimeout(force);
        process.exit(exitCode);
      });
    });
  }
  process.once('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
}

export class Lab {
  readonly name: string;
  readonly id: string;
  readonly dir: string;
  private readonly nodes = new Map<string, LabNode>();
  private readonly links: LabLink[] = [];
  private readonly daemons: Daemon[] = [];
  private readonly frrs: FrrInstance[] = [];
  private readonly cleanups: { what: string; run: () => Promise<void> }[] = [];
  private destroyed = false;

  private constructor(name: string) {
    this.name = name;
    this.id = crypto.randomBytes(3).toString('hex');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `hc-lab-${name}-${this.id}-`));
    // FRR daemons run as user frr and must reach their directories below this one.
    fs.chmodSync(this.dir, 0o755);
  }

  static async create(options: { name?: string } = {}): Promise<Lab> {
    installProcessHandlers();
    const lab = new Lab(options.name ?? 'lab');
    liveLabs.add(lab);
    return lab;
  }

  // The namespace name for a node: hc-<role>-<6 hex>, unique per run.
  namespaceOf(name: string): string {
    return `hc-${name}-${this.id}`;
  }

  namespaces(): string[] {
    return [...this.nodes.values()].map((node) => node.netns);
  }

  getNode(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`lab ${this.name}: no node "${name}"`);
    return node;
  }

  async node(name: string): Promise<LabNode> {
    if (this.destroyed) throw new Error(`lab ${this.name} is destroyed`);
    if (!NODE_NAME.test(name)) throw new Error(`node name "${name}" must match ${NODE_NAME} (it becomes part of interface names)`);
    if (this.nodes.has(name)) throw new Error(`lab ${this.name}: node "${name}" exists`);
    const netns = this.namespaceOf(name);
    const dir = path.join(this.dir, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755);
    const node: LabNode = {
      lab: this,
      name,
      netns,
      dir,
      index: this.nodes.size,
      interfaces: [],
      exec: (command, args, options) => runIn(netns, command, args, options),
      addAddress: (cidr, options = {}) => addAddress(netns, options.dev ?? 'lo', cidr, options),
      deleteAddress: (cidr, dev = 'lo') => deleteAddress(netns, dev, cidr),
      addresses: (dev = 'lo') => listAddresses(netns, dev),
      routes: (family) => kernelRoutes(netns, family),
    };
    // Registered before creation so a half-created namespace is still removed.
    this.nodes.set(name, node);
    await createNamespace(netns);
    return node;
  }

  // A veth pair named `to-<peer>` on each side, addressed from the documentation ranges.
  async link(a: LabNode, b: LabNode): Promise<LabLink> {
    const index = this.links.length;
    if (index >= 64) throw new Error('a lab has at most 64 links (198.51.100.0/24 in /30s)');
    const aIf = `to-${b.name}`;
    const bIf = `to-${a.name}`;
    await createVeth({ netns: a.netns, ifname: aIf }, { netns: b.netns, ifname: bIf });
    const link: LabLink = {
      a,
      b,
      aIf,
      bIf,
      aV4: `198.51.100.${index * 4 + 1}`,
      bV4: `198.51.100.${index * 4 + 2}`,
      aV6: `2001:db8:ffff:${index.toString(16)}::1`,
      bV6: `2001:db8:ffff:${index.toString(16)}::2`,
    };
    await addAddress(a.netns, aIf, `${link.aV4}/30`);
    await addAddress(b.netns, bIf, `${link.bV4}/30`);
    await addAddress(a.netns, aIf, `${link.aV6}/64`);
    await addAddress(b.netns, bIf, `${link.bV6}/64`);
    a.interfaces.push(aIf);
    b.interfaces.push(bIf);
    this.links.push(link);
    return link;
  }

  // FRR on all of the node's current links; `announce` makes it an anycast node (filtered redistribution).
  async startFrr(
    node: LabNode,
    options: { announce?: boolean; ospf?: boolean; bgp?: BgpOptions; rejectServiceRoutes?: boolean; bfd?: BfdProfile; timeoutMs?: number } = {},
  ): Promise<FrrInstance> {
    if (node.frr) throw new Error(`${node.netns}: FRR already started`);
    const frr = await startFrr({
      netns: node.netns,
      dir: path.join(node.dir, 'frr'),
      hostname: node.name,
      routerId: `0.0.0.${node.index + 1}`,
      interfaces: node.interfaces,
      announce: options.announce ?? false,
      ospf: options.ospf,
      bgp: options.bgp,
      rejectServiceRoutes: options.rejectServiceRoutes,
      bfd: options.bfd,
      timeoutMs: options.timeoutMs,
    });
    node.frr = frr;
    this.frrs.push(frr);
    return frr;
  }

  // Any long-running program inside a node's namespace, stopped by PID on destroy().
  startDaemon(node: LabNode, name: string, command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Daemon {
    const daemon = startDaemon(`${node.netns}/${name}`, 'ip', ['netns', 'exec', node.netns, command, ...args], {
      env: options.env,
      logFile: path.join(node.dir, `${name}.log`),
    });
    this.daemons.push(daemon);
    return daemon;
  }

  async startUnbound(node: LabNode, options: { port: number; records: readonly DnsRecord[]; addresses?: readonly string[]; name?: string }): Promise<Unbound> {
    const unbound = await startUnbound({ ...options, dir: path.join(node.dir, options.name ?? 'unbound'), netns: node.netns });
    this.daemons.push(unbound.daemon);
    return unbound;
  }

  // Extra tear-down steps (run first, last registered first).
  onDestroy(what: string, run: () => Promise<void>): void {
    this.cleanups.push({ what, run });
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const cleanup of [...this.cleanups].reverse()) await attempt(cleanup.run);
    for (const daemon of [...this.daemons].reverse()) await attempt(() => stopDaemon(daemon));
    for (const frr of this.frrs) await attempt(() => frr.stop());
    for (const node of this.nodes.values()) {
      await attempt(() => killNamespacePids(node.netns));
      await attempt(() => deleteNamespace(node.netns));
    }
    await attempt(async () => fs.rmSync(this.dir, { recursive: true, force: true }));
    liveLabs.delete(this);
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.name}: tear-down had ${errors.length} error(s)`);
  }

  // Last resort at process exit, where only synchronous work runs: SIGKILL by PID, delete namespaces and files.
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const daemon of this.daemons) {
      if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    }
    for (const frr of this.frrs) frr.killSync();
    for (const node of this.nodes.values()) {
      for (const pid of namespacePidsSync(node.netns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      deleteNamespaceSync(node.netns);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }
}

// A stopped (state T) daemon holds SIGTERM until continued.
async function stopDaemon(daemon: Daemon): Promise<void> {
  const stopping = daemon.stop('SIGTERM', 5000);
  if (processState(daemon.pid) === 'T') process.kill(daemon.pid, 'SIGCONT');
  await stopping;
}

// Every process still inside a namespace we created is ours; end each by PID before deleting it.
async function killNamespacePids(netns: string): Promise<void> {
  let out: string;
  try {
    out = await ip(['netns', 'pids', netns]);
  } catch {
    return;
  }
  const pids = out.split(/\s+/).filter(Boolean).map(Number);
  await Promise.all(pids.map((pid) => terminatePid(pid, 'SIGTERM', 3000)));
}

function namespacePidsSync(netns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', timeout: 5000 }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// Runs fn with a fresh lab and destroys it whatever happens.
export async function withLab<T>(options: { name?: string }, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(options);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}
