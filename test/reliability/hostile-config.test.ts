// Hostile configs (alias bombs, huge files, deep nesting, non-host prefixes, duplicate addresses across files, shell
// metacharacters): each gets a clear error or is used literally, and nothing on the system changes on a rejected
// one, whether given to `healthcast check-config` or to a running agent by SIGHUP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { healthcastBin } from '../support/paths.js';
import { Lab } from '../../lab/lab.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, startAgent, writeConfig } from '../../lab/healthcast.js';
import { hostEntries, snapshot } from './support/kernel.js';
import { startMonitor } from '../../lab/monitor.js';
import { hostileConfigs, materialize } from './support/hostile-configs.js';

const CLI_TIMEOUT_MS = 15_000;
// A config error must come back quickly, whatever the file holds.
const CLI_BOUND_MS = 10_000;

function cli(args: string[]): { status: number | null; output: string; ms: number } {
  const started = Date.now();
  const result = spawnSync(process.execPath, [healthcastBin, ...args], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, ms: Date.now() - started };
}

test('hostile configs via check-config: a clear error (or literal use), quickly, and no shell ever runs', { timeout: 180_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-hostile-'));
  try {
    for (const config of hostileConfigs()) {
      await t.test(config.name, () => {
        const dir = path.join(root, config.name.replace(/[^A-Za-z0-9]+/g, '-'));
        const marker = path.join(dir, 'MARKER');
        const main = materialize(config, dir, { stateDir: path.join(dir, 'state'), controlSocket: path.join(dir, 'control.sock'), marker });
        const checked = cli(['check-config', '--config', main]);
        t.diagnostic(`${config.name}: exit ${checked.status} in ${checked.ms} ms: ${checked.output.split('\n').slice(0, 2).join(' | ').slice(0, 240)}`);
        assert.doesNotMatch(checked.output, /^\s+at /m, 'no stack trace');
        assert.ok(checked.ms < CLI_BOUND_MS, `check-config took ${checked.ms} ms`);
        if (config.expect === 'accept') {
          assert.equal(checked.status, 0, `accepted\n${checked.output}`);
          const probed = cli(['probe', '--config', main, 'literal']);
          assert.equal(probed.status, 0, `the probe sees its arguments verbatim and is healthy\n${probed.output}`);
        } else {
          assert.equal(checked.status, 2, `rejected with exit 2\n${checked.output}`);
          assert.match(checked.output, config.expect, 'the error says what is wrong, where');
        }
        assert.equal(fs.existsSync(marker), false, 'nothing was run through a shell');
        assert.equal(fs.existsSync(path.join(dir, 'state')), false, 'check-config created nothing');
      });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('hostile configs via SIGHUP: each rejected one leaves the running agent and the system exactly as they were', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound', '/usr/bin/test'] })) return;
  const lab = await Lab.create({ name: 'hostcfg' });
  try {
    const node = await lab.node('hostcfg');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const HEALTHY = '192.0.2.160';
    const service = {
      name: 'dns',
      addresses: [HEALTHY],
      interval: '100ms',
      timeout: '80ms',
      rise: 1,
      fall: 2,
      hold_down: '0ms',
      probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
    };
    const agent = await startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, [service]) });
    const marker = path.join(agent.dir, 'MARKER');
    await waitFor('the healthy service announced', async () => (await hostEntries(node.netns)).addresses.includes(HEALTHY), { timeoutMs: 5000 });
    const validText = fs.readFileSync(agent.configFile, 'utf8');
    const recordFile = path.join(agent.stateDir, 'owned.json');
    const monitor = await startMonitor(node.netns, 'address');
    const before = await snapshot(node.netns);
    const record = fs.readFileSync(recordFile);

    let accepted: ReturnType<typeof hostileConfigs>[number] | undefined;
    for (const config of hostileConfigs()) {
      if (config.expect === 'accept') {
        accepted = config;
        continue;
      }
      await t.test(config.name, async () => {
        const since = agent.lines().length;
        try {
          materialize(config, agent.dir, { stateDir: agent.stateDir, controlSocket: path.join(agent.dir, 'control.sock'), marker }, agent.configFile);
          agent.signal('SIGHUP');
          const rejected = await agent.waitForLine(`${config.name}: reload rejected`, (line) => line.msg.startsWith('reload rejected'), {
            since,
            timeoutMs: 10_000,
          });
          const said = [...((rejected.errors as string[] | undefined) ?? []), String(rejected.error ?? '')].join('\n');
          t.diagnostic(`${config.name}: ${said.split('\n')[0]?.slice(0, 200)}`);
          assert.match(said, config.expect as RegExp, 'the rejection says what is wrong, where');
          assert.deepEqual(await snapshot(node.netns), before, 'addresses and routes unchanged');
          assert.ok(fs.readFileSync(recordFile).equals(record), 'ownership record unchanged');
          assert.ok(agent.alive(), 'the agent keeps running');
          assert.equal(fs.existsSync(marker), false, 'nothing was run through a shell');
        } finally {
          fs.rmSync(path.join(agent.dir, 'services.d'), { recursive: true, force: true });
        }
      });
    }
    assert.deepEqual(monitor.about(HEALTHY), [], 'the healthy service was never withdrawn');

    // The literal one is valid: accepted, its odd arguments reach test(1) verbatim (so it is healthy), no shell runs.
    assert.ok(accepted, 'the fixtures include an accepted config');
    const since = agent.lines().length;
    materialize(accepted, agent.dir, { stateDir: agent.stateDir, controlSocket: path.join(agent.dir, 'control.sock'), marker }, agent.configFile);
    agent.signal('SIGHUP');
    const outcome = await agent.waitForLine(
      'the literal config reloaded or rejected',
      (line) => line.msg === 'configuration reloaded' || line.msg.startsWith('reload rejected'),
      { since, timeoutMs: 10_000 },
    );
    assert.equal(outcome.msg, 'configuration reloaded', `the literal config is accepted: ${JSON.stringify(outcome.errors ?? outcome.error)}`);
    await waitFor('the literal service announced', async () => (await hostEntries(node.netns)).addresses.includes('192.0.2.150'), { timeoutMs: 5000 });
    assert.equal(fs.existsSync(marker), false, 'no shell ran any of the metacharacters');

    // And a valid config still goes through afterwards.
    writeConfig(agent.configFile, validText);
    agent.signal('SIGHUP');
    await waitFor('back on the first config', async () => (await hostEntries(node.netns)).addresses.join() === HEALTHY, { timeoutMs: 5000 });
    await monitor.stop();
  } finally {
    await lab.destroy();
  }
});
