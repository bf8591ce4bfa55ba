// Runs dns-load-client.js in a lab node's namespace and turns its JSON lines into per-target counts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../lab/process.js';
import type { Lab, LabNode } from '../../../lab/lab.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dns-load-client.js');

export interface DnsQuery {
  t: number;
  target: string;
  id: number;
  ok: boolean;
  by?: string;
  err?: string;
  rttMs: number;
}

export interface TargetCounts {
  target: string;
  sent: number;
  answered: number;
  failed: number;
  // Answers per node (the TXT text), e.g. { a: 120, b: 280 }.
  by: Record<string, number>;
  // Failures by reason, e.g. { timeout: 2, EHOSTUNREACH: 1 }.
  errors: Record<string, number>;
}

export interface DnsLoadOptions {
  targets: readonly string[];
  port: number;
  // Queries per second per target.
  rate: number;
  durationMs: number;
  timeoutMs: number;
  // Daemon name, unique per run (it names the log file).
  name: string;
}

export interface DnsLoad {
  // Epoch ms at which the client started sending.
  started: number;
  // Resolves once every query has settled, with every query in send order.
  finished: Promise<DnsQuery[]>;
}

// Counts per target; `from`/`to` (epoch ms, send time) select a window.
export function countQueries(queries: readonly DnsQuery[], target: string, window: { from?: number; to?: number } = {}): TargetCounts {
  const selected = queries.filter((q) => q.target === target && q.t >= (window.from ?? -Infinity) && q.t < (window.to ?? Infinity));
  const counts: TargetCounts = { target, sent: selected.length, answered: 0, failed: 0, by: {}, errors: {} };
  for (const q of selected) {
    if (q.ok) {
      counts.answered += 1;
      counts.by[q.by ?? '?'] = (counts.by[q.by ?? '?'] ?? 0) + 1;
    } else {
      counts.failed += 1;
      counts.errors[q.err ?? '?'] = (counts.errors[q.err ?? '?'] ?? 0) + 1;
    }
  }
  return counts;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// Starts the client and resolves once it has started sending; bounded in time throughout.
export async function startDnsLoad(lab: Lab, node: LabNode, options: DnsLoadOptions): Promise<DnsLoad> {
  const args = [
    CLIENT,
    '--port',
    String(options.port),
    '--rate',
    String(options.rate),
    '--duration',
    String(options.durationMs),
    '--timeout',
    String(options.timeoutMs),
    ...options.targets,
  ];
  const daemon = lab.startDaemon(node, options.name, process.execPath, args);
  const exited = () => daemon.child.exitCode !== null || daemon.child.signalCode !== null;
  const started = await waitFor(
    `${daemon.name} to start sending`,
    () => {
      const first = jsonLines(daemon.output()).find((line) => typeof line.started === 'number');
      if (first) return first.started as number;
      if (exited()) throw new Error(`${daemon.name} exited: ${daemon.output().slice(-2000)}`);
      return undefined;
    },
    { timeoutMs: 10_000, intervalMs: 10 },
  );
  const finished = (async () => {
    const code = await Promise.race([
      daemon.exited,
      new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), options.durationMs + options.timeoutMs + 10_000).unref()),
    ]);
    if (code === 'late') {
      await daemon.stop('SIGKILL');
      throw new Error(`${daemon.name} did not finish in time`);
    }
    const lines = jsonLines(daemon.output());
    const done = lines.find((line) => typeof line.done === 'number');
    if (code !== 0 || !done) throw new Error(`${daemon.name} exited ${code} without finishing: ${daemon.output().slice(-2000)}`);
    const queries = lines.filter((line) => typeof line.target === 'string') as unknown as DnsQuery[];
    if (queries.length !== done.sent) throw new Error(`${daemon.name}: ${queries.length} results for ${String(done.sent)} queries`);
    return queries.sort((x, y) => x.t - y.t);
  })();
  // The caller may await `finished` late; an early failure must not be an unhandled rejection meanwhile.
  finished.catch(() => undefined);
  return { started, finished };
}
