import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { encodeMessage, notifyEnv, statusText, SystemdNotifier } from '../../../src/systemd/notify.js';
import { readPid, removePidfile, writePidfile } from '../../../src/systemd/pidfile.js';
import { silentLogger } from '../../../src/log.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { waitFor } from '../../../lab/process.js';
import { notifyListener } from './notify-listener.js';
import type { ServiceStatus } from '../../../src/core/agent.js';

const status = (name: string, state: ServiceStatus['state'], announced: boolean) => ({ name, state, announced }) as ServiceStatus;

test('environment, STATUS text and message encoding', () => {
  assert.equal(notifyEnv({}, 1), undefined);
  assert.equal(notifyEnv({ NOTIFY_SOCKET: 'relative' }, 1), undefined);
  assert.deepEqual(notifyEnv({ NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: '10000000' }, 5), { socket: '/run/n', watchdogMs: 5000, watchdogUsec: 10_000_000 });
  assert.deepEqual(
    notifyEnv({ NOTIFY_SOCKET: '@abs', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '6' }, 5),
    { socket: '@abs', watchdogMs: undefined },
    'the watchdog is for another process',
  );
  assert.equal(
    statusText('running', [status('dns', 'up', true), status('web', 'drained', false), status('ntp', 'down', false), status('x', 'up', true)]),
    '2/4 services announced; drained: web; down: ntp',
  );
  assert.equal(statusText('paused', []), 'paused: nothing announced');
  assert.equal(encodeMessage({ READY: '1', STATUS: 'a\nb' }), 'READY=1\x1fSTATUS=a b\n');
});

test('READY, STATUS and WATCHDOG reach a NOTIFY_SOCKET (path and abstract) through the helper', async (t) => {
  if (!requirePrerequisites(t, { commands: ['python3', 'perl'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-notify-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const address of [path.join(dir, 'notify'), `@hc-notify-test-${process.pid}-${Date.now()}`]) {
    const listener = notifyListener(address);
    t.after(() => listener.stop());
    await listener.ready();
    const notifier = new SystemdNotifier({ socket: address, watchdogMs: 50, watchdogUsec: 100_000 }, silentLogger());
    notifier.start();
    notifier.ready('1/1 services announced');
    notifier.status('1/1 services announced'); // unchanged: not sent again
    notifier.status('0/1 services announced; down: dns');
    notifier.paused();
    notifier.resumed();
    await waitFor('watchdog pings', () => listener.messages().filter((m) => m === 'WATCHDOG=1').length >= 3, { timeoutMs: 5000 });
    notifier.stopping();
    await notifier.close();
    await waitFor('stopping', () => listener.messages().includes('STOPPING=1\nSTATUS=withdrawing everything and stopping'), { timeoutMs: 5000 });
    const messages = listener.messages().filter((m) => m !== 'WATCHDOG=1');
    assert.deepEqual(
      messages,
      [
        'READY=1\nSTATUS=1/1 services announced',
        'STATUS=0/1 services announced; down: dns',
        'STATUS=paused (SIGTSTP): everything withdrawn; SIGCONT resumes\nWATCHDOG_USEC=0',
        'WATCHDOG_USEC=100000\nWATCHDOG=1',
        'STOPPING=1\nSTATUS=withdrawing everything and stopping',
      ],
      address,
    );
    listener.stop();
  }
});

test('pidfile: written atomically, refused while it names a live process, removed only when ours', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-pid-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'run', 'healthcast.pid');
  await writePidfile(file);
  assert.equal(readPid(file), process.pid);
  const other = spawn('sleep', ['30']);
  t.after(() => other.kill('SIGKILL'));
  fs.writeFileSync(file, `${other.pid}\n`);
  await assert.rejects(writePidfile(file), /names process \d+, which is running/);
  removePidfile(file);
  assert.equal(readPid(file), other.pid, 'not ours: left alone');
  fs.writeFileSync(file, '999999999\n');
  await writePidfile(file);
  assert.equal(readPid(file), process.pid, 'a stale pidfile is replaced');
  removePidfile(file);
  assert.equal(fs.existsSync(file), false);
});
