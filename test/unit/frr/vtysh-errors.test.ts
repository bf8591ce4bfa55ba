// How each finished vtysh run is read: the outputs are the ones FRR 8.4.4's vtysh printed in each case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../../src/errors.js';
import { classifyVtysh, VtyshError, type VtyshOutcome } from '../../../src/frr/vtysh-errors.js';

const context = { binary: '/usr/bin/vtysh', timeoutMs: 2000 };
const done = (fields: Partial<VtyshOutcome>): VtyshOutcome => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, ...fields });

const cases: { name: string; outcome: VtyshOutcome; code: string | undefined; message?: RegExp; frrMessage?: string; daemon?: string }[] = [
  { name: 'exit 0 with JSON', outcome: done({ stdout: '{}' }), code: undefined },
  { name: 'exit 0 with a warning text (the caller judges it)', outcome: done({ stdout: '% OSPF is not enabled on vrf default' }), code: undefined },
  {
    name: 'no FRR at all',
    outcome: done({ exitCode: 1, stderr: 'Exiting: failed to connect to any daemons.\n' }),
    code: ErrorCodes.VTYSH_NOT_RUNNING,
    message: /FRR is not running or its vty sockets are not reachable: Exiting: failed to connect to any daemons\.$/,
  },
  {
    name: 'not root and not in frrvty',
    outcome: done({
      exitCode: 1,
      stderr:
        "% Can't open configuration file /etc/frr/vtysh.conf due to 'Permission denied'.\nExiting: failed to connect to any daemons.\nHint: if this seems wrong, try running me as a privileged user!\n",
    }),
    code: ErrorCodes.VTYSH_NOT_RUNNING,
    message: /permission denied: run as root or as a member of group frrvty/,
  },
  {
    name: 'zebra up, ospfd down',
    outcome: done({ exitCode: 1, stderr: 'ospfd is not running\n' }),
    code: ErrorCodes.VTYSH_DAEMON_DOWN,
    daemon: 'ospfd',
    frrMessage: 'ospfd is not running',
  },
  {
    name: 'first command answered, second daemon down',
    outcome: done({ exitCode: 1, stdout: '{ "routerId": "10.0.0.2" }', stderr: 'ospf6d is not running\n' }),
    code: ErrorCodes.VTYSH_DAEMON_DOWN,
    daemon: 'ospf6d',
  },
  {
    name: 'daemon died mid-command',
    outcome: done({ exitCode: 1, stderr: 'Warning: closing connection to bgpd because of an I/O error!\n' }),
    code: ErrorCodes.VTYSH_DAEMON_DOWN,
    daemon: 'bgpd',
  },
  {
    name: 'unknown command',
    outcome: done({ exitCode: 1, stdout: '% Unknown command: show ip nonsense\n' }),
    code: ErrorCodes.VTYSH_REJECTED,
    frrMessage: '% Unknown command: show ip nonsense',
  },
  {
    name: 'incomplete command',
    outcome: done({ exitCode: 1, stdout: '% Command incomplete: show\n' }),
    code: ErrorCodes.VTYSH_REJECTED,
    frrMessage: '% Command incomplete: show',
  },
  {
    name: 'configuration refused by validation',
    outcome: done({
      exitCode: 1,
      stdout:
        '% Configuration failed.\n\nError type: validation\nError description: Invalid prefix range for 192.0.2.0/24: Make sure that mask length <= ge <= le\n',
    }),
    code: ErrorCodes.VTYSH_REJECTED,
    frrMessage:
      '% Configuration failed. | Error type: validation | Error description: Invalid prefix range for 192.0.2.0/24: Make sure that mask length <= ge <= le',
  },
  {
    name: 'daemon refusal without "%"',
    outcome: done({ exitCode: 1, stdout: 'BGP is already running; AS is 65001\n' }),
    code: ErrorCodes.VTYSH_REJECTED,
    frrMessage: 'BGP is already running; AS is 65001',
  },
  { name: 'exit 1 and silence', outcome: done({ exitCode: 1 }), code: ErrorCodes.VTYSH_REJECTED, frrMessage: 'exit code 1, no message' },
  {
    name: 'our timeout killed it',
    outcome: done({ exitCode: undefined, signal: 'SIGTERM', timedOut: true }),
    code: ErrorCodes.VTYSH_TIMEOUT,
    message: /no answer within 2000ms/,
  },
  {
    name: 'someone else killed it',
    outcome: done({ exitCode: undefined, signal: 'SIGKILL' }),
    code: ErrorCodes.VTYSH_BAD_OUTPUT,
    message: /killed by SIGKILL/,
  },
  {
    name: 'binary missing',
    outcome: done({ exitCode: undefined, spawnError: 'ENOENT' }),
    code: ErrorCodes.VTYSH_NOT_RUNNING,
    message: /\/usr\/bin\/vtysh not found \(is FRR installed\? set frr\.vtysh\)/,
  },
  {
    name: 'binary not executable',
    outcome: done({ exitCode: undefined, spawnError: 'EACCES' }),
    code: ErrorCodes.VTYSH_NOT_RUNNING,
    message: /cannot run \/usr\/bin\/vtysh \(EACCES\)/,
  },
];

for (const entry of cases) {
  test(`classify: ${entry.name}`, () => {
    const error = classifyVtysh(entry.outcome, ['show ip ospf json'], context);
    if (entry.code === undefined) {
      assert.equal(error, undefined);
      return;
    }
    assert.ok(error instanceof VtyshError);
    assert.equal(error.code, entry.code);
    assert.match(error.message, /^vtysh -c 'show ip ospf json': /);
    if (entry.message) assert.match(error.message, entry.message);
    if (entry.frrMessage !== undefined) assert.equal(error.frrMessage, entry.frrMessage);
    if (entry.daemon !== undefined) assert.equal(error.daemon, entry.daemon);
    assert.deepEqual(error.commands, ['show ip ospf json']);
    assert.equal(error.stdout, entry.outcome.stdout);
    assert.equal(error.stderr, entry.outcome.stderr);
  });
}
