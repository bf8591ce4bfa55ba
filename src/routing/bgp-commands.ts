// Pure text for bgpd: the vtysh lines that add or remove `network` statements, and the parser of
// `show running-config bgpd` that lists them. Kept apart from the process handling so tests reach them.
//
// Why the running config and not `show bgp ipv4|ipv6 unicast json` (measured on FRR 8.4.4): the table cannot tell a
// statement apart from redistribution in its summary JSON (both are peerId "(unspec)", weight 32768; only `origin`
// differs, IGP vs incomplete, and any route-map can set origin), and with `bgp network import-check` (FRR's default)
// a statement whose address is not in zebra's RIB is not in the table at all, so a statement would look gone while it
// is configured, and a withdrawal would never be planned. The running config lists exactly the configured statements.
import net from 'node:net';
import { canonical, familyOf, withPrefix } from '../config/address.js';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { BGP_INTERFACE, HELD_INTERFACE, type KernelEntry, type RoutingOp } from './types.js';

// One vtysh process per listing. `show running-config bgpd` alone cannot tell "bgpd down" from "no statements": with
// bgpd stopped it exits 0 with only vtysh's own lines and no error (measured, FRR 8.4.4). `show bgp vrfs json` first
// is routed to bgpd alone: bgpd down makes vtysh print "bgpd is not running" and stop there (exit 1).
export const LIST_COMMANDS: readonly string[] = ['show bgp vrfs json', 'show running-config bgpd'];

// What bgpd answers to `no network P` when there is no such statement: the statement is gone, which is what we want.
export const NETWORK_NOT_FOUND = /Can't find static route specified/;

export interface BgpdConfig {
  // The AS of the default instance (`router bgp ASN` without vrf/view) as FRR prints it; undefined: no instance.
  asn: string | undefined;
  // Host-prefix network statements of that instance, ipv4 and ipv6 unicast; one with a deny entry on its family's
  // hold list (below) is held back: its interface is HELD_INTERFACE.
  networks: KernelEntry[];
  // Per family, the hold list's deny entries (address -> seq), when the list is there with its closing `permit any`.
  held?: Held;
}

// The neighbours' outbound hold lists (`neighbor X prefix-list HC-BGP-HOLD-V4 out`, rendered by frr-config). Why:
// a withdrawal by `no network` waits for bgpd's route work queue, whose 50 ms hold is fixed in FRR 8.4
// (bgp_process_queue_init), while a change to a neighbour's outbound prefix-list re-walks the table at once:
// measured on FRR 8.4.4 with a BIRD 2 router, the route left the router 3-8 ms after the write began (53-59 ms with
// `no network`). So a withdrawal first adds `seq N deny ADDR/32` here, then removes the statement in the same write;
// the next announcement deletes the entry (the route then waits for bgpd's queue like any new statement: ~50 ms).
// During a drain the address stays on the host, so the statement stays too, held back by its deny entry alone
// (HELD_INTERFACE): bgpd keeps the route selected, and an announcement before the drain ends only deletes the entry
// (3 ms to the router). Not after a failure: keeping the route valid under bgpd's import check would mean keeping a
// failed service's address on the host, where local clients would keep reaching it (bgp-write.ts plans the writes).
export const HOLD_LISTS = { 4: 'HC-BGP-HOLD-V4', 6: 'HC-BGP-HOLD-V6' } as const;
// The closing entry that lets every other prefix through; healthcast writes only to a list that has it.
export const HOLD_SENTINEL_SEQ = 4294967295;
export type Held = Partial<Record<4 | 6, ReadonlyMap<string, number>>>;

type Family = 'ipv4' | 'ipv6';

// The stdout of LIST_COMMANDS: the vrfs JSON (proof that bgpd answered), then the configuration text.
export function parseBgpdListing(stdout: string): BgpdConfig {
  const split = stdout.search(/^Building configuration/m);
  const configText = split < 0 ? '' : stdout.slice(split);
  let vrfs: unknown;
  try {
    vrfs = JSON.parse(split < 0 ? stdout : stdout.slice(0, split));
  } catch {
    vrfs = undefined;
  }
  if (typeof vrfs !== 'object' || vrfs === null || !('vrfs' in vrfs) || !/^Current configuration:/m.test(configText)) {
    const shown = stdout.trim().slice(0, 300) || '(nothing)';
    throw new HealthcastError(
      ErrorCodes.VTYSH_BAD_OUTPUT,
      `vtysh ${LIST_COMMANDS.map((c) => `-c '${c}'`).join(' ')}: expected bgpd's vrfs JSON then its configuration, got: ${shown}`,
    );
  }
  return parseBgpdConfig(configText);
}

// Statements under `router bgp ASN vrf X`, other address families and non-host prefixes are never healthcast's,
// and cannot collide with a host statement in the default instance, so they are not listed.
export function parseBgpdConfig(text: string): BgpdConfig {
  const held = parseHeld(text);
  const { asn, networks } = parseStatements(text);
  const isHeld = (entry: KernelEntry) => held[familyOf(entry.address)]?.has(entry.address) === true;
  return {
    asn,
    networks: networks.map((entry) => (isHeld(entry) ? { ...entry, interface: HELD_INTERFACE } : entry)),
    ...(Object.keys(held).length > 0 ? { held } : {}),
  };
}

// The hold lists' entries; a list without its closing `permit any` is not healthcast's to write to.
export function parseHeld(text: string): Held {
  const held: Held = {};
  for (const family of [4, 6] as const) {
    const word = family === 4 ? 'ip' : 'ipv6';
    const entries = new Map<string, number>();
    let closed = false;
    const pattern = new RegExp(`^${word} prefix-list ${HOLD_LISTS[family]} seq (\\d+) (deny|permit) (\\S+)$`);
    for (const line of text.split('\n')) {
      const match = pattern.exec(line.trim());
      if (!match) continue;
      if (Number(match[1]) === HOLD_SENTINEL_SEQ && match[2] === 'permit' && match[3] === 'any') closed = true;
      const [address = '', length] = (match[3] ?? '').split('/');
      if (match[2] === 'deny' && net.isIP(address) === family && length === String(family === 4 ? 32 : 128))
        entries.set(canonical(address, family), Number(match[1]));
    }
    if (closed) held[family] = entries;
  }
  return held;
}

// At most this many removals per family are held back in one write; a bigger batch goes by `no network` alone. Why:
// each entry makes bgpd re-walk the neighbours' table (O(routes)), so with 1,000 services failing together
// 1,000 entries took seconds (the first route left the router 3-10 s after the decision), where one work-queue
// run takes them all after its 50 ms.
export const HOLD_MAX_PER_WRITE = 8;

function parseStatements(text: string): Omit<BgpdConfig, 'held'> {
  let asn: string | undefined;
  let inDefault = false;
  // Inside `router bgp`, before any address-family: FRR (and Quagga) took IPv4 statements there.
  let family: Family | 'other' | 'router' = 'router';
  const seen = new Set<string>();
  const networks: KernelEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    if (!/^\s/.test(line)) {
      // A top-level line (`exit`, `!`, the next section) ends any `router bgp` block.
      const router = /^router bgp (\S+)(\s.*)?$/.exec(line);
      inDefault = router !== null && router[2] === undefined && asn === undefined;
      if (inDefault) asn = router?.[1];
      family = 'router';
      continue;
    }
    if (!inDefault) continue;
    const trimmed = line.trim();
    const af = /^address-family (\S+)(?: (\S+))?$/.exec(trimmed);
    if (af) {
      family = (af[1] === 'ipv4' || af[1] === 'ipv6') && (af[2] === undefined || af[2] === 'unicast') ? af[1] : 'other';
      continue;
    }
    if (trimmed === 'exit-address-family') {
      family = 'router';
      continue;
    }
    const statement = /^network (\S+)(\s|$)/.exec(trimmed);
    if (!statement || family === 'other') continue;
    const [address = '', length] = (statement[1] ?? '').split('/');
    const version = net.isIP(address);
    if (version === 0) continue;
    const expected: Family = family === 'router' ? 'ipv4' : family;
    if ((version === 4 ? 'ipv4' : 'ipv6') !== expected) continue;
    const bits = version === 4 ? 32 : 128;
    if (length !== undefined && length !== String(bits)) continue;
    const entry: KernelEntry = { kind: 'bgp', address: canonical(address, version as 4 | 6), interface: BGP_INTERFACE, prefixLength: bits };
    if (seen.has(entry.address)) continue;
    seen.add(entry.address);
    networks.push(entry);
  }
  return { asn, networks };
}

// The text after `configure terminal`: one `router bgp` context, one address-family block per family with ops.
// Order within a family is kept; a `no network` that vtysh rejects stops the lines after it (see bgp-backend.ts).
export function bgpConfigLines(asn: string, ops: readonly RoutingOp[]): string[] {
  const lines = [`router bgp ${asn}`];
  for (const family of [4, 6] as const) {
    const mine = ops.filter((op) => familyOf(op.entry.address) === family);
    if (mine.length === 0) continue;
    lines.push(`address-family ${family === 4 ? 'ipv4' : 'ipv6'} unicast`);
    for (const op of mine) lines.push(`${op.action === 'add' ? '' : 'no '}network ${withPrefix(op.entry.address)}`);
    lines.push('exit-address-family');
  }
  return lines;
}
