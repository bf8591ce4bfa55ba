// A real syslog-ng 3.38 in the foreground as a relay: loopback inputs, one network() destination, probe messages only.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startDaemon, waitForOutput, type Daemon } from './process.js';
import { freePort } from './unbound.js';

export type SyslogInput =
  // network() source: UDP datagrams, or TCP with one message per LF-terminated line.
  | { driver: 'network'; transport: 'udp' | 'tcp'; port?: number }
  // syslog() source over TCP: RFC 6587 octet counting.
  | { driver: 'syslog'; transport: 'tcp'; port?: number };

export interface SyslogNgOptions {
  dir: string;
  inputs: readonly SyslogInput[];
  address?: string;
  forward: { address: string; port: number; transport: 'udp' | 'tcp' };
  // Seconds before syslog-ng retries a destination it saw fail; its default is 60.
  timeReopen?: number;
  // Forward only lines containing "healthcast-probe" (the documented relay setup).
  probeOnly?: boolean;
  timeoutMs?: number;
}

export interface SyslogNg {
  daemon: Daemon;
  pid: number;
  // The input ports actually used, in the order of options.inputs.
  ports: number[];
  configFile: string;
  stop(): Promise<void>;
}

const quoteSafe = (value: string) => {
  if (!/^[0-9A-Fa-f.:]+$/.test(value)) throw new Error(`not an IP address for syslog-ng.conf: ${value}`);
  return value;
};

// The config text alone, so a test (or the docs) can read exactly what syslog-ng was given.
export function syslogNgConf(options: SyslogNgOptions & { ports: readonly number[] }): string {
  const address = quoteSafe(options.address ?? '127.0.0.1');
  const sources = options.inputs.map(
    (input, index) => `  ${input.driver}(ip("${address}") port(${options.ports[index]}) transport("${input.transport}") flags(no-parse));`,
  );
  const { forward } = options;
  const probeOnly = options.probeOnly ?? true;
  return [
    '@version: 3.38',
    // stats(freq(0)) is a syntax error in 3.38.
    'options { stats-freq(0); };',
    'source s_probe {',
    ...sources,
    '};',
    'filter f_probe { message("healthcast-probe"); };',
    `destination d_probe { network("${quoteSafe(forward.address)}" port(${forward.port}) transport("${forward.transport}") template("$MSG\\n") time-reopen(${options.timeReopen ?? 1})); };`,
    `log { source(s_probe);${probeOnly ? ' filter(f_probe);' : ''} destination(d_probe); };`,
    '',
  ].join('\n');
}

// Starts syslog-ng and resolves once it logs "syslog-ng starting up"; retries when a random port was taken meanwhile.
export async function startSyslogNg(options: SyslogNgOptions): Promise<SyslogNg> {
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  if (!net.isIP(options.forward.address)) throw new Error('forward.address must be an IP address');
  for (let attempt = 1; ; attempt += 1) {
    const ports: number[] = [];
    for (const input of options.inputs) ports.push(input.port ?? (await freePort()));
    const configFile = path.join(options.dir, 'syslog-ng.conf');
    fs.writeFileSync(configFile, syslogNgConf({ ...options, ports }));
    const files = (name: string) => path.join(options.dir, name);
    // Unlike the distro service: no capabilities, private persist/pid/control files, log to stderr.
    const argv = ['-F', '-e', '--no-caps', '-f', configFile, '-R', files('syslog-ng.persist'), '-p', files('syslog-ng.pid'), '-c', files('syslog-ng.ctl')];
    const daemon = startDaemon('syslog-ng', 'syslog-ng', argv, { logFile: files('syslog-ng.log') });
    try {
      await waitForOutput(daemon, /syslog-ng starting up/, options.timeoutMs ?? 10_000);
      return { daemon, pid: daemon.pid, ports, configFile, stop: () => daemon.stop('SIGTERM', 3000) };
    } catch (error) {
      await daemon.stop('SIGKILL');
      const random = options.inputs.some((input) => input.port === undefined);
      if (!random || attempt >= 3 || !/Address already in use/.test(daemon.output())) throw error;
    }
  }
}
