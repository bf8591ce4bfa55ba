// Pure: what a service puts on the system while announced, and what it keeps while draining.
import type { ServiceConfig } from '../config/types.js';
import { BGP_INTERFACE, HELD_INTERFACE, type DesiredEntry } from '../routing/types.js';

// announce: bgp needs the address on the host too (it answers for it) plus the `network` statement that advertises it.
export function announceEntries(service: ServiceConfig): DesiredEntry[] {
  if (service.announce !== 'bgp')
    return service.addresses.map((address) => ({ service: service.name, kind: service.announce, address, interface: service.interface }));
  return withStatements(service, BGP_INTERFACE);
}

// Each address on the host, plus its `network` statement announced (BGP_INTERFACE) or held back (HELD_INTERFACE).
function withStatements(service: ServiceConfig, statement: string): DesiredEntry[] {
  return service.addresses.flatMap((address): DesiredEntry[] => [
    { service: service.name, kind: 'address', address, interface: service.interface },
    { service: service.name, kind: 'bgp', address, interface: statement },
  ]);
}

export function usesBgp(services: readonly ServiceConfig[]): boolean {
  return services.some((service) => service.announce === 'bgp');
}

// While draining, the host keeps answering for the address but nothing advertises it: an address moves to the drain
// interface, which the FRR route-maps do not match; with BGP the address stays where it is and the `network` statement
// is held back (denied to every neighbour, still in bgpd's table: an announcement before the drain ends reaches the
// router in a few ms). A kernel route is itself the advertisement: nothing to keep.
export function drainEntries(service: ServiceConfig, drainInterface: string): DesiredEntry[] {
  if (service.announce === 'bgp') return withStatements(service, HELD_INTERFACE);
  if (service.announce !== 'address') return [];
  return service.addresses.map((address) => ({ service: service.name, kind: 'address', address, interface: drainInterface }));
}
