// The agent's /metrics, scraped from inside the namespace where it listens, reduced to what the benchmarks read:
// probe results summed over every service, and the cumulative buckets of unlabelled histograms.
import type { LabNode } from '../../lab/lab.js';

// Runs in the namespace: fetch the text and keep the lines the benchmarks parse (a 1,000-service scrape is ~3 MB):
// the result counters, the lease expiries, and buckets of histograms with no labels of their own (not the 13,000
// per-service ones).
const FETCH = `fetch(process.argv[1]).then((r) => r.text()).then((text) => { for (const line of text.split('\\n')) if (/^healthcast_(probe_results_total\\{|lease_expired_total |[a-z_]+_bucket\\{le="[^"]+"\\} )/.test(line)) console.log(line); })`;

export interface Scrape {
  at: number; // epoch ms, midway between request and answer
  results: { ok: number; fail: number };
  // healthcast_lease_expired_total: addresses whose lease ran out while the agent ran (should stay 0).
  leaseExpired: number;
  // Cumulative count per upper bound (Infinity for +Inf) of a histogram without labels of its own.
  buckets(histogram: string): Map<number, number>;
}

export async function scrapeMetrics(node: LabNode, port: number): Promise<Scrape> {
  const asked = Date.now();
  const { stdout } = await node.exec(process.execPath, ['-e', FETCH, `http://127.0.0.1:${port}/metrics`], { timeoutMs: 20_000 });
  const at = (asked + Date.now()) / 2;
  const results = { ok: 0, fail: 0 };
  const lines = stdout.split('\n');
  for (const line of lines) {
    const match = /^healthcast_probe_results_total\{.*result="(ok|fail)"\} (\S+)$/.exec(line);
    if (match) results[match[1] as 'ok' | 'fail'] += Number(match[2]);
  }
  const expired = lines.map((line) => /^healthcast_lease_expired_total (\S+)$/.exec(line)).find(Boolean);
  return {
    at,
    results,
    leaseExpired: expired ? Number(expired[1]) : 0,
    buckets(histogram) {
      const found = new Map<number, number>();
      const pattern = new RegExp(`^${histogram}_bucket\\{le="([^"]+)"\\} (\\S+)$`);
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) found.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
      }
      return found;
    },
  };
}

// What a histogram counted between two scrapes, bucket by bucket (still cumulative).
export function bucketDelta(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

// The upper edge (ms) of the bucket the q-quantile falls in: the quantile is at most this. NaN without observations.
export function bucketQuantileMs(cumulative: Map<number, number>, q: number): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return Number.NaN;
  for (const bound of bounds) if (cumulative.get(bound)! >= q * total) return bound * 1000;
  return Number.POSITIVE_INFINITY;
}
