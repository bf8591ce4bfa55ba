// `npm run demo`: a router and two anycast DNS nodes on real FRR, narrated failover and maintenance, then clean-up.
// Exits non-zero when an expectation fails. Needs root (network namespaces) and the Debian packages.
import { buildAnycastLab, type AnycastLab } from './topology.js';
import { agentConfig, startAgent, type AgentProcess, type HealthcastService } from './healthcast.js';
import { describeRoute, kernelRoute } from './routes.js';
import { waitFor } from './process.js';
import { missingPrerequisites } from '../test/support/prereq.js';
import type { LabNode } from './lab.js';
import type { Unbound } from './unbound.js';

const V4 = '192.0.2.53/32';
const V6 = '2001:db8:53::53/128';
// Port 53 is safe here: each unbound listens inside its own private namespace.
const DNS_PORT = 53;
// After a health withdrawal the agent waits this long before announcing again (damps flapping).
const HOLD_DOWN_MS = 3000;
const t0 = Date.now();
// Piped into `head`, the narration may lose its reader; the lab must still be torn down properly.
process.stdout.on('error', () => undefined);

function say(message: string): void {
  process.stdout.write(`[${String(Date.now() - t0).padStart(6)} ms] ${message}\n`);
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(`expectation failed: ${message}`);
}

function service(): HealthcastService {
  return {
    name: 'dns',
    addresses: ['192.0.2.53', '2001:db8:53::53'],
    interval: '200ms',
    timeout: '150ms',
    rise: 3,
    fall: 2,
    hold_down: `${HOLD_DOWN_MS}ms`,
    probes: [{ type: 'dns', server: '127.0.0.1', port: DNS_PORT, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  };
}

function startUnbound(topology: AnycastLab, node: LabNode, name = 'unbound'): Promise<Unbound> {
  return topology.lab.startUnbound(node, {
    name,
    port: DNS_PORT,
    addresses: ['0.0.0.0', '::'],
    records: [
      { name: 'probe.test', type: 'A', value: '192.0.2.1' },
      // Tells the narration which node answered.
      { name: 'whoami.test', type: 'TXT', value: `node ${node.name}` },
    ],
  });
}

// The nodes the router's kernel sends the prefix to, from the outgoing interfaces (to-a, to-b).
async function routedTo(topology: AnycastLab, prefix: string): Promise<string[]> {
  const route = await kernelRoute(topology.router, prefix);
  if (!route) return [];
  const hops = route.nexthops && route.nexthops.length > 0 ? route.nexthops : [route];
  return hops.map((hop) => (hop.dev ?? '').replace(/^to-/, '')).sort();
}

// Waits until both service prefixes go to exactly these nodes; returns the milliseconds it took.
async function waitRoutedTo(topology: AnycastLab, nodes: readonly string[], timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  const want = [...nodes].sort().join(',');
  await waitFor(
    `both service prefixes routed to [${want}]`,
    async () => (await routedTo(topology, V4)).join(',') === want && (await routedTo(topology, V6)).join(',') === want,
    { timeoutMs, intervalMs: 10 },
  );
  return Date.now() - started;
}

async function printRoutes(topology: AnycastLab): Promise<void> {
  for (const prefix of [V4, V6]) say(`  router: ${await describeRoute(topology.router, prefix)}`);
}

// Which node answered a query sent from the router's namespace, or why none did.
async function whoAnswers(topology: AnycastLab, server: string): Promise<string> {
  try {
    const { stdout } = await topology.router.exec('dig', ['+short', '+time=1', '+tries=1', '-p', String(DNS_PORT), `@${server}`, 'whoami.test', 'TXT'], {
      timeoutMs: 5000,
    });
    return stdout.trim().replace(/"/g, '') || 'empty answer';
  } catch {
    return 'no answer';
  }
}

async function queryBoth(topology: AnycastLab, expected: readonly string[]): Promise<void> {
  for (const server of ['192.0.2.53', '2001:db8:53::53']) {
    const answer = await whoAnswers(topology, server);
    say(`  dig @${server} whoami.test TXT (from the router) -> ${answer}`);
    expect(expected.map((name) => `node ${name}`).includes(answer), `the answer for ${server} comes from ${expected.join(' or ')}, got "${answer}"`);
  }
}

async function main(): Promise<void> {
  const missing = missingPrerequisites({
    root: true,
    commands: ['ip', 'vtysh', 'unbound', 'dig', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'],
  });
  if (missing.length > 0) throw new Error(`cannot run the demo: ${missing.join('; ')}`);

  say('building the lab: router + anycast nodes a and b (namespaces, veths, zebra/ospfd/ospf6d each)');
  const topology = await buildAnycastLab({ nodes: 2, name: 'demo' });
  const { lab } = topology;
  const [a, b] = topology.nodes as [LabNode, LabNode];
  try {
    say(`OSPF and OSPFv3 adjacencies Full after ${topology.readyMs} ms (namespaces ${lab.namespaces().join(', ')})`);

    const unbound: Record<string, Unbound> = { a: await startUnbound(topology, a), b: await startUnbound(topology, b) };
    say(
      `unbound answering on a (PID ${unbound.a!.pid}) and b (PID ${unbound.b!.pid}); starting healthcast on both (rise 3, fall 2, every 200 ms, hold-down ${HOLD_DOWN_MS} ms)`,
    );
    const agents: Record<string, AgentProcess> = {};
    const config = (stateDir: string) => agentConfig(stateDir, [service()]);
    [agents.a, agents.b] = await Promise.all([startAgent(lab, a, { config }), startAgent(lab, b, { config })]);
    const ms = await waitRoutedTo(topology, ['a', 'b']);
    say(`both nodes announced: the router has ECMP routes to a and b (${ms} ms after the agents started)`);
    await printRoutes(topology);
    await queryBoth(topology, ['a', 'b']);

    say(`killing unbound on a (SIGKILL to PID ${unbound.a!.pid})`);
    let started = Date.now();
    await unbound.a!.daemon.stop('SIGKILL');
    const down = await agents.a!.waitForPhase('dns', 'down');
    say(`  healthcast on a: dns -> down after ${down.time - started} ms (${String(down.reason)})`);
    await waitRoutedTo(topology, ['b']);
    say(`a withdrawn: the router routes the anycast addresses to b only, ${Date.now() - started} ms after the kill`);
    await printRoutes(topology);
    await queryBoth(topology, ['b']);

    say('starting unbound on a again');
    started = Date.now();
    const since = agents.a!.lines().length;
    unbound.a = await startUnbound(topology, a, 'unbound2');
    const up = await agents.a!.waitForPhase('dns', 'up', { since });
    await waitRoutedTo(topology, ['a', 'b']);
    say(
      `a announced again: up after ${up.time - started} ms (3 successful probes, and not before the ${HOLD_DOWN_MS} ms hold-down since the withdraw), on the router after ${Date.now() - started} ms`,
    );
    await printRoutes(topology);

    say(`maintenance on b: SIGTSTP to b's healthcast (PID ${agents.b!.pid})`);
    started = Date.now();
    agents.b!.signal('SIGTSTP');
    await waitRoutedTo(topology, ['a']);
    say(`b withdrawn after ${Date.now() - started} ms; a carries the traffic`);
    await waitFor("b's healthcast to stop itself", () => agents.b!.state() === 'T', { timeoutMs: 5000 });
    say(`  b's healthcast process state: ${agents.b!.state()} (stopped); unbound on b still runs (PID ${unbound.b!.pid})`);
    await printRoutes(topology);
    await queryBoth(topology, ['a']);

    say(`maintenance over: SIGCONT to b's healthcast (PID ${agents.b!.pid})`);
    started = Date.now();
    agents.b!.signal('SIGCONT');
    await waitRoutedTo(topology, ['a', 'b']);
    say(`b announced again after ${Date.now() - started} ms (rise successes needed again)`);
    await printRoutes(topology);

    say('clean-up: SIGTERM to both agents (they withdraw everything and exit 0)');
    started = Date.now();
    for (const agent of Object.values(agents)) agent.signal('SIGTERM');
    const codes = await Promise.all(Object.values(agents).map((agent) => agent.exited));
    expect(
      codes.every((code) => code === 0),
      `both agents exit 0 (got ${codes.join(', ')})`,
    );
    await waitRoutedTo(topology, []);
    say(`agents exited 0 and the router has no route to the anycast addresses (${Date.now() - started} ms)`);
  } finally {
    await lab.destroy();
    say('lab destroyed: daemons stopped, namespaces deleted, files removed');
  }
}

main().then(
  () => say(`demo finished in ${Date.now() - t0} ms`),
  (error: unknown) => {
    say(`demo FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
