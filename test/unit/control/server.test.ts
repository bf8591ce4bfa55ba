import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ControlServer } from '../../../src/control/server.js';
import { controlRequest } from '../../../src/control/client.js';
import { silentLogger } from '../../../src/log.js';
import type { ControlRequest } from '../../../src/control/protocol.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-control-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(
  t: { after(fn: () => Promise<void>): void },
  file: string,
  handler: (request: ControlRequest) => Promise<unknown>,
  options: Partial<ConstructorParameters<typeof ControlServer>[0]> = {},
) {
  const server = new ControlServer({ path: file, handler, log: silentLogger(), ...options });
  await server.listen();
  t.after(() => server.close());
  return server;
}

// A raw client: sends bytes, collects what comes back until the server closes (or the time is up).
function raw(file: string, send: (socket: net.Socket) => void, timeoutMs = 3000): Promise<{ text: string; closedBy: 'server' | 'timeout'; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(file);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedBy: 'timeout', ms: Date.now() - started });
    }, timeoutMs);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedBy: 'server', ms: Date.now() - started });
    });
    socket.on('connect', () => send(socket));
  });
}

test('answers requests; the socket is mode 0600; errors carry their code', async (t) => {
  const file = path.join(tempDir(t), 'run', 'control.sock');
  await serve(t, file, async (request) => {
    if (request.command === 'drain') throw Object.assign(new Error('boom'), {});
    return { echo: request.command };
  });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(fs.statSync(file).isSocket());
  assert.deepEqual(await controlRequest(file, { command: 'status' }), { echo: 'status' });
  await assert.rejects(
    controlRequest(file, { command: 'drain', all: true }),
    (error: Error & { code?: string }) => error.code === 'HC_ERR_CONTROL_PROTOCOL' && /boom/.test(error.message),
  );
  await assert.rejects(controlRequest(file, { command: 'nope' }), /unknown command "nope"/);
});

test('several requests on one connection are answered in order', async (t) => {
  const file = path.join(tempDir(t), 'control.sock');
  await serve(t, file, async (request) => ({ command: request.command }));
  const result = await raw(file, (socket) => socket.write('{"command":"ping"}\nnot json\n{"command":"status"}\n'), 500);
  const lines = result.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { ok: boolean; result?: { command: string } });
  assert.deepEqual(
    lines.map((line) => line.ok),
    [true, false, true],
  );
  assert.equal(lines[2]?.result?.command, 'status');
});

test('oversized, silent and slow clients are dropped; the others are still served meanwhile', async (t) => {
  const file = path.join(tempDir(t), 'control.sock');
  await serve(t, file, async () => ({ fine: true }), { maxRequestBytes: 1024, idleTimeoutMs: 300, requestTimeoutMs: 400 });

  const oversized = await raw(file, (socket) => socket.write('x'.repeat(5000)));
  assert.equal(oversized.closedBy, 'server');
  assert.match(oversized.text, /request larger than 1024 bytes/);

  const silent = await raw(file, () => undefined);
  assert.equal(silent.closedBy, 'server', 'a client that says nothing is dropped');
  assert.ok(silent.ms >= 250 && silent.ms < 2000, `dropped after ${silent.ms} ms`);

  // Trickles bytes without ever finishing the line: each byte would reset an idle timer, the request deadline ends it.
  const slow = raw(file, (socket) => {
    const timer = setInterval(() => (socket.writable ? socket.write('{') : clearInterval(timer)), 50);
    socket.on('close', () => clearInterval(timer));
  });
  assert.deepEqual(await controlRequest(file, { command: 'status' }), { fine: true }, 'served while a slow client trickles');
  const slowResult = await slow;
  assert.equal(slowResult.closedBy, 'server');
  assert.match(slowResult.text, /not complete within 400 ms/);
});

test('a slow handler for one client does not hold up another', async (t) => {
  const file = path.join(tempDir(t), 'control.sock');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await serve(t, file, async (request) => {
    if (request.command === 'drain') await gate;
    return request.command;
  });
  const waiting = controlRequest(file, { command: 'drain', all: true });
  assert.equal(await controlRequest(file, { command: 'status' }), 'status');
  release();
  assert.equal(await waiting, 'drain');
});

test('a stale socket file is replaced; a live one is refused; a regular file is never removed', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'control.sock');
  // What a kill -9 leaves: a socket file with no listener.
  try {
    execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`], {
      stdio: 'ignore',
    });
  } catch {
    // killed by design
  }
  assert.ok(fs.statSync(file).isSocket());
  await serve(t, file, async () => 'new');
  assert.equal(await controlRequest(file, { command: 'ping' }), 'new');

  const second = new ControlServer({ path: file, handler: async () => 'second', log: silentLogger() });
  await assert.rejects(second.listen(), /another healthcast is already listening/);

  const regular = path.join(dir, 'not-a-socket');
  fs.writeFileSync(regular, 'data');
  await assert.rejects(new ControlServer({ path: regular, handler: async () => 0, log: silentLogger() }).listen(), /not a socket/);
  assert.equal(fs.readFileSync(regular, 'utf8'), 'data');
});

test('the client reports an absent agent and a timeout with codes', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    controlRequest(path.join(dir, 'none.sock'), { command: 'status' }),
    (error: Error & { code?: string }) => error.code === 'HC_ERR_CONTROL_UNREACHABLE' && /ENOENT.*is healthcast running/.test(error.message),
  );
  const file = path.join(dir, 'control.sock');
  await serve(t, file, () => new Promise(() => undefined));
  await assert.rejects(
    controlRequest(file, { command: 'status' }, { timeoutMs: 200 }),
    (error: Error & { code?: string }) => error.code === 'HC_ERR_CONTROL_TIMEOUT',
  );
});

test('a request whose client has gone, or whose deadline has passed, is answered but never acted on; status still is', async (t) => {
  const file = path.join(tempDir(t), 'control.sock');
  const handled: string[] = [];
  await serve(
    t,
    file,
    async (request) => {
      handled.push(request.command);
      return 'done';
    },
    { now: () => 10_000 },
  );
  // The client wrote its drain and went away before the agent read it (as a wrapper that gave up on a stopped agent).
  await raw(file, (socket) => socket.end(`${JSON.stringify({ command: 'drain', all: true, deadline: 20_000 })}\n`), 1000);
  await raw(file, (socket) => socket.end(`${JSON.stringify({ command: 'resume', all: true })}\n`), 1000);
  const late = await raw(file, (socket) => socket.write(`${JSON.stringify({ command: 'drain', services: ['dns'], deadline: 9_000 })}\n`), 1000);
  assert.match(late.text, /HC_ERR_CONTROL_TIMEOUT.*drain not applied: its deadline passed 1000 ms ago/);
  assert.deepEqual(handled, [], 'no drain or resume reached the agent');
  assert.deepEqual(
    await controlRequest(file, { command: 'drain', all: true }, { now: () => 9_500 }),
    'done',
    'a client that waits within its deadline is served',
  );
  assert.deepEqual(await controlRequest(file, { command: 'status' }), 'done');
  assert.deepEqual(handled, ['drain', 'status']);
});
