// The fork-per-check way (shell-script probes, the Python peers): every check starts one `dig` process.
// Runs SERVICES checks per second for SECONDS and prints one JSON line: checks, failures, the CPU its children
// used (dig only: /proc/self/stat cutime+cstime), its own CPU, and how late each check started.
// Usage: node fork-driver.js SERVICES SECONDS SERVER PORT
import { spawn } from 'node:child_process';
import { cpuTimes } from './procstat.js';

const [services = 100, seconds = 20] = process.argv.slice(2, 4).map(Number);
const [server = '127.0.0.1', port = '53'] = process.argv.slice(4, 6);
const INTERVAL_MS = 1000;

function dig(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('dig', ['+short', '+time=1', '+tries=1', '-p', port, `@${server}`, 'probe.test', 'A'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0 && out.trim() === '192.0.2.1'));
  });
}

const before = cpuTimes();
const started = Date.now();
const end = started + seconds * 1000;
const lateness: number[] = [];
const runs: Promise<boolean>[] = [];
await Promise.all(
  Array.from({ length: services }, async () => {
    const epoch = started + Math.floor(Math.random() * INTERVAL_MS);
    for (let slot = epoch; slot < end; slot += INTERVAL_MS) {
      const wait = slot - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lateness.push(Date.now() - slot);
      runs.push(dig());
    }
  }),
);
const results = await Promise.all(runs);
const after = cpuTimes();
process.stdout.write(
  `${JSON.stringify({
    services,
    seconds,
    wallSeconds: (Date.now() - started) / 1000,
    checks: results.length,
    failures: results.filter((ok) => !ok).length,
    childCpuSeconds: after.childrenUser + after.childrenSystem - before.childrenUser - before.childrenSystem,
    driverCpuSeconds: after.user + after.system - before.user - before.system,
    latenessMs: lateness,
  })}\n`,
);
