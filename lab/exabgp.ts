// ExaBGP 4.2 (Debian `exabgp`) with its healthcheck program, one process per service, as its documentation configures
// it: a `process` per check, all on one neighbor's `api`. Stopped within seconds whatever it does: at 50 services its
// SIGTERM can hang (a healthcheck blocks on an ack during shutdown), so what is left is killed by PID.
import fs from 'node:fs';
import path from 'node:path';
import { waitFor, type Daemon } from './process.js';
import { isGone } from './proc.js';
import type { Lab, LabNode } from './lab.js';

export const EXABGP = '/usr/sbin/exabgp';
// `python3 -m exabgp healthcheck` (ExaBGP's own example) fails when another python3 comes first on PATH.
export const PYTHON = '/usr/bin/python3';

export interface ExabgpService {
  name: string;
  prefix: string; // 192.0.2.1/32
  command: string; // the check, run by a shell
}

export interface ExabgpOptions {
  routerId: string;
  localAddress: string;
  localAs: number;
  neighbor: { address: string; as: number };
  services: readonly ExabgpService[];
  intervalS: number;
  timeoutS: number;
  rise: number;
  fall: number;
  // Without it a failing service is re-announced with MED 1000 (--down-metric), not withdrawn.
  withdrawOnDown: boolean;
}

export interface Exabgp {
  daemon: Daemon;
  // Every stdout/stderr line so far with the time this process read it (ExaBGP stamps whole seconds only).
  lines: { time: number; text: string }[];
  // PIDs of ExaBGP and everything below it, now.
  tree(): number[];
  stop(graceMs?: number): Promise<{ cleanExit: boolean; killed: number }>;
}

export function exabgpConf(options: ExabgpOptions): string {
  const lines: string[] = [];
  for (const service of options.services) {
    const args = [
      'healthcheck',
      '--no-syslog',
      `--name ${service.name}`,
      `--interval ${options.intervalS}`,
      `--fast-interval ${options.intervalS}`,
      `--timeout ${options.timeoutS}`,
      `--rise ${options.rise}`,
      `--fall ${options.fall}`,
      `--cmd "${service.command}"`,
      `--ip ${service.prefix}`,
      '--no-ip-setup',
      ...(options.withdrawOnDown ? ['--withdraw-on-down'] : []),
    ];
    lines.push(`process ${service.name} {`, `  run ${PYTHON} -m exabgp ${args.join(' ')};`, '  encoder text;', '}');
  }
  lines.push(
    `neighbor ${options.neighbor.address} {`,
    `  router-id ${options.routerId};`,
    `  local-address ${options.localAddress};`,
    `  local-as ${options.localAs};`,
    `  peer-as ${options.neighbor.as};`,
    '  hold-time 3;',
    `  api services { processes [ ${options.services.map((s) => s.name).join(' ')} ]; }`,
    '}',
    '',
  );
  return lines.join('\n');
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// A process and all its descendants (from /proc/PID/task/PID/children).
export function processTree(root: number): number[] {
  const all: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (isGone(pid)) continue;
    all.push(pid);
    queue.push(...children(pid));
  }
  return all;
}

export async function startExabgp(lab: Lab, node: LabNode, options: ExabgpOptions & { name?: string }): Promise<Exabgp> {
  const name = options.name ?? 'exabgp';
  const dir = path.join(node.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'exabgp.conf');
  fs.writeFileSync(conf, exabgpConf(options));
  const env = {
    ...process.env,
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.drop': 'false',
    'exabgp.daemon.daemonize': 'false',
    'exabgp.api.cli': 'false',
    'exabgp.log.destination': 'stdout',
    PYTHONUNBUFFERED: '1',
  };
  const daemon = lab.startDaemon(node, name, EXABGP, [conf], { env });
  const lines: { time: number; text: string }[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const time = Date.now();
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) if (text.trim()) lines.push({ time, text });
  };
  daemon.child.stdout?.on('data', collect);
  daemon.child.stderr?.on('data', collect);
  // `ip netns exec` execs, so the daemon's PID is ExaBGP's.
  const tree = () => processTree(daemon.pid);
  await waitFor('ExaBGP to load its configuration', () => {
    if (daemon.child.exitCode !== null) throw new Error(`exabgp exited: ${daemon.output().slice(-2000)}`);
    return lines.some((line) => /loaded new configuration successfully/.test(line.text));
  });
  return {
    daemon,
    lines,
    tree,
    async stop(graceMs = 3000) {
      const pids = tree();
      daemon.child.kill('SIGTERM');
      let cleanExit = true;
      try {
        await waitFor('ExaBGP and its checks to exit after SIGTERM', () => pids.every(isGone), { timeoutMs: graceMs, intervalMs: 20 });
      } catch {
        cleanExit = false;
      }
      let killed = 0;
      for (const pid of [...new Set([...pids, ...tree()])]) {
        if (isGone(pid)) continue;
        try {
          process.kill(pid, 'SIGKILL');
          killed += 1;
        } catch {
          // gone meanwhile
        }
      }
      await waitFor('ExaBGP and its checks to be gone', () => pids.every(isGone), { timeoutMs: 5000, intervalMs: 20 });
      return { cleanExit, killed };
    },
  };
}
