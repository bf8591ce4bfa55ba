// `run --daemon` starts the agent again as a child: the child must get the node flags the parent got from
// bin/healthcast's shebang, or the daemonized agent runs with V8's default heap settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../support/paths.js';
import { healthcastNodeFlags } from '../../../lab/healthcast.js';
import { inheritedNodeFlags } from '../../../src/systemd/daemon.js';

test("daemonize() starts the child with the parent's node flags and the arguments minus --daemon", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-daemon-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seen = path.join(dir, 'seen.json');
  const child = path.join(dir, 'child.mjs');
  fs.writeFileSync(
    child,
    `import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) })); process.send({ started: process.pid }, () => process.disconnect());`,
  );
  const daemon = path.join(repoRoot, 'dist/src/systemd/daemon.js');
  // A script file, not -e: -e and its code would be in execArgv too.
  const parent = path.join(dir, 'parent.mjs');
  fs.writeFileSync(
    parent,
    `import(${JSON.stringify(daemon)}).then(async ({ daemonize }) => { const result = await daemonize([${JSON.stringify(child)}, 'run', '--daemon', '--config', 'x.yaml'], { timeoutMs: 10000 }); console.log(JSON.stringify(result)); })`,
  );
  const flags = healthcastNodeFlags();
  assert.ok(flags.includes('--max-semi-space-size=8') && flags.includes('--heap-growing-percent=30'), `bin/healthcast's flags: ${flags.join(' ')}`);
  const result = spawnSync(process.execPath, [...flags, parent], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout.trim()).ok, true, result.stdout);
  const got = JSON.parse(fs.readFileSync(seen, 'utf8')) as { execArgv: string[]; argv: string[] };
  for (const flag of flags) assert.ok(got.execArgv.includes(flag), `child execArgv ${got.execArgv.join(' ')} lacks ${flag}`);
  assert.deepEqual(got.argv, ['run', '--config', 'x.yaml']);
});

test("bin/healthcast's node flags are ones this node accepts", () => {
  const result = spawnSync(process.execPath, [...healthcastNodeFlags(), '-e', 'process.exit(0)'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(result.status, 0, result.stderr);
});

test('inheritedNodeFlags keeps heap flags and drops code to run, debugger ports and test-runner flags', () => {
  assert.deepEqual(inheritedNodeFlags(['--max-semi-space-size=8', '--max-old-space-size', '512']), ['--max-semi-space-size=8', '--max-old-space-size', '512']);
  assert.deepEqual(
    inheritedNodeFlags([
      '-e',
      'daemonize()',
      '--max-semi-space-size=8',
      '--eval=x',
      '-p',
      'y',
      '--inspect=9229',
      '--inspect-brk',
      '--test',
      '--watch',
      '--require',
      'a.js',
      '--import=b.js',
    ]),
    ['--max-semi-space-size=8'],
  );
});
