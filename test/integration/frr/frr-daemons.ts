// Real FRR daemons in a lab node, started from config text we give them (the lab's own startFrr renders its own
// configs). Three ways to load a config, as operators do: split files (-f DAEMON.conf), the integrated frr.conf
// read by each daemon (-f frr.conf), or the integrated file pushed by vtysh into daemons started empty, which is
// what FRR's boot does (`vtysh -b`).
import fs from 'node:fs';
import path from 'node:path';
import type { Lab, LabNode } from '../../../lab/lab.js';
import { run } from '../../../lab/netns.js';
import { type Daemon } from '../../../lab/process.js';
import { claimSharedState, FRR_BIN, frrDaemonArgs, releaseSharedState, waitForSocket } from '../../../lab/frr.js';
import { createVtysh, type Vtysh } from '../../../src/frr/vtysh.js';

export type FrrDaemonName = 'zebra' | 'ospfd' | 'ospf6d' | 'bgpd' | 'bfdd';
export type LoadMode = 'split' | 'integrated-each' | 'integrated-vtysh';

export interface StartedFrr {
  dir: string;
  daemons: Daemon[];
  vtysh: Vtysh;
  // Every daemon's output so far, for failure messages.
  logs(): string;
  stop(): Promise<void>;
}

// Starts zebra, waits for zserv.api, then the others; stopped (protocol daemons first) on stop() or lab destroy.
export async function startFrrWithConfig(
  lab: Lab,
  node: LabNode,
  options: { daemons: readonly FrrDaemonName[]; files: Readonly<Record<string, string>>; mode: LoadMode; timeoutMs?: number },
): Promise<StartedFrr> {
  const dir = path.join(node.dir, 'frr-custom');
  const timeoutMs = options.timeoutMs ?? 10_000;
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(options.files)) fs.writeFileSync(path.join(dir, name), text);
  fs.writeFileSync(path.join(dir, 'empty.conf'), '');
  // A stale socket makes the protocol daemons retry only after ~10 s; the daemons run as user frr.
  fs.rmSync(path.join(dir, 'zserv.api'), { force: true });
  await run('chown', ['-R', 'frr:frr', dir]);

  const configFor = (daemon: FrrDaemonName) =>
    path.join(dir, options.mode === 'split' ? `${daemon}.conf` : options.mode === 'integrated-each' ? 'frr.conf' : 'empty.conf');
  const daemons: Daemon[] = [];
  const vtysh = createVtysh({ vtySocket: dir, timeoutMs: 5000 });
  let stopped = false;
  claimSharedState();
  const started: StartedFrr = {
    dir,
    daemons,
    vtysh,
    logs: () => daemons.map((daemon) => `--- ${daemon.name}\n${daemon.output().slice(-3000)}`).join('\n'),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const daemon of [...daemons].reverse()) await daemon.stop('SIGTERM', 5000);
      releaseSharedState();
    },
  };
  lab.onDestroy(`FRR in ${node.netns}`, () => started.stop());
  const names: FrrDaemonName[] = [];
  const start = (name: FrrDaemonName): Daemon => {
    const daemon = lab.startDaemon(node, `frr-${name}`, path.join(FRR_BIN, name), frrDaemonArgs(name, dir, configFor(name)));
    daemons.push(daemon);
    names.push(name);
    return daemon;
  };

  const zebra = start('zebra');
  await waitForSocket(zebra, path.join(dir, 'zserv.api'), timeoutMs);
  for (const daemon of options.daemons.filter((name) => name !== 'zebra')) start(daemon);
  for (const [index, daemon] of daemons.entries()) await waitForSocket(daemon, path.join(dir, `${names[index]}.vty`), timeoutMs);
  if (options.mode === 'integrated-vtysh') {
    // vtysh -f applies the file through the running daemons, each command to the daemon that owns it.
    await run('vtysh', ['--vty_socket', dir, '-f', path.join(dir, 'frr.conf')], { timeoutMs });
  }
  return started;
}
