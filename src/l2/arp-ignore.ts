// A drained LAN address must not be answered by ARP. The grace period moves it from the LAN interface to the drain
// interface, but with Linux's default arp_ignore=0 the host answers ARP on any interface for any local address, so the
// LAN would keep sending to this node. With arp_ignore=1 on the LAN interface the host answers only for addresses on
// that interface: announced (on the interface) it answers, parked or gone it does not. Checked in
// test/integration/ops/l2.test.ts. IPv6 needs nothing: the kernel answers a neighbour solicitation only for an address
// on the receiving interface. Chosen over arptables (a DROP rule per drained address, which also works on this kernel):
// nothing to add and remove per drain, no binary, and nothing left behind by an agent that dies mid-drain.
import fs from 'node:fs/promises';
import path from 'node:path';
import { familyOf } from '../config/address.js';
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';

export const ARP_IGNORE_ROOT = '/proc/sys/net/ipv4/conf';

// Pure: the LAN interfaces that carry IPv4 service addresses (the loopback gets no ARP; routes are not addresses).
export function lanInterfaces(services: readonly ServiceConfig[]): string[] {
  const interfaces = new Set<string>();
  for (const service of services) {
    if (service.announce !== 'address' || service.interface === 'lo') continue;
    if (service.addresses.some((address) => familyOf(address) === 4)) interfaces.add(service.interface);
  }
  return [...interfaces].sort();
}

// Pure: whether an interface needs arp_ignore raised. The kernel uses the larger of conf/all and conf/IF.
export function needsArpIgnore(all: number, own: number): boolean {
  return Math.max(all, own) < 1;
}

// Raises arp_ignore to 1 on each LAN interface that needs it (never lowers it, never resets it: the setting stays
// right for the host after the agent stops). Resolves with the interfaces changed; a failure is logged, not thrown.
export async function ensureArpIgnore(services: readonly ServiceConfig[], log: Logger, root = ARP_IGNORE_ROOT): Promise<string[]> {
  const changed: string[] = [];
  const interfaces = lanInterfaces(services);
  if (interfaces.length === 0) return changed;
  const read = async (name: string) => Number((await fs.readFile(path.join(root, name, 'arp_ignore'), 'utf8')).trim());
  for (const name of interfaces) {
    try {
      const all = await read('all');
      const own = await read(name);
      if (!needsArpIgnore(all, own)) continue;
      await fs.writeFile(path.join(root, name, 'arp_ignore'), '1\n');
      changed.push(name);
      log.info(
        { interface: name, was: own },
        `net.ipv4.conf.${name}.arp_ignore set to 1 (was ${own}): a service address drained from ${name} is no longer answered by ARP`,
      );
    } catch (error) {
      log.warn(
        { interface: name, err: messageOf(error) },
        `cannot set net.ipv4.conf.${name}.arp_ignore=1: while an address is drained from ${name} the host still answers ARP for it (set it in sysctl.conf)`,
      );
    }
  }
  return changed;
}
