// Everything `healthcast frr-config` renders from: the healthcast config's `frr:` section and services, overridden
// by command-line flags, checked as a whole. Every error names the key (`frr.asn`) or the flag (`--asn`) to fix.
import net from 'node:net';
import os from 'node:os';
import { canonical } from '../config/address.js';
import type { FrrSection } from './schema.js';
import { PROFILES, PROFILE_BFD, type FrrTimers, type ProfileName } from './profiles.js';
import { DEFAULT_BFD } from '../config/defaults.js';
import { INTERFACE_NAME as IFNAME } from '../config/names.js';
import { policyLevels, type PolicyLevel, type PolicySource } from './render-policy.js';

export type FrrProtocol = 'ospf' | 'bgp';
export type FrrStyle = 'split' | 'integrated';
export type OspfNetwork = 'point-to-point' | 'broadcast';

// Flags as the CLI parsed them: still text, validated here together with the config.
export interface FrrFlags {
  style?: string;
  protocol?: string;
  profile?: string;
  routerId?: string;
  area?: string;
  interfaces?: readonly string[];
  asn?: string;
  neighbors?: readonly string[];
  hostname?: string;
}

// The part of the healthcast configuration the generator reads.
export interface RenderSource {
  interface: string;
  services: readonly ({ addresses: readonly string[]; interface: string; announce?: string } & PolicySource)[];
  frr: FrrSection;
}

export interface RenderOptions {
  hostname: string;
  style: FrrStyle;
  protocol: FrrProtocol;
  profile: ProfileName;
  routerId: string;
  area: string;
  interfaces: { name: string; network: OspfNetwork; cost?: number; passive?: boolean }[];
  asn?: number;
  neighbors: { address: string; remoteAs: number }[];
  timers: FrrTimers;
  // Host prefixes (`192.0.2.53/32`, `2001:db8::53/128`), sorted by address.
  servicesV4: string[];
  servicesV6: string[];
  // Services FRR learns from the kernel (announce: address|route); announce: bgp ones come from network statements.
  redistributedV4: string[];
  redistributedV6: string[];
  // Interfaces the service addresses live on (zebra.conf describes them; OSPF must never run on them).
  serviceInterfaces: string[];
  // Routing policy: metric levels before the service route-map entries (render-policy.ts); absent or empty: none.
  policy?: PolicyLevel[];
  // BFD on every OSPF interface and BGP neighbour with this bfdd profile; absent: no BFD.
  bfd?: BfdProfile;
  // The vty `password` line of the split files, read from frr.vty_password_file by the caller (never logged).
  vtyPassword?: string;
}

export interface BfdProfile {
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
}

export type ResolveResult = { ok: true; options: RenderOptions } | { ok: false; errors: string[] };

const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], key: string, errors: string[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  errors.push(`${key}: must be ${allowed.join(' or ')}, got ${JSON.stringify(value)}`);
  return undefined;
}

function parseAsn(text: string, key: string, errors: string[]): number | undefined {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(value) && value >= 1 && value <= 4_294_967_295) return value;
  errors.push(`${key}: must be an AS number 1-4294967295, got ${JSON.stringify(text)}`);
  return undefined;
}

// OSPF areas are 32-bit; the rendered config always uses the dotted form so the output does not depend on spelling.
export function areaToDotted(area: string | number): string | undefined {
  if (typeof area === 'string' && net.isIPv4(area)) return area;
  const value = typeof area === 'number' ? area : /^\d{1,10}$/.test(area) ? Number(area) : NaN;
  if (!Number.isInteger(value) || value < 0 || value > 4_294_967_295) return undefined;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

function ipv6Sortable(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((group) => group.padStart(4, '0')).join(':');
}

// Deterministic order, independent of the order services were written in.
export function sortAddresses(addresses: Iterable<string>): { v4: string[]; v6: string[] } {
  const unique = [...new Set([...addresses].map((address) => canonical(address)))];
  const v4 = unique.filter((address) => net.isIPv4(address)).sort((a, b) => ipv4Number(a) - ipv4Number(b));
  const v6 = unique
    .filter((address) => net.isIPv6(address))
    .sort((a, b) => (ipv6Sortable(a) < ipv6Sortable(b) ? -1 : ipv6Sortable(a) > ipv6Sortable(b) ? 1 : 0));
  return { v4, v6 };
}

function resolveTimers(profile: ProfileName, section: FrrSection['timers'], errors: string[]): FrrTimers {
  const timers: FrrTimers = { ...PROFILES[profile] };
  const set = section ?? {};
  const secondsOf = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  timers.helloInterval = secondsOf(set.hello_interval) ?? timers.helloInterval;
  timers.deadInterval = secondsOf(set.dead_interval) ?? timers.deadInterval;
  timers.spfDelay = set.spf_delay ?? timers.spfDelay;
  timers.spfHold = set.spf_hold ?? timers.spfHold;
  timers.spfMaxHold = set.spf_max_hold ?? timers.spfMaxHold;
  timers.lsaInterval = set.lsa_interval ?? timers.lsaInterval;
  timers.lsaMinArrival = set.lsa_min_arrival ?? timers.lsaMinArrival;
  timers.bgpKeepalive = secondsOf(set.bgp_keepalive) ?? timers.bgpKeepalive;
  timers.bgpHold = secondsOf(set.bgp_hold) ?? timers.bgpHold;
  timers.bgpConnectRetry = secondsOf(set.bgp_connect_retry) ?? timers.bgpConnectRetry;
  if (timers.deadInterval <= timers.helloInterval) {
    errors.push(`frr.timers.dead_interval: ${timers.deadInterval}s must be longer than hello_interval (${timers.helloInterval}s); use 3-4 times it`);
  }
  if (timers.spfHold > timers.spfMaxHold) errors.push(`frr.timers.spf_hold: ${timers.spfHold}ms is more than spf_max_hold (${timers.spfMaxHold}ms)`);
  if (timers.bgpHold !== 0 && timers.bgpHold < 3) errors.push(`frr.timers.bgp_hold: must be 0 (no keepalives) or at least 3s, got ${timers.bgpHold}s`);
  if (timers.bgpHold !== 0 && timers.bgpKeepalive >= timers.bgpHold) {
    errors.push(`frr.timers.bgp_keepalive: ${timers.bgpKeepalive}s must be shorter than bgp_hold (${timers.bgpHold}s); use a third of it`);
  }
  return timers;
}

function resolveInterfaces(source: RenderSource, flags: FrrFlags, serviceInterfaces: readonly string[], errors: string[]): RenderOptions['interfaces'] {
  const list: { key: string; name: string; network: OspfNetwork; cost?: number; passive?: boolean }[] = [];
  if (flags.interfaces && flags.interfaces.length > 0) {
    for (const text of flags.interfaces) {
      const [name = '', network, extra] = text.split('=');
      const key = `--interface ${JSON.stringify(text)}`;
      if (!IFNAME.test(name) || extra !== undefined) {
        errors.push(`${key}: must be NAME or NAME=point-to-point|broadcast`);
        continue;
      }
      const type = network === undefined ? 'broadcast' : oneOf(network, ['point-to-point', 'broadcast'] as const, key, errors);
      if (type) list.push({ key, name, network: type });
    }
  } else {
    (source.frr.interfaces ?? []).forEach((entry, index) =>
      list.push({
        key: `frr.interfaces[${index}].name`,
        name: entry.name,
        network: entry.network ?? 'broadcast',
        ...(entry.cost === undefined ? {} : { cost: entry.cost }),
        ...(entry.passive === undefined ? {} : { passive: entry.passive }),
      }),
    );
  }
  const seen = new Set<string>();
  const out: RenderOptions['interfaces'] = [];
  for (const entry of list) {
    if (serviceInterfaces.includes(entry.name)) {
      errors.push(`${entry.key}: ${entry.name} carries the service addresses; OSPF on it would advertise every address there, unfiltered`);
    } else if (seen.has(entry.name)) {
      errors.push(`${entry.key}: ${entry.name} is listed twice`);
    } else {
      seen.add(entry.name);
      out.push({
        name: entry.name,
        network: entry.network,
        ...(entry.cost === undefined ? {} : { cost: entry.cost }),
        ...(entry.passive === undefined ? {} : { passive: entry.passive }),
      });
    }
  }
  return out;
}

function resolveNeighbors(source: RenderSource, flags: FrrFlags, errors: string[]): RenderOptions['neighbors'] {
  const list: { key: string; address: string; remoteAs: number }[] = [];
  if (flags.neighbors && flags.neighbors.length > 0) {
    for (const text of flags.neighbors) {
      const key = `--neighbor ${JSON.stringify(text)}`;
      const at = text.lastIndexOf('=');
      const address = text.slice(0, Math.max(at, 0));
      if (at < 0 || net.isIP(address) === 0) {
        errors.push(`${key}: must be ADDRESS=REMOTE_AS, e.g. 198.51.100.1=65000`);
        continue;
      }
      const remoteAs = parseAsn(text.slice(at + 1), key, errors);
      if (remoteAs !== undefined) list.push({ key, address: canonical(address), remoteAs });
    }
  } else {
    (source.frr.neighbors ?? []).forEach((entry, index) =>
      list.push({ key: `frr.neighbors[${index}].address`, address: canonical(entry.address), remoteAs: entry.remote_as }),
    );
  }
  const seen = new Set<string>();
  const out: RenderOptions['neighbors'] = [];
  for (const entry of list) {
    if (seen.has(entry.address)) errors.push(`${entry.key}: ${entry.address} is listed twice`);
    else {
      seen.add(entry.address);
      out.push({ address: entry.address, remoteAs: entry.remoteAs });
    }
  }
  return out;
}

// `frr.bfd`: true/false, or the profile's timers (which turn it on); unset: what the timer profile says.
export function resolveBfd(profile: ProfileName, section: FrrSection['bfd']): BfdProfile | undefined {
  const on = section === undefined ? PROFILE_BFD[profile] : section !== false;
  if (!on) return undefined;
  const set = typeof section === 'object' ? section : {};
  return {
    receiveIntervalMs: set.receive_interval ?? DEFAULT_BFD.receiveIntervalMs,
    transmitIntervalMs: set.transmit_interval ?? DEFAULT_BFD.transmitIntervalMs,
    detectMultiplier: set.detect_multiplier ?? DEFAULT_BFD.detectMultiplier,
  };
}

// Combines config and flags, applies defaults, and reports every problem at once.
export function resolveRenderOptions(source: RenderSource, flags: FrrFlags = {}, systemHostname: string = os.hostname()): ResolveResult {
  const errors: string[] = [];
  const frr = source.frr;
  const style = oneOf(flags.style, ['split', 'integrated'] as const, '--style', errors) ?? frr.style ?? 'integrated';
  const protocol = oneOf(flags.protocol, ['ospf', 'bgp'] as const, '--protocol', errors) ?? frr.protocol ?? 'ospf';
  const profile = oneOf(flags.profile, ['default', 'fast'] as const, '--profile', errors) ?? frr.profile ?? 'default';

  let hostname = flags.hostname ?? frr.hostname ?? systemHostname;
  if (!HOSTNAME.test(hostname)) {
    errors.push(
      flags.hostname !== undefined
        ? `--hostname: ${JSON.stringify(hostname)} is not a host name`
        : `frr.hostname: required: the system host name ${JSON.stringify(hostname)} is not usable in FRR`,
    );
    hostname = 'invalid';
  }

  const { v4, v6 } = sortAddresses(source.services.flatMap((service) => service.addresses));
  const redistributed = sortAddresses(source.services.filter((service) => service.announce !== 'bgp').flatMap((service) => service.addresses));
  const serviceInterfaces = [...new Set([source.interface, ...source.services.map((service) => service.interface)])].sort();

  let routerId = flags.routerId ?? frr.router_id;
  const routerIdKey = flags.routerId !== undefined ? '--router-id' : 'frr.router_id';
  if (routerId === undefined) {
    errors.push(
      'frr.router_id: required (or --router-id): an IPv4 address unique to this node, never a service address (anycast addresses are shared, router-ids must not be)',
    );
  } else if (!net.isIPv4(routerId) || routerId === '0.0.0.0') {
    errors.push(`${routerIdKey}: must be a dotted quad other than 0.0.0.0, got ${JSON.stringify(routerId)}`);
  } else if (v4.includes(routerId)) {
    errors.push(`${routerIdKey}: ${routerId} is a service address; every anycast node would claim the same router-id`);
  }
  routerId ??= '0.0.0.0';

  let area = '0.0.0.0';
  if (flags.area !== undefined) {
    const dotted = areaToDotted(flags.area);
    if (dotted === undefined) errors.push(`--area: must be a dotted quad (0.0.0.0) or 0-4294967295, got ${JSON.stringify(flags.area)}`);
    else area = dotted;
  } else if (frr.area !== undefined) {
    area = areaToDotted(frr.area) ?? area;
  }

  // Links matter to OSPF only; BGP peers by address.
  const interfaces = protocol === 'ospf' ? resolveInterfaces(source, flags, serviceInterfaces, errors) : [];
  const asn = flags.asn !== undefined ? parseAsn(flags.asn, '--asn', errors) : frr.asn;
  const neighbors = resolveNeighbors(source, flags, errors);
  const timers = resolveTimers(profile, frr.timers, errors);
  const bfd = resolveBfd(profile, frr.bfd);

  if (protocol === 'ospf' && interfaces.length === 0 && !errors.some((error) => error.startsWith('--interface') || error.startsWith('frr.interfaces'))) {
    errors.push('frr.interfaces: required for --protocol ospf (or --interface NAME[=point-to-point|broadcast]): the links to the upstream router(s)');
  }
  if (protocol === 'bgp') {
    if (asn === undefined && flags.asn === undefined) errors.push('frr.asn: required for --protocol bgp (or --asn)');
    if (neighbors.length === 0 && !errors.some((error) => error.startsWith('--neighbor'))) {
      errors.push('frr.neighbors: required for --protocol bgp (or --neighbor ADDRESS=REMOTE_AS): the upstream router(s) to peer with');
    }
  }
  const policy = policyLevels(source.services, serviceInterfaces.length, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    options: {
      hostname,
      style,
      protocol,
      profile,
      routerId,
      area,
      interfaces,
      ...(asn === undefined ? {} : { asn }),
      neighbors,
      timers,
      servicesV4: v4.map((address) => `${address}/32`),
      servicesV6: v6.map((address) => `${address}/128`),
      redistributedV4: redistributed.v4.map((address) => `${address}/32`),
      redistributedV6: redistributed.v6.map((address) => `${address}/128`),
      serviceInterfaces,
      ...(bfd === undefined ? {} : { bfd }),
      policy,
    },
  };
}
