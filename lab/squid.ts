// A real squid in the foreground on a random loopback port, allowed to reach only the destinations a test names.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, waitForOutput, type Daemon } from './process.js';

export interface SquidOptions {
  // Destination ACL (squid `dst`): the only addresses squid forwards to. Default: 127.0.0.1 only.
  allowDestinations?: readonly string[];
  // Listening address; the port is picked at random.
  bind?: string;
  // Extra squid.conf lines, appended before the final `http_access deny all`.
  extraConfig?: readonly string[];
}

export interface Squid {
  address: string;
  port: number;
  dir: string;
  daemon: Daemon;
  // The access log so far, one line per request squid handled.
  accessLog(): string;
  stop(): Promise<void>;
}

const SQUID = '/usr/sbin/squid';

export function squidConfig(dir: string, bind: string, port: number, options: SquidOptions): string {
  const destinations = options.allowDestinations ?? ['127.0.0.1'];
  return [
    `http_port ${net.isIPv6(bind) ? `[${bind}]` : bind}:${port}`,
    'visible_hostname healthcast-lab',
    `pid_filename ${dir}/squid.pid`,
    `cache_log stdio:${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    'cache_store_log none',
    `coredump_dir ${dir}`,
    'netdb_filename none',
    // Never resolve names off the box: tests use IP-literal URLs only.
    'dns_nameservers 127.0.0.1',
    'cache deny all',
    'cache_mem 8 MB',
    'icp_port 0',
    'htcp_port 0',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'acl lab_clients src 127.0.0.0/8 ::1',
    `acl lab_destinations dst ${destinations.join(' ')}`,
    ...(options.extraConfig ?? []),
    'http_access allow lab_clients lab_destinations',
    'http_access deny all',
    '',
  ].join('\n');
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Starts squid and resolves once it accepts connections; retries a few times if the random port was taken meanwhile.
export async function startSquid(options: SquidOptions = {}): Promise<Squid> {
  const bind = options.bind ?? '127.0.0.1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-squid-'));
  fs.chmodSync(dir, 0o755);
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort(bind);
    const conf = path.join(dir, 'squid.conf');
    fs.writeFileSync(conf, squidConfig(dir, bind, port, options));
    // As root squid drops to user proxy, which must be able to write its logs here.
    if (process.getuid?.() === 0) for (const entry of [dir, ...fs.readdirSync(dir).map((name) => path.join(dir, name))]) fs.chownSync(entry, ...proxyIds());
    const daemon = startDaemon('squid', SQUID, ['-N', '-d', '1', '-f', conf], { cwd: dir });
    try {
      await waitForOutput(daemon, /Accepting HTTP Socket connections/, 10_000);
    } catch (error) {
      lastError = error;
      await daemon.stop('SIGKILL');
      if (/Address already in use/.test(daemon.output())) continue;
      break;
    }
    return {
      address: bind,
      port,
      dir,
      daemon,
      accessLog: () => readOrEmpty(path.join(dir, 'access.log')),
      async stop() {
        // shutdown_lifetime 0 still leaves squid about 2 s of shutting down.
        await daemon.stop('SIGTERM', 10_000);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('squid did not start');
}

function proxyIds(): [number, number] {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('proxy:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new Error('no user "proxy" in /etc/passwd (is squid installed?)');
  return [Number(fields[2]), Number(fields[3])];
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
