import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { installSignals } from '../../../src/core/signals.js';
import { HealthcastError, ErrorCodes } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { Agent, AgentMode } from '../../../src/core/agent.js';
import type { AgentConfig } from '../../../src/config/types.js';

// A stand-in agent that records operations; the signal layer only needs mode and these methods.
// `pauseGate`: the pause finishes when the test says so (no race with the test's own timers on a loaded machine).
function fakeAgent(pauseGate?: Promise<void>) {
  const calls: string[] = [];
  let mode: AgentMode = 'running';
  const slow = () => new Promise((resolve) => setTimeout(resolve, 5));
  const agent = {
    get mode() {
      return mode;
    },
    async pause() {
      calls.push('pause');
      await (pauseGate ?? slow());
      mode = 'paused';
    },
    async resume() {
      calls.push('resume');
      await slow();
      mode = 'running';
    },
    async shutdown() {
      calls.push('shutdown');
      mode = 'stopped';
    },
    async reload(config: AgentConfig) {
      calls.push(`reload:${config.file}`);
    },
    logStates() {
      calls.push('states');
    },
  };
  return { agent: agent as unknown as Agent, calls, setMode: (next: AgentMode) => (mode = next) };
}

function setup(reloadConfig: () => Promise<AgentConfig> = async () => ({ file: 'next.yaml' }) as AgentConfig, pauseGate?: Promise<void>) {
  const target = new EventEmitter();
  const fake = fakeAgent(pauseGate);
  const exits: number[] = [];
  let stops = 0;
  const reloads: boolean[] = [];
  const controller = installSignals({
    agent: fake.agent,
    log: silentLogger(),
    reloadConfig,
    exit: (code) => exits.push(code),
    stopSelf: () => (stops += 1),
    onReload: (ok) => reloads.push(ok),
    target: target as never,
  });
  const send = (signal: NodeJS.Signals) => target.emit(signal);
  return { ...fake, send, controller, exits, reloads, stops: () => stops };
}

test('TSTP withdraws (pause) and then stops the process; CONT resumes', async () => {
  const s = setup();
  s.send('SIGTSTP');
  await s.controller.settled();
  assert.deepEqual(s.calls, ['pause']);
  assert.equal(s.stops(), 1);
  s.send('SIGCONT');
  await s.controller.settled();
  assert.deepEqual(s.calls, ['pause', 'resume']);
  assert.equal(s.agent.mode, 'running');
});

test('CONT arriving while the pause is still withdrawing: resume follows and the process is never stopped', async () => {
  const s = setup();
  s.send('SIGTSTP');
  s.send('SIGCONT');
  await s.controller.settled();
  assert.deepEqual(s.calls, ['pause', 'resume']);
  assert.equal(s.stops(), 0);
  assert.equal(s.agent.mode, 'running');
});

test('CONT delivered as the pause finishes, its handler not yet run: the process is not stopped', async () => {
  let finishPause = () => {};
  const s = setup(undefined, new Promise<void>((resolve) => (finishPause = resolve)));
  s.send('SIGTSTP');
  assert.deepEqual(s.calls, ['pause'], 'the pause has begun and waits on its gate');
  // libuv dispatches a signal in a later poll phase: the CONT is queued as the pause's last await returns.
  finishPause();
  setImmediate(() => s.send('SIGCONT'));
  await s.controller.settled();
  assert.equal(s.stops(), 0, 'a SIGSTOP after the CONT was used up would leave the process stopped for good');
  assert.deepEqual(s.calls, ['pause', 'resume']);
  assert.equal(s.agent.mode, 'running');
});

test('a storm of TSTP/CONT ends in the state of the last signal', async () => {
  for (const last of ['SIGTSTP', 'SIGCONT'] as const) {
    const s = setup();
    for (let i = 0; i < 100; i += 1) s.send(i % 2 === 0 ? 'SIGTSTP' : 'SIGCONT');
    s.send(last);
    await s.controller.settled();
    assert.equal(s.agent.mode, last === 'SIGTSTP' ? 'paused' : 'running');
  }
});

test('CONT without a prior TSTP does nothing (an operator resuming a process stopped by hand)', async () => {
  const s = setup();
  s.send('SIGCONT');
  await s.controller.settled();
  assert.deepEqual(s.calls, []);
});

test('TERM shuts down once and exits 0, even when sent twice', async () => {
  const s = setup();
  s.send('SIGTERM');
  s.send('SIGINT');
  await s.controller.settled();
  assert.deepEqual(s.calls, ['shutdown']);
  assert.deepEqual(s.exits, [0]);
});

test('HUP reloads; an invalid config is rejected and the agent keeps running; USR1 logs states', async () => {
  let valid = true;
  const s = setup(async () => {
    if (!valid) throw new HealthcastError(ErrorCodes.CONFIG_INVALID, 'invalid', { details: ['x.yaml: bad'] });
    return { file: 'next.yaml' } as AgentConfig;
  });
  s.send('SIGHUP');
  await s.controller.settled();
  valid = false;
  s.send('SIGHUP');
  await s.controller.settled();
  s.send('SIGUSR1');
  assert.deepEqual(s.calls, ['reload:next.yaml', 'states']);
  assert.deepEqual(s.reloads, [true, false], 'each reload reported, accepted then rejected (metrics)');
  assert.equal(s.agent.mode, 'running');
});
