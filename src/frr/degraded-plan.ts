// Pure: the degraded prefix-lists. A degraded service keeps its addresses (no withdrawal); they are listed in
// HC-DEGRADED-V4-<metric> / HC-DEGRADED-V6-<metric>, which the rendered route-maps match before the service entries to
// `set metric` (OSPF external metric, BGP MED, and an AS-path prepend with BGP). Changing a list changes only the
// metric FRR advertises, never whether it advertises (docs/frr.md, "Routing policy").

export type Family = 4 | 6;

// The last entry of every degraded list: a list is never empty (FRR treats an empty prefix-list as permit-all).
export const SENTINEL_SEQ = 4294967295;

export interface DegradedAddress {
  address: string;
  metric: number;
}

// list name -> prefix -> seq; the sentinel is listed under SENTINEL.
export const SENTINEL = 'deny any';
export type ListState = Map<string, Map<string, number>>;

export const familyOf = (address: string): Family => (address.includes(':') ? 6 : 4);
export const degradedListName = (family: Family, metric: number): string => `HC-DEGRADED-V${family}-${metric}`;
const hostPrefix = (address: string): string => `${address}/${address.includes(':') ? 128 : 32}`;
const keyword = (list: string): string => (list.includes('-V6-') ? 'ipv6' : 'ip');
const LIST_NAME = /^HC-DEGRADED-V([46])-(\d+)$/;

export function desiredLists(addresses: readonly DegradedAddress[]): Map<string, Set<string>> {
  const lists = new Map<string, Set<string>>();
  for (const { address, metric } of addresses) {
    const name = degradedListName(familyOf(address), metric);
    const set = lists.get(name) ?? new Set<string>();
    set.add(hostPrefix(address));
    lists.set(name, set);
  }
  return lists;
}

// The permit entries of every HC-DEGRADED list in `show running-config` text (vtysh merges the daemons' views).
export function parseRunningLists(text: string): ListState {
  const state: ListState = new Map();
  const line = /^(?:ip|ipv6) prefix-list (HC-DEGRADED-V[46]-\d+) seq (\d+) (permit \S+|deny any)$/;
  for (const raw of text.split('\n')) {
    const match = line.exec(raw.trim());
    if (!match || !LIST_NAME.test(match[1]!)) continue;
    const seq = Number(match[2]);
    const sentinel = match[3] === SENTINEL;
    if (sentinel && seq !== SENTINEL_SEQ) continue;
    const entries = state.get(match[1]!) ?? new Map<string, number>();
    entries.set(sentinel ? SENTINEL : match[3]!.slice('permit '.length), seq);
    state.set(match[1]!, entries);
  }
  return state;
}

export interface ListPlan {
  lines: string[]; // configure-terminal lines, removals last so a moved address is never at the good metric between
  next: ListState; // the lists once the lines are applied
}

// Desired x present -> vtysh lines. Each desired list gets its closing deny entry first if FRR lacks it (a config
// rendered before this version, or none). Adds before removals: an address moving from one degraded level to another
// is in both for a moment, never in neither.
export function planLists(desired: Map<string, Set<string>>, present: ListState): ListPlan {
  const adds: string[] = [];
  const removes: string[] = [];
  const next: ListState = new Map();
  for (const [list, prefixes] of desired) {
    const have = present.get(list) ?? new Map<string, number>();
    const entries = new Map<string, number>();
    const used = new Set(have.values());
    entries.set(SENTINEL, SENTINEL_SEQ);
    if (!have.has(SENTINEL)) adds.push(`${keyword(list)} prefix-list ${list} seq ${SENTINEL_SEQ} deny any`);
    for (const prefix of [...prefixes].sort()) {
      const seq = have.get(prefix);
      if (seq !== undefined) {
        entries.set(prefix, seq);
        continue;
      }
      let free = 10;
      while (used.has(free)) free += 10;
      used.add(free);
      entries.set(prefix, free);
      adds.push(`${keyword(list)} prefix-list ${list} seq ${free} permit ${prefix}`);
    }
    next.set(list, entries);
  }
  for (const [list, have] of present) {
    const wanted = desired.get(list);
    if (wanted === undefined && have.has(SENTINEL)) next.set(list, new Map([[SENTINEL, SENTINEL_SEQ]]));
    for (const [prefix, seq] of have) {
      if (prefix === SENTINEL || wanted?.has(prefix)) continue;
      removes.push(`no ${keyword(list)} prefix-list ${list} seq ${seq} permit ${prefix}`);
    }
  }
  return { lines: [...adds, ...removes], next };
}

// The families whose HC-DEGRADED lists a daemon's route-maps match (its own `show running-config`): the daemons that
// must hold the lists. A daemon that matches none (zebra, or an operator's config without the policy levels) gets none.
export function referencedFamilies(text: string): Family[] {
  const families = new Set<Family>();
  for (const match of text.matchAll(/^\s*match ipv?6? ?address prefix-list HC-DEGRADED-V([46])-\d+\s*$/gm)) families.add(Number(match[1]) as Family);
  return [...families].sort();
}

// The desired lists of some families only (a daemon is sent the families it references).
export function desiredListsOf(addresses: readonly DegradedAddress[], families: readonly Family[]): Map<string, Set<string>> {
  return desiredLists(addresses.filter(({ address }) => families.includes(familyOf(address))));
}

// bgpd applies a changed prefix-list to the outbound route-maps only when its route-map delay timer fires (1 s as
// rendered, 5 s by default; 0 turns it off): an outbound soft refresh of the families changed sends the new MED and AS
// path at once. Appended to bgpd's own batch (`do`: the batch runs in configure mode).
export function bgpSoftOut(lines: readonly string[]): string[] {
  const families = new Set(lines.map((line) => (/\bipv6 prefix-list /.test(line) ? 'ipv6' : 'ipv4')));
  return (['ipv4', 'ipv6'] as const).filter((family) => families.has(family)).map((family) => `do clear bgp ${family} unicast * soft out`);
}

// The IPv6 addresses whose degraded entries a batch adds or removes (what ospf6d must see again, degraded-resend.ts).
export function changedV6Addresses(lines: readonly string[]): string[] {
  const found = new Set<string>();
  for (const line of lines) {
    const match = /^(?:no )?ipv6 prefix-list HC-DEGRADED-V6-\d+ seq \d+ permit ([0-9a-f:]+)\/128$/i.exec(line);
    if (match) found.add(match[1]!);
  }
  return [...found].sort();
}
