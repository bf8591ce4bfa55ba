import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatch, HELP } from '../../../src/cli/main.js';
import { describeEntry } from '../../../src/routing/types.js';
import { describeDrain } from '../../../src/cli/commands/maintenance.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) } };
}

test('every operations command is in --help', () => {
  for (const command of [
    'status [--json]',
    'drain SERVICE... | --all',
    'resume SERVICE... | --all',
    'check-now [SERVICE...]',
    'cleanup',
    'maintenance [--service S]...',
    'run --daemon --pidfile FILE',
    '--socket PATH',
  ]) {
    assert.ok(HELP.includes(command), command);
  }
});

test('usage errors exit 2 before any agent is contacted; an absent agent exits 1 with the reason', async () => {
  const cases: [string[], number, RegExp][] = [
    [['drain', '--socket', '/nonexistent.sock'], 2, /name the services/],
    [['drain', 'dns', '--all', '--socket', '/nonexistent.sock'], 2, /not both/],
    [['resume', '--socket', '/nonexistent.sock'], 2, /name the services/],
    [['maintenance', '--socket', '/nonexistent.sock'], 2, /give the command after --/],
    [['maintenance', '--timeout', 'soon', '--socket', '/nonexistent.sock', '--', 'true'], 2, /--timeout: not a duration/],
    [['maintenance', '--socket', '/nonexistent.sock', '--', 'true', '--all'], 125, /cannot drain, not running the command.*ENOENT/],
    [['status', '--socket', '/nonexistent.sock'], 1, /cannot reach the agent on \/nonexistent\.sock: ENOENT/],
    [['check-now', 'dns', '--socket', '/nonexistent.sock'], 1, /ENOENT/],
    [['run', '--daemon', '--config', '/nonexistent.yaml'], 2, /cannot read/],
  ];
  for (const [argv, code, message] of cases) {
    const captured = io();
    assert.equal(await dispatch(argv, captured.io), code, argv.join(' '));
    assert.match(captured.err.join('\n'), message, argv.join(' '));
  }
});

test('an option of another command is a usage error naming it, before anything runs', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['run', '--style', 'split', '--config', '/nonexistent.yaml'],
      /healthcast run: --style is not an option of run \(it takes --config, --log-level, --daemon, --pidfile/,
    ],
    [['status', '--all', '--force', '--socket', '/nonexistent.sock'], /healthcast status: --all, --force are not options of status/],
    [['check-config', '--json'], /--json is not an option of check-config/],
    [['drain', 'dns', '--json', '--socket', '/nonexistent.sock'], /--json is not an option of drain/],
    [['frr-config', '--pidfile', '/tmp/x'], /--pidfile is not an option of frr-config/],
  ];
  for (const [argv, message] of cases) {
    const captured = io();
    assert.equal(await dispatch(argv, captured.io), 2, argv.join(' '));
    assert.match(captured.err.join('\n'), message, argv.join(' '));
  }
  // --help and --version go with anything.
  const help = io();
  assert.equal(await dispatch(['status', '--help'], help.io), 0);
});

test('cleanup names each removed entry the way an operator would type it back', () => {
  assert.equal(describeEntry({ kind: 'address', address: '192.0.2.53', interface: 'lo' }), '192.0.2.53 dev lo');
  assert.equal(describeEntry({ kind: 'route', address: '2001:db8::53', interface: 'lo' }), 'route 2001:db8::53 dev lo');
  assert.equal(describeEntry({ kind: 'bgp', address: '192.0.2.53', interface: 'bgp' }), 'bgp network 192.0.2.53');
  assert.equal(describeEntry({ kind: 'bgp', address: '192.0.2.53', interface: 'bgp-held' }), 'bgp network 192.0.2.53 (held back)');
});

test('--help lists frr-config --hostname and maintenance --wait-for-resume; a mistyped maintenance command exits 127 before any agent is contacted', async () => {
  assert.ok(HELP.includes('[--hostname NAME]'));
  assert.ok(HELP.includes('--wait-for-resume'));
  const captured = io();
  // No socket exists: had the wrapper tried to drain first it would fail with 125 (cannot reach the agent).
  assert.equal(await dispatch(['maintenance', '--socket', '/nonexistent.sock', '--', '/nonexistent'], captured.io), 127);
  assert.match(captured.err.join('\n'), /cannot run the command: \/nonexistent: no such file; nothing drained/);
});

test('the wrapper says what this run drained, not what was drained before it', () => {
  assert.equal(describeDrain({ services: ['dns', 'radius'], newly: ['radius'] }), 'drained radius (already drained before, left drained: dns)');
  assert.equal(describeDrain({ services: ['dns'], newly: [] }), 'drained nothing (already drained before, left drained: dns)');
  assert.equal(describeDrain({ services: ['dns', 'radius'], newly: ['dns', 'radius'] }), 'drained dns, radius');
});
