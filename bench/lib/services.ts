// Many identical DNS-probed services for the load benchmarks, each with its own address.

// Service i's address: IPv6 from the documentation range (1,000 do not fit in 192.0.2.0/24).
export const serviceAddress = (i: number) => `2001:db8:100::${(i + 1).toString(16)}`;
export const SERVICE_PREFIX = '2001:db8:100::';

export function dnsServices(
  count: number,
  port: number,
  options: { interval?: string; drain?: string; query?: (i: number) => string } = {},
): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `svc${String(i).padStart(4, '0')}`,
    addresses: [serviceAddress(i)],
    interval: options.interval ?? '1s',
    timeout: '500ms',
    rise: 2,
    fall: 2,
    ...(options.drain !== undefined ? { drain: options.drain } : {}),
    probes: [{ type: 'dns', server: '127.0.0.1', port, query: options.query?.(i) ?? 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  }));
}
