// The syslog probe through a real syslog-ng 3.38 relay on loopback: UDP and TCP inputs, wrong relay target, relay stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { requirePrerequisites } from '../../support/prereq.js';
import { startSyslogNg, type SyslogNg } from '../../../lab/syslog-ng.js';
import { freePort } from '../../../lab/unbound.js';
import syslog from '../../../probes/syslog.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeResult } from '../../../probes/kit/index.js';

const TIMEOUT_MS = 500;

function probe(options: Record<string, unknown>, timeoutMs = TIMEOUT_MS): Promise<ProbeResult> {
  return runProbe({
    definition: syslog,
    options: syslog.options.parse(options),
    timeoutMs,
    log: pino({ level: 'silent' }),
    service: { name: 'syslog-it', addresses: ['192.0.2.14'] },
  });
}

test('syslog probe through real syslog-ng', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { commands: ['syslog-ng'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-syslog-ng-'));
  const relays: SyslogNg[] = [];
  try {
    const listenPort = await freePort();
    const started = performance.now();
    const relay = await startSyslogNg({
      dir: path.join(dir, 'good'),
      inputs: [
        { driver: 'network', transport: 'udp' },
        { driver: 'network', transport: 'tcp' },
        { driver: 'syslog', transport: 'tcp' },
      ],
      forward: { address: '127.0.0.1', port: listenPort, transport: 'udp' },
    });
    relays.push(relay);
    t.diagnostic(`syslog-ng ready in ${Math.round(performance.now() - started)} ms (inputs ${relay.ports.join(', ')}, relaying to ${listenPort})`);
    const [udpPort, tcpPort, octetPort] = relay.ports;
    const base = { server: '127.0.0.1', listen_port: listenPort };

    await t.test('UDP in, UDP back: healthy, in both message formats', async () => {
      const times: number[] = [];
      for (const format of ['rfc3164', 'rfc5424', 'rfc3164', 'rfc5424', 'rfc3164']) {
        const result = await probe({ ...base, port: udpPort, format });
        assert.equal(result.ok, true, result.reason);
        times.push(result.durationMs);
      }
      t.diagnostic(`UDP round trips through syslog-ng: ${times.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    });

    await t.test('TCP input with LF framing (network()) and with octet counting (syslog())', async () => {
      const lf = await probe({ ...base, port: tcpPort, transport: 'tcp' });
      assert.equal(lf.ok, true, lf.reason);
      const octet = await probe({ ...base, port: octetPort, transport: 'tcp', framing: 'octet', format: 'rfc5424' });
      assert.equal(octet.ok, true, octet.reason);
      t.diagnostic(`TCP round trips: lf ${lf.durationMs} ms, octet ${octet.durationMs} ms`);
    });

    await t.test('after a message hit the closed listen port, time-reopen(1) lets the next probe through', async () => {
      // What happens between probe runs if a late message arrives: syslog-ng sees ICMP unreachable and waits time-reopen.
      const sender = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) =>
        sender.send('healthcast-probe late 0000000000000000', udpPort!, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      sender.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await probe({ ...base, port: udpPort }, 2000);
      assert.equal(result.ok, true, result.reason);
      t.diagnostic(`first probe after a refused delivery took ${result.durationMs} ms`);
    });

    await t.test("with syslog-ng's default time-reopen (60 s) the same late message makes the next probe fail", async () => {
      const stubbornPort = await freePort();
      const stubborn = await startSyslogNg({
        dir: path.join(dir, 'stubborn'),
        inputs: [{ driver: 'network', transport: 'udp' }],
        forward: { address: '127.0.0.1', port: stubbornPort, transport: 'udp' },
        timeReopen: 60,
      });
      relays.push(stubborn);
      const sender = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) =>
        sender.send('healthcast-probe late 0000000000000000', stubborn.ports[0]!, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      sender.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await probe({ server: '127.0.0.1', port: stubborn.ports[0], listen_port: stubbornPort }, 1500);
      assert.equal(result.ok, false);
      assert.match(result.reason ?? '', /^no message with the probe token arrived/);
      await stubborn.stop();
    });

    await t.test('a relay that forwards to another port: no token arrives, a timeout failure', async () => {
      const wrong = await startSyslogNg({
        dir: path.join(dir, 'wrong'),
        inputs: [{ driver: 'network', transport: 'udp' }],
        forward: { address: '127.0.0.1', port: await freePort(), transport: 'udp' },
      });
      relays.push(wrong);
      const result = await probe({ ...base, port: wrong.ports[0] });
      assert.equal(result.ok, false);
      assert.equal(
        result.reason,
        `no message with the probe token arrived on 127.0.0.1:${listenPort}/udp within ${TIMEOUT_MS}ms after sending to 127.0.0.1:${wrong.ports[0]}/udp`,
      );
      assert.ok(result.durationMs < TIMEOUT_MS + 100, `took ${result.durationMs} ms`);
    });

    await t.test('a port already taken is reported, not thrown', async () => {
      const busy = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => busy.bind(listenPort, '127.0.0.1', resolve));
      try {
        assert.deepEqual(await probe({ ...base, port: udpPort }).then((r) => r.reason), `cannot listen on 127.0.0.1:${listenPort}: EADDRINUSE`);
      } finally {
        await new Promise<void>((resolve) => busy.close(resolve));
      }
    });

    await t.test('a stopped relay is a failure, reported at once (UDP) or on connect (TCP)', async () => {
      await relay.stop();
      const udp = await probe({ ...base, port: udpPort });
      assert.equal(udp.reason, `127.0.0.1:${udpPort}/udp: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
      assert.ok(udp.durationMs < 200, `took ${udp.durationMs} ms`);
      t.diagnostic(`stopped relay reported after ${udp.durationMs} ms`);
      const tcp = await probe({ ...base, port: tcpPort, transport: 'tcp' });
      assert.equal(tcp.reason, `cannot connect to 127.0.0.1:${tcpPort}/tcp: ECONNREFUSED`);
    });
  } finally {
    for (const relay of relays) await relay.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('syslog probe with a TCP listener: syslog-ng reconnects to each run within time-reopen', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { commands: ['syslog-ng'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-syslog-ng-tcp-'));
  let relay: SyslogNg | undefined;
  try {
    const listenPort = await freePort();
    relay = await startSyslogNg({
      dir,
      inputs: [{ driver: 'network', transport: 'udp' }],
      forward: { address: '127.0.0.1', port: listenPort, transport: 'tcp' },
    });
    const times: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      // Runs a moment apart, as the scheduler's slots are: a message that syslog-ng reads before it has noticed the last
      // run's closed connection is written into that dead connection and lost (docs/probes.md).
      if (run > 0) await sleep(200);
      const result = await probe({ server: '127.0.0.1', port: relay.ports[0], listen_port: listenPort, listen_transport: 'tcp' }, 2500);
      assert.equal(result.ok, true, result.reason);
      times.push(result.durationMs);
    }
    t.diagnostic(`TCP-listener round trips (each waits for syslog-ng's reconnect): ${times.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  } finally {
    await relay?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
