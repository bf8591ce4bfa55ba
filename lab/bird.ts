// BIRD 2 (Debian `bird2`) as the lab's upstream router: one eBGP session to a node, every route it learns put in the
// kernel (so `ip monitor route` sees it). A router that is not FRR, for comparing speakers fairly (bench/peers.ts).
import fs from 'node:fs';
import path from 'node:path';
import { run } from './netns.js';
import { waitFor } from './process.js';
import type { Lab, LabNode } from './lab.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

export interface BirdOptions {
  routerId: string;
  localAddress: string;
  localAs: number;
  neighbor: { address: string; as: number };
}

export interface BirdRouter {
  socket: string;
  birdc(...args: string[]): Promise<string>;
  // Resolves once the session to the neighbour is Established (whichever speaker the node runs now).
  waitEstablished(timeoutMs?: number): Promise<void>;
}

// Short timers: a speaker that stops is noticed at once (TCP close) or within 3 s, and the next one is accepted within
// ~1 s (error wait 1-2 s instead of 60-300 s).
export function birdConf(options: BirdOptions): string {
  return [
    `router id ${options.routerId};`,
    'protocol device { scan time 10; }',
    'protocol kernel kernel4 { ipv4 { import none; export all; }; scan time 10; }',
    'protocol bgp node {',
    `  local ${options.localAddress} as ${options.localAs};`,
    `  neighbor ${options.neighbor.address} as ${options.neighbor.as};`,
    '  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;',
    '  ipv4 { import all; export none; };',
    '}',
    '',
  ].join('\n');
}

export async function startBird(lab: Lab, node: LabNode, options: BirdOptions): Promise<BirdRouter> {
  const dir = path.join(node.dir, 'bird');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'bird.conf');
  const socket = path.join(dir, 'bird.ctl');
  fs.writeFileSync(conf, birdConf(options));
  const daemon = lab.startDaemon(node, 'bird', BIRD, ['-f', '-c', conf, '-s', socket, '-P', path.join(dir, 'bird.pid')]);
  const birdc = async (...args: string[]) => (await run(BIRDC, ['-s', socket, ...args], { timeoutMs: 5000 })).stdout;
  await waitFor(
    'bird to answer birdc',
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`bird exited: ${daemon.output().slice(-2000)}`);
      return fs.existsSync(socket) && /BIRD/.test(await birdc('show', 'status'));
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  return {
    socket,
    birdc,
    waitEstablished: (timeoutMs = 30_000) =>
      waitFor('BIRD: the BGP session to the node Established', async () => /Established/.test(await birdc('show', 'protocols', 'node')), {
        timeoutMs,
        intervalMs: 100,
      }).then(() => undefined),
  };
}
