// The vty socket client against an in-process daemon speaking FRR's vty protocol (a command ends with NUL; an answer
// ends with three NULs and the status byte; a new connection starts in view mode), as bgpd 8.4.4 answered in the lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { createDaemonVty, takeAnswer } from '../../../src/frr/vty-socket.js';
import { fakeDaemon } from '../../support/fake-vty-daemon.js';

const noFallback = { configure: () => assert.fail('the fallback must not be used') };

test('takeAnswer: an answer ends with three NULs and the status byte; partial ones wait', () => {
  assert.equal(takeAnswer(Buffer.from('out\0\0')), undefined);
  const taken = takeAnswer(Buffer.concat([Buffer.from('% no\n'), Buffer.from([0, 0, 0, 13]), Buffer.from('next')]));
  assert.deepEqual(taken?.answer, { status: 13, text: '% no\n' });
  assert.equal(taken?.rest.toString(), 'next');
});

test('configure: enable once per connection, then configure terminal, the lines and end, on one kept connection', async (t) => {
  const daemon = await fakeDaemon();
  const vty = createDaemonVty({ daemon: 'bgpd', vtySocket: daemon.dir, timeoutMs: 2000, fallback: noFallback });
  t.after(async () => {
    vty.close();
    await daemon.close();
  });
  await vty.configure(['router bgp 65001', 'address-family ipv4 unicast', 'network 192.0.2.53/32', 'exit-address-family']);
  await vty.configure(['router bgp 65001', 'address-family ipv4 unicast', 'no network 192.0.2.53/32', 'exit-address-family']);
  assert.equal(daemon.connections.length, 1);
  assert.deepEqual(daemon.connections[0], [
    'enable',
    'configure terminal',
    'router bgp 65001',
    'address-family ipv4 unicast',
    'network 192.0.2.53/32',
    'exit-address-family',
    'end',
    'configure terminal',
    'router bgp 65001',
    'address-family ipv4 unicast',
    'no network 192.0.2.53/32',
    'exit-address-family',
    'end',
  ]);
});

test("a refused line stops the batch there (as vtysh does), ends config mode, and is VTYSH_REJECTED in FRR's words", async (t) => {
  const daemon = await fakeDaemon();
  daemon.reject.set('no network 192.0.2.61/32', { status: 13, text: "% Can't find static route specified\n" });
  const vty = createDaemonVty({ daemon: 'bgpd', vtySocket: daemon.dir, timeoutMs: 2000, fallback: noFallback });
  t.after(async () => {
    vty.close();
    await daemon.close();
  });
  await assert.rejects(vty.configure(['router bgp 65001', 'no network 192.0.2.61/32', 'network 192.0.2.62/32']), (error: unknown) => {
    assert.ok(isHealthcastError(error, ErrorCodes.VTYSH_REJECTED));
    assert.equal((error as unknown as { frrMessage: string }).frrMessage, "% Can't find static route specified");
    return true;
  });
  assert.deepEqual(daemon.connections[0]?.slice(-3), ['router bgp 65001', 'no network 192.0.2.61/32', 'end']);
});

test('no socket: the write goes through the fallback (vtysh), which says why in its own words', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-vty-none-'));
  const written: string[][] = [];
  const vty = createDaemonVty({ daemon: 'bgpd', vtySocket: dir, timeoutMs: 2000, fallback: { configure: async (lines) => (written.push([...lines]), '') } });
  await vty.configure(['router bgp 65001']);
  assert.deepEqual(written, [['router bgp 65001']]);
  fs.rmSync(dir, { recursive: true });
});

test('the daemon restarted (connection closed): the next write opens a new connection and enables again', async (t) => {
  const daemon = await fakeDaemon();
  const vty = createDaemonVty({ daemon: 'bgpd', vtySocket: daemon.dir, timeoutMs: 2000, fallback: noFallback });
  t.after(async () => {
    vty.close();
    await daemon.close();
  });
  await vty.configure(['router bgp 65001']);
  daemon.dropClients();
  // At once, before the close may have been seen: a failed `configure terminal` on the kept connection costs one reopen.
  await vty.configure(['router bgp 65001']);
  assert.equal(daemon.connections.length, 2);
  assert.deepEqual(daemon.connections[1]?.slice(0, 2), ['enable', 'configure terminal']);
});

test('a daemon that does not answer: VTYSH_TIMEOUT, and the connection is dropped', async (t) => {
  const daemon = await fakeDaemon();
  daemon.silent.add('network 192.0.2.53/32');
  const vty = createDaemonVty({ daemon: 'bgpd', vtySocket: daemon.dir, timeoutMs: 200, fallback: noFallback });
  t.after(async () => {
    vty.close();
    await daemon.close();
  });
  await assert.rejects(vty.configure(['network 192.0.2.53/32']), (error: unknown) => isHealthcastError(error, ErrorCodes.VTYSH_TIMEOUT));
  daemon.silent.clear();
  await vty.configure(['network 192.0.2.53/32']);
  assert.equal(daemon.connections.length, 2);
});
