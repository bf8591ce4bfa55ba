// A stopped agent (SIGTSTP, process state T) and the clients that meet it: the CLI says so at once with the PID, a
// request whose client gave up while the agent was stopped is not applied at SIGCONT, and a maintenance hold whose
// holder is gone is ended (unless it asked to stay drained). The real agent in a throwaway namespace (ops harness).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { requirePrerequisites } from '../support/prereq.js';
import { controlRequest } from '../../src/control/client.js';
import { waitFor } from '../../lab/process.js';
import { processState } from '../../lab/proc.js';
import { baseConfig, OPS_COMMANDS, opsNode, service, statusOf, type OpsNode } from '../integration/ops/harness.js';

async function drainedNames(node: OpsNode): Promise<string[]> {
  return statusOf(await node.cli(['status', '--json']))
    .services.filter((s) => s.maintenance)
    .map((s) => s.name);
}

// A client as the wrapper was before this fix: it writes its drain and, getting no answer, gives up and closes.
function queueAndGiveUp(socket: string, request: Record<string, unknown>, giveUpMs: number): Promise<string> {
  return new Promise((resolve) => {
    const client = net.connect(socket, () => client.write(`${JSON.stringify(request)}\n`));
    let text = '';
    client.on('data', (chunk) => (text += chunk.toString()));
    client.on('error', () => undefined);
    setTimeout(() => {
      client.destroy();
      resolve(text);
    }, giveUpMs);
  });
}

// The pid of a process that has already exited.
function deadPid(): number {
  const done = spawnSync('true');
  return done.pid;
}

test(
  'a paused agent: the CLI says so at once, requests of clients that gave up are not applied at SIGCONT, orphaned holds end',
  { timeout: 120_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
    const node = await opsNode(t, 'pause');
    await node.startListener();
    node.writeConfig(baseConfig(node, [service('dns', ['192.0.2.53'], node.port), service('web', ['192.0.2.80'], node.port)]));
    await node.startAgent();
    await waitFor('announced', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });
    const pid = statusOf(await node.cli(['status', '--json'])).agent.pid;

    process.kill(pid, 'SIGTSTP');
    await waitFor('the agent stopped itself', () => processState(pid) === 'T', { timeoutMs: 10_000, intervalMs: 20 });
    t.after(
      () =>
        void (() => {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            /* gone */
          }
        })(),
    );

    // status names the stopped PID within a second (beyond what starting a CLI process costs on this machine), and
    // how to continue it.
    let started = performance.now();
    await node.cli(['--version']);
    const startupMs = performance.now() - started;
    started = performance.now();
    const status = await node.cli(['status']);
    const statusMs = performance.now() - started;
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stderr, new RegExp(`the agent \\(pid ${pid}\\) is stopped.*kill -CONT ${pid}`));
    assert.ok(statusMs - startupMs < 1000, `status answered in ${statusMs.toFixed(0)} ms, --version in ${startupMs.toFixed(0)} ms`);
    t.diagnostic(`status against the stopped agent: ${statusMs.toFixed(0)} ms (--version: ${startupMs.toFixed(0)} ms)`);

    // The wrapper refuses at once (nothing sent); with --wait-for-resume a SIGTERM ends the wait at once with 143.
    started = performance.now();
    const refused = await node.cli(['maintenance', '--service', 'dns', '--', 'true']);
    assert.equal(refused.code, 125, refused.stderr);
    assert.match(refused.stderr, new RegExp(`pid ${pid}\\) is stopped.*nothing drained`));
    assert.ok(performance.now() - started - startupMs < 1000);
    const waiting = node.spawnCli(['maintenance', '--service', 'dns', '--wait-for-resume', '--', 'true']);
    let waitingErr = '';
    waiting.stderr?.on('data', (chunk: Buffer) => (waitingErr += chunk.toString()));
    const waitingExit = new Promise<number | null>((resolve) => waiting.once('exit', (code) => resolve(code)));
    await waitFor('the wrapper waits', () => waitingErr.includes('waiting for kill -CONT'), { timeoutMs: 5000, intervalMs: 20 });
    started = performance.now();
    waiting.kill('SIGTERM');
    assert.equal(await waitingExit, 143, waitingErr);
    assert.ok(performance.now() - started < 500, 'the signal ended the wait at once');
    // A wrapper killed outright while waiting (it has sent nothing), and old-style clients that queued a drain and gave up.
    const killed = node.spawnCli(['maintenance', '--service', 'web', '--wait-for-resume', '--', 'true']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    killed.kill('SIGKILL');
    const gaveUp = await Promise.all([
      queueAndGiveUp(node.socket, { command: 'drain', services: ['dns'], by: 'maintenance (pid 1)', deadline: Date.now() + 300 }, 400),
      queueAndGiveUp(node.socket, { command: 'drain', services: ['web'], by: 'cli' }, 300),
    ]);
    assert.deepEqual(gaveUp, ['', ''], 'a stopped agent answers nothing');

    process.kill(pid, 'SIGCONT');
    await node.waitForLine(
      'the queued requests were read and refused',
      (line) => /^control: drain request not applied/.test(line.msg) && line.by === 'cli',
      10_000,
    );
    assert.equal(node.lines().filter((line) => /^control: drain request not applied/.test(line.msg)).length, 2, 'both queued drains were refused');
    assert.deepEqual(await drainedNames(node), [], 'nothing drained after SIGCONT');
    assert.equal(node.lines().filter((line) => /^draining /.test(line.msg)).length, 0, 'no drain was ever applied');
    await waitFor('announced again', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });

    // A hold whose holder has gone is ended and logged as an error; one that asked to stay drained stays, and says so.
    const gone = deadPid();
    // As a wrapper would drain, naming itself; here the holder has already exited.
    await controlRequest(node.socket, { command: 'drain', services: ['dns'], by: `maintenance (pid ${gone})`, pid: gone }, { timeoutMs: 10_000 });
    await controlRequest(
      node.socket,
      { command: 'drain', services: ['web'], by: `maintenance (pid ${gone})`, pid: gone, stay_drained: true },
      { timeoutMs: 10_000 },
    );
    await node.waitForLine(
      'the orphaned hold ended',
      (line) => line.level === 50 && /maintenance hold orphaned: .* without resuming dns; resuming them now/.test(line.msg),
      10_000,
    );
    await waitFor('dns resumed by the hold watch', async () => JSON.stringify(await drainedNames(node)) === '["web"]', { timeoutMs: 5000 });
    const table = await node.cli(['status']);
    assert.match(table.stdout, /web: drained since .* asked to stay drained \(--stay-drained-on-failure\); resume with: healthcast resume web/);
    assert.equal((await node.cli(['resume', 'web'])).code, 0);
  },
);
