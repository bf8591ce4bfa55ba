// Pure: the routing-policy part of the rendered configs (issue 14). Each metric level is a prefix-list and a route-map
// entry placed before the service entries (seq 1-9): the degraded levels (HC-DEGRADED-V4-<metric>, filled by the agent
// at runtime, src/frr/degraded-lists.ts) first, then the static `metric:` levels (HC-METRIC-V4-<metric>, rendered with
// their addresses). OSPF takes `set metric` as the external metric, BGP as the MED (plus `set as-path prepend`).
import { degradedListName } from './degraded-plan.js';
import { SENTINEL_SEQ } from './degraded-plan.js';

export interface PolicySource {
  addresses: readonly string[];
  metric?: number | undefined;
  degradedMetric?: number | undefined;
  degradedPrepend?: number | undefined;
}

export interface PolicyLevel {
  routeSeq: number; // the route-map entry, before the service entries (10, 20, ...)
  degraded: boolean;
  metric: number;
  prepend: number; // extra copies of the node's AS (BGP), 0: none
  listV4: string;
  listV6: string;
  // Static levels: the addresses; degraded levels start empty (only their closing deny).
  prefixesV4: string[];
  prefixesV6: string[];
}

// Route-map entries 1-9 sit before the first service entry (seq 10).
export const MAX_POLICY_LEVELS = 9;
export { SENTINEL_SEQ };

const hostPrefix = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;
const byValue = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

// `interfaces`: each level has one route-map entry per service interface (`match interface`, like the service entries).
export function policyLevels(services: readonly PolicySource[], interfaces: number, errors: string[]): PolicyLevel[] {
  const degraded = new Map<number, number>(); // metric -> prepend (the largest asked for)
  const fixed = new Map<number, string[]>();
  for (const service of services) {
    if (service.degradedMetric !== undefined) {
      degraded.set(service.degradedMetric, Math.max(degraded.get(service.degradedMetric) ?? 0, service.degradedPrepend ?? 0));
    }
    if (service.metric !== undefined) fixed.set(service.metric, [...(fixed.get(service.metric) ?? []), ...service.addresses]);
  }
  const levels: PolicyLevel[] = [];
  for (const metric of [...degraded.keys()].sort((a, b) => a - b)) {
    levels.push({
      routeSeq: 0,
      degraded: true,
      metric,
      prepend: degraded.get(metric)!,
      listV4: degradedListName(4, metric),
      listV6: degradedListName(6, metric),
      prefixesV4: [],
      prefixesV6: [],
    });
  }
  for (const metric of [...fixed.keys()].sort((a, b) => a - b)) {
    const addresses = [...new Set(fixed.get(metric))].sort(byValue);
    levels.push({
      routeSeq: 0,
      degraded: false,
      metric,
      prepend: 0,
      listV4: `HC-METRIC-V4-${metric}`,
      listV6: `HC-METRIC-V6-${metric}`,
      prefixesV4: addresses.filter((address) => !address.includes(':')).map(hostPrefix),
      prefixesV6: addresses.filter((address) => address.includes(':')).map(hostPrefix),
    });
  }
  if (levels.length * Math.max(1, interfaces) > MAX_POLICY_LEVELS) {
    errors.push(
      `services: ${levels.length} distinct metric and degraded_metric values on ${interfaces} interface(s); the rendered route-maps hold at most ${MAX_POLICY_LEVELS} policy entries (1-9, before the service entries)`,
    );
  }
  return levels.map((level, index) => ({ ...level, routeSeq: index * Math.max(1, interfaces) + 1 }));
}
