// The dead man's switch on real FRR: an agent started the rc.local way (`run --daemon --pidfile`) with `lease: 3s`;
// killed with -9 and never restarted, the router loses its service routes within lease + 2 s. Frozen with SIGSTOP,
// the same; on SIGCONT the agent notices it did not run, starts every service afresh and announces again only after
// fresh probes: a service that died during the freeze never comes back (the agent used to re-add the addresses at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { requirePrerequisites } from '../support/prereq.js';
import { buildAnycastLab } from '../../lab/topology.js';
import { agentConfig, agentPaths, healthcastArgv, startAgent, writeConfig } from '../../lab/healthcast.js';
import { withLab } from '../../lab/lab.js';
import { BGP_LAB_COMMANDS, buildBgpLab, networkLines, NODE_AS } from '../integration/routing/bgp-lab.js';
import { waitFor } from '../../lab/process.js';
import { kernelRoute, waitForKernelRoute, waitForRoute } from '../../lab/routes.js';
import { startMonitor } from '../../lab/monitor.js';
import { controlRequest } from '../../src/control/client.js';
import type { StatusJson } from '../../src/control/status.js';
import type { LabNode } from '../../lab/lab.js';

const COMMANDS = ['ip', 'vtysh', 'unbound', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.53/32';
const V6 = '2001:db8:53::53/128';
const LEASE_MS = 3000;
const BOUND_MS = LEASE_MS + 2000;
const INTERVAL_MS = 200;
const RISE = 3;

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

// rc.local: `healthcast run --daemon --pidfile FILE` returns once the agent runs; its pid is in the pidfile.
async function startDaemon(node: LabNode, configFile: string, name: string): Promise<{ pid: number; logFile: string }> {
  const pidfile = path.join(node.dir, `${name}.pid`);
  const logFile = path.join(node.dir, `${name}.log`);
  const log = fs.openSync(logFile, 'a');
  const launcher = spawn('ip', ['netns', 'exec', node.netns, ...healthcastArgv(['run', '--daemon', '--pidfile', pidfile, '--config', configFile]).flat()], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const code = await new Promise<number | null>((resolve) => launcher.once('exit', resolve));
  assert.equal(code, 0, fs.readFileSync(logFile, 'utf8'));
  return { pid: Number(fs.readFileSync(pidfile, 'utf8')), logFile };
}

test('lease: kill -9 or SIGSTOP of an rc.local agent withdraws its addresses within lease + 2 s', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 1, name: 'lease' });
  const { lab, router } = topology;
  const node = topology.nodes[0]!;
  const pids: number[] = [];
  try {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const startUnbound = () => lab.startUnbound(node, { port, addresses: ['0.0.0.0', '::'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    let unbound = await startUnbound();
    const { configFile, stateDir } = agentPaths(node);
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    const service = {
      name: 'dns',
      addresses: [V4, V6].map((prefix) => prefix.slice(0, prefix.indexOf('/'))),
      interval: `${INTERVAL_MS}ms`,
      rise: RISE,
      probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
    };
    writeConfig(configFile, agentConfig(stateDir, [service], { lease: `${LEASE_MS}ms`, reconcile_interval: '10s' }));
    const socket = path.join(path.dirname(stateDir), 'control.sock');

    // 1. kill -9: nothing withdraws, the kernel expires the addresses, FRR withdraws them.
    let agent = await startDaemon(node, configFile, 'first');
    pids.push(agent.pid);
    await Promise.all([V4, V6].map((prefix) => waitForRoute(router, prefix, true, 15_000)));
    // Through more than one lease: renewals keep the routes (a lease outliving convergence is not the point here).
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 500));
    assert.ok(
      await waitForKernelRoute(router, V4, true, 100).then(
        () => true,
        () => false,
      ),
      'still routed after a whole lease',
    );
    const status = (await controlRequest(socket, { command: 'status' }, { timeoutMs: 5000 })) as StatusJson;
    assert.equal(status.agent.lease_s, LEASE_MS / 1000);
    assert.ok(
      status.agent.lease_renewed_at !== null && Date.now() - Date.parse(status.agent.lease_renewed_at) < LEASE_MS,
      `renewed recently: ${status.agent.lease_renewed_at}`,
    );

    let started = Date.now();
    process.kill(agent.pid, 'SIGKILL');
    await Promise.all([V4, V6].map((prefix) => waitForKernelRoute(router, prefix, false, BOUND_MS)));
    t.diagnostic(`kill -9 -> both routes gone from the router: ${Date.now() - started} ms (bound ${BOUND_MS})`);
    assert.deepEqual(
      (await node.addresses()).filter((cidr) => cidr === V4 || cidr === V6),
      [],
      'the addresses expired on the node',
    );

    // 2. SIGSTOP (someone else's) beyond the lease: the same. The service dies meanwhile; on SIGCONT the agent must not
    // re-announce it on the health it knew before the freeze (the old agent's first pass re-added both addresses).
    agent = await startDaemon(node, configFile, 'second');
    pids.push(agent.pid);
    const logFile = agent.logFile;
    const logLines = () =>
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; gap_ms?: number });
    const freezes = () => logLines().filter((line) => /^the agent did not run for/.test(line.msg));
    await Promise.all([V4, V6].map((prefix) => waitForRoute(router, prefix, true, 15_000)));
    const monitor = await startMonitor(node.netns, 'address');
    try {
      const readded = (since: number) =>
        monitor.events.slice(since).filter((event) => !event.deleted && [V4, V6].some((prefix) => prefix.startsWith(`${event.target}/`)));
      started = Date.now();
      process.kill(agent.pid, 'SIGSTOP');
      await Promise.all([V4, V6].map((prefix) => waitForKernelRoute(router, prefix, false, BOUND_MS)));
      t.diagnostic(`SIGSTOP -> both routes gone from the router: ${Date.now() - started} ms (bound ${BOUND_MS})`);
      await unbound.stop();
      let since = monitor.events.length;
      process.kill(agent.pid, 'SIGCONT');
      const stoppedFor = Date.now() - started;
      await waitFor('the freeze logged', () => freezes().length === 1, { timeoutMs: 5000 });
      // The watchdog last saw the loop at most one tick (500 ms) before the SIGSTOP.
      const gap = freezes()[0]!.gap_ms!;
      assert.ok(gap >= stoppedFor - 100 && gap <= stoppedFor + 1000, `the gap logged: ${gap} ms, stopped for ${stoppedFor} ms`);
      await waitFor('the expiry logged', () => logLines().some((line) => /^the lease of 192\.0\.2\.53 ran out before it was renewed/.test(line.msg)), {
        timeoutMs: 5000,
      });
      // Longer than rise and fall intervals together: the old agent re-added at once and withdrew only after fall failures.
      await new Promise((resolve) => setTimeout(resolve, 10 * INTERVAL_MS));
      assert.deepEqual(readded(since), [], 'the addresses of the dead service never came back');
      assert.equal(await kernelRoute(router, V4), undefined, 'not routed');

      // 3. The service back: announced once probed healthy.
      unbound = await startUnbound();
      await Promise.all([V4, V6].map((prefix) => waitForRoute(router, prefix, true, 15_000)));

      // 4. Frozen again beyond the lease with the service healthy throughout: back only after rise fresh probes.
      process.kill(agent.pid, 'SIGSTOP');
      await Promise.all([V4, V6].map((prefix) => waitForKernelRoute(router, prefix, false, BOUND_MS)));
      since = monitor.events.length;
      const continuedAt = Date.now();
      process.kill(agent.pid, 'SIGCONT');
      await Promise.all([V4, V6].map((prefix) => waitForRoute(router, prefix, true, 15_000)));
      const back = readded(since);
      assert.ok(back.length > 0, 'the monitor saw the addresses come back');
      const backAfter = Math.min(...back.map((event) => event.time)) - continuedAt;
      t.diagnostic(`SIGCONT -> addresses back after fresh probes: ${backAfter} ms (rise ${RISE} x ${INTERVAL_MS} ms)`);
      // The first fresh round falls anywhere in the first interval (splay), the rise-th one (rise - 1) intervals later.
      assert.ok(backAfter >= (RISE - 1) * INTERVAL_MS - 20, `re-added ${backAfter} ms after SIGCONT, before rise fresh probes could pass`);
      assert.equal(freezes().length, 2, 'each freeze logged once');
    } finally {
      await monitor.stop();
    }

    process.kill(agent.pid, 'SIGTERM');
    await waitFor('agent gone', () => isGone(agent.pid), { timeoutMs: 10_000 });
    await Promise.all([V4, V6].map((prefix) => waitForKernelRoute(router, prefix, false, 5000)));
  } finally {
    for (const pid of pids) if (!isGone(pid)) process.kill(pid, 'SIGKILL');
    await lab.destroy();
  }
});

test(
  'lease with announce: bgp: the statements stay after kill -9; the route goes with the address only under bgp network import-check',
  { timeout: 180_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: [...BGP_LAB_COMMANDS, 'unbound'] })) return;
    await withLab({ name: 'lease-bgp' }, async (lab) => {
      const bgpLab = await buildBgpLab(lab);
      const { router, node } = bgpLab;
      const port = 20_000 + Math.floor(Math.random() * 40_000);
      await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
      const prefixes = [V4, V6];
      const config = (stateDir: string) => ({
        ...agentConfig(
          stateDir,
          [
            {
              name: 'dns',
              addresses: prefixes.map((prefix) => prefix.slice(0, prefix.indexOf('/'))),
              announce: 'bgp',
              probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
            },
          ],
          { lease: `${LEASE_MS}ms`, reconcile_interval: '10s' },
        ),
        frr: { vty_socket: node.frr!.dir, asn: NODE_AS, vtysh_timeout: '5s' },
      });
      const statements = async () => (await networkLines(bgpLab)).filter((prefix) => prefixes.includes(prefix)).sort();
      const importCheck = (on: boolean) => bgpLab.vtysh.configure([`router bgp ${NODE_AS}`, `${on ? '' : 'no '}bgp network import-check`]);

      // FRR's default: a statement is advertised only while its prefix is in zebra's RIB, so the expiry withdraws it.
      await importCheck(true);
      let agent = await startAgent(lab, node, { config });
      try {
        await Promise.all(prefixes.map((prefix) => waitForRoute(router, prefix, true, 15_000)));
        const started = Date.now();
        await agent.daemon.stop('SIGKILL');
        await Promise.all(prefixes.map((prefix) => waitForKernelRoute(router, prefix, false, BOUND_MS)));
        t.diagnostic(`bgp, import-check on: kill -9 -> both routes gone from the router: ${Date.now() - started} ms (bound ${BOUND_MS})`);
        assert.deepEqual(await statements(), [...prefixes].sort(), 'the network statements stay (FRR gives configuration no lifetime)');

        // Without import-check (as this lab's bgpd is configured), the statement keeps the route after the address expired.
        agent = await startAgent(lab, node, { config });
        await Promise.all(prefixes.map((prefix) => waitForRoute(router, prefix, true, 15_000)));
        await importCheck(false);
        await agent.daemon.stop('SIGKILL');
        await new Promise((resolve) => setTimeout(resolve, BOUND_MS));
        assert.deepEqual(
          (await node.addresses()).filter((cidr) => prefixes.includes(cidr)),
          [],
          'the addresses expired',
        );
        for (const prefix of prefixes)
          assert.ok(await kernelRoute(router, prefix), `${prefix} still routed: no import-check, the statement alone advertises it`);
      } finally {
        if (agent.alive()) await agent.daemon.stop('SIGKILL');
      }
    });
  },
);
