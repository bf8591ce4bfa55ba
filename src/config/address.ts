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
  const normal = canonical(address, family as Family);
  const unusable = unusableReason(normal, family as Family);
  if (unusable) return `${JSON.stringify(input)} ${unusable}`;
  return { address: normal, family: family as Family };
}

// Addresses that can never be a routed service address; adding one to lo would only do harm.
function unusableReason(address: string, family: Family): string | undefined {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    if (address === '0.0.0.0') return 'is the unspecified address';
    if (address === '255.255.255.255') return 'is the broadcast address';
    if (first === 127) return 'is a loopback address';
    if (first === 0) return 'is in 0.0.0.0/8 ("this network")';
    if (first >= 224 && first <= 239) return 'is a multicast address';
    if (first >= 240) return 'is in the reserved range 240.0.0.0/4';
    return undefined;
  }
  if (address === '::') return 'is the unspecified address';
  if (address === '::1') return 'is the loopback address';
  if (address.startsWith('ff')) return 'is a multicast address';
  if (/^fe[89ab]/.test(address)) return 'is link-local: service addresses must be global';
  if (address.startsWith('::ffff:')) return 'is an IPv4-mapped address: write the IPv4 address itself';
  return undefined;
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
