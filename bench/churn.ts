// Churn: announce N addresses at once and withdraw them at once through the reconciler (real ip backend, real
// ownership file with fsync) in a throwaway namespace, against one `ip` process per address. Target: < 300 ms per
// direction through the reconciler for 1,000 addresses.
// Usage (root): node dist/bench/churn.js [--count 1000] [--reps 5] [--family mixed|4|6]   writes bench/results/churn.json
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { silentLogger } from '../src/log.js';
import { IpBackend } from '../src/routing/ip-backend.js';
import { FileOwnershipStore } from '../src/routing/ownership.js';
import { Reconciler } from '../src/routing/reconciler.js';
import type { DesiredEntry, RoutingOp } from '../src/routing/types.js';

const TARGET_MS = 300;
const PROTO = 201;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const COUNT = Number(option('count', '1000'));
const REPS = Number(option('reps', '5'));
const FAMILY = option('family', 'mixed');

// 198.18.0.0/15 (benchmarking) and 2001:db8::/32 (documentation), only ever inside our own namespace.
function addresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const six = FAMILY === '6' || (FAMILY === 'mixed' && i % 2 === 1);
    return six ? `2001:db8:c::${(i + 1).toString(16)}` : `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  });
}

interface Stats {
  min: number;
  median: number;
  max: number;
  samples: number[];
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, samples };
}

async function ip(args: string[]): Promise<string> {
  return (await execa('ip', args)).stdout;
}

async function hostAddressCount(ns: string): Promise<number> {
  const links = JSON.parse(await ip(['-n', ns, '-j', 'address', 'show', 'dev', 'lo'])) as { addr_info: { scope: string }[] }[];
  return links.flatMap((l) => l.addr_info).filter((a) => a.scope === 'global').length;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates a network namespace');
  const ns = `hc-rt-bench-${crypto.randomBytes(3).toString('hex')}`;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-rt-bench-'));
  const list = addresses(COUNT);
  const entries: DesiredEntry[] = list.map((address) => ({ kind: 'address', address, interface: 'lo', service: 'bench' }));
  const samples: Record<string, number[]> = {
    'reconciler: announce': [],
    'reconciler: withdraw': [],
    'ip -batch alone: add': [],
    'ip -batch alone: del': [],
    'one ip per address: add': [],
    'one ip per address: del': [],
  };
  const push = (name: string, value: number) => samples[name]!.push(value);

  await ip(['netns', 'add', ns]);
  try {
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const backend = new IpBackend({ routeProtocol: PROTO, namespace: ns });
    let desired: DesiredEntry[] = [];
    const reconciler = new Reconciler({
      backend,
      ownership: new FileOwnershipStore(stateDir),
      desired: () => desired,
      log: silentLogger(),
      driftIntervalMs: 3_600_000,
    });
    await reconciler.start();

    for (let rep = 0; rep < REPS; rep += 1) {
      desired = entries;
      let report = await reconciler.kick();
      push('reconciler: announce', report.durationMs);
      const present = [...report.desired.values()].filter((s) => s.state === 'present').length;
      if (present !== COUNT || (await hostAddressCount(ns)) !== COUNT) throw new Error(`announce: ${present} of ${COUNT} present`);
      desired = [];
      report = await reconciler.kick();
      push('reconciler: withdraw', report.durationMs);
      if (report.removed.length !== COUNT || (await hostAddressCount(ns)) !== 0) throw new Error(`withdraw: ${report.removed.length} of ${COUNT} removed`);

      const ops = (action: RoutingOp['action']): RoutingOp[] => entries.map((entry) => ({ action, entry }));
      push('ip -batch alone: add', await timed(() => backend.apply(ops('add'))));
      push('ip -batch alone: del', await timed(() => backend.apply(ops('remove'))));

      const prefix = (a: string) => `${a}/${a.includes(':') ? 128 : 32}`;
      push(
        'one ip per address: add',
        await timed(async () => {
          for (const a of list) await ip(['-n', ns, 'address', 'add', prefix(a), 'dev', 'lo', ...(a.includes(':') ? ['nodad'] : [])]);
        }),
      );
      if ((await hostAddressCount(ns)) !== COUNT) throw new Error('per-address add incomplete');
      push(
        'one ip per address: del',
        await timed(async () => {
          for (const a of list) await ip(['-n', ns, 'address', 'del', prefix(a), 'dev', 'lo']);
        }),
      );
      process.stderr.write(`rep ${rep + 1}/${REPS} done\n`);
    }
    await reconciler.stop();
  } finally {
    await ip(['netns', 'del', ns]).catch(() => undefined);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }

  const results = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, stats(values)]));
  const ipVersion = (await execa('ip', ['-V'])).stdout.trim();
  const title = `churn: ${COUNT} addresses (${FAMILY === 'mixed' ? 'half IPv4, half IPv6' : `IPv${FAMILY}`}), ${REPS} repetitions, ${os.cpus().length} CPUs, ${ipVersion}`;
  const rows = Object.entries(results).map(([name, s]) => [
    name,
    s.min.toFixed(0),
    s.median.toFixed(0),
    s.max.toFixed(0),
    name.startsWith('reconciler') ? (s.max < TARGET_MS ? `< ${TARGET_MS} ok` : `< ${TARGET_MS} MISSED`) : '',
  ]);
  const header = ['measure (ms)', 'min', 'median', 'max', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log([title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));

  const out = path.join(repoRoot, 'bench', 'results', 'churn.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const machine = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    kernel: os.release(),
    node: process.version,
    ip: ipVersion,
  };
  fs.writeFileSync(
    out,
    JSON.stringify({ benchmark: 'churn', machine, count: COUNT, family: FAMILY, repetitions: REPS, targetMs: TARGET_MS, unit: 'ms', results }, null, 2) + '\n',
  );
  console.log(`wrote ${path.relative(repoRoot, out)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
