// Routing policy in the two-node lab (issue 14): primary/backup by `metric`, and the degraded state. Node a announces
// with metric 100, node b with 200 (the policy lines `healthcast frr-config` renders, sent to each node's FRR): the
// router uses a alone. A failing `effect: degrade` probe on a moves the router to b without ever losing the route;
// passing again moves it back; a failing down probe withdraws a (b takes over); a crashed agent's degraded entry is
// repaired by the next start. IPv4 and IPv6. Then BGP: a degraded service's MED and AS-path prepend reach an eBGP
// router without a withdrawal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { buildDnsAnycastLab, DNS_SERVICE } from '../../lab/dns-anycast.js';
import { applyRenderedPolicy, labDegradedLists, renderedBgpPolicyLines } from '../../lab/policy.js';
import { withLab } from '../../lab/lab.js';
import { startMonitor, type Monitor } from '../../lab/monitor.js';
import { BGP_LAB_COMMANDS, buildBgpLab, NODE_AS, ROUTER_AS, type BgpLab } from '../integration/routing/bgp-lab.js';
import type { DegradedAddress } from '../../src/frr/degraded-plan.js';
import { waitFor } from '../../lab/process.js';
import type { LabNode } from '../../lab/lab.js';

const COMMANDS = ['ip', 'sysctl', 'vtysh', 'unbound', 'test', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.71';
const V6 = '2001:db8:71::71';
const METRIC = { a: 100, b: 200 } as const;
// zebra's delete-then-add of an IPv6 route (see below) takes well under a millisecond when the router is idle.
const GAP_SLACK_MS = 5;
const gapTimes: number[] = [];

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

const flags = (node: LabNode) => ({ down: path.join(node.dir, 'down.flag'), degrade: path.join(node.dir, 'degrade.flag') });

// The two-node lab with a DNS service on `addresses` whose down and degrade probes are flag files on each node.
function policyLab(name: string, addresses: string[], service: Record<string, unknown> = {}) {
  return buildDnsAnycastLab({
    name,
    addresses,
    configFor: (node) => ({ frr: { vtysh: 'vtysh', vty_socket: node.frr!.dir } }),
    serviceFor: (node) => ({
      metric: METRIC[node.name as 'a' | 'b'],
      probes: [
        { type: 'exec', command: ['test', '!', '-e', flags(node).down] },
        { type: 'exec', command: ['test', '!', '-e', flags(node).degrade], effect: 'degrade' },
      ],
      ...service,
    }),
  });
}

test('primary/backup by metric, degraded without a gap, withdrawal, crash repair (IPv4 and IPv6)', { timeout: 280_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const lab = await policyLab('e2epolicy', [V4, V6]);
  try {
    const { a, b, ifA, ifB, routeMonitor } = lab;
    for (const node of [a, b]) await applyRenderedPolicy(node, [{ addresses: [V4, V6], metric: METRIC[node.name as 'a' | 'b'], degradedMetric: 65000 }]);
    // ospf6d applies a route-map change after a fixed 5 s (OSPF_MIN_LS_INTERVAL); ospfd with the fast timers at once.
    const routed = (ifs: string[], what: string, timeoutMs = 20_000) => waitFor(what, () => lab.routedVia(ifs), { timeoutMs, intervalMs: 10 });
    await routed([ifA], 'the router to use the primary (a, metric 100) alone');

    // A gap: the router's kernel without a route to the address. zebra changes an IPv6 route's only nexthop by a delete
    // and an add (two netlink messages); what counts is the time between them, not that there were two.
    const gaps = (since: number) => {
      const found: string[] = [];
      const events = routeMonitor.events.slice(since).filter((event) => event.target === V4 || event.target === V6);
      events.forEach((event, index) => {
        if (!event.deleted) return;
        const readded = events.slice(index + 1).find((later) => later.target === event.target && !later.deleted);
        const ms = readded ? readded.time - event.time : Infinity;
        gapTimes.push(ms);
        if (ms > GAP_SLACK_MS) found.push(`${event.target} without a route for ${ms.toFixed(2)} ms`);
      });
      return found;
    };
    const samples: number[] = [];
    const vtyshSamples: number[] = [];
    const afterVtysh: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const since = routeMonitor.events.length;
      const logged = lab.agents.a.lines().length;
      fs.writeFileSync(flags(a).degrade, '');
      const line = await lab.agents.a.waitForLine('a degraded', (entry) => entry.service === DNS_SERVICE && entry.degraded === true, { since: logged });
      const v4 = await routeMonitor.waitFor('v4 via b', (event) => event.target === V4 && !event.deleted && event.text.includes(ifB), { since });
      samples.push(v4.time - line.time);
      const applied = await lab.agents.a.waitForLine('lists updated', (entry) => entry.msg === 'degraded prefix-lists updated', { since: logged });
      vtyshSamples.push(Number(applied.write_ms));
      assert.deepEqual(applied.targets, ['ospfd', 'ospf6d'], 'the lists went to the daemons whose route-maps match them, over their sockets');
      afterVtysh.push(v4.time - applied.time);
      await routed([ifB], 'the router to use b while a is degraded');
      assert.deepEqual(gaps(since), [], 'the route was never deleted while only the metric changed');
      const back = routeMonitor.events.length;
      fs.rmSync(flags(a).degrade);
      await routed([ifA], 'the router back on a once it is no longer degraded');
      assert.deepEqual(gaps(back), [], 'the route was never deleted on the way back');
    }
    t.diagnostic(
      `of which the socket writes (configure terminal + 1 line per daemon): ${vtyshSamples.join(', ')} ms; router after the writes returned: ${afterVtysh.map(Math.round).join(', ')} ms`,
    );
    t.diagnostic(`delete-then-add pairs at the router: ${gapTimes.map((ms) => ms.toFixed(2)).join(', ')} ms`);
    t.diagnostic(`degraded log line -> router's IPv4 route moved to b: ${samples.map(Math.round).join(', ')} ms (median ${Math.round(median(samples))})`);

    // status: state degraded with the reason and the metric.
    fs.writeFileSync(flags(a).degrade, '');
    await routed([ifB], 'b while a is degraded');
    // A withdrawal of the backup while the primary is degraded leaves the degraded primary: degraded is still announced.
    fs.writeFileSync(flags(b).down, '');
    await routed([ifA], 'the degraded primary alone once the backup is withdrawn');
    fs.rmSync(flags(b).down);
    await routed([ifB], 'b again');

    // A crash while degraded: the entry stays in FRR (a keeps the degraded metric); the next start, healthy, removes it.
    lab.agents.a.signal('SIGKILL');
    await lab.agents.a.exited;
    fs.rmSync(flags(a).degrade);
    // Restarted as an operator would: same config and state directory (the ownership record takes the addresses back).
    const restarted = await lab.startAgent(a, {}, lab.agents.a);
    await restarted.waitForLine('agent started', (entry) => entry.msg === 'agent started');
    await routed([ifA], 'a again after the restart repaired its degraded entry');

    // Withdrawal of the primary: b takes over, and a comes back.
    fs.writeFileSync(flags(a).down, '');
    await routed([ifB], 'b once a is withdrawn');
    fs.rmSync(flags(a).down);
    await routed([ifA], 'a once it is healthy again');
  } finally {
    await lab.destroy();
  }
});

// ospf6d applies a prefix-list change after a fixed 5 s, but a route zebra sends it at once: the agent re-sends the
// kernel route of an `announce: route` service after the change (src/frr/degraded-resend.ts).
test("announce: route, IPv6: the degraded metric reaches the router well before ospf6d's 5 s, without a gap", { timeout: 200_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const address = '2001:db8:73::73';
  const lab = await policyLab('e2epolroute', [address], { announce: 'route' });
  try {
    const { a, b, ifA, ifB, routeMonitor } = lab;
    for (const node of [a, b]) await applyRenderedPolicy(node, [{ addresses: [address], metric: METRIC[node.name as 'a' | 'b'], degradedMetric: 65000 }]);
    await waitFor('the router to use a alone', () => lab.routedVia([ifA]), { timeoutMs: 20_000, intervalMs: 10 });
    // Past ospf6d's own timer of the policy change above, so it cannot be what moves the route below.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    const times: number[] = [];
    for (const [degrade, via] of [
      [true, ifB],
      [false, ifA],
    ] as const) {
      const since = routeMonitor.events.length;
      const logged = lab.agents.a.lines().length;
      if (degrade) fs.writeFileSync(flags(a).degrade, '');
      else fs.rmSync(flags(a).degrade);
      const line = await lab.agents.a.waitForLine('degraded changed', (entry) => entry.service === DNS_SERVICE && entry.degraded === degrade, {
        since: logged,
      });
      const moved = await routeMonitor.waitFor(`the route via ${via}`, (event) => event.target === address && !event.deleted && event.text.includes(via), {
        since,
        timeoutMs: 10_000,
      });
      times.push(moved.time - line.time);
      assert.deepEqual(withdrawals(routeMonitor, since, [address]), [], 'the route was never missing while only the metric changed');
      await new Promise((resolve) => setTimeout(resolve, 5500));
    }
    t.diagnostic(`degraded log line -> the router's IPv6 route moved: ${times.map(Math.round).join(', ')} ms`);
    assert.ok(Math.max(...times) < 2500, `each change reached the router well before ospf6d's 5 s (${times.map(Math.round).join(', ')} ms)`);
  } finally {
    await lab.destroy();
  }
});

interface BgpPath {
  valid?: boolean;
  metric?: number;
  aspath?: { string?: string };
}

// What the router's bgpd has for the prefix from the node: MED and AS path of its valid path.
async function bgpPathAtRouter(bgpLab: BgpLab, prefix: string): Promise<{ med: number | undefined; asPath: string } | undefined> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const answer = await bgpLab.router.frr!.vtyshJson<{ paths?: BgpPath[] }>(`show bgp ${family} unicast ${prefix} json`);
  const path_ = (answer.paths ?? []).find((candidate) => candidate.valid === true);
  return path_ ? { med: path_.metric, asPath: path_.aspath?.string ?? '' } : undefined;
}

// Deletions of the address's kernel route at the router not followed by its re-add within GAP_SLACK_MS.
function withdrawals(monitor: Monitor, since: number, addresses: readonly string[]): string[] {
  const events = monitor.events.slice(since).filter((event) => addresses.includes(event.target));
  return events.flatMap((event, index) => {
    if (!event.deleted) return [];
    const readded = events.slice(index + 1).find((later) => later.target === event.target && !later.deleted);
    const ms = readded ? readded.time - event.time : Infinity;
    return ms > GAP_SLACK_MS ? [`${event.target} without a route for ${ms} ms`] : [];
  });
}

test(
  'BGP: a degraded service is advertised with the degraded MED and AS-path prepend, without a withdrawal (IPv4 and IPv6)',
  { timeout: 120_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
    await withLab({ name: 'e2e-polbgp' }, async (lab) => {
      const bgpLab = await buildBgpLab(lab);
      const { router, node, link } = bgpLab;
      const neighbors = [
        { address: link.aV4, asn: ROUTER_AS },
        { address: link.aV6, asn: ROUTER_AS },
      ];
      const policy = renderedBgpPolicyLines([{ addresses: [V4, V6], metric: 100, degradedMetric: 65000, degradedPrepend: 2 }], { asn: NODE_AS, neighbors });
      await node.frr!.vtysh('configure terminal', ...policy);
      const monitor = await startMonitor(router.netns, 'route');
      lab.onDestroy('route monitor', () => monitor.stop());
      // The agent's `announce: bgp` statements, as the BGP backend writes them.
      await node.frr!.vtysh(
        'configure terminal',
        `router bgp ${NODE_AS}`,
        'address-family ipv4 unicast',
        `network ${V4}/32`,
        'exit-address-family',
        'address-family ipv6 unicast',
        `network ${V6}/128`,
        'exit-address-family',
      );
      const prefixes = [`${V4}/32`, `${V6}/128`];
      const seen = async (med: number, asPath: string) => {
        for (const prefix of prefixes) {
          const found = await bgpPathAtRouter(bgpLab, prefix);
          if (found?.med !== med || found.asPath !== asPath) return false;
        }
        return true;
      };
      await waitFor('the router to learn both prefixes with MED 100 (metric: 100)', () => seen(100, `${NODE_AS}`), { timeoutMs: 20_000, intervalMs: 50 });

      // The agent's writer, as routing-factory.ts builds it for this node: only bgpd runs, and its route-maps match the lists.
      let degraded: DegradedAddress[] = [];
      const lists = labDegradedLists(node, () => degraded);
      t.after(() => lists.stop());
      await lists.start();
      assert.deepEqual(lists.targets(), ['bgpd'], 'the lists go to bgpd alone (no ospfd/ospf6d here), over its socket');

      const times: number[] = [];
      for (let round = 0; round < 2; round += 1) {
        const since = monitor.events.length;
        degraded = [
          { address: V4, metric: 65000 },
          { address: V6, metric: 65000 },
        ];
        let started = Date.now();
        await lists.kick();
        await waitFor('MED 65000 and the AS twice prepended at the router', () => seen(65000, `${NODE_AS} ${NODE_AS} ${NODE_AS}`), {
          timeoutMs: 10_000,
          intervalMs: 20,
        });
        times.push(Date.now() - started);
        degraded = [];
        started = Date.now();
        await lists.kick();
        await waitFor('MED 100 and the plain AS path back at the router', () => seen(100, `${NODE_AS}`), { timeoutMs: 10_000, intervalMs: 20 });
        times.push(Date.now() - started);
        assert.deepEqual(withdrawals(monitor, since, [V4, V6]), [], 'the router never lost the route while only MED and AS path changed');
      }
      const kernel = await router.exec('ip', ['route', 'show', `${V4}/32`]);
      assert.match(kernel.stdout, /proto bgp/, "the router's kernel still routes the address over BGP");
      t.diagnostic(`kick -> router's bgpd shows the new MED/AS path (vtysh polls every 20 ms, so upper bounds): ${times.join(', ')} ms`);
    });
  },
);
