// The maintenance wrapper and scheduled maintenance against the real agent: withdrawn while the command runs,
// exit code passed through, resumed on success, failure and interrupt (unless told to stay drained).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../../support/prereq.js';
import { waitFor } from '../../../lab/process.js';
import { baseConfig, OPS_COMMANDS, opsNode, service, statusOf, type OpsNode } from './harness.js';

// A command that records which service addresses are on lo while it runs, then exits with `code`.
function snapshot(node: OpsNode, file: string, code: number): string[] {
  return ['sh', '-c', `ip -n ${node.ns} -br address show dev lo > ${file}; exit ${code}`];
}

async function drainedNames(node: OpsNode): Promise<string[]> {
  return statusOf(await node.cli(['status', '--json']))
    .services.filter((s) => s.maintenance)
    .map((s) => s.name);
}

test('the wrapper drains, runs, passes the exit code through and resumes (also on failure, unless told not to)', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'wrap');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port), service('dns', ['192.0.2.53'], node.port)]));
  await node.startAgent();
  const both = async () => (await node.addresses()).length === 2;
  await waitFor('announced', both, { timeoutMs: 5000 });
  const seen = path.join(node.dir, 'seen');

  const ok = await node.cli(['maintenance', '--service', 'web', '--', ...snapshot(node, seen, 0)]);
  assert.equal(ok.code, 0, ok.stderr);
  const during = fs.readFileSync(seen, 'utf8');
  assert.doesNotMatch(during, /192\.0\.2\.80/, 'web was withdrawn while the command ran');
  assert.match(during, /192\.0\.2\.53/, 'dns was not touched');
  assert.deepEqual(await drainedNames(node), [], 'resumed');
  await waitFor('web back', both, { timeoutMs: 3000 });

  const failed = await node.cli(['maintenance', '--', ...snapshot(node, seen, 3)]);
  assert.equal(failed.code, 3, 'the exit code of the command');
  assert.doesNotMatch(fs.readFileSync(seen, 'utf8'), /192\.0\.2\.(80|53)/, 'without --service everything is drained');
  assert.deepEqual(await drainedNames(node), [], 'a failed command resumes by default');
  await waitFor('all back', both, { timeoutMs: 3000 });

  const missing = await node.cli(['maintenance', '--service', 'dns', '--', '/nonexistent/blacklist2dns']);
  assert.equal(missing.code, 127);
  assert.deepEqual(await drainedNames(node), []);

  const stay = await node.cli(['maintenance', '--service', 'dns', '--stay-drained-on-failure', '--', 'false']);
  assert.equal(stay.code, 1);
  assert.match(stay.stderr, /stay drained; resume with: healthcast resume dns/);
  assert.deepEqual(await drainedNames(node), ['dns']);
  assert.deepEqual(await node.addresses(), ['192.0.2.80']);

  // A service drained before the wrapper ran stays drained after it.
  const after = await node.cli(['maintenance', '--', 'true']);
  assert.equal(after.code, 0);
  assert.deepEqual(await drainedNames(node), ['dns'], 'only what the wrapper drained is resumed');
  assert.equal((await node.cli(['resume', 'dns'])).code, 0);

  const timedOut = await node.cli(['maintenance', '--service', 'web', '--timeout', '300ms', '--', 'sleep', '30']);
  assert.equal(timedOut.code, 124);
  assert.deepEqual(await drainedNames(node), []);

  assert.equal((await node.cli(['maintenance', '--service', 'nosuch', '--', 'true'])).code, 125, 'cannot drain: the command is not run');
  assert.equal((await node.cli(['maintenance'])).code, 2);
});

test(
  'the wrapper resumes when interrupted (SIGINT reaches the command too) and stays drained with --stay-drained-on-failure',
  { timeout: 60_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
    const node = await opsNode(t, 'intr');
    await node.startListener();
    node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port)]));
    await node.startAgent();
    await waitFor('announced', async () => (await node.addresses()).length === 1, { timeoutMs: 5000 });

    for (const stay of [false, true]) {
      const marker = path.join(node.dir, `interrupted-${stay}`);
      // The command says when its trap is in place: an interrupt before that kills sh without a marker.
      const trapped = path.join(node.dir, `trapped-${stay}`);
      const wrapper = node.spawnCli([
        'maintenance',
        ...(stay ? ['--stay-drained-on-failure'] : []),
        '--',
        'sh',
        '-c',
        `trap 'echo got-int > ${marker}; exit 130' INT; : > ${trapped}; sleep 30 & wait`,
      ]);
      let stderr = '';
      wrapper.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => wrapper.once('exit', (code) => resolve(code)));
      await waitFor('command running', () => stderr.includes('running sh') && fs.existsSync(trapped), { timeoutMs: 10_000 });
      assert.deepEqual(await node.addresses(), [], 'withdrawn while the command runs');
      wrapper.kill('SIGINT');
      assert.equal(await exited, 130);
      assert.equal(fs.readFileSync(marker, 'utf8').trim(), 'got-int', 'the command got the interrupt');
      if (!stay) {
        assert.deepEqual(await drainedNames(node), []);
        await waitFor('announced again', async () => (await node.addresses()).length === 1, { timeoutMs: 3000 });
      } else {
        assert.deepEqual(await drainedNames(node), ['web']);
        assert.deepEqual(await node.addresses(), []);
      }
    }
  },
);

test('scheduled maintenance: the agent drains, runs the job, logs exit code and duration, and resumes', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'cron');
  await node.startListener();
  const seen = path.join(node.dir, 'seen');
  node.writeConfig(
    baseConfig(node, [service('web', ['192.0.2.80'], node.port), service('dns', ['192.0.2.53'], node.port)], {
      maintenance: [
        {
          name: 'reload-web',
          schedule: '*/2 * * * * *',
          services: ['web'],
          command: ['sh', '-c', `ip -n ${node.ns} -br address show dev lo >> ${seen}; sleep 0.2; exit 5`],
          timeout: '10s',
        },
      ],
    }),
  );
  await node.startAgent();
  const run = await node.waitForLine(
    'a maintenance run',
    (line) => typeof line.msg === 'string' && line.msg.startsWith('maintenance reload-web: command failed'),
    10_000,
  );
  assert.equal(run.exit_code, 5);
  assert.ok(typeof run.duration_ms === 'number' && run.duration_ms >= 200, `duration ${String(run.duration_ms)}`);
  assert.doesNotMatch(fs.readFileSync(seen, 'utf8').split('\n')[0] ?? '', /192\.0\.2\.80/, 'web was withdrawn during the job');
  await waitFor('web resumed after the failed job', async () => (await drainedNames(node)).length === 0, { timeoutMs: 3000 });
});

test('a wrapper terminated at any moment leaves nothing drained', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'term');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port)]));
  await node.startAgent();
  await waitFor('announced', async () => (await node.addresses()).length === 1, { timeoutMs: 5000 });
  const drains = () => node.lines().filter((line) => line.msg === 'draining web').length;
  // Moments are counted from what the wrapper has reached, not from its start: how long node takes to load the CLI
  // varies with the machine's load (a signal before the handlers are in place kills it before it asks for anything).
  const moments: { name: string; reached: (stderr: string, drainsBefore: number) => boolean; afterMs: number; interrupted: boolean }[] = [
    { name: 'at start', reached: () => true, afterMs: 0, interrupted: false },
    ...[0, 200, 600, 1200].map((afterMs) => ({
      name: `draining+${afterMs}ms`,
      reached: (_: string, before: number) => drains() > before,
      afterMs,
      interrupted: true,
    })),
    ...[0, 300].map((afterMs) => ({ name: `running+${afterMs}ms`, reached: (stderr: string) => stderr.includes('running sleep'), afterMs, interrupted: true })),
  ];
  const outcomes: string[] = [];
  for (const moment of moments) {
    const drainsBefore = drains();
    const wrapper = node.spawnCli(['maintenance', '--', 'sleep', '5']);
    let stderr = '';
    wrapper.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<string>((resolve) => wrapper.once('exit', (code, signal) => resolve(String(code ?? signal))));
    await waitFor(moment.name, () => moment.reached(stderr, drainsBefore), { timeoutMs: 10_000, intervalMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, moment.afterMs));
    wrapper.kill('SIGTERM');
    const outcome = await exited;
    outcomes.push(`${moment.name}:${outcome}`);
    if (moment.interrupted) assert.equal(outcome, '143', `${moment.name}: the wrapper resumed and exited 143\n${stderr}`);
    assert.deepEqual(await drainedNames(node), [], `terminated ${moment.name}: nothing left drained`);
  }
  t.diagnostic(`exit per moment: ${outcomes.join(' ')}`);
  await waitFor('announced again', async () => (await node.addresses()).length === 1, { timeoutMs: 3000 });
});

test('a mistyped command fails with 127 before anything is withdrawn; the wrapper says only what it drained', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'typo');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port), service('dns', ['192.0.2.53'], node.port)]));
  await node.startAgent();
  await waitFor('announced', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });
  // Sample lo every 20 ms while the wrapper runs: the addresses (what the router's route follows) never leave.
  let sampling = true;
  const samples: string[][] = [];
  const sampler = (async () => {
    while (sampling) {
      samples.push(await node.addresses());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const typo = await node.cli(['maintenance', '--', '/nonexistent']);
  const unknown = await node.cli(['maintenance', '--service', 'dns', '--', 'blacklist2dns-typo']);
  sampling = false;
  await sampler;
  assert.equal(typo.code, 127, typo.stderr);
  assert.match(typo.stderr, /\/nonexistent: no such file; nothing drained/);
  assert.equal(unknown.code, 127, unknown.stderr);
  assert.match(unknown.stderr, /not found on PATH/);
  assert.ok(samples.length > 3, `${samples.length} samples`);
  assert.deepEqual(
    samples.filter((addresses) => addresses.length !== 2),
    [],
    'both addresses stayed on lo throughout',
  );
  assert.equal(node.lines().filter((line) => /^draining /.test(line.msg)).length, 0, 'the agent never drained');

  assert.equal((await node.cli(['drain', 'dns'])).code, 0);
  const partial = await node.cli(['maintenance', '--', 'true']);
  assert.equal(partial.code, 0, partial.stderr);
  assert.match(partial.stderr, /drained web \(already drained before, left drained: dns\); running true/);
  assert.match(partial.stderr, /resumed web\n/);
  assert.deepEqual(await drainedNames(node), ['dns']);
});
