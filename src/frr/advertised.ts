// Does FRR itself originate each service prefix? Pure parsers of FRR 8.4's JSON (fixtures in test/fixtures/frr/)
// and one check over vtysh that answers yes, no, or unknown (FRR could not be asked) per prefix.
import net from 'node:net';
import { canonical } from '../config/address.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import type { FrrProtocol } from './render-options.js';
import { HOLD_LISTS } from '../routing/bgp-commands.js';
import type { Vtysh } from './vtysh.js';
import { VtyshError } from './vtysh-errors.js';

export type Advertised = 'yes' | 'no' | 'unknown';

export interface PrefixAdvertisement {
  prefix: string;
  advertised: Advertised;
  // Why no or unknown (FRR's message when it could not be asked).
  reason?: string;
}

// What one family's output says this router originates; `note` explains an empty answer.
export interface Originated {
  prefixes: Set<string>;
  note?: string;
}

// OSPF's MaxAge: a withdrawn LSA stays in the database at this age until the neighbours acknowledge the flush
// (seconds in FRR 8.4), so it is listed but no longer advertised.
export const OSPF_MAX_AGE = 3600;

export const ADVERTISEMENT_COMMANDS: Readonly<Record<FrrProtocol, Readonly<Record<4 | 6, string>>>> = {
  ospf: { 4: 'show ip ospf database external self-originate json', 6: 'show ipv6 ospf6 database as-external self-originate json' },
  bgp: { 4: 'show bgp ipv4 unicast json', 6: 'show bgp ipv6 unicast json' },
};

function badOutput(what: string): HealthcastError {
  return new HealthcastError(ErrorCodes.VTYSH_BAD_OUTPUT, `unexpected FRR JSON: ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// One spelling per prefix: "192.0.2.53" and "192.0.2.53/32" are the same, IPv6 in canonical lower case.
export function normalizePrefix(input: string): string {
  const [address = '', length, extra] = input.trim().split('/');
  const family = net.isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixLength = length === undefined ? bits : /^\d{1,3}$/.test(length) ? Number(length) : NaN;
  if (family === 0 || extra !== undefined || !(prefixLength >= 0 && prefixLength <= bits)) {
    throw new HealthcastError(ErrorCodes.USAGE, `not a prefix: ${JSON.stringify(input)}`);
  }
  return `${canonical(address, family as 4 | 6)}/${prefixLength}`;
}

export function ipv4Network(lsid: string, maskLength: number): string {
  const value = lsid.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - maskLength);
  const network = Math.floor(value / size) * size;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.')}/${maskLength}`;
}

interface OspfExternalLsa {
  lsaAge?: number;
  linkStateId?: string;
  networkMask?: number;
  advertisingRouter?: string;
}

// `show ip ospf database external self-originate json`: {"AS External Link States": {LSID: lsa}}. Also takes the
// plain `show ip ospf database external json` ({"asExternalLinkStates": [lsa]}), keeping this router's LSAs.
export function parseOspfExternal(json: unknown): Originated {
  if (!isRecord(json)) throw badOutput('OSPF external database is not an object');
  let lsas: OspfExternalLsa[];
  const selfOriginated = json['AS External Link States'];
  if (isRecord(selfOriginated)) lsas = Object.values(selfOriginated) as OspfExternalLsa[];
  else if (Array.isArray(json.asExternalLinkStates)) {
    lsas = (json.asExternalLinkStates as OspfExternalLsa[]).filter((lsa) => lsa.advertisingRouter === json.routerId);
  } else throw badOutput('no "AS External Link States" in the OSPF database output');
  const prefixes = new Set<string>();
  for (const lsa of lsas) {
    if (typeof lsa.linkStateId !== 'string' || !net.isIPv4(lsa.linkStateId) || typeof lsa.networkMask !== 'number')
      throw badOutput('an external LSA without linkStateId/networkMask');
    if (typeof lsa.lsaAge === 'number' && lsa.lsaAge >= OSPF_MAX_AGE) continue;
    // RFC 2328 appendix E may set host bits in the LSID; the mask gives the network.
    prefixes.add(ipv4Network(lsa.linkStateId, lsa.networkMask));
  }
  return { prefixes };
}

interface Ospf6Lsa {
  type?: string;
  age?: number;
  payload?: string;
  prefix?: string;
}

// `show ipv6 ospf6 database as-external self-originate [detail] json`: {"asScopedLinkStateDb": [{"lsa": [...]}]}
// with the prefix in `payload` (summary) or `prefix` (detail).
export function parseOspf6AsExternal(json: unknown): Originated {
  if (!isRecord(json) || !Array.isArray(json.asScopedLinkStateDb)) throw badOutput('no "asScopedLinkStateDb" in the OSPFv3 database output');
  const prefixes = new Set<string>();
  for (const scope of json.asScopedLinkStateDb as { lsa?: Ospf6Lsa[] }[]) {
    for (const lsa of scope.lsa ?? []) {
      if (lsa.type !== 'ASE' && lsa.type !== 'AS-External') continue;
      if (typeof lsa.age === 'number' && lsa.age >= OSPF_MAX_AGE) continue;
      const prefix = lsa.payload ?? lsa.prefix;
      if (typeof prefix !== 'string') throw badOutput('an AS-external LSA without a prefix');
      prefixes.add(normalizePrefix(prefix));
    }
  }
  return { prefixes };
}

interface BgpPath {
  valid?: boolean;
  removed?: boolean;
  peerId?: string;
}

// `show bgp ipv4|ipv6 unicast json`: a prefix counts when it has a valid local path (peerId "(unspec)", what
// redistribution creates). Learnt paths and paths marked "removed" (being withdrawn) do not.
export function parseBgpLocal(json: unknown): Originated {
  if (!isRecord(json)) throw badOutput('BGP table is not an object');
  if (json.routes === undefined && typeof json.warning === 'string') return { prefixes: new Set(), note: `bgpd: ${json.warning}` };
  if (!isRecord(json.routes)) throw badOutput('no "routes" in the BGP table output');
  const prefixes = new Set<string>();
  for (const [prefix, paths] of Object.entries(json.routes)) {
    if (!Array.isArray(paths)) throw badOutput(`paths of ${prefix} are not a list`);
    if ((paths as BgpPath[]).some((path) => path.peerId === '(unspec)' && path.valid === true && path.removed !== true)) prefixes.add(normalizePrefix(prefix));
  }
  return { prefixes };
}

const PARSERS: Readonly<Record<FrrProtocol, Readonly<Record<4 | 6, (json: unknown) => Originated>>>> = {
  ospf: { 4: parseOspfExternal, 6: parseOspf6AsExternal },
  bgp: { 4: parseBgpLocal, 6: parseBgpLocal },
};

// An answer that means "no instance configured", so nothing is originated: FRR was reached.
function noInstance(error: unknown, protocol: FrrProtocol, family: 4 | 6): string | undefined {
  if (!(error instanceof VtyshError) || error.code !== ErrorCodes.VTYSH_BAD_OUTPUT) return undefined;
  const text = error.stdout.trim();
  if (protocol === 'ospf' && family === 4 && /^% OSPF is not enabled/.test(text)) return `ospfd: ${text.slice(2)}`;
  if (protocol === 'ospf' && family === 6 && text === '') return 'ospf6d has no `router ospf6`';
  return undefined;
}

// BGP through frr-config's hold list (src/routing/bgp-commands.ts): the table as the neighbours' outbound filter lets
// it out, so a statement held back during a drain (in the table, denied to every neighbour) is not advertised.
export const BGP_HELD_VIEW: Readonly<Record<4 | 6, string>> = {
  4: `show bgp ipv4 unicast prefix-list ${HOLD_LISTS[4]} json`,
  6: `show bgp ipv6 unicast prefix-list ${HOLD_LISTS[6]} json`,
};

// FRR 8.4's answer when the list is not configured (vtysh: exit 0 and this text; bgpd's socket: a warning status):
// the plain table is the answer then.
function listMissing(error: unknown): boolean {
  if (!(error instanceof VtyshError) || (error.code !== ErrorCodes.VTYSH_BAD_OUTPUT && error.code !== ErrorCodes.VTYSH_REJECTED)) return false;
  return /prefix-list not found/.test(`${error.stdout}\n${error.frrMessage}`);
}

async function table(vtysh: Pick<Vtysh, 'show'>, protocol: FrrProtocol, family: 4 | 6): Promise<unknown> {
  if (protocol !== 'bgp') return vtysh.show(ADVERTISEMENT_COMMANDS[protocol][family]);
  try {
    return await vtysh.show(BGP_HELD_VIEW[family]);
  } catch (error) {
    if (!listMissing(error)) throw error;
    return vtysh.show(ADVERTISEMENT_COMMANDS[protocol][family]);
  }
}

async function originated(vtysh: Pick<Vtysh, 'show'>, protocol: FrrProtocol, family: 4 | 6): Promise<Originated | { unknown: string }> {
  try {
    return PARSERS[protocol][family](await table(vtysh, protocol, family));
  } catch (error) {
    const note = noInstance(error, protocol, family);
    if (note !== undefined) return { prefixes: new Set(), note };
    return { unknown: messageOf(error) };
  }
}

// Per prefix, in the order given: yes when FRR originates it, no when FRR answered and does not, unknown when it
// could not be asked (not running, daemon down, timeout, output we do not understand).
export async function checkAdvertised(
  vtysh: Pick<Vtysh, 'show'>,
  prefixes: readonly string[],
  protocol: FrrProtocol,
): Promise<Map<string, PrefixAdvertisement>> {
  const normalized = prefixes.map(normalizePrefix);
  const families = ([4, 6] as const).filter((family) => normalized.some((prefix) => (prefix.includes(':') ? 6 : 4) === family));
  const answers = new Map(await Promise.all(families.map(async (family) => [family, await originated(vtysh, protocol, family)] as const)));
  const result = new Map<string, PrefixAdvertisement>();
  for (const prefix of normalized) {
    const answer = answers.get(prefix.includes(':') ? 6 : 4)!;
    if ('unknown' in answer) result.set(prefix, { prefix, advertised: 'unknown', reason: answer.unknown });
    else if (answer.prefixes.has(prefix)) result.set(prefix, { prefix, advertised: 'yes' });
    else {
      const where = protocol === 'ospf' ? 'not among the self-originated external LSAs' : 'no valid local path in the BGP table';
      result.set(prefix, { prefix, advertised: 'no', reason: answer.note ? `${where} (${answer.note})` : where });
    }
  }
  return result;
}
