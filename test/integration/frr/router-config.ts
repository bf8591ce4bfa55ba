// The upstream router's side for the lab tests (the FRR example of docs/upstream-router.md): OSPF on the link with
// the node's timers, or eBGP to the node. It filters nothing, so anything the node leaks would show up here.
import type { FrrTimers } from '../../../src/frr/profiles.js';
import type { BfdProfile, OspfNetwork } from '../../../src/frr/render-options.js';
import { bfdProfileLines } from '../../../lab/frr-config.js';

export interface RouterSide {
  hostname: string;
  routerId: string;
  interface: string;
  network: OspfNetwork;
  timers: FrrTimers;
  bgp?: { asn: number; neighbors: { address: string; remoteAs: number }[] };
  // BFD towards the node, as docs/upstream-router.md shows it (profile ANYCAST-NODES).
  bfd?: BfdProfile;
}

function bfddConf(head: readonly string[], bfd: BfdProfile): string {
  return [...head, ...bfdProfileLines('ANYCAST-NODES', bfd), ''].join('\n');
}

// Split files: zebra.conf plus ospfd.conf and ospf6d.conf, or bgpd.conf.
export function routerConfigFiles(side: RouterSide): Record<string, string> {
  const t = side.timers;
  const head = [`hostname ${side.hostname}`, '!'];
  if (side.bgp) {
    const lines = [...head, `router bgp ${side.bgp.asn}`, ` bgp router-id ${side.routerId}`, ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast'];
    for (const n of side.bgp.neighbors)
      lines.push(
        ` neighbor ${n.address} remote-as ${n.remoteAs}`,
        ` neighbor ${n.address} timers ${t.bgpKeepalive} ${t.bgpHold}`,
        ` neighbor ${n.address} timers connect ${t.bgpConnectRetry}`,
        ...(side.bfd ? [` neighbor ${n.address} bfd profile ANYCAST-NODES`] : []),
      );
    for (const family of ['ipv4', 'ipv6'] as const) {
      lines.push(` address-family ${family} unicast`);
      for (const n of side.bgp.neighbors.filter((entry) => entry.address.includes(':') === (family === 'ipv6'))) lines.push(`  neighbor ${n.address} activate`);
      lines.push(' exit-address-family');
    }
    return {
      'zebra.conf': head.join('\n') + '\n',
      'bgpd.conf': [...lines, '!', ''].join('\n'),
      ...(side.bfd ? { 'bfdd.conf': bfddConf(head, side.bfd) } : {}),
    };
  }
  const ospfd = [
    ...head,
    `interface ${side.interface}`,
    ' ip ospf area 0.0.0.0',
    ` ip ospf network ${side.network}`,
    ` ip ospf hello-interval ${t.helloInterval}`,
    ` ip ospf dead-interval ${t.deadInterval}`,
    ...(side.bfd ? [' ip ospf bfd', ' ip ospf bfd profile ANYCAST-NODES'] : []),
    '!',
    'router ospf',
    ` ospf router-id ${side.routerId}`,
    ` timers throttle spf ${t.spfDelay} ${t.spfHold} ${t.spfMaxHold}`,
    ` timers lsa min-arrival ${t.lsaMinArrival}`,
    '!',
    '',
  ];
  const ospf6d = [
    ...head,
    `interface ${side.interface}`,
    ' ipv6 ospf6 area 0.0.0.0',
    ` ipv6 ospf6 network ${side.network}`,
    ` ipv6 ospf6 hello-interval ${t.helloInterval}`,
    ` ipv6 ospf6 dead-interval ${t.deadInterval}`,
    ...(side.bfd ? [' ipv6 ospf6 bfd profile ANYCAST-NODES'] : []),
    '!',
    'router ospf6',
    ` ospf6 router-id ${side.routerId}`,
    ` timers throttle spf ${t.spfDelay} ${t.spfHold} ${t.spfMaxHold}`,
    ` timers lsa min-arrival ${t.lsaMinArrival}`,
    '!',
    '',
  ];
  return {
    'zebra.conf': head.join('\n') + '\n',
    'ospfd.conf': ospfd.join('\n'),
    'ospf6d.conf': ospf6d.join('\n'),
    ...(side.bfd ? { 'bfdd.conf': bfddConf(head, side.bfd) } : {}),
  };
}
