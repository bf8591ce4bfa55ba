import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseProcStat } from '../../../src/systemd/process-state.js';
import { stoppedAgent, stoppedAgentIn, writeAgentPid } from '../../../src/control/agent-process.js';
import { dispatch } from '../../../src/cli/main.js';
import { waitFor } from '../../../lab/process.js';

test('/proc/PID/stat: state, name (with spaces and parentheses) and start time', () => {
  const line = '4242 (healthcast /e)c) T 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 11 0 123456 1000 200 18446744073709551615';
  assert.deepEqual(parseProcStat(4242, line), { pid: 4242, state: 'T', comm: 'healthcast /e)c', startTicks: 123456 });
  assert.equal(stoppedAgentIn(parseProcStat(4242, line)), 4242);
  assert.equal(stoppedAgentIn({ pid: 1, state: 'S', comm: 'healthcast /etc', startTicks: 1 }), undefined, 'running');
  assert.equal(stoppedAgentIn({ pid: 1, state: 'T', comm: 'vim', startTicks: 1 }), undefined, 'a stopped pid that is not an agent (reused after a crash)');
});

// A process that looks like the agent (its title), serving a socket that never answers, as a stopped agent's does not.
async function fakeAgent(t: { after(fn: () => void | Promise<void>): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-stopped-'));
  const socket = path.join(dir, 'control.sock');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `process.title = 'healthcast ${dir}/h.yaml'; require('net').createServer(() => console.log('connected')).listen(${JSON.stringify(socket)}, () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  await writeAgentPid(socket, child.pid!);
  // Resolves when a client's connection has reached the fake agent (its request is then in flight).
  const connected = () => new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { socket, pid: child.pid!, child, connected };
}

function capture() {
  const err: string[] = [];
  return { err, io: { out: () => undefined, err: (line: string) => err.push(line) } };
}

test('status, drain, resume, check-now and maintenance against a stopped agent say so at once with the PID and the way out', async (t) => {
  const agent = await fakeAgent(t);
  process.kill(agent.pid, 'SIGSTOP');
  t.after(() => void process.kill(agent.pid, 'SIGCONT'));
  // The kernel stops the process asynchronously: wait for /proc to say so (state T) before asking the CLI.
  await waitFor('the fake agent stopped', () => stoppedAgent(agent.socket) === agent.pid);
  const cases: [string[], number][] = [
    [['status'], 3],
    [['drain', 'dns'], 3],
    [['resume', '--all'], 3],
    [['check-now'], 3],
    [['maintenance', '--socket', agent.socket, '--', 'true'], 125],
  ];
  for (const [argv, code] of cases) {
    const out = capture();
    const started = performance.now();
    assert.equal(await dispatch(argv.includes('--') ? argv : [...argv, '--socket', agent.socket], out.io), code, argv.join(' '));
    const ms = performance.now() - started;
    // Typically a few ms. The bound only tells "said so at once" from "waited for a timeout" (10-120 s), with room for a
    // machine with busy loops beside the suite; the e2e test holds the CLI to 1 s.
    assert.ok(ms < 5000, `${argv.join(' ')}: answered in ${ms.toFixed(0)} ms`);
    assert.match(out.err.join('\n'), new RegExp(`pid ${agent.pid}\\) is stopped.*kill -CONT ${agent.pid}`), argv.join(' '));
  }
});

test('a request in flight ends within a few hundred ms when the agent is stopped meanwhile', async (t) => {
  const agent = await fakeAgent(t);
  const out = capture();
  const started = performance.now();
  const connected = agent.connected();
  const pending = dispatch(['status', '--socket', agent.socket], out.io);
  await connected;
  process.kill(agent.pid, 'SIGSTOP');
  t.after(() => void process.kill(agent.pid, 'SIGCONT'));
  assert.equal(await pending, 3);
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms (the request timeout is 10 s)`);
  assert.match(out.err.join('\n'), /is stopped/);
});

test('maintenance --wait-for-resume waits for SIGCONT; a signal while it waits ends it at once with 128+n and nothing sent', async (t) => {
  const agent = await fakeAgent(t);
  process.kill(agent.pid, 'SIGSTOP');
  t.after(() => void process.kill(agent.pid, 'SIGCONT'));
  // The kernel stops the process asynchronously: wait for /proc to say so (state T) before asking the CLI.
  await waitFor('the fake agent stopped', () => stoppedAgent(agent.socket) === agent.pid);
  const out = capture();
  const pending = dispatch(['maintenance', '--wait-for-resume', '--socket', agent.socket, '--', 'true'], out.io);
  const waiting = new RegExp(`pid ${agent.pid}\\) is stopped; waiting for kill -CONT ${agent.pid}`);
  await waitFor('the wrapper says it waits', () => waiting.test(out.err.join('\n')));
  const started = performance.now();
  process.emit('SIGTERM', 'SIGTERM');
  assert.equal(await pending, 143);
  // Tells "at once" from "waited for the agent" (no limit), with room for a loaded machine.
  assert.ok(performance.now() - started < 5000, 'ended at once');
  assert.match(out.err.join('\n'), /interrupted by SIGTERM while waiting for the stopped agent; nothing drained/);
});
