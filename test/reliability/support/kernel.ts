// What a namespace's kernel holds, as sorted text lines, so a test can compare "before" and "after" exactly.
import { ip } from '../../../lab/netns.js';

interface AddrJson {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; label?: string }[];
}

interface RouteJson {
  dst: string;
  dev?: string;
  protocol?: string;
  table?: string;
  type?: string;
}

export interface KernelSnapshot {
  addresses: string[]; // "dev address/prefix [label]"
  routes: string[]; // "table type dst dev proto", IPv4 and IPv6, every table
}

export async function snapshot(netns: string): Promise<KernelSnapshot> {
  const links = JSON.parse(await ip(['-n', netns, '-j', 'address', 'show'])) as AddrJson[];
  const addresses = links.flatMap((link) =>
    link.addr_info.map((info) => `${link.ifname} ${info.local}/${info.prefixlen}${info.label && info.label !== link.ifname ? ` label ${info.label}` : ''}`),
  );
  const routes: string[] = [];
  for (const family of ['-4', '-6']) {
    const list = JSON.parse((await ip(['-n', netns, '-j', family, 'route', 'show', 'table', 'all'])) || '[]') as RouteJson[];
    routes.push(...list.map((route) => `${route.table ?? 'main'} ${route.type ?? 'unicast'} ${route.dst} ${route.dev ?? '-'} ${route.protocol ?? '-'}`));
  }
  return { addresses: addresses.sort(), routes: routes.sort() };
}

// Host addresses on one interface (no prefix length; the loopback's own ::1 left out) and host routes with one proto, as plain addresses.
export async function hostEntries(netns: string, options: { dev?: string; proto?: number } = {}): Promise<{ addresses: string[]; routes: string[] }> {
  const links = JSON.parse(await ip(['-n', netns, '-j', 'address', 'show', 'dev', options.dev ?? 'lo'])) as AddrJson[];
  const addresses = links.flatMap((link) =>
    link.addr_info.filter((info) => info.prefixlen === (info.family === 'inet' ? 32 : 128) && info.local !== '::1').map((info) => info.local),
  );
  const routes: string[] = [];
  for (const family of ['-4', '-6']) {
    const list = JSON.parse((await ip(['-n', netns, '-j', family, 'route', 'show', 'proto', String(options.proto ?? 201)])) || '[]') as RouteJson[];
    routes.push(...list.map((route) => route.dst.replace(/\/(32|128)$/, '')));
  }
  return { addresses: addresses.sort(), routes: routes.sort() };
}
