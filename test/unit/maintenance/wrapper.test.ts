import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterCommand, WrapperExit, type CommandOutcome } from '../../../src/maintenance/wrapper.js';
import { childEnvironment, runCommand } from '../../../src/maintenance/run-command.js';
import { MaintenanceScheduler, type MaintenanceRunResult } from '../../../src/maintenance/scheduler.js';
import type { MaintenanceJobConfig } from '../../../src/config/types.js';
import type { DrainResult } from '../../../src/core/agent.js';
import { silentLogger } from '../../../src/log.js';

const outcome = (overrides: Partial<CommandOutcome>): CommandOutcome => ({ exitCode: 0, signal: null, timedOut: false, ...overrides });

test('after the command: exit code passed through, resume unless it failed and --stay-drained-on-failure', () => {
  const rows: [Partial<CommandOutcome>, boolean, { exitCode: number; resume: boolean }][] = [
    [{ exitCode: 0 }, false, { exitCode: 0, resume: true }],
    [{ exitCode: 0 }, true, { exitCode: 0, resume: true }],
    [{ exitCode: 3 }, false, { exitCode: 3, resume: true }],
    [{ exitCode: 3 }, true, { exitCode: 3, resume: false }],
    [{ exitCode: null, signal: 'SIGINT' }, false, { exitCode: 130, resume: true }],
    [{ exitCode: null, signal: 'SIGTERM' }, true, { exitCode: 143, resume: false }],
    [{ exitCode: null, signal: 'SIGTERM', timedOut: true }, false, { exitCode: WrapperExit.TIMED_OUT, resume: true }],
    [{ exitCode: null, spawnError: 'ENOENT' }, false, { exitCode: 127, resume: true }],
    [{ exitCode: null, spawnError: 'EACCES' }, true, { exitCode: 126, resume: false }],
  ];
  for (const [input, stay, expected] of rows) {
    const decision = afterCommand(outcome(input), stay);
    assert.deepEqual({ exitCode: decision.exitCode, resume: decision.resume }, expected, JSON.stringify({ input, stay }));
    assert.equal(decision.failed, expected.exitCode !== 0);
  }
});

test('runCommand: exit codes, output tail, missing command, time limit with TERM', async () => {
  const ok = await runCommand(['sh', '-c', 'echo hello; exit 7']).done;
  assert.equal(ok.exitCode, 7);
  assert.match(ok.output, /hello/);
  const missing = await runCommand(['/nonexistent/cmd']).done;
  assert.equal(missing.spawnError, 'ENOENT');
  const started = Date.now();
  const slow = await runCommand(['sleep', '30'], { timeoutMs: 200 }).done;
  assert.equal(slow.timedOut, true);
  assert.equal(slow.signal, 'SIGTERM');
  assert.ok(Date.now() - started < 3000);
  const stubborn = await runCommand(['sh', '-c', 'trap "" TERM; sleep 30'], { timeoutMs: 100, killGraceMs: 200 }).done;
  assert.equal(stubborn.signal, 'SIGKILL', 'KILL after the grace period');
});

test('commands never inherit the notify socket or the watchdog: they would speak to systemd for the agent', async () => {
  assert.deepEqual(
    childEnvironment({ PATH: '/bin', NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '1', WATCHDOG_PID: '2', HEALTHCAST_DAEMON_CHILD: '1', HEALTHCAST_SERVICE: 'dns' }),
    { PATH: '/bin', HEALTHCAST_SERVICE: 'dns' },
  );
  const seen = await runCommand(['sh', '-c', 'echo "[$NOTIFY_SOCKET][$KEEP]"'], {
    stdio: 'capture',
    env: { PATH: process.env.PATH, NOTIFY_SOCKET: '/run/n', KEEP: 'yes' },
  }).done;
  assert.equal(seen.output.trim(), '[][yes]');
});

function job(overrides: Partial<MaintenanceJobConfig> = {}): MaintenanceJobConfig {
  return { name: 'nightly', schedule: '17 3 * * *', services: ['dns'], command: ['true'], timeoutMs: 5000, stayDrainedOnFailure: false, ...overrides };
}

function fakeAgent(alreadyDrained: string[] = []) {
  const drained = new Set(alreadyDrained);
  const calls: string[] = [];
  return {
    drained,
    calls,
    drain: async (services: readonly string[] | 'all', by: string): Promise<DrainResult> => {
      const list = services === 'all' ? ['dns', 'web'] : [...services];
      const newly = list.filter((name) => !drained.has(name));
      for (const name of list) drained.add(name);
      calls.push(`drain ${list.join(',')} by ${by}`);
      return { services: list, newly, errors: [] };
    },
    resume: async (services: readonly string[], by: string) => {
      for (const name of services) drained.delete(name);
      calls.push(`resume ${services.join(',')} by ${by}`);
      return { services: [...services], notDrained: [] };
    },
  };
}

test('scheduled job: drain, run, resume; logged result with exit code and duration', async () => {
  const agent = fakeAgent();
  const results: MaintenanceRunResult[] = [];
  const scheduler = new MaintenanceScheduler([], { ...agent, log: silentLogger(), onResult: (r) => results.push(r) });
  const result = await scheduler.trigger(job({ command: ['sh', '-c', 'sleep 0.05; exit 0'] }));
  assert.equal(result.result, 'ok');
  assert.equal(result.exitCode, 0);
  assert.ok(result.durationMs >= 40);
  assert.deepEqual(agent.calls, ['drain dns by schedule:nightly', 'resume dns by schedule:nightly']);
  assert.deepEqual([...agent.drained], []);
  assert.deepEqual(results, [result]);
});

test('a failing job resumes unless stay_drained_on_failure; a service drained before stays drained', async () => {
  const agent = fakeAgent(['web']);
  const scheduler = new MaintenanceScheduler([], { ...agent, log: silentLogger() });
  const failed = await scheduler.trigger(job({ services: undefined, command: ['sh', '-c', 'exit 4'] }));
  assert.equal(failed.result, 'failed');
  assert.equal(failed.exitCode, 4);
  assert.deepEqual([...agent.drained], ['web'], 'resumed dns, never web (drained before the job)');

  const stay = await scheduler.trigger(job({ command: ['false'], stayDrainedOnFailure: true }));
  assert.deepEqual(stay.stayedDrained, ['dns']);
  assert.ok(agent.drained.has('dns'));
});

test('one run at a time per job: a trigger while the last run goes on is skipped', async () => {
  const agent = fakeAgent();
  const results: MaintenanceRunResult[] = [];
  const scheduler = new MaintenanceScheduler([], { ...agent, log: silentLogger(), onResult: (r) => results.push(r) });
  const long = job({ command: ['sleep', '0.3'] });
  const first = scheduler.trigger(long);
  const second = await scheduler.trigger(long);
  assert.equal(second.result, 'skipped');
  assert.equal((await first).result, 'ok');
  assert.equal((await scheduler.trigger(long)).result, 'ok', 'runs again once the first has finished');
  assert.deepEqual(
    results.map((r) => r.result),
    ['skipped', 'ok', 'ok'],
  );
});

test('node-cron fires the job on its schedule (every second) and stop() ends it', async () => {
  const agent = fakeAgent();
  const results: MaintenanceRunResult[] = [];
  const scheduler = new MaintenanceScheduler([job({ schedule: '* * * * * *', command: ['true'] })], {
    ...agent,
    log: silentLogger(),
    onResult: (r) => results.push(r),
  });
  scheduler.start();
  const deadline = Date.now() + 3500;
  while (results.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await scheduler.stop();
  assert.ok(results.length >= 2, `ran ${results.length} times in 3.5 s`);
  const count = results.length;
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal(results.length, count, 'no runs after stop()');
});
