// The maintainer scripts' decisions, with every command they call replaced by a stub that records its arguments
// (execa's fixture trick: the stubs are all there is on PATH). Each script runs in a private mount namespace whose
// /run is a fresh tmpfs, with or without /run/systemd/system, so "systemd is running" is the test's choice, whatever
// this machine runs. Nothing on the machine is changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requirePrerequisites } from '../../support/prereq.js';
import { repoRoot } from '../../support/paths.js';

const STUBS = ['systemd-sysusers', 'systemd-tmpfiles', 'adduser', 'getent', 'chown', 'chmod', 'mkdir', 'rm', 'dpkg-statoverride', 'systemctl', 'deb-systemd-invoke', 'userdel', 'deluser'];
// getent: no such user yet; dpkg-statoverride: no override.
const FAILING = new Set(['getent', 'dpkg-statoverride']);

interface Run {
  calls: string[];
  status: number | null;
}

function runScript(script: 'postinst' | 'prerm' | 'postrm', args: readonly string[], options: { systemd: boolean; without?: readonly string[] }): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-maint-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(dir, 'calls');
    fs.writeFileSync(log, '');
    for (const name of STUBS.filter((stub) => !options.without?.includes(stub))) {
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\nexit ${FAILING.has(name) ? 1 : 0}\n`, { mode: 0o755 });
    }
    const setup = `mount -t tmpfs healthcast-test /run && ${options.systemd ? 'mkdir -p /run/systemd/system && ' : ''}PATH=${bin} exec /bin/sh "$@"`;
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', setup, 'sh', path.join(repoRoot, 'packaging/debian', script), ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 0, `${script} ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
    return { calls: fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean), status: result.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const systemdCalls = (run: Run) => run.calls.filter((call) => /^(systemctl|deb-systemd-invoke) /.test(call) && !call.endsWith('daemon-reload'));

test('postinst: creates the user and state directory, reloads systemd, and never starts the agent on install', (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['unshare', 'mount'] })) return;
  const install = runScript('postinst', ['configure', ''], { systemd: true });
  assert.deepEqual(install.calls, [
    'systemd-sysusers healthcast.conf',
    'systemd-tmpfiles --create healthcast.conf',
    'dpkg-statoverride --list /etc/healthcast',
    'chown root:healthcast /etc/healthcast',
    'chmod 0750 /etc/healthcast',
    'systemctl --system daemon-reload',
  ]);
  // Without systemd-sysusers and systemd-tmpfiles (no systemd at all): adduser and the directory by hand.
  const plain = runScript('postinst', ['configure', ''], { systemd: false, without: ['systemd-sysusers', 'systemd-tmpfiles'] });
  assert.deepEqual(plain.calls.slice(0, 5), [
    'getent passwd healthcast',
    'adduser --system --group --quiet --home /var/lib/healthcast --no-create-home --shell /usr/sbin/nologin --gecos healthcast anycast agent healthcast',
    'mkdir -p /var/lib/healthcast',
    'chown healthcast:healthcast /var/lib/healthcast',
    'chmod 0700 /var/lib/healthcast',
  ]);
  assert.deepEqual(systemdCalls(plain), []);
});

test('upgrade: prerm leaves the agent running, postinst restarts it only if it was running (try-restart)', (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['unshare', 'mount'] })) return;
  assert.deepEqual(systemdCalls(runScript('prerm', ['upgrade', '0.2.0'], { systemd: true })), [], 'prerm upgrade does not stop it');
  assert.deepEqual(systemdCalls(runScript('postinst', ['configure', '0.0.9'], { systemd: true })), ['deb-systemd-invoke try-restart healthcast.service']);
  assert.deepEqual(systemdCalls(runScript('postinst', ['configure', '0.0.9'], { systemd: false })), [], 'no systemd: nothing to restart');
});

test('remove stops the agent (it withdraws first); purge removes the state and the enablement, and keeps the user', (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['unshare', 'mount'] })) return;
  assert.deepEqual(systemdCalls(runScript('prerm', ['remove'], { systemd: true })), ['deb-systemd-invoke stop healthcast.service']);
  assert.deepEqual(runScript('postrm', ['remove'], { systemd: true }).calls, ['systemctl --system daemon-reload'], 'remove keeps the state');
  const purge = runScript('postrm', ['purge'], { systemd: false });
  assert.deepEqual(purge.calls, ['rm -rf /var/lib/healthcast /run/healthcast', 'rm -f /etc/systemd/system/multi-user.target.wants/healthcast.service']);
  assert.ok(!purge.calls.some((call) => /^(userdel|deluser)/.test(call)));
});
