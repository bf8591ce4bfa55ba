// Parses `metrics.listen` ("127.0.0.1:9735", "[::1]:9735") into what http.Server#listen takes.
import net from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

// Returns the address, or a message saying what is wrong with it.
export function parseListen(raw: string): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  if (!match) return `not HOST:PORT (use e.g. "127.0.0.1:9735" or "[::1]:9735"): ${JSON.stringify(raw)}`;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (net.isIP(host) === 0) return `host must be an IP address, got ${JSON.stringify(host)}`;
  if (match[1] !== undefined && net.isIP(host) !== 6) return `only IPv6 addresses go in brackets: ${JSON.stringify(raw)}`;
  if (port > 65535) return `port must be 0-65535 (0: any free port, logged at start), got ${port}`;
  return { host, port };
}

export function formatListen(address: ListenAddress): string {
  return net.isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
