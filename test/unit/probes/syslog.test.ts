// The syslog probe against in-process fake relays: token round trip over UDP/TCP, framing, failures, listener clean-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { pino } from 'pino';
import syslog, { formatSyslogMessage, frameForTcp } from '../../../probes/syslog.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeContext } from '../../../probes/kit/index.js';
import { watchLoop } from '../../support/loop-lateness.js';

const TOKEN = /healthcast-probe syslog-test ([0-9a-f]{16})/;

// Tests of the timeout pass their own; a round trip that succeeds ends when the token is back, so its 2 s only matter on
// a loaded machine, where the relay in this same process answered after more than 300 ms at times.
const ROUND_TRIP_MS = 2000;

function context(timeoutMs = 300, controller = new AbortController()): ProbeContext {
  return { signal: controller.signal, timeoutMs, log: pino({ level: 'silent' }), service: { name: 'syslog-test', addresses: ['192.0.2.14'] } };
}

async function freePort(kind: 'udp4' | 'udp6' | 'tcp', address = kind === 'udp6' ? '::1' : '127.0.0.1'): Promise<number> {
  if (kind === 'tcp') {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
  const socket = dgram.createSocket(kind);
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

type Rewrite = (received: string) => string | string[];

// A relay like syslog-ng with template("$MSG\n"): takes messages in, rewrites them, and sends them on over UDP.
async function udpRelay(
  forwardTo: { port: number; address?: string },
  rewrite: Rewrite = (m) => m,
): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const input = dgram.createSocket('udp4');
  const out = dgram.createSocket(forwardTo.address && net.isIPv6(forwardTo.address) ? 'udp6' : 'udp4');
  out.on('error', () => undefined);
  const received: string[] = [];
  input.on('message', (message) => {
    received.push(message.toString());
    for (const line of [rewrite(message.toString())].flat()) out.send(line, forwardTo.port, forwardTo.address ?? '127.0.0.1');
  });
  await new Promise<void>((resolve) => input.bind(0, '127.0.0.1', resolve));
  return {
    port: input.address().port,
    received,
    close: async () => {
      await new Promise<void>((resolve) => input.close(resolve));
      out.close();
    },
  };
}

// A TCP relay input: collects the raw stream and passes each complete message on over UDP (or TCP, in pieces).
async function tcpRelay(forward: (data: string) => void): Promise<{ port: number; streams: string[]; close(): Promise<void> }> {
  const streams: string[] = [];
  const server = net.createServer((socket) => {
    const index = streams.push('') - 1;
    socket.on('data', (chunk) => (streams[index] += chunk.toString()));
    socket.on('end', () => forward(streams[index]!));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, streams, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function assertPortFree(kind: 'udp4' | 'tcp', port: number): Promise<void> {
  if (kind === 'tcp') {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
    return;
  }
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => socket.close(resolve));
}

test('formatSyslogMessage: RFC 3164 and RFC 5424 headers with the right PRI', () => {
  const now = new Date(2026, 0, 5, 7, 8, 9);
  const base = { appName: 'healthcast', hostname: 'node-1.example.net', pid: 4242, now, text: 'healthcast-probe svc 0123456789abcdef' };
  assert.equal(
    formatSyslogMessage({ ...base, format: 'rfc3164', facility: 'user', severity: 'notice' }),
    '<13>Jan  5 07:08:09 node-1 healthcast[4242]: healthcast-probe svc 0123456789abcdef',
  );
  assert.equal(formatSyslogMessage({ ...base, format: 'rfc3164', facility: 'kern', severity: 'emerg' }).slice(0, 4), '<0>J');
  assert.equal(
    formatSyslogMessage({ ...base, format: 'rfc5424', facility: 'local7', severity: 'debug' }),
    `<191>1 ${now.toISOString()} node-1.example.net healthcast 4242 - - healthcast-probe svc 0123456789abcdef`,
  );
  assert.match(formatSyslogMessage({ ...base, hostname: 'bad host', format: 'rfc5424', facility: 'daemon', severity: 'err' }), /^<27>1 \S+ bad-host /);
});

test('frameForTcp: LF termination or RFC 6587 octet counting (byte length, not characters)', () => {
  assert.deepEqual(frameForTcp('<13>hi', 'lf'), Buffer.from('<13>hi\n'));
  assert.deepEqual(frameForTcp('<13>hé', 'octet'), Buffer.from('7 <13>hé'));
});

test('UDP in, UDP back: healthy when the rewritten message carries the token; the listener is closed afterwards', async () => {
  const listenPort = await freePort('udp4');
  // The relay drops the header, as syslog-ng's template("$MSG\n") does.
  const relay = await udpRelay({ port: listenPort }, (message) => `${message.replace(/^<\d+>.*?: /, '')}\n`);
  try {
    const outcome = await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_port: listenPort }), context(ROUND_TRIP_MS));
    assert.deepEqual(outcome, { ok: true });
    assert.match(relay.received[0]!, /^<13>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ healthcast\[\d+\]: healthcast-probe syslog-test [0-9a-f]{16}$/);
    await assertPortFree('udp4', listenPort);
  } finally {
    await relay.close();
  }
});

test('each run uses a fresh token; stale and foreign messages are ignored and counted in the reason', async () => {
  const listenPort = await freePort('udp4');
  let previous: string | undefined;
  // Replays what it saw last time, plus noise, but never the current message.
  const relay = await udpRelay({ port: listenPort }, (message) => {
    const stale = previous;
    previous = message;
    return ['unrelated line', ...(stale ? [stale] : [])];
  });
  try {
    const opts = syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_port: listenPort, format: 'rfc5424', facility: 'local4' });
    const first = await syslog.run(opts, context(200));
    const second = await syslog.run(opts, context(200));
    assert.equal(
      first.reason,
      `no message with the probe token arrived on 127.0.0.1:${listenPort}/udp within 200ms after sending to 127.0.0.1:${relay.port}/udp (ignored 1 other message)`,
    );
    assert.match(second.reason ?? '', /\(ignored 2 other messages\)$/);
    const tokens = relay.received.map((message) => TOKEN.exec(message)?.[1]);
    assert.equal(new Set(tokens).size, 2, 'each run sends its own token');
    assert.match(relay.received[0]!, /^<165>1 /);
    await assertPortFree('udp4', listenPort);
  } finally {
    await relay.close();
  }
});

test('the specific timeout reason also wins through the runner', async () => {
  const listenPort = await freePort('udp4');
  const relay = await udpRelay({ port: listenPort }, () => []);
  try {
    const result = await runProbe({
      definition: syslog,
      options: syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_port: listenPort }),
      timeoutMs: 150,
      log: pino({ level: 'silent' }),
      service: { name: 's', addresses: [] },
    });
    assert.equal(result.ok, false);
    assert.match(result.reason ?? '', /^no message with the probe token arrived on 127\.0\.0\.1:\d+\/udp within 150ms/);
  } finally {
    await relay.close();
  }
});

test('TCP in with LF or octet framing, TCP back to a TCP listener, token split across writes', async () => {
  for (const framing of ['lf', 'octet'] as const) {
    const listenPort = await freePort('tcp');
    const relay = await tcpRelay((stream) => {
      const token = TOKEN.exec(stream)![0];
      const back = net.connect(listenPort, '127.0.0.1', () => {
        back.write(`noise line\nprefix ${token.slice(0, 20)}`);
        setTimeout(() => back.end(`${token.slice(20)} suffix\n`), 20);
      });
      back.on('error', () => undefined);
    });
    try {
      const outcome = await syslog.run(
        syslog.options.parse({ server: '127.0.0.1', port: relay.port, transport: 'tcp', framing, listen_port: listenPort, listen_transport: 'tcp' }),
        context(ROUND_TRIP_MS),
      );
      assert.deepEqual(outcome, { ok: true }, framing);
      const stream = relay.streams[0]!;
      if (framing === 'lf') assert.match(stream, /^<13>.*[0-9a-f]{16}\n$/);
      else assert.equal(Number(stream.slice(0, stream.indexOf(' '))), Buffer.byteLength(stream.slice(stream.indexOf(' ') + 1)));
      await assertPortFree('tcp', listenPort);
    } finally {
      await relay.close();
    }
  }
});

test('a TCP listener closes connections the relay keeps open, so the port is free again', { timeout: 5000 }, async () => {
  const listenPort = await freePort('tcp');
  let kept: net.Socket | undefined;
  const relay = await udpRelay({ port: 9 }, (message) => {
    kept = net.connect(listenPort, '127.0.0.1', () => kept!.write(`${message}\n`));
    kept.on('error', () => undefined);
    return [];
  });
  try {
    const outcome = await syslog.run(
      syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_port: listenPort, listen_transport: 'tcp' }),
      context(ROUND_TRIP_MS),
    );
    assert.deepEqual(outcome, { ok: true });
    await new Promise((resolve, reject) => {
      kept!.once('close', resolve);
      setTimeout(() => reject(new Error('the probe left the relay connection open')), 2000).unref();
    });
    await assertPortFree('tcp', listenPort);
  } finally {
    kept?.destroy();
    await relay.close();
  }
});

test('IPv6 listener on ::1', async () => {
  const listenPort = await freePort('udp6');
  const relay = await udpRelay({ port: listenPort, address: '::1' });
  try {
    assert.deepEqual(
      await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_address: '::1', listen_port: listenPort }), context(ROUND_TRIP_MS)),
      { ok: true },
    );
  } finally {
    await relay.close();
  }
});

test('a relay that is down fails at once: ICMP unreachable over UDP, refused connection over TCP', async () => {
  const listenPort = await freePort('udp4');
  const deadUdp = await freePort('udp4');
  const deadTcp = await freePort('tcp');
  const started = Date.now();
  const loop = watchLoop();
  const udp = await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: deadUdp, listen_port: listenPort }), context(2000));
  assert.equal(udp.reason, `127.0.0.1:${deadUdp}/udp: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
  const tcp = await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: deadTcp, transport: 'tcp', listen_port: listenPort }), context(2000));
  assert.equal(tcp.reason, `cannot connect to 127.0.0.1:${deadTcp}/tcp: ECONNREFUSED`);
  const elapsed = Date.now() - started;
  const lateMs = loop.stop();
  assert.ok(elapsed < 1000 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
  await assertPortFree('udp4', listenPort);
});

test('a listen port in use is a failure naming address, port and error; so is a bad source', async () => {
  const busy = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', resolve));
  const busyTcp = net.createServer();
  await new Promise<void>((resolve) => busyTcp.listen(0, '127.0.0.1', resolve));
  try {
    const port = busy.address().port;
    const tcpPort = (busyTcp.address() as net.AddressInfo).port;
    assert.deepEqual(await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: 9, listen_port: port }), context()), {
      ok: false,
      reason: `cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
    });
    assert.deepEqual(await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: 9, listen_port: tcpPort, listen_transport: 'tcp' }), context()), {
      ok: false,
      reason: `cannot listen on 127.0.0.1:${tcpPort}: EADDRINUSE`,
    });
    const listenPort = await freePort('udp4');
    assert.deepEqual(await syslog.run(syslog.options.parse({ server: '127.0.0.1', port: 9, listen_port: listenPort, source: '192.0.2.77' }), context()), {
      ok: false,
      reason: 'cannot send from source 192.0.2.77: EADDRNOTAVAIL',
    });
    await assertPortFree('udp4', listenPort);
  } finally {
    busy.close();
    busyTcp.close();
  }
});

test('an abort ends the probe at once and frees the listener', async () => {
  const listenPort = await freePort('udp4');
  const relay = await udpRelay({ port: listenPort }, () => []);
  try {
    const controller = new AbortController();
    const pending = syslog.run(syslog.options.parse({ server: '127.0.0.1', port: relay.port, listen_port: listenPort }), context(5000, controller));
    setTimeout(() => controller.abort(new Error('agent stopping')), 30);
    const started = Date.now();
    const loop = watchLoop();
    assert.deepEqual(await pending, { ok: false, reason: 'cancelled' });
    const elapsed = Date.now() - started;
    const lateMs = loop.stop();
    assert.ok(elapsed < 500 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
    await assertPortFree('udp4', listenPort);
  } finally {
    await relay.close();
  }
});

test('options: defaults, framing only with tcp, families, listener not the server', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = syslog.options.safeParse(input);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  assert.deepEqual(syslog.options.parse({ server: '127.0.0.1', listen_port: 5515 }), {
    server: '127.0.0.1',
    port: 514,
    transport: 'udp',
    format: 'rfc3164',
    facility: 'user',
    severity: 'notice',
    app_name: 'healthcast',
    listen_address: '127.0.0.1',
    listen_port: 5515,
    listen_transport: 'udp',
  });
  assert.deepEqual(issues({ server: '127.0.0.1' }), ['listen_port: Invalid input: expected number, received undefined']);
  assert.deepEqual(issues({ server: '127.0.0.1', listen_port: 5515, framing: 'octet' }), ['framing: framing only applies to transport tcp']);
  assert.deepEqual(issues({ server: '127.0.0.1', listen_port: 5515, transport: 'tcp', framing: 'octet' }), []);
  assert.deepEqual(issues({ server: '::1', listen_port: 5515, source: '127.0.0.1' }), ['source: must be the same address family as server']);
  assert.deepEqual(issues({ server: '127.0.0.1', listen_port: 514 }), ['listen_port: the listener cannot be the server itself']);
  assert.deepEqual(issues({ server: '127.0.0.1', listen_port: 5515, facility: 'local8' }).length, 1);
  assert.deepEqual(issues({ server: '127.0.0.1', listen_port: 5515, app_name: 'has space' }), ['app_name: must be 1-32 letters, digits, ".", "_", "/" or "-"']);
});
