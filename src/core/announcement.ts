// Pure: what a service puts on the system while announced, and what it keeps while draining.
import type { ServiceConfig } from '../config/types.js';
import type { DesiredEntry } from '../routing/types.js';

export function announceEntries(service: ServiceConfig): DesiredEntry[] {
  return service.addresses.map((address) => ({ service: service.name, kind: service.announce, address, interface: service.interface }));
}

// While draining, the host keeps answering for the address but nothing advertises it: an address moves to the drain
// interface, which the FRR route-maps do not match. A kernel route is itself the advertisement: nothing to keep.
export function drainEntries(service: ServiceConfig, drainInterface: string): DesiredEntry[] {
  if (service.announce !== 'address') return [];
  return service.addresses.map((address) => ({ service: service.name, kind: 'address', address, interface: drainInterface }));
}
