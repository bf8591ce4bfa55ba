// The anycast topology: one router namespace, N node namespaces each linked to it, OSPF up everywhere.
import { Lab, type LabLink, type LabNode } from './lab.js';
import { waitForAdjacencies } from './frr.js';

export interface AnycastLab {
  lab: Lab;
  router: LabNode;
  // Nodes a, b, c... each with its link to the router.
  nodes: LabNode[];
  links: LabLink[];
  // Milliseconds from start until every adjacency was Full.
  readyMs: number;
}

const NODE_NAMES = 'abcdefghij';

// Builds and converges the lab; on any failure it is destroyed before the error propagates.
// `rejectServiceRoutes`: nodes do not install the service routes other nodes originate (see lab/frr-config.ts).
export async function buildAnycastLab(options: { nodes?: number; name?: string; rejectServiceRoutes?: boolean } = {}): Promise<AnycastLab> {
  const count = options.nodes ?? 1;
  if (count < 1 || count > NODE_NAMES.length) throw new Error(`nodes must be 1-${NODE_NAMES.length}`);
  const started = Date.now();
  const lab = await Lab.create({ name: options.name ?? 'anycast' });
  try {
    const router = await lab.node('router');
    const nodes: LabNode[] = [];
    const links: LabLink[] = [];
    for (const name of NODE_NAMES.slice(0, count)) {
      const node = await lab.node(name);
      nodes.push(node);
      links.push(await lab.link(router, node));
    }
    await Promise.all([lab.startFrr(router), ...nodes.map((node) => lab.startFrr(node, { announce: true, rejectServiceRoutes: options.rejectServiceRoutes }))]);
    await Promise.all([waitForAdjacencies(router.frr!, count), ...nodes.map((node) => waitForAdjacencies(node.frr!, 1))]);
    return { lab, router, nodes, links, readyMs: Date.now() - started };
  } catch (error) {
    await lab.destroy().catch(() => undefined);
    throw error;
  }
}

// Runs fn with a converged anycast lab and destroys it whatever happens.
export async function withAnycastLab<T>(
  options: { nodes?: number; name?: string; rejectServiceRoutes?: boolean },
  fn: (topology: AnycastLab) => Promise<T>,
): Promise<T> {
  const topology = await buildAnycastLab(options);
  try {
    return await fn(topology);
  } finally {
    await topology.lab.destroy();
  }
}
