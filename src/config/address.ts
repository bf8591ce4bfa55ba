// Service addresses are single hosts: "192.0.2.53", "192.0.2.53/32", "2001:db8::53/128".
import net from 'node:net';

export type Family = 4 | 6;

export interface HostAddress {
  address: string; // canonical text form, without prefix length
  family: Family;
}

export function parseHostAddress(input: string): HostAddress | string {
  const [address = '', prefix, extra] = input.trim().split('/');
  if (extra !== undefined) return `not an address: ${JSON.stringify(input)}`;
  if (address.includes('%')) return `${JSON.stringify(input)} has a zone index: service addresses must be global, not link-local`;
  const family = net.isIP(address);
  if (family === 0) return `not an IPv4 or IPv6 address: ${JSON.stringify(input)}`;
  const hostBits = family === 4 ? 32 : 128;
  if (prefix !== undefined && prefix !== String(hostBits)) {
    return `${JSON.stringify(input)} is not a host address: use /${hostBits} or no prefix length`;
  }
  return { address: canonical(address, family as Family), family: family as Family };
}

// One spelling per address so duplicates and kernel output compare equal.
export function canonical(address: string, family: Family = net.isIP(address) as Family): string {
  if (family === 4) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

export function familyOf(address: string): Family {
  return net.isIPv6(address) ? 6 : 4;
}

export function withPrefix(address: string): string {
  return `${address}/${familyOf(address) === 4 ? 32 : 128}`;
}
