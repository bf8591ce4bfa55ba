// Option fields and helpers shared by several probes.
import net from 'node:net';
import { z } from 'zod';

export const port = z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
export const ipAddress = z.string().refine((value) => net.isIP(value) !== 0, { message: 'must be an IPv4 or IPv6 address' });
export const hostOrAddress = z.string().min(1).max(253).regex(/^[A-Za-z0-9.:%_-]+$/, 'must be a host name or IP address');

// Resolves when the signal aborts; lets socket code race a single promise against cancellation.
export function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export function formatHostPort(host: string, portNumber: number): string {
  return net.isIPv6(host) ? `[${host}]:${portNumber}` : `${host}:${portNumber}`;
}
