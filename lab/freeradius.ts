// A real FreeRADIUS 3.2 in the foreground with one private radiusd.conf: auth and status listeners on loopback, PAP users.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startDaemon, waitForOutput, type Daemon } from './process.js';

export interface RadiusUser {
  name: string;
  password: string;
}

export interface FreeradiusOptions {
  dir: string;
  secret: string;
  // Chosen at random (free on every address) when left out.
  authPort?: number;
  statusPort?: number;
  addresses?: readonly string[];
  users?: readonly RadiusUser[];
  // Sent in every Access-Reject, so tests can see it travel into the probe's reason.
  rejectMessage?: string;
  timeoutMs?: number;
}

export interface Freeradius {
  daemon: Daemon;
  pid: number;
  authPort: number;
  statusPort: number;
  configFile: string;
  stop(): Promise<void>;
}

// Values go into the config between double quotes; keep them to characters that need no escaping.
const SAFE = /^[A-Za-z0-9 ._:@+=-]{1,64}$/;

function safe(what: string, value: string): string {
  if (!SAFE.test(value)) throw new Error(`${what} must match ${SAFE} to be written into radiusd.conf`);
  return value;
}

// The config text alone, so a test (or the docs) can read exactly what FreeRADIUS was given.
export function freeradiusConf(options: FreeradiusOptions & { authPort: number; statusPort: number }): string {
  const dir = options.dir;
  const addresses = options.addresses ?? ['127.0.0.1', '::1'];
  const users = options.users ?? [{ name: 'probe', password: 'probepass' }];
  const listen = (type: string, port: number) =>
    addresses.flatMap((address) => [
      '  listen {',
      `    type = ${type}`,
      `    ${net.isIPv6(address) ? 'ipv6addr' : 'ipaddr'} = ${address}`,
      `    port = ${port}`,
      '  }',
    ]);
  const clients = addresses.flatMap((address, index) => [
    `client lab${index} {`,
    `  ${net.isIPv6(address) ? 'ipv6addr' : 'ipaddr'} = ${address}`,
    `  secret = "${safe('secret', options.secret)}"`,
    '}',
  ]);
  const userChecks = users.flatMap((user, index) => [
    `    ${index === 0 ? 'if' : 'elsif'} (User-Name == "${safe('user name', user.name)}") {`,
    `      update control {`,
    `        Cleartext-Password := "${safe('password', user.password)}"`,
    '      }',
    '    }',
  ]);
  return [
    'prefix = /usr',
    `localstatedir = ${dir}`,
    `raddbdir = ${dir}`,
    `confdir = ${dir}`,
    `logdir = ${dir}`,
    `run_dir = ${dir}`,
    'libdir = /usr/lib/freeradius',
    `pidfile = ${path.join(dir, 'radiusd.pid')}`,
    'security {',
    '  status_server = yes',
    '  allow_core_dumps = no',
    '  reject_delay = 0',
    '}',
    'log {',
    '  destination = stdout',
    '  auth = yes',
    '}',
    'modules {',
    '  pap {',
    '  }',
    // `ok` is not built in: without an `always` instance FreeRADIUS refuses the config.
    '  always ok {',
    '    rcode = ok',
    '  }',
    '}',
    ...clients,
    'server healthcast {',
    ...listen('auth', options.authPort),
    ...listen('status', options.statusPort),
    '  authorize {',
    ...userChecks,
    '    pap',
    '    Autz-Type Status-Server {',
    '      ok',
    '    }',
    '  }',
    '  authenticate {',
    '    Auth-Type PAP {',
    '      pap',
    '    }',
    '  }',
    '  post-auth {',
    '    ok',
    '    Post-Auth-Type REJECT {',
    ...(options.rejectMessage ? ['      update reply {', `        Reply-Message := "${safe('reject message', options.rejectMessage)}"`, '      }'] : []),
    '      ok',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

// Starts FreeRADIUS and resolves once it logs "Ready to process requests" (~65 ms); retries when a random port was taken meanwhile.
export async function startFreeradius(options: FreeradiusOptions): Promise<Freeradius> {
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const addresses = options.addresses ?? ['127.0.0.1', '::1'];
  for (let attempt = 1; ; attempt += 1) {
    const authPort = options.authPort ?? (await freeUdpPort(addresses));
    const statusPort = options.statusPort ?? (await freeUdpPort(addresses, [authPort]));
    const configFile = path.join(options.dir, 'radiusd.conf');
    fs.writeFileSync(configFile, freeradiusConf({ ...options, authPort, statusPort }), { mode: 0o600 });
    const daemon = startDaemon('freeradius', 'freeradius', ['-f', '-l', 'stdout', '-d', options.dir, '-n', 'radiusd'], {
      logFile: path.join(options.dir, 'freeradius.log'),
    });
    try {
      await waitForOutput(daemon, /Ready to process requests/, options.timeoutMs ?? 10_000);
      return { daemon, pid: daemon.pid, authPort, statusPort, configFile, stop: () => daemon.stop('SIGTERM', 3000) };
    } catch (error) {
      await daemon.stop('SIGKILL');
      const randomPorts = options.authPort === undefined || options.statusPort === undefined;
      if (!randomPorts || attempt >= 3 || !/Address already in use/.test(daemon.output())) throw error;
    }
  }
}

// A UDP port free on every given address right now (tests run concurrently, so the caller still handles a lost race).
export async function freeUdpPort(addresses: readonly string[] = ['127.0.0.1'], avoid: readonly number[] = []): Promise<number> {
  const [first = '127.0.0.1', ...rest] = addresses;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await bindProbe(first, 0);
    if (port === undefined || avoid.includes(port)) continue;
    const others = await Promise.all(rest.map((address) => bindProbe(address, port)));
    if (others.every((result) => result === port)) return port;
  }
  throw new Error(`no UDP port free on ${addresses.join(', ')}`);
}

function bindProbe(address: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(undefined));
    socket.bind(port, address, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}
