// Pure: who advertises each service prefix, read from FRR 8.4's link-state database JSON (captured output in
// test/fixtures/frr/*-fleet.json). Every AS-external LSA below MaxAge is one router originating one prefix; the set of
// advertising routers (router-ids) per prefix is the fleet as this node sees it, itself included.
import net from 'node:net';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { ipv4Network, normalizePrefix, OSPF_MAX_AGE } from '../frr/advertised.js';

// Prefix ("192.0.2.53/32", canonical) -> router-ids originating it.
export type Advertisers = Map<string, Set<string>>;

// What one read of FRR gave: this router's id and the advertisers of every external prefix.
export interface FleetSnapshot {
  routerId: string;
  advertisers: ReadonlyMap<string, ReadonlySet<string>>;
}

export const FLEET_COMMANDS = {
  // Every AS-external LSA with the originator; the top-level routerId is this router's.
  4: 'show ip ospf database external json',
  // OSPFv3 as-external LSAs: the prefix is in `payload` (lsId is an opaque number).
  6: 'show ipv6 ospf6 database as-external json',
  // ospf6d's own router-id (not in the database output).
  routerId6: 'show ipv6 ospf6 json',
} as const;

function badOutput(what: string): HealthcastError {
  return new HealthcastError(ErrorCodes.VTYSH_BAD_OUTPUT, `unexpected FRR JSON: ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function add(advertisers: Advertisers, prefix: string, routerId: string): void {
  const set = advertisers.get(prefix);
  if (set) set.add(routerId);
  else advertisers.set(prefix, new Set([routerId]));
}

// `show ip ospf database external json`: {"routerId", "asExternalLinkStates": [{linkStateId, networkMask,
// advertisingRouter, lsaAge}]}. A withdrawn prefix stays listed at MaxAge until flushed: not counted.
export function parseOspfExternalFleet(json: unknown): { routerId: string; advertisers: Advertisers } {
  if (!isRecord(json) || !Array.isArray(json.asExternalLinkStates)) throw badOutput('no "asExternalLinkStates" in the OSPF database output');
  if (typeof json.routerId !== 'string' || !net.isIPv4(json.routerId)) throw badOutput('no "routerId" in the OSPF database output');
  const advertisers: Advertisers = new Map();
  for (const lsa of json.asExternalLinkStates as Record<string, unknown>[]) {
    const { linkStateId, networkMask, advertisingRouter, lsaAge } = lsa;
    if (typeof linkStateId !== 'string' || !net.isIPv4(linkStateId) || typeof networkMask !== 'number' || typeof advertisingRouter !== 'string')
      throw badOutput('an external LSA without linkStateId/networkMask/advertisingRouter');
    if (typeof lsaAge === 'number' && lsaAge >= OSPF_MAX_AGE) continue;
    add(advertisers, ipv4Network(linkStateId, networkMask), advertisingRouter);
  }
  return { routerId: json.routerId, advertisers };
}

// `show ipv6 ospf6 database as-external json`: {"asScopedLinkStateDb": [{"lsa": [{type, advRouter, age, payload}]}]}.
export function parseOspf6AsExternalFleet(json: unknown): Advertisers {
  if (!isRecord(json) || !Array.isArray(json.asScopedLinkStateDb)) throw badOutput('no "asScopedLinkStateDb" in the OSPFv3 database output');
  const advertisers: Advertisers = new Map();
  for (const scope of json.asScopedLinkStateDb as { lsa?: Record<string, unknown>[] }[]) {
    for (const lsa of scope.lsa ?? []) {
      if (lsa.type !== 'ASE' && lsa.type !== 'AS-External') continue;
      if (typeof lsa.age === 'number' && lsa.age >= OSPF_MAX_AGE) continue;
      const prefix = lsa.payload ?? lsa.prefix;
      if (typeof prefix !== 'string' || typeof lsa.advRouter !== 'string') throw badOutput('an AS-external LSA without a prefix or advRouter');
      add(advertisers, normalizePrefix(prefix), lsa.advRouter);
    }
  }
  return advertisers;
}

// `show ipv6 ospf6 json`: {"routerId": "0.0.0.2", ...}.
export function parseOspf6RouterId(json: unknown): string {
  if (!isRecord(json) || typeof json.routerId !== 'string' || !net.isIPv4(json.routerId)) throw badOutput('no "routerId" in the ospf6d output');
  return json.routerId;
}

// Router-ids are dotted quads compared as 32-bit numbers ("10.0.0.10" > "10.0.0.9").
export function compareRouterIds(a: string, b: string): number {
  return routerIdValue(a) - routerIdValue(b);
}

function routerIdValue(id: string): number {
  return id.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

// The routers advertising every one of `addresses` (a router with only some of them does not serve the whole
// service), sorted; undefined when the snapshot is unknown.
export function serviceAdvertisers(snapshot: FleetSnapshot | undefined, addresses: readonly string[]): string[] | undefined {
  if (!snapshot || addresses.length === 0) return undefined;
  let common: Set<string> | undefined;
  for (const address of addresses) {
    const here = snapshot.advertisers.get(normalizePrefix(address)) ?? new Set<string>();
    common = common ? new Set([...common].filter((id) => here.has(id))) : new Set(here);
  }
  return [...(common ?? [])].sort(compareRouterIds);
}
