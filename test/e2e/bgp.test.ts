// The agent with `announce: bgp` on real FRR: the router peers with the node over eBGP (IPv4 and IPv6 sessions), the
// node's bgpd redistributes nothing, so the router can only learn the service prefixes from the network statements
// healthcast configures through vtysh. Routes appear while unbound is healthy, disappear when it is killed, come
// back, and disappear on SIGTERM with no network statement left in the node's running config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withLab } from '../../lab/lab.js';
import { waitFor } from '../../lab/process.js';
import { frrRoute, waitForKernelRoute, waitForRoute } from '../../lab/routes.js';
import { requirePrerequisites } from '../support/prereq.js';
import { ownershipRecord, startAgent } from '../../lab/healthcast.js';
import { BGP_LAB_COMMANDS, buildBgpLab, learnedAtRouter, networkLines, NODE_AS } from '../integration/routing/bgp-lab.js';

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
const PREFIXES = [`${V4}/32`, `${V6}/128`];
// A prefix configured by hand on the node: healthcast must never remove it.
const MANUAL = '192.0.2.99/32';
const INTERVAL_MS = 200;
const FALL = 2;
const RISE = 2;
const HOLD_DOWN_MS = 1000;
// fall x interval plus 1 s for the probe timeout, a pass, and BGP's UPDATE to the router (advertisement-interval 0).
const WITHDRAW_BOUND_MS = FALL * INTERVAL_MS + 1000;

test('announce: bgp: the router learns the prefixes while unbound is healthy, loses them on failure and on SIGTERM', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...BGP_LAB_COMMANDS, 'unbound'] })) return;
  await withLab({ name: 'e2e-bgp' }, async (lab) => {
    const bgpLab = await buildBgpLab(lab);
    const { router, node } = bgpLab;
    t.diagnostic(`lab: BGP sessions Established after ${bgpLab.readyMs} ms`);
    await bgpLab.vtysh.configure([`router bgp ${NODE_AS}`, 'address-family ipv4 unicast', `network ${MANUAL}`, 'exit-address-family']);
    await waitForRoute(router, MANUAL, true);

    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const unboundOptions = { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] };
    let unbound = await lab.startUnbound(node, unboundOptions);

    let started = Date.now();
    // Timed from the spawn, not from "agent started".
    const agent = await startAgent(lab, node, {
      noWait: true,
      config: (stateDir) => ({
        interface: 'lo',
        state_dir: stateDir,
        control_socket: path.join(path.dirname(stateDir), 'control.sock'),
        reconcile_interval: '1s',
        frr: { vty_socket: node.frr!.dir, asn: NODE_AS, vtysh_timeout: '5s' },
        services: [
          {
            name: 'dns',
            addresses: [V4, V6],
            announce: 'bgp',
            interval: `${INTERVAL_MS}ms`,
            timeout: '150ms',
            rise: RISE,
            fall: FALL,
            hold_down: `${HOLD_DOWN_MS}ms`,
            drain: '300ms',
            probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
          },
        ],
      }),
    });
    const waitForPhase = (to: string, since: number) => agent.waitForPhase('dns', to, { since, timeoutMs: 15_000 });
    const routesAtRouter = async (present: boolean, timeoutMs: number) => {
      const began = Date.now();
      await Promise.all(PREFIXES.map((prefix) => waitForRoute(router, prefix, present, timeoutMs)));
      return Date.now() - began;
    };
    const serviceNetworks = async () => (await networkLines(bgpLab)).filter((prefix) => PREFIXES.includes(prefix));
    const serviceAddresses = async () => (await node.addresses()).filter((cidr) => PREFIXES.includes(cidr)).sort();

    try {
      // Healthy: address on lo and a network statement per prefix; the router learns both over BGP.
      await routesAtRouter(true, 15_000);
      t.diagnostic(`agent start -> both prefixes at the router (kernel + RIB): ${Date.now() - started} ms`);
      for (const prefix of PREFIXES) assert.equal((await frrRoute(router, prefix))?.protocol, 'bgp', prefix);
      assert.deepEqual(await learnedAtRouter(bgpLab, 4), [`${V4}/32`, MANUAL].sort());
      assert.deepEqual(await learnedAtRouter(bgpLab, 6), [`${V6}/128`]);
      assert.deepEqual(await serviceNetworks(), [...PREFIXES].sort());
      assert.deepEqual(await serviceAddresses(), [...PREFIXES].sort());

      // unbound killed: withdrawn within fall x interval + 1 s at the router.
      let since = agent.lines().length;
      started = Date.now();
      await unbound.daemon.stop('SIGKILL');
      await Promise.all(PREFIXES.map((prefix) => waitForKernelRoute(router, prefix, false, WITHDRAW_BOUND_MS)));
      t.diagnostic(`unbound killed -> both prefixes gone from the router's kernel table: ${Date.now() - started} ms (bound ${WITHDRAW_BOUND_MS})`);
      await waitForPhase('down', since);
      await routesAtRouter(false, 5000);
      await waitFor('the statements to be gone from the node', async () => (await serviceNetworks()).length === 0, { timeoutMs: 5000 });
      assert.deepEqual(await learnedAtRouter(bgpLab, 4), [MANUAL], 'the hand-made statement is still advertised');

      // unbound back: announced again after rise successes and the hold-down.
      since = agent.lines().length;
      started = Date.now();
      unbound = await lab.startUnbound(node, { ...unboundOptions, name: 'unbound2' });
      await routesAtRouter(true, 15_000);
      t.diagnostic(`unbound restarted -> both prefixes back at the router: ${Date.now() - started} ms (hold-down ${HOLD_DOWN_MS} ms)`);
      await waitForPhase('up', since);
      assert.deepEqual(await serviceNetworks(), [...PREFIXES].sort());

      // SIGTERM: exit 0, the router loses the prefixes, no statement or address of ours left on the node.
      started = Date.now();
      agent.signal('SIGTERM');
      assert.equal(await agent.exited, 0, agent.daemon.output().slice(-3000));
      t.diagnostic(`SIGTERM -> exited 0 after ${Date.now() - started} ms`);
      await routesAtRouter(false, 5000);
      assert.deepEqual(await serviceNetworks(), [], 'no network statement left in the running config');
      assert.deepEqual(await networkLines(bgpLab), [MANUAL], 'only the hand-made statement is left');
      assert.deepEqual(await serviceAddresses(), []);
      assert.deepEqual(ownershipRecord(agent.stateDir), [], 'the ownership record is empty');
      await waitForRoute(router, MANUAL, true);
    } finally {
      if (agent.alive()) await agent.daemon.stop('SIGTERM', 5000);
    }
  });
});
