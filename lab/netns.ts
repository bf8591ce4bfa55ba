// Network namespaces, veth pairs, addresses and routes through the real `ip` (iproute2 6.1).
import { execFile, execFileSync } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

// Every external command of the lab goes through here: bounded in time, stderr in the error message.
export function run(command: string, args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim() || stdout.trim() || error.message;
          reject(new Error(`${command} ${args.join(' ')} failed: ${detail}`, { cause: error }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function ip(args: readonly string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

// Runs a command inside a namespace; `ip netns exec` execs, so nothing is left behind.
export async function runIn(netns: string, command: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return run('ip', ['netns', 'exec', netns, command, ...args], options);
}

export async function createNamespace(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

// Idempotent: a namespace that is already gone is not an error during tear-down.
export async function deleteNamespace(name: string): Promise<void> {
  if (!(await listNamespaces()).includes(name)) return;
  await ip(['netns', 'del', name]);
}

// For process-exit handlers, where nothing asynchronous runs any more.
export function deleteNamespaceSync(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // already gone
  }
}

export async function listNamespaces(): Promise<string[]> {
  const out = await ip(['-j', 'netns', 'list']);
  if (!out.trim()) return [];
  return (JSON.parse(out) as { name: string }[]).map((entry) => entry.name);
}

// Both ends are created directly inside their namespaces, so names never clash in the host namespace.
export async function createVeth(a: { netns: string; ifname: string }, b: { netns: string; ifname: string }): Promise<void> {
  for (const end of [a, b]) {
    if (end.ifname.length > 15) throw new Error(`interface name "${end.ifname}" is longer than 15 characters`);
  }
  await ip(['link', 'add', a.ifname, 'netns', a.netns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.netns]);
  await ip(['-n', a.netns, 'link', 'set', a.ifname, 'up']);
  await ip(['-n', b.netns, 'link', 'set', b.ifname, 'up']);
}

// IPv6 addresses get nodad so they are usable at once; IPv4 ones may carry a label (`lo:NAME`).
export async function addAddress(netns: string, dev: string, cidr: string, options: { label?: string } = {}): Promise<void> {
  const args = ['-n', netns, 'address', 'add', cidr, 'dev', dev];
  if (cidr.includes(':')) args.push('nodad');
  else if (options.label) args.push('label', options.label);
  await ip(args);
}

export async function deleteAddress(netns: string, dev: string, cidr: string): Promise<void> {
  await ip(['-n', netns, 'address', 'del', cidr, 'dev', dev]);
}

interface IpAddrJson {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; label?: string }[];
}

// Addresses on one interface as `address/prefixlen`, both families.
export async function listAddresses(netns: string, dev: string): Promise<string[]> {
  return (await addressDetails(netns, dev)).map((entry) => entry.cidr);
}

// With the IPv4 label, which is how healthcast marks the addresses it added (`lo:healthcast`).
export async function addressDetails(netns: string, dev: string): Promise<{ cidr: string; label?: string }[]> {
  const out = await ip(['-n', netns, '-j', 'address', 'show', 'dev', dev]);
  const links = JSON.parse(out) as IpAddrJson[];
  return links.flatMap((link) => link.addr_info.map((info) => ({ cidr: `${info.local}/${info.prefixlen}`, ...(info.label ? { label: info.label } : {}) })));
}

export interface KernelRoute {
  dst: string;
  protocol?: string;
  dev?: string;
  gateway?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

// The kernel's main table; `dst` is normalised to a prefix (`192.0.2.53/32`, not `192.0.2.53`).
export async function kernelRoutes(netns: string, family: 4 | 6): Promise<KernelRoute[]> {
  const out = await ip(['-n', netns, '-j', `-${family}`, 'route', 'show']);
  const routes = JSON.parse(out || '[]') as KernelRoute[];
  return routes.map((route) => ({ ...route, dst: normalisePrefix(route.dst, family) }));
}

export function normalisePrefix(dst: string, family: 4 | 6): string {
  if (dst === 'default' || dst.includes('/')) return dst;
  return `${dst}/${family === 4 ? 32 : 128}`;
}

export function familyOf(prefix: string): 4 | 6 {
  return prefix.includes(':') ? 6 : 4;
}
