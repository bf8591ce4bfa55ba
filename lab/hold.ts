// Builds an anycast lab and holds it until SIGINT/SIGTERM: for poking at it by hand, and for the tear-down test.
// Usage: node dist/lab/hold.js [nodes]   (prints one JSON line describing the lab once it has converged)
import { buildAnycastLab } from './topology.js';

const count = Number(process.argv[2] ?? '1');
const topology = await buildAnycastLab({ nodes: count, name: 'hold' });
const all = [topology.router, ...topology.nodes];
process.stdout.write(
  `${JSON.stringify({
    id: topology.lab.id,
    dir: topology.lab.dir,
    readyMs: topology.readyMs,
    namespaces: topology.lab.namespaces(),
    pids: all.flatMap((node) => node.frr?.daemons.map((daemon) => daemon.pid) ?? []),
    vtysh: Object.fromEntries(all.map((node) => [node.name, `vtysh --vty_socket ${node.frr?.dir}`])),
  })}\n`,
);
// Keep the event loop alive; the lab's own signal handlers tear down and exit.
setInterval(() => undefined, 60_000);
