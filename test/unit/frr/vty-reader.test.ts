// The socket reader: which daemon answers which command (a table), and against in-process daemons: one kept connection,
// answers parsed, a refused command, a restarted or hung daemon, a missing socket; vtysh-only commands to the fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { createVtyReader, daemonSocketsUsable, routeCommand } from '../../../src/frr/vty-reader.js';
import type { Vtysh } from '../../../src/frr/vtysh.js';
import { fakeDaemon } from '../../support/fake-vty-daemon.js';
import { LIST_COMMANDS, parseBgpdListing } from '../../../src/routing/bgp-commands.js';
import { BGP_INTERFACE } from '../../../src/routing/types.js';

test('routeCommand: each show command to the daemon that answers it; the rest to vtysh', () => {
  const table: [string, ReturnType<typeof routeCommand>][] = [
    ['show ip ospf database external json', { daemon: 'ospfd', text: 'show ip ospf database external json' }],
    ['show ip ospf  json', { daemon: 'ospfd', text: 'show ip ospf json' }],
    ['show ipv6 ospf6 database as-external json', { daemon: 'ospf6d', text: 'show ipv6 ospf6 database as-external json' }],
    ['show bgp ipv4 unicast json', { daemon: 'bgpd', text: 'show bgp ipv4 unicast json' }],
    ['show ip bgp json', { daemon: 'bgpd', text: 'show ip bgp json' }],
    ['show running-config bgpd', { daemon: 'bgpd', text: 'show running-config' }],
    ['show running-config', undefined],
    ['show ip ospf6', undefined],
    ['show ip route json', undefined],
    ['show bgpd', undefined],
    ['configure terminal', undefined],
  ];
  for (const [command, expected] of table) assert.deepEqual(routeCommand(command), expected, command);
});

test('daemonSocketsUsable: the default vtysh or an explicit socket directory; not a wrapper without one', () => {
  assert.equal(daemonSocketsUsable({ vtysh: '/usr/bin/vtysh' }), true);
  assert.equal(daemonSocketsUsable({ vtysh: '/usr/local/bin/frr-in-container', vty_socket: '/srv/frr' }), true);
  assert.equal(daemonSocketsUsable({ vtysh: '/usr/local/bin/frr-in-container' }), false);
});

function recordingFallback(): Pick<Vtysh, 'show' | 'run'> & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: (commands) => {
      calls.push([...commands]);
      return Promise.resolve('from vtysh');
    },
    show: <T>(command: string) => {
      calls.push([command]);
      return Promise.resolve({ from: 'vtysh' } as T);
    },
  };
}

test('show and run over one kept connection per daemon; vtysh only for what no single daemon answers', async (t) => {
  const ospfd = await fakeDaemon('ospfd');
  const fallback = recordingFallback();
  const reader = createVtyReader({ vtySocket: ospfd.dir, timeoutMs: 2000, fallback });
  t.after(async () => {
    reader.close();
    await ospfd.close();
  });
  ospfd.answers.set('show ip ospf json', '{"routerId":"192.0.2.1"}\n');
  ospfd.answers.set('show running-config', '!\nrouter ospf\n!\n');
  assert.deepEqual(await reader.show('show ip ospf json'), { routerId: '192.0.2.1' });
  assert.deepEqual(await reader.show('show ip ospf json'), { routerId: '192.0.2.1' });
  // Like vtysh, the configuration comes after the line parsers of vtysh output look for.
  assert.equal(
    await reader.run(['show ip ospf json', 'show running-config ospfd']),
    '{"routerId":"192.0.2.1"}\nBuilding configuration...\n\nCurrent configuration:\n!\nrouter ospf\n!\n',
  );
  assert.equal(ospfd.connections.length, 1, 'one connection, kept');
  assert.deepEqual(ospfd.connections[0], ['enable', 'show ip ospf json', 'show ip ospf json', 'show ip ospf json', 'show running-config']);
  assert.deepEqual(fallback.calls, []);

  // No single daemon answers these: vtysh does.
  assert.equal(await reader.run(['show ip ospf json', 'show bgp vrfs json']), 'from vtysh');
  assert.deepEqual(await reader.show('show ip route json'), { from: 'vtysh' });
  assert.deepEqual(fallback.calls, [['show ip ospf json', 'show bgp vrfs json'], ['show ip route json']]);
});

test('answers that are not JSON, refused commands, a restarted daemon, one that stopped answering', async (t) => {
  const bgpd = await fakeDaemon('bgpd');
  const fallback = recordingFallback();
  const reader = createVtyReader({ vtySocket: bgpd.dir, timeoutMs: 300, fallback });
  t.after(async () => {
    reader.close();
    await bgpd.close();
  });
  bgpd.answers.set('show bgp ipv4 unicast json', '% BGP instance not found\n');
  await assert.rejects(reader.show('show bgp ipv4 unicast json'), (error: unknown) => {
    assert.ok(isHealthcastError(error) && error.code === ErrorCodes.VTYSH_BAD_OUTPUT);
    assert.match(error.message, /bgpd vty: 'show bgp ipv4 unicast json': expected JSON, FRR printed "% BGP instance not found"/);
    return true;
  });
  bgpd.reject.set('show bgp summary json', { status: 2, text: '% Unknown command: show bgp summary json\n' });
  await assert.rejects(reader.show('show bgp summary json'), (error: unknown) => {
    assert.ok(isHealthcastError(error) && error.code === ErrorCodes.VTYSH_REJECTED);
    assert.match(error.message, /Unknown command/);
    return true;
  });

  // The daemon restarted: the kept connection is dead, and a read is repeated once on a fresh one.
  bgpd.answers.set('show bgp vrfs json', '{"totalVrfs":1}');
  bgpd.dropClients();
  assert.deepEqual(await reader.show('show bgp vrfs json'), { totalVrfs: 1 });
  assert.equal(bgpd.connections.length, 2);

  // Hung: a timeout with the daemon's name, then the next read connects afresh.
  bgpd.silent.add('show bgp vrfs json');
  await assert.rejects(reader.show('show bgp vrfs json'), (error: unknown) => {
    assert.ok(isHealthcastError(error) && error.code === ErrorCodes.VTYSH_TIMEOUT);
    assert.match(error.message, /bgpd vty: no answer within 300ms/);
    return true;
  });
  bgpd.silent.delete('show bgp vrfs json');
  assert.deepEqual(await reader.show('show bgp vrfs json'), { totalVrfs: 1 });
  assert.equal(bgpd.connections.length, 3);

  // Gone (no socket): down, said at once, without a vtysh process.
  await bgpd.close();
  await assert.rejects(reader.show('show bgp vrfs json'), (error: unknown) => {
    assert.ok(isHealthcastError(error) && error.code === ErrorCodes.VTYSH_DAEMON_DOWN);
    assert.match(error.message, /bgpd vty: bgpd is not running \(no .*bgpd\.vty\)/);
    return true;
  });
  assert.deepEqual(fallback.calls, []);
});

test("bgpd's listing over its socket parses as vtysh's does (the backend's LIST_COMMANDS)", async (t) => {
  const bgpd = await fakeDaemon('bgpd');
  const reader = createVtyReader({ vtySocket: bgpd.dir, timeoutMs: 2000, fallback: recordingFallback() });
  t.after(async () => {
    reader.close();
    await bgpd.close();
  });
  // What bgpd 8.4.4 itself answers (vtysh adds the "Building"/"Current configuration" lines).
  bgpd.answers.set('show bgp vrfs json', '{\n  "vrfs":{"default":{"vrfId":0}},\n  "totalVrfs":1\n}\n');
  bgpd.answers.set(
    'show running-config',
    'frr version 8.4.4\n!\nrouter bgp 65001\n !\n address-family ipv4 unicast\n  network 192.0.2.53/32\n exit-address-family\nexit\n!\n',
  );
  assert.deepEqual(parseBgpdListing(await reader.run(LIST_COMMANDS)), {
    asn: '65001',
    networks: [{ kind: 'bgp', address: '192.0.2.53', interface: BGP_INTERFACE, prefixLength: 32 }],
  });
});
