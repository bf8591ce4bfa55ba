// Option fields and small helpers shared by several probes.
import net from 'node:net';
import { z } from 'zod';

export const port = z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
export const ipAddress = z.string().refine((value) => net.isIP(value) !== 0, { message: 'must be an IPv4 or IPv6 address' });
export const hostOrAddress = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:%_-]+$/, 'must be a host name or IP address');

export function formatHostPort(host: string, portNumber: number): string {
  return net.isIPv6(host) ? `[${host}]:${portNumber}` : `${host}:${portNumber}`;
}

// One spelling per address ("2001:DB8:0::1" and "2001:db8::1" compare equal); src/config/address.ts's canonical() does
// the same for the agent, which probes do not import.
export function canonicalAddress(address: string): string {
  return net.isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

// An error's message for a reason, with its code (ECONNREFUSED...) when the message lacks it; as src/errors.ts's.
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
