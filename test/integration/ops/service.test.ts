// How the agent runs as a service: sd_notify (READY, STATUS, watchdog from the event loop, STOPPING) against a
// NOTIFY_SOCKET made here, as an unprivileged user with only CAP_NET_ADMIN, and as an rc.local daemon with a pidfile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { requirePrerequisites } from '../../support/prereq.js';
import { waitFor } from '../../../lab/process.js';
import { isGone, processState } from '../../../lab/proc.js';
import { healthcastBin } from '../../support/paths.js';
import { healthcastArgv } from '../../../lab/healthcast.js';
import { notifyListener } from '../../unit/systemd/notify-listener.js';
import { baseConfig, OPS_COMMANDS, opsNode, service, statusOf } from './harness.js';

test('Type=notify: READY with STATUS, WATCHDOG=1 only while the event loop runs, STOPPING on SIGTERM', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...OPS_COMMANDS, 'python3', 'perl'] })) return;
  const node = await opsNode(t, 'notify');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port), service('dead', ['192.0.2.99'], 1)]));
  const socket = path.join(node.dir, 'notify');
  const listener = notifyListener(socket);
  t.after(() => listener.stop());
  await listener.ready();
  const agent = await node.startAgent({ env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '300000' } });
  await waitFor('READY', () => listener.messages().some((m) => m.startsWith('READY=1\nSTATUS=')), { timeoutMs: 5000 });
  await waitFor('STATUS with the announced count', () => listener.messages().includes('STATUS=1/2 services announced; down: dead'), { timeoutMs: 5000 });

  const pings = () => listener.messages().filter((m) => m === 'WATCHDOG=1').length;
  const first = pings();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const perSecond = pings() - first;
  assert.ok(perSecond >= 3 && perSecond <= 10, `about one ping per 150 ms, got ${perSecond}/s`);

  // A hung agent (stopped here; a busy loop is the same to timers) sends no pings, although the helper still runs.
  process.kill(agent.pid, 'SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const frozen = pings();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(pings(), frozen, 'no WATCHDOG=1 while the event loop does not run');
  process.kill(agent.pid, 'SIGCONT');
  await waitFor('pings again', () => pings() > frozen, { timeoutMs: 2000 });

  // SIGTSTP withdraws and stops the process: the watchdog is switched off first, or systemd would restart the agent.
  process.kill(agent.pid, 'SIGTSTP');
  await waitFor('watchdog off', () => listener.messages().includes('STATUS=paused (SIGTSTP): everything withdrawn; SIGCONT resumes\nWATCHDOG_USEC=0'), {
    timeoutMs: 5000,
  });
  await waitFor('stopped', () => processState(agent.pid) === 'T', { timeoutMs: 5000 });
  assert.deepEqual(await node.addresses(), []);
  process.kill(agent.pid, 'SIGCONT');
  await waitFor('watchdog back on', () => listener.messages().includes('WATCHDOG_USEC=300000\nWATCHDOG=1'), { timeoutMs: 5000 });
  await waitFor('announced again', async () => (await node.addresses()).length === 1, { timeoutMs: 5000 });

  agent.child.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  await waitFor('STOPPING', () => listener.messages().some((m) => m.startsWith('STOPPING=1')), { timeoutMs: 3000 });
  assert.deepEqual(await node.addresses(), []);
});

test('as an unprivileged user with only CAP_NET_ADMIN, the agent adds and removes addresses', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'caps');
  await node.startListener();
  node.writeConfig(
    baseConfig(node, [
      service('web', ['192.0.2.80', '2001:db8::80'], node.port, { announce: 'address' }),
      service('rt', ['192.0.2.81'], node.port, { announce: 'route' }),
    ]),
  );
  for (const dir of [node.stateDir, path.dirname(node.socket)]) {
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, 65534, 65534);
  }
  const wrap = [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=-all,+net_admin',
    '--ambient-caps=-all,+net_admin',
    '--bounding-set=-all,+net_admin',
  ];
  const agent = await node.startAgent({ wrap });
  const proc = fs.readFileSync(`/proc/${agent.pid}/status`, 'utf8');
  assert.match(proc, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  assert.match(proc, /^CapEff:\s+0000000000001000$/m, 'exactly CAP_NET_ADMIN');
  assert.match(proc, /^CapBnd:\s+0000000000001000$/m);
  await waitFor('addresses added', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });
  const { kernelRoutes } = await import('../../../lab/netns.js');
  await waitFor('route added', async () => (await kernelRoutes(node.ns, 4)).some((route) => route.dst === '192.0.2.81/32'), { timeoutMs: 5000 });
  assert.equal(fs.statSync(node.socket).uid, 65534, 'the control socket belongs to the user the agent runs as');
  assert.equal((await node.cli(['drain', 'web'])).code, 0);
  assert.deepEqual(await node.addresses(), []);
  assert.equal((await node.cli(['resume', 'web'])).code, 0);
  await waitFor('back', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });
  await node.stopListener();
  await waitFor(
    'removed on failure',
    async () => (await node.addresses()).length === 0 && !(await kernelRoutes(node.ns, 4)).some((route) => route.dst === '192.0.2.81/32'),
    { timeoutMs: 5000 },
  );
  agent.child.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  assert.ok(fs.statSync(path.join(node.stateDir, 'owned.json')).uid === 65534);
});

test('rc.local: run --daemon --pidfile returns once started; SIGTERM by pidfile withdraws and removes the pidfile', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'daemon');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port)]));
  const pidfile = path.join(node.dir, 'run', 'healthcast.pid');
  const logFile = path.join(node.dir, 'healthcast.log');
  const log = fs.openSync(logFile, 'a');
  const started = Date.now();
  const launcher = spawn('ip', ['netns', 'exec', node.ns, ...healthcastArgv(['run', '--daemon', '--pidfile', pidfile, '--config', node.configFile]).flat()], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const code = await new Promise<number | null>((resolve) => launcher.once('exit', resolve));
  assert.equal(code, 0, fs.readFileSync(logFile, 'utf8'));
  const pid = Number(fs.readFileSync(pidfile, 'utf8'));
  t.after(() => {
    if (!isGone(pid)) process.kill(pid, 'SIGKILL');
  });
  t.diagnostic(`--daemon returned after ${Date.now() - started} ms`);
  assert.notEqual(pid, launcher.pid);
  assert.equal(isGone(pid), false);
  assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /healthcast/);
  assert.equal(statusOf(await node.cli(['status', '--json'])).agent.pid, pid);
  await waitFor('announced', async () => (await node.addresses()).includes('192.0.2.80'), { timeoutMs: 5000 });
  assert.match(fs.readFileSync(logFile, 'utf8'), /"msg":"agent started"/, "logs go to the caller's stdout");

  const second = spawn(
    'ip',
    ['netns', 'exec', node.ns, process.execPath, healthcastBin, 'run', '--daemon', '--pidfile', pidfile, '--config', node.configFile],
    { stdio: 'ignore' },
  );
  assert.equal(await new Promise((resolve) => second.once('exit', resolve)), 1, 'a second daemon with the same pidfile refuses to start');

  process.kill(pid, 'SIGTERM');
  await waitFor('daemon gone', () => isGone(pid), { timeoutMs: 10_000 });
  assert.equal(fs.existsSync(pidfile), false);
  assert.deepEqual(await node.addresses(), []);
});
