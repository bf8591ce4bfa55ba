// bench/node-death.ts in its short mode (one freeze per variant), so the benchmark cannot rot: it must run to the
// end, and its figures must show what BFD is for. The bounds are loose (a busy machine) but each can fail: without BFD
// the router waits for the 3 s dead interval or hold time; with BFD (100 ms x 3) it must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { FRR_BIN } from '../../../lab/frr.js';

const COMMANDS = ['ip', 'vtysh', `${FRR_BIN}/zebra`, `${FRR_BIN}/ospfd`, `${FRR_BIN}/ospf6d`, `${FRR_BIN}/bgpd`, `${FRR_BIN}/bfdd`];

interface Result {
  rows: { name: string; summary: { n: number; p50: number } }[];
}

test('bench/node-death.js 1: every variant measured; BFD finds the silent node well before the dead interval', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-node-death-'));
  try {
    const file = path.join(dir, 'node-death.json');
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'bench', 'node-death.js'), '1'], {
      env: { ...process.env, BENCH_NODE_DEATH_RESULT: file },
      encoding: 'utf8',
      timeout: 220_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    t.diagnostic(
      run.stdout
        .split('\n')
        .filter((line) => / ms|^measure|^-/.test(line))
        .join('\n'),
    );
    const result = JSON.parse(fs.readFileSync(file, 'utf8')) as Result;
    const median = (name: string) => {
      const found = result.rows.find((entry) => entry.name === name);
      assert.ok(found, `row ${name}`);
      assert.equal(found.summary.n, 1, `${name}: one measured run`);
      return found.summary.p50;
    };
    assert.equal(result.rows.length, 8);
    for (const name of ['OSPFv3', 'eBGP IPv4', 'eBGP IPv6']) {
      assert.ok(median(`${name}, BFD 100 ms x 3`) < 1200, `${name} with BFD: ${median(`${name}, BFD 100 ms x 3`)} ms`);
      assert.ok(median(`${name}, no BFD`) > 1800, `${name} without BFD waits for the dead interval / hold time`);
    }
    // OSPFv2's external routes are recomputed on ospfd's fixed 1 s timer after the neighbour goes (docs/frr.md).
    const ospf2 = 'OSPFv2 (redistribute connected)';
    assert.ok(median(`${ospf2}, BFD 100 ms x 3`) < 2500, `${ospf2} with BFD: ${median(`${ospf2}, BFD 100 ms x 3`)} ms`);
    assert.ok(median(`${ospf2}, no BFD`) > median(`${ospf2}, BFD 100 ms x 3`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
