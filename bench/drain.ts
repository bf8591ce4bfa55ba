// Graceful drain: failed DNS queries while node a is put into maintenance, with `drain` and without (`drain: 0`).
// The lab of test/e2e/drain.test.ts: a router and nodes a and b with real FRR (fast OSPF timers), forwarding on, each
// node rejecting the service routes the other originates; unbound and healthcast on both. A client in the router's
// namespace queries 192.0.2.53 and 2001:db8:53::53 at RATE a second each (fresh socket, own id, short timeout) from 1 s
// before the trigger until 1.5 s after the drain period; the trigger is SIGTSTP to a's agent or `healthcast drain dns`.
// Variants alternate (ABBA) so drift on a shared machine hits both alike.
// Usage: node dist/bench/drain.js [RUNS=10] [RATE=100] [DRAIN_MS=2000]   (root; writes bench/results/drain.json)
//        BENCH_DRAIN_TRIGGERS="SIGTSTP,healthcast drain,metric (by hand)" (default: all three; the metric drain, emulated
//        by hand as test/e2e/support/drain-lab.ts says, runs with the drain period only: it has no 'none' variant)
import { buildDrainLab, METRIC_BY_HAND, type RoundResult, type Trigger } from '../test/e2e/support/drain-lab.js';
import { writeResult } from './lib/report.js';
import { fmt, summarize } from './lib/stats.js';

const [RUNS = 10, RATE = 100, DRAIN_MS = 2000] = process.argv.slice(2).map(Number);
const TIMEOUT_MS = 300;
const TRIGGERS = (process.env.BENCH_DRAIN_TRIGGERS ?? `SIGTSTP,healthcast drain,${METRIC_BY_HAND}`).split(',').map((name) => name.trim()) as Trigger[];

interface Run {
  drainMs: number;
  trigger: Trigger;
  sent: number;
  failed: number;
  failedV4: number;
  failedV6: number;
  errors: Record<string, number>;
  // Send times of the failed queries, ms after the trigger.
  failedAtMs: number[];
  timeline: RoundResult['timeline'];
  routerStillViaAMidDrain?: boolean;
}

function runOf(result: RoundResult, routerIfA: string): Run {
  const errors: Record<string, number> = {};
  for (const counts of [result.v4, result.v6]) for (const [error, n] of Object.entries(counts.errors)) errors[error] = (errors[error] ?? 0) + n;
  const mid = result.midDrain;
  return {
    drainMs: result.drainMs,
    trigger: result.trigger,
    sent: result.v4.sent + result.v6.sent,
    failed: result.v4.failed + result.v6.failed,
    failedV4: result.v4.failed,
    failedV6: result.v6.failed,
    errors,
    failedAtMs: result.failures.map((query) => query.t - result.triggeredAt),
    timeline: result.timeline,
    ...(mid ? { routerStillViaAMidDrain: [...mid.routerV4, ...mid.routerV6].some((hop) => hop.endsWith(`@${routerIfA}`)) } : {}),
  };
}

function median(values: readonly (number | undefined)[]): string {
  return fmt(summarize(values.filter((value): value is number => value !== undefined)).p50);
}

function textTable(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the drain benchmark needs root (network namespaces)');
  const variants = [DRAIN_MS, 0];
  const drainLab = await buildDrainLab({ name: 'benchdrain', drainMs: variants[0]! });
  const runs: Run[] = [];
  try {
    let label = 0;
    for (let round = 0; round < RUNS; round += 1) {
      for (const trigger of TRIGGERS) {
        // ABBA: the agent is restarted only when the variant changes.
        for (const drainMs of round % 2 === 0 ? variants : [...variants].reverse()) {
          if (trigger === METRIC_BY_HAND && drainMs === 0) continue;
          await drainLab.useDrain(drainMs);
          await drainLab.waitForBothNodes();
          const before = Date.now();
          const result = await drainLab.round({ trigger, rate: RATE, timeoutMs: TIMEOUT_MS, label: `run${(label += 1)}` });
          const run = runOf(result, drainLab.ifA);
          runs.push(run);
          process.stdout.write(
            `run ${round + 1}/${RUNS} drain ${drainMs} ms, ${trigger}: ${run.failed}/${run.sent} failed (v4 ${run.failedV4}, v6 ${run.failedV6})` +
              `${run.failed > 0 ? ` sent at ${run.failedAtMs.map((ms) => Math.round(ms)).join(', ')} ms after the trigger` : ''}; router without a after ${run.timeline.routerWithoutA.v4} ms (${Date.now() - before} ms)\n`,
          );
        }
      }
    }
  } finally {
    await drainLab.destroy();
  }

  // 'all': the agent's own drain (park on hc-drain) over both of its triggers.
  const parkTriggers = TRIGGERS.filter((trigger) => trigger !== METRIC_BY_HAND);
  const groups = variants.flatMap((drainMs) => [
    ...TRIGGERS.filter((trigger) => drainMs > 0 || trigger !== METRIC_BY_HAND).map((trigger) => ({ drainMs, trigger: trigger as Trigger | 'all' })),
    ...(parkTriggers.length > 1 ? [{ drainMs, trigger: 'all' as const }] : []),
  ]);
  const rows = groups.map(({ drainMs, trigger }) => {
    const selected = runs.filter((run) => run.drainMs === drainMs && (trigger === 'all' ? run.trigger !== METRIC_BY_HAND : run.trigger === trigger));
    const perRun = summarize(selected.map((run) => run.failed));
    const failedAt = selected.flatMap((run) => run.failedAtMs);
    return {
      drain: drainMs > 0 ? `${drainMs} ms` : '0 (none)',
      trigger,
      runs: selected.length,
      sent: selected.reduce((sum, run) => sum + run.sent, 0),
      failed: selected.reduce((sum, run) => sum + run.failed, 0),
      failedV4: selected.reduce((sum, run) => sum + run.failedV4, 0),
      failedV6: selected.reduce((sum, run) => sum + run.failedV6, 0),
      perRun: { min: perRun.min, median: perRun.p50, max: perRun.max },
      failedSentMsAfterTrigger: failedAt.length > 0 ? { min: Math.min(...failedAt), max: Math.max(...failedAt) } : undefined,
      medianMsAfterTrigger: {
        offLo: median(selected.map((run) => run.timeline.removedFromLo.v4)),
        routerWithoutA: median(selected.map((run) => run.timeline.routerWithoutA.v4)),
        offDrainInterface: median(selected.map((run) => run.timeline.removedFromDrainInterface.v4)),
      },
    };
  });
  const header = [
    'drain',
    'trigger',
    'runs',
    'sent',
    'failed',
    'v4',
    'v6',
    'min/median/max per run',
    'failures sent at (ms)',
    'off lo',
    'router w/o a',
    `off hc-drain`,
  ];
  const body = rows.map((r) => [
    r.drain,
    r.trigger,
    String(r.runs),
    String(r.sent),
    String(r.failed),
    String(r.failedV4),
    String(r.failedV6),
    `${fmt(r.perRun.min)} / ${fmt(r.perRun.median)} / ${fmt(r.perRun.max)}`,
    r.failedSentMsAfterTrigger ? `${Math.round(r.failedSentMsAfterTrigger.min)}..${Math.round(r.failedSentMsAfterTrigger.max)}` : '-',
    r.medianMsAfterTrigger.offLo,
    r.medianMsAfterTrigger.routerWithoutA,
    r.medianMsAfterTrigger.offDrainInterface,
  ]);
  process.stdout.write(
    `\nGraceful drain: ${RUNS} runs per variant and trigger, ${RATE} queries/s per family (IPv4 + IPv6), timeout ${TIMEOUT_MS} ms; ` +
      `times are medians, ms after the trigger (IPv4)\n${textTable(header, body)}\n`,
  );
  const file = writeResult('drain', {
    settings: {
      runs: RUNS,
      ratePerFamily: RATE,
      timeoutMs: TIMEOUT_MS,
      drainMs: DRAIN_MS,
      triggers: TRIGGERS,
      leadMs: 1000,
      tailMs: 1500,
      topology: 'router + nodes a, b; OSPF fast timers; forwarding on; nodes reject the service routes the other originates (zebra ip/ipv6 protocol route-map)',
    },
    rows,
    runs,
  });
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
