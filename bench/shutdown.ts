// Shutdown: SIGTERM with SERVICES addresses announced (one per DNS-probed service, all healthy); time until every
// address is gone from the kernel (the last `ip monitor` deletion) and until the process has exited. Target: 1 s.
// Usage: node dist/bench/shutdown.js [REPETITIONS=5] [SERVICES=1000]   (root)
import { Lab } from '../lab/lab.js';
import { freePort } from '../lab/unbound.js';
import { waitFor } from '../lab/process.js';
import { agentConfig, startAgent } from '../lab/healthcast.js';
import { startMonitor } from '../lab/monitor.js';
import { row, table, writeResult } from './lib/report.js';
import { dnsServices, SERVICE_PREFIX } from './lib/services.js';

const [REPS = 5, SERVICES = 1000] = process.argv.slice(2).map(Number);

interface Sample {
  addressesGoneMs: number;
  exitedMs: number;
  deletions: number;
  exitCode: number | null;
}

// Graceful drain keeps addresses `drain` longer by design; the target (< 1 s) is for the withdrawal itself.
const DRAIN = process.env.BENCH_SHUTDOWN_DRAIN ?? '0ms';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the shutdown benchmark needs root (a network namespace for the addresses)');
  const lab = await Lab.create({ name: 'benchstop' });
  try {
    const node = await lab.node('stop');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const ours = async () => (await node.addresses()).filter((cidr) => cidr.startsWith(SERVICE_PREFIX)).length;
    const samples: Sample[] = [];
    for (let rep = 0; rep < REPS; rep += 1) {
      const agent = await startAgent(lab, node, {
        name: `agent${rep}`,
        config: (stateDir) => agentConfig(stateDir, dnsServices(SERVICES, port, { drain: DRAIN })),
        timeoutMs: 30_000,
      });
      await waitFor(`all ${SERVICES} addresses on lo`, async () => (await ours()) === SERVICES, { timeoutMs: 60_000, intervalMs: 200 });
      const monitor = await startMonitor(node.netns, 'address');
      let exitedAt = 0;
      agent.daemon.child.once('exit', () => (exitedAt = Date.now()));
      const sent = Date.now();
      agent.signal('SIGTERM');
      const exitCode = await agent.exited;
      await waitFor(
        'every address deletion reported',
        () => monitor.events.filter((e) => e.deleted && e.target.startsWith(SERVICE_PREFIX)).length >= SERVICES,
        { timeoutMs: 5000 },
      ).catch(() => undefined);
      await monitor.stop();
      const deletions = monitor.events.filter((e) => e.deleted && e.target.startsWith(SERVICE_PREFIX));
      const left = await ours();
      if (left !== 0) throw new Error(`${left} addresses still on lo after SIGTERM`);
      const sample = { addressesGoneMs: Math.max(...deletions.map((e) => e.time)) - sent, exitedMs: exitedAt - sent, deletions: deletions.length, exitCode };
      samples.push(sample);
      process.stdout.write(
        `rep ${rep + 1}/${REPS}: ${sample.deletions} addresses gone after ${Math.round(sample.addressesGoneMs)} ms, exited (${exitCode}) after ${sample.exitedMs} ms\n`,
      );
    }
    const rows = [
      row(
        `SIGTERM -> all ${SERVICES} addresses gone`,
        'ms',
        samples.map((s) => s.addressesGoneMs),
        '<= 1000',
      ),
      row(
        'SIGTERM -> process exited',
        'ms',
        samples.map((s) => s.exitedMs),
        '<= 1000',
      ),
    ];
    process.stdout.write(`\n${table(`Shutdown with ${SERVICES} addresses announced, ${REPS} repetitions, drain ${DRAIN}`, rows)}\n`);
    const file = writeResult('shutdown', { settings: { repetitions: REPS, services: SERVICES }, rows, samples });
    process.stdout.write(`\nwrote ${file}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
