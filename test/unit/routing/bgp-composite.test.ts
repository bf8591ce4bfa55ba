// CompositeBackend: bgp ops go to bgpd and never to `ip`, in make-before-break phases; one side failing never blocks
// or hides the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, HealthcastError, isHealthcastError } from '../../../src/errors.js';
import { RoutingBatchError } from '../../../src/routing/batch-error.js';
import { BgpBackend } from '../../../src/routing/bgp-backend.js';
import { CompositeBackend } from '../../../src/routing/composite-backend.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { PartialListError } from '../../../src/routing/partial-list.js';
import { BGP_INTERFACE, KERNEL_KINDS, type RoutingEntry, type RoutingOp } from '../../../src/routing/types.js';
import { FakeBgpd } from './bgp-fake-vtysh.js';

const address = (a: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address: a, interface: iface });
const route = (a: string): RoutingEntry => ({ kind: 'route', address: a, interface: 'lo' });
const bgp = (a: string): RoutingEntry => ({ kind: 'bgp', address: a, interface: BGP_INTERFACE });
const add = (entry: RoutingEntry): RoutingOp => ({ action: 'add', entry });
const remove = (entry: RoutingEntry): RoutingOp => ({ action: 'remove', entry });
const text = (op: RoutingOp) => `${op.action} ${op.entry.kind} ${op.entry.address}`;

function memorySides() {
  const ip = new MemoryBackend(KERNEL_KINDS);
  const frr = new MemoryBackend(['bgp']);
  const order: string[] = [];
  ip.beforeApply = (ops) => void order.push(`ip: ${ops.map(text).join(', ')}`);
  frr.beforeApply = (ops) => void order.push(`bgp: ${ops.map(text).join(', ')}`);
  return { ip, frr, order, composite: new CompositeBackend({ ip, bgp: frr }) };
}

test('dispatch by kind in three phases: bgp withdrawals, then the ip batch, then bgp announcements', async () => {
  const { ip, frr, order, composite } = memorySides();
  frr.addForeign(bgp('192.0.2.1'));
  ip.addForeign(address('192.0.2.1'));
  ip.addForeign(route('198.51.100.7'));
  await composite.apply([
    add(address('192.0.2.53')),
    add(bgp('192.0.2.53')),
    remove(route('198.51.100.7')),
    remove(bgp('192.0.2.1')),
    add(bgp('2001:db8::53')),
    remove(address('192.0.2.1')),
  ]);
  assert.deepEqual(order, [
    'bgp: remove bgp 192.0.2.1',
    'ip: add address 192.0.2.53, remove route 198.51.100.7, remove address 192.0.2.1',
    'bgp: add bgp 192.0.2.53, add bgp 2001:db8::53',
  ]);
  // MemoryBackend(KERNEL_KINDS) throws on a bgp op, so reaching here also proves ip never got one.
  assert.deepEqual(composite.kinds, ['address', 'route', 'bgp']);
  assert.ok(frr.has(bgp('192.0.2.53')) && !frr.has(bgp('192.0.2.1')) && ip.has(address('192.0.2.53')) && !ip.has(address('192.0.2.1')));
});

test('a batch with only ip ops never starts vtysh; only bgp ops never start ip', async () => {
  const ip = new MemoryBackend(KERNEL_KINDS);
  const frr = new FakeBgpd();
  const composite = new CompositeBackend({ ip, bgp: new BgpBackend({ vtysh: frr }) });
  await composite.apply([add(address('192.0.2.53'))]);
  assert.equal(frr.calls.length, 0);
  await composite.apply([add(bgp('192.0.2.53'))]);
  assert.equal(ip.applyCalls, 1);
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.53/32']);
});

test("bgpd down: ip ops still apply; each bgp op fails with FRR's words, the ip ops with none", async () => {
  const ip = new MemoryBackend(KERNEL_KINDS);
  const frr = new FakeBgpd();
  frr.running = false;
  const composite = new CompositeBackend({ ip, bgp: new BgpBackend({ vtysh: frr }) });
  await assert.rejects(composite.apply([remove(bgp('192.0.2.9')), add(address('192.0.2.53')), add(bgp('192.0.2.53'))]), (error: unknown) => {
    assert.ok(error instanceof RoutingBatchError);
    assert.deepEqual(
      error.failures.map((f) => `${text(f.op)}: ${f.reason}`),
      ['remove bgp 192.0.2.9: bgpd is not running', 'add bgp 192.0.2.53: bgpd is not running'],
    );
    return true;
  });
  assert.ok(ip.has(address('192.0.2.53')), 'the address went on although bgpd is down');
});

test('an ip batch failing wholesale fails its own ops only; bgp announcements still go out', async () => {
  const { ip, frr, composite } = memorySides();
  ip.beforeApply = () => {
    throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, 'cannot run ip: ENOENT');
  };
  await assert.rejects(composite.apply([add(address('192.0.2.53')), add(route('198.51.100.7')), add(bgp('192.0.2.53'))]), (error: unknown) => {
    assert.ok(error instanceof RoutingBatchError);
    assert.deepEqual(
      error.failures.map((f) => `${text(f.op)}: ${f.reason}`),
      ['add address 192.0.2.53: cannot run ip: ENOENT', 'add route 198.51.100.7: cannot run ip: ENOENT'],
    );
    assert.match(error.message, /2 of 3 operations failed \(ip: cannot run ip/);
    return true;
  });
  assert.ok(frr.has(bgp('192.0.2.53')));
});

test('list merges both sides; one side failing is a PartialListError naming its kinds; both failing is one error', async () => {
  const { ip, frr, composite } = memorySides();
  ip.addForeign(address('192.0.2.53'));
  frr.addForeign(bgp('192.0.2.53'));
  assert.deepEqual((await composite.list()).map((e) => `${e.kind} ${e.address}`).sort(), ['address 192.0.2.53', 'bgp 192.0.2.53']);

  frr.failList = 'bgpd is not running';
  await assert.rejects(composite.list(), (error: unknown) => {
    assert.ok(error instanceof PartialListError);
    assert.deepEqual([...error.unreadable], [['bgp', 'bgpd is not running']]);
    assert.deepEqual(
      error.entries.map((e) => `${e.kind} ${e.address}`),
      ['address 192.0.2.53'],
    );
    return true;
  });

  frr.failList = undefined;
  ip.failList = 'ip: command not found';
  await assert.rejects(composite.list(), (error: unknown) => {
    assert.ok(error instanceof PartialListError);
    assert.deepEqual([...error.unreadable.keys()], ['address', 'route']);
    return true;
  });

  frr.failList = 'bgpd is not running';
  await assert.rejects(composite.list(), (error: unknown) => {
    assert.ok(!(error instanceof PartialListError) && isHealthcastError(error, ErrorCodes.BACKEND_COMMAND));
    assert.match(error.message, /ip: command not found; bgpd is not running/);
    return true;
  });
});

test('two backends claiming the same kind are refused', () => {
  assert.throws(
    () => new CompositeBackend({ ip: new MemoryBackend(), bgp: new MemoryBackend(['bgp']) }),
    (error: unknown) => isHealthcastError(error, ErrorCodes.USAGE),
  );
});
