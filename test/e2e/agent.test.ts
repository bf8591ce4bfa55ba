// The agent on real FRR: a router namespace learns the node's service addresses only while unbound is healthy.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { buildAnycastLab, type AnycastLab } from '../../lab/topology.js';
import { agentConfig, startAgent, type AgentProcess, type HealthcastService } from '../../lab/healthcast.js';
import { addressDetails } from '../../lab/netns.js';
import { waitFor } from '../../lab/process.js';
import { frrRoute, kernelRoute, waitForKernelRoute, waitForRoute } from '../../lab/routes.js';
import type { LabNode } from '../../lab/lab.js';
import type { Unbound } from '../../lab/unbound.js';

const COMMANDS = ['ip', 'vtysh', 'unbound', 'dig', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.53/32';
const V6 = '2001:db8:53::53/128';
// A second service announced as kernel routes (proto 201) instead of addresses: FRR's `redistribute kernel`.
const ROUTE_V4 = '192.0.2.54/32';
const ROUTE_V6 = '2001:db8:54::54/128';
const ALL = [V4, V6, ROUTE_V4, ROUTE_V6];
const MANUAL = '192.0.2.99/32';
const INTERVAL_MS = 200;
const FALL = 2;
const RISE = 2;
// The acceptance bound for a withdraw: fall x interval plus 1 s.
const WITHDRAW_BOUND_MS = FALL * INTERVAL_MS + 1000;
const HOLD_DOWN_MS = 1000;

function services(port: number): HealthcastService[] {
  return [service(port, 'dns', 'address', [V4, V6]), service(port, 'dns-route', 'route', [ROUTE_V4, ROUTE_V6])];
}

function service(port: number, name: string, announce: 'address' | 'route', prefixes: string[]): HealthcastService {
  return {
    name,
    addresses: prefixes.map((prefix) => prefix.slice(0, prefix.indexOf('/'))),
    announce,
    interval: `${INTERVAL_MS}ms`,
    timeout: '150ms',
    rise: RISE,
    fall: FALL,
    hold_down: `${HOLD_DOWN_MS}ms`,
    probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  };
}

// Every service prefix present (or absent) on the router, kernel table and FRR RIB alike; returns ms.
async function routes(topology: AnycastLab, present: boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await Promise.all(ALL.map((prefix) => waitForRoute(topology.router, prefix, present, timeoutMs)));
  return Date.now() - started;
}

// What healthcast put on the node: addresses on lo and kernel routes with its protocol number.
async function onNode(node: LabNode): Promise<string[]> {
  const addresses = (await node.addresses()).filter((cidr) => ALL.includes(cidr));
  const kernel = [...(await node.routes(4)), ...(await node.routes(6))].filter((route) => route.protocol === '201').map((route) => `route ${route.dst}`);
  return [...addresses, ...kernel].sort();
}

// The address the test added by hand is untouched on the node and still routed by the router.
async function assertManualSurvives(topology: AnycastLab, node: LabNode, when: string): Promise<void> {
  assert.ok((await node.addresses()).includes(MANUAL), `${MANUAL} is still on lo ${when}`);
  assert.ok(await kernelRoute(topology.router, MANUAL), `the router still routes ${MANUAL} ${when}`);
}

async function digFromRouter(topology: AnycastLab, server: string, port: number): Promise<string> {
  const { stdout } = await topology.router.exec('dig', ['+short', '+time=1', '+tries=1', '-p', String(port), `@${server}`, 'probe.test', 'A'], {
    timeoutMs: 5000,
  });
  return stdout.trim();
}

function report(t: TestContext, what: string, ms: number): void {
  t.diagnostic(`${what}: ${ms} ms`);
}

test('healthcast announces unbound on real FRR, withdraws on failure, pause, stop and crash recovery', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 1, name: 'e2e' });
  const { lab, router } = topology;
  const node = topology.nodes[0]!;
  try {
    report(t, 'lab converged', topology.readyMs);
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const unboundOptions = { port, addresses: ['0.0.0.0', '::'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] };
    await node.addAddress(MANUAL);
    await waitForRoute(router, MANUAL, true);

    // Healthy unbound: addresses on lo (IPv4 labelled lo:healthcast), proto 201 routes, all routed by the router.
    let unbound: Unbound = await lab.startUnbound(node, unboundOptions);
    let started = Date.now();
    let agent: AgentProcess = await startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, services(port)) });
    await routes(topology, true);
    report(t, 'agent start -> all four routes on router (kernel + RIB)', Date.now() - started);
    const details = await addressDetails(node.netns, 'lo');
    assert.equal(details.find((entry) => entry.cidr === V4)?.label, 'lo:healthcast');
    assert.ok(details.some((entry) => entry.cidr === V6));
    assert.deepEqual(await onNode(node), [V6, V4, `route ${ROUTE_V6}`, `route ${ROUTE_V4}`].sort());
    assert.equal((await kernelRoute(router, ROUTE_V4))?.protocol, 'ospf');
    assert.equal((await frrRoute(router, ROUTE_V6))?.protocol, 'ospf6');
    assert.equal((await kernelRoute(router, V4))?.protocol, 'ospf');
    assert.equal((await frrRoute(router, V6))?.protocol, 'ospf6');
    assert.equal(await digFromRouter(topology, '192.0.2.53', port), '192.0.2.1', 'the router reaches unbound on the anycast IPv4 address');
    assert.equal(await digFromRouter(topology, '2001:db8:53::53', port), '192.0.2.1', 'and on the anycast IPv6 address');
    await assertManualSurvives(topology, node, 'after announce');

    // unbound dies: withdrawn within fall x interval + 1 s, measured on the router's kernel table.
    let since = agent.lines().length;
    started = Date.now();
    await unbound.daemon.stop('SIGKILL');
    await Promise.all(ALL.map((prefix) => waitForKernelRoute(router, prefix, false, WITHDRAW_BOUND_MS)));
    const withdrawMs = Date.now() - started;
    report(t, `unbound killed -> all four routes gone from router kernel (bound ${WITHDRAW_BOUND_MS})`, withdrawMs);
    await routes(topology, false);
    const down = await agent.waitForPhase('dns', 'down', { since });
    assert.match(String(down.reason), /ECONNREFUSED|timed? ?out|timeout/i);
    assert.deepEqual(await onNode(node), []);
    await assertManualSurvives(topology, node, 'after the withdraw');

    // unbound back: announced again after rise successes, but not before the hold-down since the withdraw.
    since = agent.lines().length;
    started = Date.now();
    unbound = await lab.startUnbound(node, { ...unboundOptions, name: 'unbound2' });
    await routes(topology, true);
    report(t, `unbound restarted -> all four routes back on router (hold-down ${HOLD_DOWN_MS})`, Date.now() - started);
    const up = await agent.waitForPhase('dns', 'up', { since });
    assert.ok(up.time - down.time >= HOLD_DOWN_MS - 20, `re-announced ${up.time - down.time} ms after the withdraw, hold-down is ${HOLD_DOWN_MS} ms`);

    // SIGTSTP by PID: everything withdrawn, then the process stops itself (state T).
    since = agent.lines().length;
    started = Date.now();
    agent.signal('SIGTSTP');
    await routes(topology, false);
    await waitFor('healthcast to be stopped (state T)', () => agent.state() === 'T', { timeoutMs: 5000 });
    report(t, 'SIGTSTP -> withdrawn and process stopped', Date.now() - started);
    assert.deepEqual(await onNode(node), []);
    await assertManualSurvives(topology, node, 'while paused');

    // SIGCONT: services start afresh and come back after rise successes.
    started = Date.now();
    agent.signal('SIGCONT');
    await routes(topology, true);
    report(t, 'SIGCONT -> all four routes back on router', Date.now() - started);
    assert.notEqual(agent.state(), 'T');
    const risingAgain = await agent.waitForPhase('dns', 'up', { since });
    assert.ok(
      agent
        .lines()
        .slice(since)
        .some((line) => line.service === 'dns' && line.to === 'rising' && line.time <= risingAgain.time),
      'rise is required again after SIGCONT',
    );

    // kill -9 leaves the addresses behind; a restart (with unbound down) removes them.
    await agent.daemon.stop('SIGKILL');
    assert.deepEqual(
      await onNode(node),
      [V6, V4, `route ${ROUTE_V6}`, `route ${ROUTE_V4}`].sort(),
      'a crashed agent leaves its addresses and routes (the case crash recovery exists for)',
    );
    await unbound.daemon.stop('SIGKILL');
    started = Date.now();
    agent = await startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, services(port)) });
    await waitFor('stale addresses and routes to be removed', async () => (await onNode(node)).length === 0, { timeoutMs: 5000 });
    await routes(topology, false);
    report(t, 'restart after kill -9 -> stale addresses removed and withdrawn', Date.now() - started);
    await assertManualSurvives(topology, node, 'after crash recovery');
    unbound = await lab.startUnbound(node, { ...unboundOptions, name: 'unbound3' });
    await routes(topology, true);

    // SIGTERM: exit 0, nothing of healthcast's left on lo or on the router.
    started = Date.now();
    agent.signal('SIGTERM');
    assert.equal(await agent.exited, 0);
    report(t, 'SIGTERM -> exited 0', Date.now() - started);
    assert.equal(
      (await addressDetails(node.netns, 'lo')).some((entry) => entry.label === 'lo:healthcast'),
      false,
    );
    assert.deepEqual(await onNode(node), []);
    await routes(topology, false);
    await assertManualSurvives(topology, node, 'after SIGTERM');
  } finally {
    await lab.destroy();
  }
});
