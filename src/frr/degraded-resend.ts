// IPv6 kernel routes (`announce: route`) sent to ospf6d again after their degraded entries changed. ospf6d re-applies
// its redistribution route-map after a prefix-list change only when a fixed 5 s timer fires (OSPF_MIN_LS_INTERVAL in
// ospf6_asbr_distribute_list_update, FRR 8.4), but it applies the route-map at once to every route zebra sends it; an
// `ip route change` of a route to itself makes the kernel announce it again, and zebra sends it on. Measured in the
// lab: the router sees the new metric ~50-150 ms after the list write instead of ~5 s, with no gap. Addresses on an
// interface (`announce: address`) cannot be re-sent that way (zebra drops an unchanged address) and keep the 5 s.
// The route is read back first (`route get`) and changed to exactly what it is; `change`, never `replace`: a route
// withdrawn in between fails its line instead of coming back.
import { IpBatchProcess } from '../routing/ip-batch-process.js';

interface ShownRoute {
  dst?: string;
  dev?: string;
  protocol?: string | number;
  metric?: number;
}

// Pure: `route change` lines from `ip -j route get ADDRESS` answers (one JSON document per address, in order): only a
// route of healthcast's own protocol to exactly that address, changed to what it is (dev, proto, metric). An address
// whose route is gone, or answered by another route, is skipped.
export function resendLines(addresses: readonly string[], documents: readonly string[], routeProtocol: number): string[] {
  const lines: string[] = [];
  addresses.forEach((address, index) => {
    let routes: ShownRoute[];
    try {
      routes = JSON.parse(documents[index] ?? '[]') as ShownRoute[];
    } catch {
      return;
    }
    const route = Array.isArray(routes) ? routes[0] : undefined;
    if (!route || route.dst !== address || typeof route.dev !== 'string' || String(route.protocol) !== String(routeProtocol)) return;
    lines.push(`route change ${address}/128 dev ${route.dev} proto ${routeProtocol}${typeof route.metric === 'number' ? ` metric ${route.metric}` : ''}`);
  });
  return lines;
}

export interface RouteResender {
  resend(addresses: readonly string[]): Promise<void>;
  close(): void;
}

export function createRouteResender(options: { routeProtocol: number; namespace?: string; timeoutMs: number }): RouteResender {
  const batch = new IpBatchProcess({ ip: 'ip', namespace: options.namespace, timeoutMs: options.timeoutMs });
  return {
    async resend(addresses) {
      // `route get`: the batch has no -6, and `route show` without it lists IPv4 only; an address picks its family.
      const shown = await batch.run(
        addresses.map((address) => `route get ${address}`),
        addresses.length,
      );
      const lines = resendLines(addresses, shown.documents, options.routeProtocol);
      if (lines.length > 0) await batch.run(lines);
    },
    close: () => batch.close(),
  };
}
