// Runs the built benchmarks one after another (they share the machine, so never in parallel) and stops at the first failure.
// Usage: node scripts/run-bench.mjs [NAME...]   (default: failover probe-cost churn shutdown drain node-death peers fleet; churn only when built)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const all = ['failover', 'probe-cost', 'churn', 'shutdown', 'drain', 'node-death', 'peers', 'fleet'];
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : all;
for (const name of names) {
  const file = `dist/bench/${name}.js`;
  if (!fs.existsSync(file)) {
    if (wanted.length > 0) {
      console.error(`run-bench: ${file} does not exist (known: ${all.join(', ')}, soak)`);
      process.exit(2);
    }
    console.error(`run-bench: skipping ${name}: ${file} is not built`);
    continue;
  }
  console.log(`\n=== ${name} ===`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`run-bench: ${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
