// tcp probe against real listening (and just-closed) sockets on loopback.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tcp from '../../../probes/tcp.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { watchLoop } from '../../support/loop-lateness.js';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

// A listener that accepts and then does nothing: the handshake is all the probe needs.
async function listening(host = '127.0.0.1', seen: string[] = []): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    seen.push(socket.remoteAddress ?? '');
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

// A port that was just free: connecting to it is refused.
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function probe(options: Record<string, unknown>, timeoutMs = 1000, signal?: AbortSignal) {
  return runProbe({
    definition: tcp as ProbeDefinition,
    options: tcp.options.parse(options),
    timeoutMs,
    log: silentLogger(),
    service: { name: 'svc', addresses: [] },
    ...(signal ? { signal } : {}),
  });
}

test('a listening port is ok, even when the server accepts and never speaks', async () => {
  const seen: string[] = [];
  const port = await listening('127.0.0.1', seen);
  const result = await probe({ host: '127.0.0.1', ports: [port] });
  assert.deepEqual({ ok: result.ok, reason: result.reason }, { ok: true, reason: undefined });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(seen.length, 1, 'the server saw exactly one connection');
});

test('a closed port fails naming host:port and ECONNREFUSED', async () => {
  const port = await closedPort();
  const loop = watchLoop();
  const result = await probe({ host: '127.0.0.1', ports: [port] });
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.equal(result.reason, `127.0.0.1:${port}: ECONNREFUSED`);
  assert.ok(result.durationMs < 500 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
});

test('several ports with one closed fails naming only the closed one', async () => {
  const open1 = await listening();
  const open2 = await listening();
  const closed = await closedPort();
  const result = await probe({ host: '127.0.0.1', ports: [open1, closed, open2] });
  assert.equal(result.ok, false);
  assert.equal(result.reason, `127.0.0.1:${closed}: ECONNREFUSED`);
  const allOpen = await probe({ host: '127.0.0.1', ports: [open1, open2] });
  assert.equal(allOpen.ok, true, allOpen.reason);
});

test('IPv6: [::1] listening is ok, closed is refused with a bracketed address', async () => {
  const open = await listening('::1');
  assert.equal((await probe({ host: '::1', ports: [open] })).ok, true);
  const closed = await closedPort('::1');
  const result = await probe({ host: '::1', ports: [closed] });
  assert.equal(result.reason, `[::1]:${closed}: ECONNREFUSED`);
});

test('source: connects from the given local address', async () => {
  const seen: string[] = [];
  const port = await listening('127.0.0.1', seen);
  const result = await probe({ host: '127.0.0.1', ports: [port], source: '127.0.0.3' });
  assert.equal(result.ok, true, result.reason);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(seen, ['127.0.0.3']);
});

test('an abort while connecting finishes the probe with a reason', async () => {
  const port = await listening();
  const controller = new AbortController();
  const ctx = { signal: controller.signal, timeoutMs: 1000, log: silentLogger(), service: { name: 'svc', addresses: [] } };
  // connect() is asynchronous, so aborting right after the call lands before the handshake completes.
  const pending = tcp.run(tcp.options.parse({ host: '127.0.0.1', ports: [port] }), ctx);
  controller.abort(new Error('timeout'));
  assert.deepEqual(await pending, { ok: false, reason: `127.0.0.1:${port}: no handshake before timeout` });
  const already = await tcp.run(tcp.options.parse({ host: '127.0.0.1', ports: [port] }), { ...ctx, signal: AbortSignal.abort() });
  assert.equal(already.ok, false);
});

test('through runProbe, a cancelled signal is reported as cancelled within bounded time', async () => {
  const port = await listening();
  const controller = new AbortController();
  controller.abort();
  const result = await probe({ host: '127.0.0.1', ports: [port] }, 1000, controller.signal);
  assert.deepEqual({ ok: result.ok, reason: result.reason }, { ok: false, reason: 'cancelled' });
});

test('options: at least one valid port, an address or host name, an IP source', () => {
  const problems = (input: Record<string, unknown>) => {
    const parsed = tcp.options.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  assert.deepEqual(problems({ host: '127.0.0.1', ports: [] }), ['ports: must list at least one port']);
  assert.deepEqual(problems({ host: '127.0.0.1', ports: [0] }), ['ports.0: must be 1-65535']);
  assert.deepEqual(problems({ host: '127.0.0.1', ports: [65536] }), ['ports.0: must be 1-65535']);
  assert.deepEqual(problems({ host: 'bad host', ports: [80] }), ['host: must be a host name or IP address']);
  assert.deepEqual(problems({ host: '127.0.0.1', ports: [80], source: 'eth0' }), ['source: must be an IPv4 or IPv6 address']);
  assert.equal(problems({ host: '127.0.0.1', ports: [80], port: 81 }).length, 1, 'unknown keys are rejected');
});
