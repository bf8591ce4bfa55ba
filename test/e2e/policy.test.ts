// Routing policy in the two-node lab (issue 14): primary/backup by `metric`, and the degraded state. Node a announces
// with metric 100, node b with 200 (the policy lines `healthcast frr-config` renders, sent to each node's FRR): the
// router uses a alone. A failing `effect: degrade` probe on a moves the router to b without ever losing the route;
// passing again moves it back; a failing down probe withdraws a (b takes over); a crashed agent's degraded entry is
// repaired by the next start. IPv4 and IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { buildDnsAnycastLab, DNS_SERVICE } from '../../lab/dns-anycast.js';
import { applyRenderedPolicy } from '../../lab/policy.js';
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

test('primary/backup by metric, degraded without a gap, withdrawal, crash repair (IPv4 and IPv6)', { timeout: 280_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const flags = (node: LabNode) => ({ down: path.join(node.dir, 'down.flag'), degrade: path.join(node.dir, 'degrade.flag') });
  const lab = await buildDnsAnycastLab({
    name: 'e2epolicy',
    addresses: [V4, V6],
    configFor: (node) => ({ frr: { vtysh: 'vtysh', vty_socket: node.frr!.dir } }),
    serviceFor: (node) => ({
      metric: METRIC[node.name as 'a' | 'b'],
      probes: [
        { type: 'exec', command: ['test', '!', '-e', flags(node).down] },
        { type: 'exec', command: ['test', '!', '-e', flags(node).degrade], effect: 'degrade' },
      ],
    }),
  });
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
    const restarted = await lab.startAgent(a, {});
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
