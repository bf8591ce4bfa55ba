// The control socket of the running agent: a client without permission cannot connect; malformed, oversized, slow
// and silent clients do not disturb the agent (probing, announcements, and answers to a well-behaved client).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { healthcastBin } from '../support/paths.js';
import { Lab } from '../../lab/lab.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, startAgent } from '../../lab/healthcast.js';
import { hostEntries } from './support/kernel.js';
import { startMonitor } from '../../lab/monitor.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ADDRESS = '192.0.2.170';

// One request on a fresh connection; resolves with the parsed reply and how long it took.
function ask(socketPath: string, request: unknown, timeoutMs = 2000): Promise<{ reply: { ok: boolean; result?: unknown }; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ reply: JSON.parse(text.slice(0, text.indexOf('\n'))) as { ok: boolean; result?: unknown }, ms: Date.now() - started });
    });
  });
}

// Abusive clients, each closed by the test at the end if the agent has not dropped it first.
function abuse(socketPath: string): { sockets: net.Socket[]; stop(): void } {
  const sockets: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const open = (onConnect: (socket: net.Socket) => void) => {
    const socket = net.connect(socketPath);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('connect', () => onConnect(socket));
    sockets.push(socket);
  };
  const malformed = [
    'not json',
    '[1,2,3]',
    '{"command":"rm -rf /"}',
    '{"command":"drain","services":["x; reboot"]}',
    '{"command":"status","extra":1}',
    `{"command":"${'x'.repeat(5000)}"}`,
    '{"command":',
    '\u0000\u0001\u0002',
    'null',
    '1e999999',
  ];
  for (let i = 0; i < 8; i += 1) open((socket) => socket.write(`${malformed.join('\n')}\n`.repeat(3)));
  for (let i = 0; i < 4; i += 1) open((socket) => socket.write(Buffer.alloc(1024 * 1024, 0x41)));
  for (let i = 0; i < 6; i += 1) {
    open((socket) => {
      let index = 0;
      const text = '{"command":"status"}';
      timers.push(setInterval(() => socket.write(text[index++ % text.length]!), 100));
    });
  }
  for (let i = 0; i < 6; i += 1) open(() => undefined);
  return {
    sockets,
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

test('control socket: no access without permission; abusive clients do not disturb the agent', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound', 'setpriv'] })) return;
  const lab = await Lab.create({ name: 'ctl' });
  let abusers: ReturnType<typeof abuse> | undefined;
  try {
    const node = await lab.node('ctl');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const service = {
      name: 'dns',
      addresses: [ADDRESS],
      interval: '100ms',
      timeout: '80ms',
      rise: 1,
      fall: 2,
      hold_down: '0ms',
      probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
    };
    let socketPath = '';
    const agent = await startAgent(lab, node, {
      config: (stateDir) => {
        socketPath = path.join(path.dirname(stateDir), 'control.sock');
        return agentConfig(stateDir, [service], { control_socket: socketPath });
      },
    });
    await waitFor('the service announced', async () => (await hostEntries(node.netns)).addresses.includes(ADDRESS), { timeoutMs: 5000 });
    await waitFor('the control socket', () => fs.existsSync(socketPath), { timeoutMs: 5000 });
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600, 'the socket is mode 0600');
    assert.equal((await ask(socketPath, { command: 'ping' })).reply.ok, true, 'root can talk to the agent');

    // Every directory on the way is traversable, so only the socket's own mode stands in the way of user nobody.
    const script = `const s=require('net').connect(${JSON.stringify(socketPath)});s.on('connect',()=>{console.log('CONNECTED');s.destroy()});s.on('error',(e)=>console.log(e.code))`;
    const unprivileged = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(unprivileged.stdout.trim(), 'EACCES', `user nobody is refused: ${unprivileged.stdout}${unprivileged.stderr}`);

    const monitor = await startMonitor(node.netns, 'address');
    const since = agent.lines().length;
    abusers = abuse(socketPath);
    const replies: number[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const { reply, ms } = await ask(socketPath, { command: 'status' });
      assert.equal(reply.ok, true, 'status answers while abusive clients are connected');
      replies.push(ms);
      await sleep(100);
    }
    const slowest = Math.max(...replies);
    t.diagnostic(`${replies.length} status replies during the abuse, slowest ${slowest} ms`);
    assert.ok(slowest < 1000, `a well-behaved client is answered promptly (slowest ${slowest} ms)`);
    await waitFor('the oversized clients dropped', () => abusers!.sockets.slice(8, 12).every((socket) => socket.destroyed || socket.readableEnded), {
      timeoutMs: 5000,
    });

    const rounds = agent
      .lines()
      .slice(since)
      .filter((line) => line.service === 'dns');
    assert.deepEqual(monitor.about(ADDRESS), [], 'the service stayed announced throughout');
    assert.ok(agent.alive(), 'the agent keeps running');
    assert.equal(rounds.filter((line) => line.to === 'falling' || line.to === 'down').length, 0, 'probing was not disturbed into failures');
    abusers.stop();
    abusers = undefined;

    const status = spawnSync(process.execPath, [healthcastBin, 'status', '--socket', socketPath, '--json'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(status.status, 0, `healthcast status works afterwards: ${status.stderr}`);
    assert.match(status.stdout, /"dns"/);
    await monitor.stop();
  } finally {
    abusers?.stop();
    await lab.destroy();
  }
});
