// A real unbound in the foreground that answers only its own records and never recurses.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startDaemon, waitForOutput, type Daemon } from './process.js';

export interface DnsRecord {
  name: string;
  type: string;
  value: string;
}

export interface UnboundOptions {
  dir: string;
  port: number;
  // Listen addresses; a wildcard (0.0.0.0, ::) turns on interface-automatic so replies leave from the queried address.
  addresses?: readonly string[];
  records: readonly DnsRecord[];
  // Run inside this network namespace (via `ip netns exec`).
  netns?: string;
  timeoutMs?: number;
}

export interface Unbound {
  daemon: Daemon;
  pid: number;
  port: number;
  configFile: string;
  stop(): Promise<void>;
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function recordLine(record: DnsRecord): string {
  const value = record.type.toUpperCase() === 'TXT' && !record.value.startsWith('"') ? `"${record.value}"` : record.value;
  return `  local-data: '${absolute(record.name)} 60 IN ${record.type.toUpperCase()} ${value}'`;
}

// The config text alone, so a test can read exactly what unbound was given.
export function unboundConf(options: UnboundOptions): string {
  const addresses = options.addresses ?? ['127.0.0.1', '::1'];
  const wildcard = addresses.some((address) => address === '0.0.0.0' || address === '::' || address === '::0');
  return [
    'server:',
    `  directory: "${options.dir}"`,
    '  username: ""',
    '  chroot: ""',
    '  do-daemonize: no',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    `  pidfile: "${path.join(options.dir, 'unbound.pid')}"`,
    '  num-threads: 1',
    '  module-config: "iterator"',
    `  port: ${options.port}`,
    ...addresses.map((address) => `  interface: ${address}@${options.port}`),
    ...(wildcard ? ['  interface-automatic: yes'] : []),
    '  do-ip4: yes',
    '  do-ip6: yes',
    '  access-control: 0.0.0.0/0 allow',
    '  access-control: ::/0 allow',
    // Without this an unknown name makes unbound ask the public root servers.
    '  local-zone: "." static',
    ...options.records.map(recordLine),
    'remote-control:',
    '  control-enable: no',
    '',
  ].join('\n');
}

// Starts unbound and resolves once it has opened its sockets (~60 ms).
export async function startUnbound(options: UnboundOptions): Promise<Unbound> {
  fs.mkdirSync(options.dir, { recursive: true });
  const configFile = path.join(options.dir, 'unbound.conf');
  fs.writeFileSync(configFile, unboundConf(options));
  const argv = ['-d', '-c', configFile];
  const name = options.netns ? `${options.netns}/unbound` : 'unbound';
  const daemon = options.netns
    ? startDaemon(name, 'ip', ['netns', 'exec', options.netns, 'unbound', ...argv], { logFile: path.join(options.dir, 'unbound.log') })
    : startDaemon(name, 'unbound', argv, { logFile: path.join(options.dir, 'unbound.log') });
  try {
    await waitForOutput(daemon, /start of service/, options.timeoutMs ?? 10_000);
  } catch (error) {
    await daemon.stop('SIGKILL');
    throw error;
  }
  return { daemon, pid: daemon.pid, port: options.port, configFile, stop: () => daemon.stop('SIGTERM', 3000) };
}

// A port free for both UDP and TCP on 127.0.0.1 in this namespace right now (tests run concurrently).
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address() as net.AddressInfo;
        server.close(() => resolve(address.port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found for UDP and TCP');
}
