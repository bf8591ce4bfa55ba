// The radius probe against an in-process UDP fake: reply checks, timeouts, secret handling, option validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import radius from '../../../probes/radius.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeContext } from '../../../probes/kit/index.js';
import { watchLoop } from '../../support/loop-lateness.js';

const SECRET = 'Fake-S3cret-value';

type Handler = (request: Buffer) => Buffer[];

// A UDP "server" on a random loopback port whose replies the test decides.
async function fakeServer(handler: Handler): Promise<{ port: number; requests: Buffer[]; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const requests: Buffer[] = [];
  socket.on('message', (message, remote) => {
    requests.push(message);
    for (const reply of handler(message)) socket.send(reply, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, requests, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

// A reply computed independently of probes/radius-wire.ts.
function reply(request: Buffer, code: number, secret: string, options: { id?: number; attrs?: Buffer; mac?: boolean } = {}): Buffer {
  const requestAuth = request.subarray(4, 20);
  const attrs = options.attrs ?? Buffer.alloc(0);
  const body = options.mac === false ? attrs : Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16), attrs]);
  const packet = Buffer.concat([Buffer.from([code, options.id ?? request[1]!, 0, 0]), requestAuth, body]);
  packet.writeUInt16BE(packet.length, 2);
  if (options.mac !== false) crypto.createHmac('md5', secret).update(packet).digest().copy(packet, 22);
  crypto
    .createHash('md5')
    .update(Buffer.concat([packet.subarray(0, 4), requestAuth, packet.subarray(20), Buffer.from(secret)]))
    .digest()
    .copy(packet, 4);
  return packet;
}

function attributes(packet: Buffer): Map<number, Buffer> {
  const found = new Map<number, Buffer>();
  for (let offset = 20; offset < packet.length; offset += packet[offset + 1]!)
    found.set(packet[offset]!, packet.subarray(offset + 2, offset + packet[offset + 1]!));
  return found;
}

function macIsValid(packet: Buffer, secret: string): boolean {
  const copy = Buffer.from(packet);
  const offset = 20;
  if (copy[offset] !== 80) return false;
  const received = Buffer.from(copy.subarray(offset + 2, offset + 18));
  copy.fill(0, offset + 2, offset + 18);
  return crypto.createHmac('md5', secret).update(copy).digest().equals(received);
}

function unhide(hidden: Buffer, secret: string, auth: Buffer): string {
  const out = Buffer.alloc(hidden.length);
  let previous = auth;
  for (let offset = 0; offset < hidden.length; offset += 16) {
    const mask = crypto.createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) out[offset + i] = hidden[offset + i]! ^ mask[i]!;
    previous = hidden.subarray(offset, offset + 16);
  }
  return out.toString().replace(/\0+$/, '');
}

function capturingContext(timeoutMs = 300): { ctx: ProbeContext; logs: string[]; controller: AbortController } {
  const logs: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
  const controller = new AbortController();
  return {
    ctx: { signal: controller.signal, timeoutMs, log: pino({ level: 'trace' }, sink), service: { name: 'radius-test', addresses: ['192.0.2.1'] } },
    logs,
    controller,
  };
}

function parse(input: Record<string, unknown>) {
  return radius.options.parse(input);
}

// Tests of silence pass their own timeout; an exchange that is answered ends with the answer, so the 2 s only matter on a
// loaded machine, where the server in this same process answered after more than 300 ms at times.
async function probe(input: Record<string, unknown>, timeoutMs = 2000) {
  const { ctx, logs } = capturingContext(timeoutMs);
  const outcome = await radius.run(parse(input), ctx);
  assert.ok(!JSON.stringify(outcome).includes(SECRET), 'the secret leaked into the outcome');
  assert.ok(!logs.join('').includes(SECRET), 'the secret leaked into the logs');
  return outcome;
}

test('status mode: a signed Status-Server gets a verified Access-Accept', async () => {
  const server = await fakeServer((request) => (request[0] === 12 && macIsValid(request, SECRET) ? [reply(request, 2, SECRET)] : []));
  try {
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret: SECRET }), { ok: true });
    const sent = server.requests[0]!;
    assert.equal(attributes(sent).get(32)?.toString(), 'healthcast');
    assert.equal(attributes(sent).has(1), false);
  } finally {
    await server.close();
  }
});

test('status mode: an Accounting-Response (status on an accounting port) also counts as healthy', async () => {
  const server = await fakeServer((request) => [reply(request, 5, SECRET)]);
  try {
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret: SECRET }), { ok: true });
  } finally {
    await server.close();
  }
});

test('a reply signed with another secret fails as an authenticator mismatch', async () => {
  const server = await fakeServer((request) => [reply(request, 2, 'other-secret', { mac: false })]);
  try {
    const outcome = await probe({ server: '127.0.0.1', port: server.port, secret: SECRET });
    assert.deepEqual(outcome, { ok: false, reason: `127.0.0.1:${server.port}/udp: response authenticator mismatch: wrong secret?` });
  } finally {
    await server.close();
  }
});

test('replies with a wrong id are ignored: the right one still counts, and silence names them', async () => {
  const both = await fakeServer((request) => [reply(request, 2, SECRET, { id: (request[1]! + 1) % 256 }), reply(request, 2, SECRET)]);
  const wrongOnly = await fakeServer((request) => [reply(request, 2, SECRET, { id: (request[1]! + 1) % 256 })]);
  try {
    assert.deepEqual(await probe({ server: '127.0.0.1', port: both.port, secret: SECRET }), { ok: true });
    const outcome = await probe({ server: '127.0.0.1', port: wrongOnly.port, secret: SECRET }, 300);
    assert.equal(outcome.ok, false);
    assert.match(
      outcome.reason ?? '',
      /^127\.0\.0\.1:\d+\/udp: no reply within 300ms \(FreeRADIUS stays silent on a wrong secret or missing Message-Authenticator\); ignored 1 reply \(reply id \d+ does not match request id \d+\)$/,
    );
  } finally {
    await both.close();
    await wrongOnly.close();
  }
});

test('silence ends at the probe timeout with the hint, also when run through the runner', async () => {
  const server = await fakeServer(() => []);
  try {
    const started = Date.now();
    const loop = watchLoop();
    const outcome = await probe({ server: '127.0.0.1', port: server.port, secret: SECRET }, 250);
    const elapsed = Date.now() - started;
    const lateMs = loop.stop();
    assert.equal(
      outcome.reason,
      `127.0.0.1:${server.port}/udp: no reply within 250ms (FreeRADIUS stays silent on a wrong secret or missing Message-Authenticator)`,
    );
    assert.ok(elapsed >= 200 && elapsed < 400 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
    const viaRunner = await runProbe({
      definition: radius,
      options: parse({ server: '127.0.0.1', port: server.port, secret: SECRET }),
      timeoutMs: 250,
      log: pino({ level: 'silent' }),
      service: { name: 's', addresses: [] },
    });
    assert.equal(viaRunner.ok, false);
    assert.match(viaRunner.reason ?? '', /no reply within 250ms \(FreeRADIUS stays silent/);
  } finally {
    await server.close();
  }
});

test('nothing listening fails at once with ECONNREFUSED', async () => {
  const server = await fakeServer(() => []);
  const port = server.port;
  await server.close();
  const started = Date.now();
  const loop = watchLoop();
  const outcome = await probe({ server: '127.0.0.1', port, secret: SECRET }, 2000);
  const elapsed = Date.now() - started;
  const lateMs = loop.stop();
  assert.equal(outcome.reason, `127.0.0.1:${port}/udp: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
  assert.ok(elapsed < 500 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
});

test('access mode: user name, hidden password and NAS-Identifier reach the server; Accept is healthy', async () => {
  let seen: { user?: string; password?: string; nas?: string } = {};
  const server = await fakeServer((request) => {
    const attrs = attributes(request);
    seen = {
      user: attrs.get(1)?.toString(),
      password: unhide(attrs.get(2) ?? Buffer.alloc(16), SECRET, request.subarray(4, 20)),
      nas: attrs.get(32)?.toString(),
    };
    const ok = request[0] === 1 && macIsValid(request, SECRET) && seen.user === 'probe' && seen.password === 'probepass';
    return [reply(request, ok ? 2 : 3, SECRET)];
  });
  try {
    assert.deepEqual(
      await probe({
        server: '127.0.0.1',
        port: server.port,
        secret: SECRET,
        mode: 'access',
        username: 'probe',
        password: 'probepass',
        nas_identifier: 'edge-1',
      }),
      { ok: true },
    );
    assert.deepEqual(seen, { user: 'probe', password: 'probepass', nas: 'edge-1' });
    assert.ok(!server.requests[0]!.includes(Buffer.from('probepass')), 'password sent in clear');
  } finally {
    await server.close();
  }
});

test('Access-Reject fails with its Reply-Message, cleaned and with the secret redacted', async () => {
  const message = Buffer.from(`denied\nsecret is ${SECRET}`);
  const server = await fakeServer((request) => [reply(request, 3, SECRET, { attrs: Buffer.concat([Buffer.from([18, message.length + 2]), message]) })]);
  const bare = await fakeServer((request) => [reply(request, 3, SECRET)]);
  try {
    const outcome = await probe({ server: '127.0.0.1', port: server.port, secret: SECRET, mode: 'access', username: 'probe', password: 'bad' });
    assert.equal(outcome.reason, `127.0.0.1:${server.port}/udp: Access-Reject (Reply-Message: "denied?secret is <secret>")`);
    assert.equal((await probe({ server: '127.0.0.1', port: bare.port, secret: SECRET })).reason, `127.0.0.1:${bare.port}/udp: Access-Reject`);
  } finally {
    await server.close();
    await bare.close();
  }
});

test('Access-Challenge is a failure that says the probe does not answer challenges', async () => {
  const server = await fakeServer((request) => [reply(request, 11, SECRET)]);
  try {
    const outcome = await probe({ server: '127.0.0.1', port: server.port, secret: SECRET, mode: 'access', username: 'u', password: 'p' });
    assert.match(outcome.reason ?? '', /Access-Challenge \(the probe does not answer challenges\)$/);
  } finally {
    await server.close();
  }
});

test('secret_file: read at probe time without its trailing newline; unreadable or empty files fail by name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-radius-'));
  const file = path.join(dir, 'secret');
  fs.writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'empty'), '\n');
  const server = await fakeServer((request) => (macIsValid(request, SECRET) ? [reply(request, 2, SECRET)] : []));
  try {
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret_file: file }), { ok: true });
    const missing = path.join(dir, 'missing');
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret_file: missing }), {
      ok: false,
      reason: `cannot read secret_file ${missing}: ENOENT`,
    });
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret_file: dir }), {
      ok: false,
      reason: `cannot read secret_file ${dir}: EISDIR`,
    });
    assert.deepEqual(await probe({ server: '127.0.0.1', port: server.port, secret_file: path.join(dir, 'empty') }), {
      ok: false,
      reason: `secret_file ${path.join(dir, 'empty')} is empty`,
    });
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an aborted probe returns cancelled at once; a bad source address is a failure, not a throw', async () => {
  const server = await fakeServer(() => []);
  try {
    const { ctx, controller } = capturingContext(5000);
    const pending = radius.run(parse({ server: '127.0.0.1', port: server.port, secret: SECRET }), ctx);
    setTimeout(() => controller.abort(new Error('agent stopping')), 30);
    const started = Date.now();
    const loop = watchLoop();
    assert.deepEqual(await pending, { ok: false, reason: `127.0.0.1:${server.port}/udp: cancelled` });
    const elapsed = Date.now() - started;
    const lateMs = loop.stop();
    assert.ok(elapsed < 500 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
    const outcome = await probe({ server: '127.0.0.1', port: server.port, secret: SECRET, source: '192.0.2.55' });
    assert.equal(outcome.reason, `127.0.0.1:${server.port}/udp: cannot send from source 192.0.2.55: EADDRNOTAVAIL`);
  } finally {
    await server.close();
  }
});

test('options: exactly one secret source, credentials only with access mode, matching families', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = radius.options.safeParse(input);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's' }), []);
  assert.deepEqual(parse({ server: '::1', secret: 's' }), { server: '::1', port: 1812, secret: 's', mode: 'status', nas_identifier: 'healthcast' });
  assert.deepEqual(issues({ server: '127.0.0.1' }), ['secret: set exactly one of secret and secret_file']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', secret_file: '/x' }), ['secret: set exactly one of secret and secret_file']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', mode: 'access', username: 'u' }), ['username: mode access needs username and password']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', username: 'u', password: 'p' }), ['mode: username and password only apply to mode access']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', source: '::1' }), ['source: must be the same address family as server']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', mode: 'access', username: 'u', password: 'p'.repeat(129) }), [
    'password: must be at most 128 bytes',
  ]);
  assert.deepEqual(issues({ server: 'radius.example', secret: 's' }), ['server: must be an IPv4 or IPv6 address']);
  assert.deepEqual(issues({ server: '127.0.0.1', secret: 's', retries: 3 }), [': Unrecognized key: "retries"']);
  const leaked = radius.options.safeParse({ server: 'nope', secret: SECRET, port: 0 });
  assert.ok(!leaked.success && !JSON.stringify(leaked.error.issues).includes(SECRET), 'the secret leaked into validation errors');
});
