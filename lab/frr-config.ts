// FRR configuration text for lab routers: point-to-point OSPF with the fast timers from lab-notes.
import type { BfdProfile } from '../src/frr/render-options.js';
import { BFD_PROFILE } from '../src/frr/render.js';
import { HOLD_LISTS, HOLD_SENTINEL_SEQ } from '../src/routing/bgp-commands.js';

export interface FrrNodeOptions {
  hostname: string;
  // OSPF router-id; an identifier, not an address anyone sends to.
  routerId: string;
  // veth interfaces that run OSPF/OSPFv3 (point-to-point, area 0).
  interfaces: readonly string[];
  // Anycast node: redistribute connected and kernel routes, filtered to service host routes.
  announce: boolean;
  // Run ospfd/ospf6d (default: yes without bgp, no with it, so one protocol carries the routes).
  ospf?: boolean;
  bgp?: BgpOptions;
  // Anycast node that does not install the service host routes other nodes originate (zebra `ip[v6] protocol
  // ospf[6] route-map`), so a node that lost the address drops packets for it instead of forwarding them on.
  rejectServiceRoutes?: boolean;
  // BFD (bfdd, profile HC-BFD as healthcast frr-config renders it) on every OSPF interface and BGP neighbour.
  bfd?: BfdProfile;
}

export function runsOspf(options: FrrNodeOptions): boolean {
  return options.ospf ?? !options.bgp;
}

export interface BgpOptions {
  asn: number;
  neighbors: readonly { address: string; asn: number }[];
}

// The service ranges healthcast announces from: 192.0.2.0/24 and 2001:db8::/32 host routes only.
export const SERVICE_PREFIX_V4 = '192.0.2.0/24';
export const SERVICE_PREFIX_V6 = '2001:db8::/32';

const FILTER_V4 = 'HC-SERVICES-V4';
const FILTER_V6 = 'HC-SERVICES-V6';

// The degraded level healthcast moves addresses into at runtime (src/frr/metric-policy.ts; the rendered configs carry the same).
export const LAB_DEGRADED_METRIC = 65000;
const DEGRADED_V4 = `HC-DEGRADED-V4-${LAB_DEGRADED_METRIC}`;
const DEGRADED_V6 = `HC-DEGRADED-V6-${LAB_DEGRADED_METRIC}`;

function degradedV4(): string[] {
  return [
    `ip prefix-list ${DEGRADED_V4} seq 4294967295 deny any`,
    `route-map ${FILTER_V4} permit 1`,
    ` match ip address prefix-list ${DEGRADED_V4}`,
    ' match interface lo',
    ` set metric ${LAB_DEGRADED_METRIC}`,
    '!',
  ];
}

function degradedV6(): string[] {
  return [
    `ipv6 prefix-list ${DEGRADED_V6} seq 4294967295 deny any`,
    `route-map ${FILTER_V6} permit 1`,
    ` match ipv6 address prefix-list ${DEGRADED_V6}`,
    ' match interface lo',
    ` set metric ${LAB_DEGRADED_METRIC}`,
    '!',
  ];
}

function filterV4(): string[] {
  return [
    ...degradedV4(),
    `ip prefix-list ${FILTER_V4} seq 5 permit ${SERVICE_PREFIX_V4} ge 32`,
    `route-map ${FILTER_V4} permit 10`,
    ` match ip address prefix-list ${FILTER_V4}`,
    // Addresses on healthcast's drain interface (hc-drain) are the host's but never advertised.
    ' match interface lo',
    '!',
  ];
}

function filterV6(): string[] {
  return [
    ...degradedV6(),
    `ipv6 prefix-list ${FILTER_V6} seq 5 permit ${SERVICE_PREFIX_V6} ge 128`,
    `route-map ${FILTER_V6} permit 10`,
    ` match ipv6 address prefix-list ${FILTER_V6}`,
    ' match interface lo',
    '!',
  ];
}

function header(options: FrrNodeOptions): string[] {
  return [`hostname ${options.hostname}`, '!'];
}

const REJECT_V4 = 'HC-REJECT-SERVICES-V4';
const REJECT_V6 = 'HC-REJECT-SERVICES-V6';

// The inbound filter of a real anycast node (Cisco: `distribute-list in`). FRR 8.4's ospfd and ospf6d have no
// `distribute-list ... in`; zebra's protocol route-maps keep the routes in the RIB, inactive, and out of the kernel.
function rejectServiceRoutes(): string[] {
  return [
    `ip prefix-list ${REJECT_V4} seq 5 permit ${SERVICE_PREFIX_V4} ge 32`,
    `ipv6 prefix-list ${REJECT_V6} seq 5 permit ${SERVICE_PREFIX_V6} ge 128`,
    `route-map ${REJECT_V4} deny 10`,
    ` match ip address prefix-list ${REJECT_V4}`,
    `route-map ${REJECT_V4} permit 20`,
    `route-map ${REJECT_V6} deny 10`,
    ` match ipv6 address prefix-list ${REJECT_V6}`,
    `route-map ${REJECT_V6} permit 20`,
    '!',
    `ip protocol ospf route-map ${REJECT_V4}`,
    `ipv6 protocol ospf6 route-map ${REJECT_V6}`,
    '!',
  ];
}

// zebra learns interfaces and addresses from the kernel; it needs nothing but a name (and the optional inbound filter).
export function zebraConf(options: FrrNodeOptions): string {
  return [...header(options), ...(options.rejectServiceRoutes ? rejectServiceRoutes() : []), ''].join('\n');
}

export function ospfdConf(options: FrrNodeOptions): string {
  const lines = [...header(options)];
  if (options.announce) lines.push(...filterV4());
  for (const ifname of options.interfaces) {
    lines.push(`interface ${ifname}`, ' ip ospf area 0', ' ip ospf network point-to-point', ' ip ospf hello-interval 1', ' ip ospf dead-interval 3');
    if (options.bfd) lines.push(' ip ospf bfd', ` ip ospf bfd profile ${BFD_PROFILE}`);
    lines.push('!');
  }
  lines.push('router ospf', ` ospf router-id ${options.routerId}`, ' timers throttle spf 0 50 200', ' timers throttle lsa all 0', ' timers lsa min-arrival 0');
  if (options.announce) lines.push(` redistribute connected route-map ${FILTER_V4}`, ` redistribute kernel route-map ${FILTER_V4}`);
  lines.push('!', '');
  return lines.join('\n');
}

// ospf6d has no `timers throttle lsa`; its LSA pacing comes from min-arrival alone.
export function ospf6dConf(options: FrrNodeOptions): string {
  const lines = [...header(options)];
  if (options.announce) lines.push(...filterV6());
  for (const ifname of options.interfaces) {
    lines.push(
      `interface ${ifname}`,
      ' ipv6 ospf6 area 0',
      ' ipv6 ospf6 network point-to-point',
      ' ipv6 ospf6 hello-interval 1',
      ' ipv6 ospf6 dead-interval 3',
    );
    if (options.bfd) lines.push(` ipv6 ospf6 bfd profile ${BFD_PROFILE}`);
    lines.push('!');
  }
  lines.push('router ospf6', ` ospf6 router-id ${options.routerId}`, ' timers throttle spf 0 50 200', ' timers lsa min-arrival 0');
  if (options.announce) lines.push(` redistribute connected route-map ${FILTER_V6}`, ` redistribute kernel route-map ${FILTER_V6}`);
  lines.push('!', '');
  return lines.join('\n');
}

// Plain eBGP over the link addresses, for a later BGP scenario; nodes announce through the same filters.
export function bgpdConf(options: FrrNodeOptions): string {
  const bgp = options.bgp;
  if (!bgp) throw new Error('bgpdConf needs options.bgp');
  const lines = [...header(options)];
  if (options.announce) lines.push(...filterV4(), ...filterV6());
  lines.push(`router bgp ${bgp.asn}`, ` bgp router-id ${options.routerId}`, ' no bgp ebgp-requires-policy', ' no bgp network import-check');
  for (const neighbor of bgp.neighbors) {
    lines.push(
      ` neighbor ${neighbor.address} remote-as ${neighbor.asn}`,
      ` neighbor ${neighbor.address} timers 1 3`,
      ` neighbor ${neighbor.address} timers connect 1`,
      ` neighbor ${neighbor.address} advertisement-interval 0`,
    );
    if (options.bfd) lines.push(` neighbor ${neighbor.address} bfd`, ` neighbor ${neighbor.address} bfd profile ${BFD_PROFILE}`);
  }
  for (const [family, filter] of [
    ['ipv4', FILTER_V4],
    ['ipv6', FILTER_V6],
  ] as const) {
    lines.push(` address-family ${family} unicast`);
    if (options.announce) lines.push(`  redistribute connected route-map ${filter}`, `  redistribute kernel route-map ${filter}`);
    for (const neighbor of bgp.neighbors) {
      const sameFamily = neighbor.address.includes(':') === (family === 'ipv6');
      if (sameFamily) lines.push(`  neighbor ${neighbor.address} activate`);
      else if (family === 'ipv4') lines.push(`  no neighbor ${neighbor.address} activate`);
    }
    lines.push(' exit-address-family');
  }
  lines.push('!', '');
  return lines.join('\n');
}

// bfdd's `bfd` block with one profile; the sessions come from ospfd, ospf6d and bgpd through zebra.
export function bfdProfileLines(name: string, bfd: BfdProfile): string[] {
  return [
    'bfd',
    ` profile ${name}`,
    `  receive-interval ${bfd.receiveIntervalMs}`,
    `  transmit-interval ${bfd.transmitIntervalMs}`,
    `  detect-multiplier ${bfd.detectMultiplier}`,
    ' exit',
    'exit',
    '!',
  ];
}

export function bfddConf(options: FrrNodeOptions): string {
  if (!options.bfd) throw new Error('bfddConf needs options.bfd');
  return [...header(options), ...bfdProfileLines(BFD_PROFILE, options.bfd), ''].join('\n');
}

// The outbound hold lists as `healthcast frr-config` renders them (the lab's bgpd config is plain): the closing
// `permit any` of each family's list, applied to each neighbour of that family. Lines for `configure terminal`.
export function holdListLines(asn: number, neighbors: readonly string[]): string[] {
  const lines: string[] = [];
  const families = ([4, 6] as const).filter((family) => neighbors.some((address) => address.includes(':') === (family === 6)));
  for (const family of families) lines.push(`${family === 4 ? 'ip' : 'ipv6'} prefix-list ${HOLD_LISTS[family]} seq ${HOLD_SENTINEL_SEQ} permit any`);
  lines.push(`router bgp ${asn}`);
  for (const family of families) {
    lines.push(`address-family ${family === 4 ? 'ipv4' : 'ipv6'} unicast`);
    for (const address of neighbors.filter((neighbor) => neighbor.includes(':') === (family === 6)))
      lines.push(`neighbor ${address} prefix-list ${HOLD_LISTS[family]} out`);
    lines.push('exit-address-family');
  }
  return lines;
}
