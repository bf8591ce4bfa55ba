// Routing policy in the lab: the metric levels `healthcast frr-config` renders for a node's services, sent to the
// node's running FRR (its own lab config has only the degraded level), so tests exercise the rendered text itself.
import { resolveRenderOptions } from '../src/frr/render-options.js';
import { renderFrrConfig } from '../src/frr/render.js';
import type { PolicySource } from '../src/frr/render-policy.js';
import type { LabNode } from './lab.js';
import { DegradedLists, vtyshTarget } from '../src/frr/degraded-lists.js';
import type { DegradedAddress } from '../src/frr/degraded-plan.js';
import { policyDaemons } from '../src/core/routing-factory.js';
import { vtyshFromConfig } from '../src/frr/vtysh.js';
import { silentLogger } from '../src/log.js';
import { createRouteResender } from '../src/frr/degraded-resend.js';

// The policy lines of the rendered integrated config: the HC-METRIC/HC-DEGRADED prefix-lists and the route-map
// entries before the service entries (seq 1-9), each block with its `exit`.
export function renderedPolicyLines(services: readonly PolicySource[]): string[] {
  const resolved = resolveRenderOptions({
    interface: 'lo',
    services: services.map((service) => ({ ...service, interface: 'lo' })),
    frr: { vtysh: 'vtysh', hostname: 'lab', router_id: '10.255.255.1', interfaces: [{ name: 'lab0' }] },
  });
  if (!resolved.ok) throw new Error(`frr-config refused the lab's policy: ${resolved.errors.join('; ')}`);
  const text = renderFrrConfig(resolved.options)[0]!.text;
  const lines: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (/^(ip|ipv6) prefix-list HC-(METRIC|DEGRADED)-/.test(line)) lines.push(line);
    if (/^route-map HC-SERVICES-V[46] permit [1-9]$/.test(line)) inBlock = true;
    if (inBlock) lines.push(line);
    if (inBlock && line === 'exit') inBlock = false;
  }
  return lines;
}

export async function applyRenderedPolicy(node: LabNode, services: readonly PolicySource[]): Promise<void> {
  await node.frr!.vtysh('configure terminal', ...renderedPolicyLines(services));
}

// The BGP side of the same policy: the HC- prefix-lists, the outbound route-maps HC-BGP-OUT-V4/V6 (metric levels with
// their MED and AS-path prepend, then the service entry) and `bgp route-map delay-timer 1`, as `frr-config
// --protocol bgp` renders them, plus each neighbour's `route-map ... out` (the rendered `router bgp` block's lines).
export function renderedBgpPolicyLines(
  services: readonly PolicySource[],
  bgp: { asn: number; neighbors: readonly { address: string; asn: number }[] },
): string[] {
  const resolved = resolveRenderOptions({
    interface: 'lo',
    services: services.map((service) => ({ ...service, interface: 'lo' })),
    frr: {
      vtysh: 'vtysh',
      hostname: 'lab',
      router_id: '10.255.255.1',
      protocol: 'bgp',
      asn: bgp.asn,
      neighbors: bgp.neighbors.map((neighbor) => ({ address: neighbor.address, remote_as: neighbor.asn })),
    },
  });
  if (!resolved.ok) throw new Error(`frr-config refused the lab's BGP policy: ${resolved.errors.join('; ')}`);
  const text = renderFrrConfig(resolved.options)[0]!.text;
  const lines: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (/^(ip|ipv6) prefix-list HC-/.test(line) || line.startsWith('bgp route-map delay-timer ')) lines.push(line);
    if (/^route-map HC-BGP-OUT-V[46] permit \d+$/.test(line)) inBlock = true;
    if (inBlock) lines.push(line);
    if (inBlock && line === 'exit') inBlock = false;
  }
  lines.push(`router bgp ${bgp.asn}`);
  for (const neighbor of bgp.neighbors) {
    const family = neighbor.address.includes(':') ? 'ipv6' : 'ipv4';
    lines.push(
      ` address-family ${family} unicast`,
      `  neighbor ${neighbor.address} route-map HC-BGP-OUT-V${family === 'ipv6' ? 6 : 4} out`,
      ' exit-address-family',
    );
  }
  lines.push('exit');
  return lines;
}

// The agent's writer of the degraded lists on a lab node's FRR, built as src/core/routing-factory.ts builds it
// (`sockets`: each daemon's own vty socket), or with vtysh alone (the fallback, and what it did before); with
// `routeProtocol`, IPv6 kernel routes of that protocol on the node are re-sent to ospf6d after a change, as the agent
// does for `announce: route` services. No periodic sync: the caller kicks it.
export function labDegradedLists(
  node: LabNode,
  degraded: () => readonly DegradedAddress[],
  options: { via?: 'sockets' | 'vtysh'; routeProtocol?: number } = {},
): DegradedLists {
  const frr = { vtysh: 'vtysh', vty_socket: node.frr!.dir };
  const vtysh = vtyshFromConfig(frr);
  const resend =
    options.routeProtocol === undefined ? undefined : createRouteResender({ routeProtocol: options.routeProtocol, namespace: node.netns, timeoutMs: 5000 });
  return new DegradedLists({
    daemons: (options.via ?? 'sockets') === 'sockets' ? policyDaemons(frr, vtysh) : [],
    fallback: vtyshTarget(vtysh),
    degraded,
    log: silentLogger(),
    syncIntervalMs: 3_600_000,
    ...(resend ? { resend } : {}),
  });
}
