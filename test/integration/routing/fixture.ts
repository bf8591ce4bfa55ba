// A throwaway network namespace per test, and independent views of it straight from `ip -j` (not via the backend).
import crypto from 'node:crypto';
import type { TestContext } from 'node:test';
import { createNamespace, deleteNamespace, deleteNamespaceSync, ip } from '../../../lab/netns.js';

const created = new Set<string>();
process.once('exit', () => {
  for (const name of created) deleteNamespaceSync(name);
});

// Deleted in t.after (and at process exit as a last resort), even when the test fails.
export async function namespaceFor(t: TestContext): Promise<string> {
  const name = `hc-rt-${crypto.randomBytes(4).toString('hex')}`;
  created.add(name);
  t.after(async () => {
    await deleteNamespace(name);
    created.delete(name);
  });
  await createNamespace(name);
  return name;
}

export async function ipIn(ns: string, args: string): Promise<string> {
  return ip(['-n', ns, ...args.split(' ')]);
}

// "192.0.2.53/32 lo lo:healthcast" for every address in the namespace (the label only when it is not just the ifname).
export async function addressesIn(ns: string): Promise<string[]> {
  const links = JSON.parse(await ipIn(ns, '-j address show')) as { ifname: string; addr_info: { local: string; prefixlen: number; label?: string }[] }[];
  return links.flatMap((link) =>
    link.addr_info.map((a) => `${a.local}/${a.prefixlen} ${link.ifname}${a.label && a.label !== link.ifname ? ` ${a.label}` : ''}`),
  );
}

export async function hostAddressesIn(ns: string, dev = 'lo'): Promise<Set<string>> {
  const out = JSON.parse(await ipIn(ns, `-j address show dev ${dev}`)) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return new Set(
    out
      .flatMap((l) => l.addr_info)
      .filter((a) => a.scope === 'global' && (a.prefixlen === 32 || a.prefixlen === 128))
      .map((a) => a.local),
  );
}

// "198.51.100.7 lo proto 201" lines for host routes of both families in the main table.
export async function routesIn(ns: string): Promise<string[]> {
  const lines: string[] = [];
  for (const family of ['-4', '-6']) {
    const routes = JSON.parse(await ipIn(ns, `-j ${family} route show table main`)) as { dst: string; dev: string; protocol?: string }[];
    for (const r of routes) lines.push(`${r.dst} ${r.dev} proto ${r.protocol ?? 'boot'}`);
  }
  return lines;
}

// Documentation-range host addresses, i = 0..253.
export const v4 = (i: number) => `192.0.2.${i + 1}`;
export const v6 = (i: number) => `2001:db8::${(i + 1).toString(16)}`;
