// The vtysh client against real FRR 8.4 daemons in a lab namespace: answers, configuration, and each failure
// case with the code the agent branches on and FRR's own message kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../../support/prereq.js';
import { withLab } from '../../../lab/lab.js';
import { run } from '../../../lab/netns.js';
import { ErrorCodes } from '../../../src/errors.js';
import { createVtysh, VtyshError } from '../../../src/frr/vtysh.js';

const COMMANDS = ['ip', 'vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];

async function rejection(promise: Promise<unknown>): Promise<VtyshError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof VtyshError, `expected a VtyshError, got ${String(error)}`);
  return error;
}

test("no FRR behind the socket directory: VTYSH_NOT_RUNNING with vtysh's words", { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  await withLab({ name: 'vtyshnone' }, async (lab) => {
    const empty = path.join(lab.dir, 'no-frr');
    fs.mkdirSync(empty, { mode: 0o755 });
    await run('chown', ['frr:frr', empty]);
    const error = await rejection(createVtysh({ vtySocket: empty }).show('show ip ospf json'));
    assert.equal(error.code, ErrorCodes.VTYSH_NOT_RUNNING);
    assert.equal(error.exitCode, 1);
    assert.equal(error.frrMessage, 'Exiting: failed to connect to any daemons.');
  });
});

test('real FRR: show, configure, rejected lines, a daemon down, a stopped daemon', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  await withLab({ name: 'vtysh' }, async (lab) => {
    const node = await lab.node('a');
    const frr = await lab.startFrr(node, { announce: true });
    const vtysh = createVtysh({ vtySocket: frr.dir, timeoutMs: 3000 });

    const ospf = await vtysh.show<{ routerId: string }>('show ip ospf json');
    assert.equal(ospf.routerId, frr.options.routerId);

    // configure: lines apply in order, and the running config shows them.
    const note = await vtysh.configure(['ip prefix-list HC-TEST seq 5 permit 192.0.2.1/32', 'ip prefix-list HC-TEST seq 10 permit 192.0.2.2/32']);
    assert.equal(note, '');
    assert.match(
      await vtysh.run(['show running-config']),
      /ip prefix-list HC-TEST seq 5 permit 192\.0\.2\.1\/32\nip prefix-list HC-TEST seq 10 permit 192\.0\.2\.2\/32/,
    );

    // An unknown line: REJECTED with FRR's text, and vtysh stops there (the line after it is not applied).
    const unknown = await rejection(
      vtysh.configure(['ip prefix-list HC-TEST seq 15 permit 192.0.2.3/32', 'bogus command', 'ip prefix-list HC-TEST seq 20 permit 192.0.2.4/32']),
    );
    assert.equal(unknown.code, ErrorCodes.VTYSH_REJECTED);
    assert.equal(unknown.frrMessage, '% Unknown command: bogus command');
    const running = await vtysh.run(['show running-config']);
    assert.match(running, /seq 15 permit 192\.0\.2\.3\/32/, 'lines before the bad one are applied');
    assert.doesNotMatch(running, /seq 20 permit 192\.0\.2\.4\/32/, 'lines after it are not');

    // A value the daemon refuses.
    const invalid = await rejection(vtysh.configure(['ip prefix-list HC-TEST seq 30 permit 192.0.2.0/24 ge 20']));
    assert.equal(invalid.code, ErrorCodes.VTYSH_REJECTED);
    assert.match(invalid.frrMessage, /^% Configuration failed\. \| Error type: validation \| Error description: Invalid prefix range for 192\.0\.2\.0\/24/);

    const badShow = await rejection(vtysh.show('show ip nonsense json'));
    assert.equal(badShow.code, ErrorCodes.VTYSH_REJECTED);
    assert.equal(badShow.frrMessage, '% Unknown command: show ip nonsense json');

    // Exit 0 but not JSON: ospfd without `router ospf`.
    await vtysh.configure(['no router ospf']);
    const text = await rejection(vtysh.show('show ip ospf database external self-originate json'));
    assert.equal(text.code, ErrorCodes.VTYSH_BAD_OUTPUT);
    assert.equal(text.stdout.trim(), '% OSPF is not enabled on vrf default');

    // A stopped daemon: vtysh would wait forever; the client gives up at its timeout.
    const ospfd = frr.daemons.find((daemon) => daemon.name.endsWith('/ospfd'))!;
    const ospfdPid = Number(fs.readFileSync(path.join(frr.dir, 'ospfd.pid'), 'utf8'));
    process.kill(ospfdPid, 'SIGSTOP');
    try {
      const started = Date.now();
      const stuck = await rejection(createVtysh({ vtySocket: frr.dir, timeoutMs: 500 }).show('show ip ospf json'));
      const elapsed = Date.now() - started;
      assert.equal(stuck.code, ErrorCodes.VTYSH_TIMEOUT);
      assert.ok(elapsed >= 490 && elapsed < 3000, `gave up after ${elapsed} ms`);
      t.diagnostic(`stopped ospfd: VTYSH_TIMEOUT after ${elapsed} ms`);
    } finally {
      process.kill(ospfdPid, 'SIGCONT');
    }

    // zebra up, ospf6d gone: DAEMON_DOWN naming it; zebra still answers.
    const ospf6d = frr.daemons.find((daemon) => daemon.name.endsWith('/ospf6d'))!;
    await ospf6d.stop('SIGTERM', 5000);
    const down = await rejection(vtysh.show('show ipv6 ospf6 database as-external self-originate json'));
    assert.equal(down.code, ErrorCodes.VTYSH_DAEMON_DOWN);
    assert.equal(down.daemon, 'ospf6d');
    assert.equal(down.frrMessage, 'ospf6d is not running');
    assert.ok(await vtysh.show('show ip route json'), 'zebra still answers');
    assert.ok(ospfd.child.exitCode === null, 'ospfd kept running after SIGCONT');
  });
});
