// The real agent process in a namespace, steered only through the CLI and the control socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { requirePrerequisites } from '../../support/prereq.js';
import { fixture } from '../../support/paths.js';
import { waitFor } from '../../../lab/process.js';
import { runIn } from '../../../lab/netns.js';
import { baseConfig, OPS_COMMANDS, opsNode, service, statusOf } from './harness.js';

const WEB = ['192.0.2.80', '2001:db8::80'];
const DNS = ['192.0.2.53'];

test('status, drain (persisted across a restart) and resume, check-now, against the running agent', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'ctl');
  await node.startListener();
  const hooksLog = `${node.dir}/hooks.log`;
  const hook = (tag: string) => ['sh', '-c', `echo "${tag} $HEALTHCAST_SERVICE $HEALTHCAST_STATE $HEALTHCAST_ADDRESSES" >> ${hooksLog}`];
  const hooks = { on_up: hook('up'), on_down: hook('down'), on_drain: hook('drain') };
  node.writeConfig(baseConfig(node, [service('web', WEB, node.port, hooks), service('dns', DNS, node.port), service('dead', ['192.0.2.99'], 1)]));
  await node.startAgent();
  await waitFor('both announced', async () => (await node.addresses()).length === 3, { timeoutMs: 5000 });

  const status = statusOf(await node.cli(['status', '--json']));
  assert.deepEqual(
    status.services.map((s) => [s.name, s.state, s.announced, s.maintenance]),
    [
      ['web', 'up', true, false],
      ['dns', 'up', true, false],
      ['dead', 'down', false, false],
    ],
  );
  assert.equal(status.agent.pid > 0, true);
  const dead = status.services.find((s) => s.name === 'dead')!;
  assert.equal(dead.last?.ok, false);
  assert.match(dead.last?.reason ?? '', /ECONNREFUSED/);
  const table = await node.cli(['status']);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^web +up +up /m);

  // drain returns once withdrawn
  const drain = await node.cli(['drain', 'web']);
  assert.equal(drain.code, 0, drain.stderr);
  assert.match(drain.stdout, /drained: web/);
  assert.deepEqual((await node.addresses()).sort(), DNS, 'web withdrawn when `healthcast drain` returns');
  const drained = statusOf(await node.cli(['status', '--json'])).services.find((s) => s.name === 'web')!;
  assert.deepEqual([drained.state, drained.maintenance, drained.announced], ['drained', true, false]);
  assert.ok(fs.existsSync(`${node.stateDir}/drained.json`));

  // unknown service: refused, exit 1, nothing changes
  const unknown = await node.cli(['drain', 'nosuch']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no service named "nosuch"/);
  assert.equal((await node.cli(['drain'])).code, 2, 'no service and no --all is a usage error');

  // restart: still drained
  node.agent!.child.kill('SIGTERM');
  assert.equal(await node.agent!.exited, 0);
  assert.deepEqual(await node.addresses(), [], 'SIGTERM withdrew everything');
  await node.startAgent();
  await waitFor('dns back after restart', async () => (await node.addresses()).includes('192.0.2.53'), { timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 500)); // rise is 2 x 100 ms: web would be back by now
  assert.deepEqual(await node.addresses(), DNS, 'web is still drained after the restart');
  assert.equal(statusOf(await node.cli(['status', '--json'])).services.find((s) => s.name === 'web')?.state, 'drained');

  const resume = await node.cli(['resume', 'web']);
  assert.equal(resume.code, 0, resume.stderr);
  await waitFor('web back after resume', async () => (await node.addresses()).length === 3, { timeoutMs: 3000 });

  // --all both ways
  assert.equal((await node.cli(['drain', '--all'])).code, 0);
  assert.deepEqual(await node.addresses(), []);
  assert.equal((await node.cli(['resume', '--all'])).code, 0);
  await waitFor('all back', async () => (await node.addresses()).length === 3, { timeoutMs: 3000 });

  // Hooks ran after each applied change, in order; the drain carried over by the restart fired nothing.
  const up = 'up web up 192.0.2.80 2001:db8::80';
  const drainedLine = 'drain web drained 192.0.2.80 2001:db8::80';
  const expected = [up, drainedLine, up, drainedLine, up];
  await waitFor('hooks', () => fs.existsSync(hooksLog) && fs.readFileSync(hooksLog, 'utf8').trim().split('\n').length >= expected.length, { timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(fs.readFileSync(hooksLog, 'utf8').trim().split('\n'), expected);
});

test('check-now probes at once instead of at the next interval', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'now');
  node.writeConfig(
    baseConfig(node, [service('web', ['192.0.2.80'], node.port, { interval: '30s', timeout: '1s', rise: 1, fall: 1 })], { metrics: { listen: '127.0.0.1:0' } }),
  );
  await node.startListener();
  await node.startAgent();
  const listening = await node.waitForLine('metrics listening', (line) => line.msg === 'metrics listening');
  const before = statusOf(await node.cli(['status', '--json'])).services[0]!;
  const started = Date.now();
  const now = await node.cli(['check-now', 'web', '--json']);
  assert.equal(now.code, 0, now.stderr);
  const after = statusOf(now).services[0]!;
  assert.ok(after.last !== null && after.successes + (after.last.ok ? 0 : 1) > before.successes, 'a probe ran');
  assert.equal(after.state, 'up', 'rise 1: up after the immediate probe');
  await waitFor('announced', async () => (await node.addresses()).includes('192.0.2.80'), { timeoutMs: 2000 });
  assert.ok(Date.now() - started < 5000, 'well before the 30 s interval');
  assert.equal((await node.cli(['check-now', 'nosuch'])).code, 1);

  // The agent's metrics endpoint (inside the namespace) agrees with status.
  const script = `fetch('http://${String(listening.listen)}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await runIn(node.ns, process.execPath, ['-e', script]);
  assert.match(stdout, /^healthcast_service_state\{service="web",state="up"\} 1$/m);
  assert.match(stdout, /^healthcast_service_announced\{service="web"\} 1$/m);
  assert.match(stdout, /^healthcast_probe_results_total\{service="web",probe="tcp",result="ok"\} [1-9]/m);
  assert.match(stdout, /^healthcast_control_requests_total\{command="check-now",result="ok"\} 1$/m);
  assert.match(stdout, /^process_resident_memory_bytes /m);
});

test('cleanup after kill -9 removes what the agent owned and nothing else; refuses while an agent runs', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'clean');
  await node.startListener();
  node.writeConfig(baseConfig(node, [service('web', WEB, node.port)]));
  await node.startAgent();
  await waitFor('announced', async () => (await node.addresses()).length === 2, { timeoutMs: 5000 });
  const refused = await node.cli(['cleanup'], { inNamespace: true });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /an agent is running/);
  assert.equal((await node.addresses()).length, 2);

  await node.agent!.stop('SIGKILL');
  await node.cli(['status']).then((result) => assert.equal(result.code, 1, 'no agent answers'));
  const { ip } = await import('../../../lab/netns.js');
  await ip(['-n', node.ns, 'address', 'add', '192.0.2.200/32', 'dev', 'lo']); // an admin's address
  assert.deepEqual((await node.addresses()).sort(), ['192.0.2.200', ...WEB].sort(), 'kill -9 leaves the addresses behind');
  const cleanup = await node.cli(['cleanup'], { inNamespace: true });
  assert.equal(cleanup.code, 0, cleanup.stderr);
  assert.match(cleanup.stdout, /removed 192\.0\.2\.80 dev lo/);
  assert.match(cleanup.stdout, /removed 2001:db8::80 dev lo/);
  assert.deepEqual(await node.addresses(), ['192.0.2.200'], 'only what healthcast owned is gone');
  assert.equal(fs.existsSync(node.socket), false, 'the stale socket is removed');
  const again = await node.cli(['cleanup'], { inNamespace: true });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to clean up/);
});

test(
  'control socket abuse: other users cannot connect; malformed, oversized, silent and slow clients do not disturb the agent',
  { timeout: 90_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
    const node = await opsNode(t, 'abuse');
    await node.startListener();
    node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port)]));
    await node.startAgent();
    await waitFor('announced', async () => (await node.addresses()).includes('192.0.2.80'), { timeoutMs: 5000 });
    assert.equal(fs.statSync(node.socket).mode & 0o777, 0o600);
    fs.chmodSync(`${node.dir}/run`, 0o755);

    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    const denied = await node.cli(['status', '--socket', node.socket], { wrap: nobody });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /EACCES.*permission denied/);
    // The same client gets in once the mode allows it: the mode is what kept it out.
    fs.chmodSync(node.socket, 0o666);
    assert.equal((await node.cli(['status', '--socket', node.socket], { wrap: nobody })).code, 0);
    fs.chmodSync(node.socket, 0o600);

    const abusers: net.Socket[] = [];
    t.after(() => abusers.forEach((socket) => socket.destroy()));
    const open = () => {
      const socket = net.connect(node.socket);
      socket.on('error', () => undefined);
      abusers.push(socket);
      return socket;
    };
    const replies: string[] = [];
    const garbage = open();
    garbage.on('data', (chunk) => replies.push(chunk.toString()));
    garbage.write('{"command": "drain", "services": ["web"]\n'); // broken JSON
    garbage.write('\x00\x01\x02\xff\n');
    open().write('x'.repeat(200 * 1024)); // oversized, no newline
    for (let i = 0; i < 20; i += 1) open(); // silent
    const trickler = open();
    const drip = setInterval(() => trickler.writable && trickler.write('{'), 100);
    t.after(() => clearInterval(drip));

    const before = statusOf(await node.cli(['status', '--json'])).services[0]!.successes;
    const timings: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = Date.now();
      const result = await node.cli(['status', '--json']);
      timings.push(Date.now() - started);
      assert.equal(result.code, 0, result.stderr);
    }
    assert.ok(statusOf(await node.cli(['status', '--json'])).services[0]!.successes > before, 'probing went on');
    assert.ok(replies.join('').includes('HC_ERR_CONTROL_PROTOCOL'), 'malformed requests get an error reply');
    assert.deepEqual(await node.addresses(), ['192.0.2.80'], 'a malformed drain drained nothing');

    // The agent still reacts to a failure in time while all of that is connected.
    const started = Date.now();
    await node.stopListener();
    await waitFor('withdrawn', async () => !(await node.addresses()).includes('192.0.2.80'), { timeoutMs: 3000 });
    t.diagnostic(`status round trips with abusers connected: ${timings.join(', ')} ms; withdraw after failure: ${Date.now() - started} ms`);
    await waitFor('silent clients dropped', () => abusers.filter((socket) => socket.destroyed || socket.readableEnded).length >= 20, { timeoutMs: 15_000 });
  },
);

test('status and metrics report "advertised" as FRR answers; null while FRR cannot be asked', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: OPS_COMMANDS })) return;
  const node = await opsNode(t, 'adv');
  await node.startListener();
  // A stand-in vtysh that prints FRR 8.4's answer for "no external LSAs of ours"; a missing one stands for no FRR.
  node.writeConfig(
    baseConfig(node, [service('web', ['192.0.2.80'], node.port)], { frr: { vtysh: fixture('frr', 'fake-vtysh', 'vtysh') }, reconcile_interval: '1s' }),
  );
  await node.startAgent({ env: { FAKE_VTYSH_MODE: 'json' } });
  await waitFor('announced', async () => (await node.addresses()).length === 1, { timeoutMs: 5000 });
  const answered = await waitFor('FRR answered', async () => statusOf(await node.cli(['status', '--json'])).services[0]!.advertised === false || undefined, {
    timeoutMs: 5000,
  });
  assert.equal(answered, true, 'announced on lo but FRR does not originate it: advertised false');
  assert.match((await node.cli(['status'])).stdout, /^web +up +up +\S+ +ok +\S+ +yes +no /m);
  node.agent!.child.kill('SIGTERM');
  await node.agent!.exited;

  node.writeConfig(baseConfig(node, [service('web', ['192.0.2.80'], node.port)], { frr: { vtysh: '/nonexistent/vtysh' } }));
  await node.startAgent();
  await waitFor('announced', async () => (await node.addresses()).length === 1, { timeoutMs: 5000 });
  assert.equal(statusOf(await node.cli(['status', '--json'])).services[0]!.advertised, null);
});
