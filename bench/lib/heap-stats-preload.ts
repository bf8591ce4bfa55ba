// Preload (node --import) that writes a process's heap spaces and garbage collections to a file every 5 s, to see
// where an agent's RSS sits and how often V8 collects (the agent is started by the benchmark, not by hand).
// Env: HEAP_STATS_FILE (where to append one JSON line every 5 s; the collection counts are totals since start).
import fs from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const file = process.env.HEAP_STATS_FILE;
if (file) {
  const kindNames = new Map([
    [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
    [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
    [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
  ]);
  const collections: Record<string, { count: number; ms: number; majorAtSeconds?: number[] }> = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kindNames.get((entry as { detail?: { kind?: number } }).detail?.kind ?? -1) ?? 'other';
      const seen = (collections[kind] ??= { count: 0, ms: 0 });
      seen.count += 1;
      seen.ms += entry.duration;
      if (kind === 'major') (seen.majorAtSeconds ??= []).push(Math.round(process.uptime()));
    }
  }).observe({ entryTypes: ['gc'] });
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  setInterval(() => {
    const spaces = Object.fromEntries(
      v8.getHeapSpaceStatistics().map((space) => [space.space_name, { sizeMb: mb(space.space_size), usedMb: mb(space.space_used_size) }]),
    );
    const memory = process.memoryUsage();
    fs.appendFileSync(
      file,
      `${JSON.stringify({ uptimeSeconds: Math.round(process.uptime()), rssMb: mb(memory.rss), heapTotalMb: mb(memory.heapTotal), spaces, collections })}\n`,
    );
  }, 5000).unref();
}
