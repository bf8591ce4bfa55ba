// The radius probe against a real FreeRADIUS 3.2 on loopback: status and access, IPv4 and IPv6, wrong secret, server stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { requirePrerequisites } from '../../support/prereq.js';
import { startFreeradius, type Freeradius } from '../../../lab/freeradius.js';
import radius from '../../../probes/radius.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeResult } from '../../../probes/kit/index.js';

const SECRET = 'lab-Secret-7f3a9c';
const REJECT_MESSAGE = 'healthcast lab: rejected';
const TIMEOUT_MS = 400;

async function probe(options: Record<string, unknown>, timeoutMs = TIMEOUT_MS): Promise<ProbeResult> {
  const parsed = radius.options.parse(options);
  const result = await runProbe({
    definition: radius,
    options: parsed,
    timeoutMs,
    log: pino({ level: 'silent' }),
    service: { name: 'radius-it', addresses: ['192.0.2.18'] },
  });
  assert.ok(!(result.reason ?? '').includes(SECRET), `the secret leaked into "${result.reason}"`);
  return result;
}

test('radius probe against real FreeRADIUS', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { commands: ['freeradius'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-freeradius-'));
  let server: Freeradius | undefined;
  try {
    const started = performance.now();
    server = await startFreeradius({ dir, secret: SECRET, rejectMessage: REJECT_MESSAGE });
    t.diagnostic(`FreeRADIUS ready in ${Math.round(performance.now() - started)} ms (auth ${server.authPort}, status ${server.statusPort})`);
    const { authPort, statusPort } = server;

    await t.test('Status-Server with the right secret is healthy, on the status and the auth listener', async () => {
      const status = await probe({ server: '127.0.0.1', port: statusPort, secret: SECRET });
      assert.equal(status.ok, true, status.reason);
      assert.equal((await probe({ server: '127.0.0.1', port: authPort, secret: SECRET })).ok, true);
      t.diagnostic(`status round trip ${status.durationMs} ms`);
    });

    await t.test('the secret can come from a file with a trailing newline', async () => {
      const file = path.join(dir, 'probe-secret');
      fs.writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
      assert.equal((await probe({ server: '127.0.0.1', port: statusPort, secret_file: file })).ok, true);
    });

    await t.test('a wrong secret gets no reply: a timeout failure that says why FreeRADIUS is silent', async () => {
      const result = await probe({ server: '127.0.0.1', port: statusPort, secret: 'not-the-secret' });
      assert.equal(result.ok, false);
      assert.equal(
        result.reason,
        `127.0.0.1:${statusPort}/udp: no reply within ${TIMEOUT_MS}ms (FreeRADIUS stays silent on a wrong secret or missing Message-Authenticator)`,
      );
      assert.ok(result.durationMs < TIMEOUT_MS + 100, `took ${result.durationMs} ms`);
      // FreeRADIUS's side of the story: it dropped the request for its Message-Authenticator.
      assert.match(server!.daemon.output(), /invalid Message-Authenticator/);
    });

    await t.test('Access-Request for probe/probepass is accepted', async () => {
      const result = await probe({
        server: '127.0.0.1',
        port: authPort,
        secret: SECRET,
        mode: 'access',
        username: 'probe',
        password: 'probepass',
        nas_identifier: 'it-nas',
      });
      assert.equal(result.ok, true, result.reason);
      assert.match(server!.daemon.output(), /Login OK: \[probe\]/);
      t.diagnostic(`access round trip ${result.durationMs} ms`);
    });

    await t.test('a wrong password is an Access-Reject failure carrying the Reply-Message', async () => {
      const result = await probe({ server: '127.0.0.1', port: authPort, secret: SECRET, mode: 'access', username: 'probe', password: 'wrong' });
      assert.deepEqual(
        { ok: result.ok, reason: result.reason },
        { ok: false, reason: `127.0.0.1:${authPort}/udp: Access-Reject (Reply-Message: "${REJECT_MESSAGE}")` },
      );
      const unknown = await probe({ server: '127.0.0.1', port: authPort, secret: SECRET, mode: 'access', username: 'nobody', password: 'probepass' });
      assert.match(unknown.reason ?? '', /Access-Reject/);
    });

    await t.test('IPv6 ::1: status and access both work', async () => {
      const status = await probe({ server: '::1', port: statusPort, secret: SECRET });
      assert.equal(status.ok, true, status.reason);
      const access = await probe({ server: '::1', port: authPort, secret: SECRET, mode: 'access', username: 'probe', password: 'probepass', source: '::1' });
      assert.equal(access.ok, true, access.reason);
      const reject = await probe({ server: '::1', port: authPort, secret: SECRET, mode: 'access', username: 'probe', password: 'nope' });
      assert.equal(reject.reason, `[::1]:${authPort}/udp: Access-Reject (Reply-Message: "${REJECT_MESSAGE}")`);
    });

    await t.test('a stopped server is a failure, reported at once', async () => {
      await server!.stop();
      const result = await probe({ server: '127.0.0.1', port: statusPort, secret: SECRET });
      assert.equal(result.ok, false);
      assert.equal(result.reason, `127.0.0.1:${statusPort}/udp: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
      assert.ok(result.durationMs < 200, `took ${result.durationMs} ms`);
      t.diagnostic(`stopped server reported after ${result.durationMs} ms`);
      const v6 = await probe({ server: '::1', port: authPort, secret: SECRET, mode: 'access', username: 'probe', password: 'probepass' });
      assert.equal(v6.reason, `[::1]:${authPort}/udp: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
    });
  } finally {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
