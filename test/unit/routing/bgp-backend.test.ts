// The bgp backend over an in-process bgpd: what it lists, what it writes in how many vtysh processes, and how each
// failure (bgpd down, no instance, other AS, rejected line, bgpd dying mid-batch) reaches each op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { VtyshError } from '../../../src/frr/vtysh.js';
import { RoutingBatchError } from '../../../src/routing/batch-error.js';
import { BgpBackend } from '../../../src/routing/bgp-backend.js';
import { BGP_INTERFACE, HELD_INTERFACE, type RoutingEntry, type RoutingOp } from '../../../src/routing/types.js';
import { FakeBgpd } from './bgp-fake-vtysh.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

const bgp = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: BGP_INTERFACE });
const add = (address: string): RoutingOp => ({ action: 'add', entry: bgp(address) });
const remove = (address: string): RoutingOp => ({ action: 'remove', entry: bgp(address) });

async function batchFailure(promise: Promise<unknown>): Promise<RoutingBatchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RoutingBatchError, `expected a RoutingBatchError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the batch to fail');
}

const reasons = (error: RoutingBatchError) => Object.fromEntries(error.failures.map((f) => [`${f.op.action} ${f.op.entry.address}`, f.reason]));

test('list: network statements from one vtysh process (vrfs JSON, then the running config)', async () => {
  const frr = new FakeBgpd();
  frr.networks.ipv4.push('192.0.2.53/32');
  frr.networks.ipv6.push('2001:db8:53::53/128');
  const backend = new BgpBackend({ vtysh: frr });
  assert.deepEqual(
    (await backend.list()).map((e) => `${e.kind} ${e.address} ${e.interface}`),
    ['bgp 192.0.2.53 bgp', 'bgp 2001:db8:53::53 bgp'],
  );
  assert.deepEqual(frr.calls, [['show bgp vrfs json', 'show running-config bgpd']]);
});

test("list: bgpd down is a coded error carrying FRR's words", async () => {
  const frr = new FakeBgpd();
  frr.running = false;
  await assert.rejects(new BgpBackend({ vtysh: frr }).list(), (error: unknown) => {
    assert.ok(error instanceof VtyshError);
    assert.equal(error.code, ErrorCodes.VTYSH_DAEMON_DOWN);
    assert.match(error.message, /bgpd is not running/);
    return true;
  });
});

test('list: output that is not vrfs JSON then a configuration is VTYSH_BAD_OUTPUT, never "no statements"', async () => {
  const frr = new FakeBgpd();
  const valid = await frr.run(['show bgp vrfs json', 'show running-config bgpd']);
  const configOnly = valid.slice(valid.indexOf('Building configuration'));
  for (const printed of ['', configOnly, valid.slice(0, valid.indexOf('Building configuration')), '% Unknown command: show bgp vrfs json']) {
    const vtysh = { run: async () => printed, show: async <T>() => ({}) as T, configure: async () => '' };
    await assert.rejects(
      new BgpBackend({ vtysh }).list(),
      (error: unknown) => isHealthcastError(error, ErrorCodes.VTYSH_BAD_OUTPUT),
      JSON.stringify(printed.slice(0, 40)),
    );
  }
});

test('apply: a whole batch, both families, in one vtysh process under the running AS', async () => {
  const frr = new FakeBgpd();
  frr.networks.ipv4.push('192.0.2.99/32');
  const backend = new BgpBackend({ vtysh: frr });
  await backend.list();
  await backend.apply([add('192.0.2.53'), add('2001:db8:53::53'), remove('192.0.2.99')]);
  assert.deepEqual(frr.configured(), [
    [
      'router bgp 65001',
      'address-family ipv4 unicast',
      'network 192.0.2.53/32',
      'no network 192.0.2.99/32',
      'exit-address-family',
      'address-family ipv6 unicast',
      'network 2001:db8:53::53/128',
      'exit-address-family',
    ],
  ]);
  assert.deepEqual(frr.networks, { ipv4: ['192.0.2.53/32'], ipv6: ['2001:db8:53::53/128'] });
  assert.equal(frr.calls.length, 2, 'one listing and one write');
});

test('apply without a prior listing reads the AS first; frr.asn equal to the running AS is accepted', async () => {
  const frr = new FakeBgpd();
  await new BgpBackend({ vtysh: frr, asn: 65001 }).apply([add('192.0.2.53')]);
  assert.deepEqual(
    frr.calls.map((call) => call[0]),
    ['show bgp vrfs json', 'configure terminal'],
  );
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.53/32']);
});

test('no BGP instance: every op fails with HC_ERR_BGP_INSTANCE and no instance is created', async () => {
  const frr = new FakeBgpd();
  frr.asn = undefined;
  const failure = await batchFailure(new BgpBackend({ vtysh: frr, asn: 65001 }).apply([add('192.0.2.53'), add('2001:db8::53')]));
  assert.equal(failure.failures.length, 2);
  assert.ok(isHealthcastError(failure.cause, ErrorCodes.BGP_INSTANCE));
  assert.match(failure.failures[0]?.reason ?? '', /no `router bgp` instance/);
  assert.equal(frr.configured().length, 0, 'nothing written: `router bgp N` would have created an instance');
  assert.equal(frr.asn, undefined);
});

test('frr.asn differing from the running AS: refused before writing', async () => {
  const frr = new FakeBgpd();
  const failure = await batchFailure(new BgpBackend({ vtysh: frr, asn: 65009 }).apply([add('192.0.2.53')]));
  assert.match(failure.failures[0]?.reason ?? '', /frr\.asn is 65009 but bgpd runs `router bgp 65001`/);
  assert.equal(frr.configured().length, 0);
});

test('bgpd down at write time: every op fails with "bgpd is not running"', async () => {
  const frr = new FakeBgpd();
  const backend = new BgpBackend({ vtysh: frr });
  await backend.list();
  frr.running = false;
  const failure = await batchFailure(backend.apply([add('192.0.2.53'), remove('192.0.2.54')]));
  assert.deepEqual(reasons(failure), { 'add 192.0.2.53': 'bgpd is not running', 'remove 192.0.2.54': 'bgpd is not running' });
  assert.equal(frr.configured().length, 1, 'no per-op retries when bgpd is down');
});

test('a rejected line: each op retried alone, so each gets its own answer; removing a missing statement counts as done', async () => {
  const frr = new FakeBgpd();
  frr.networks.ipv4.push('192.0.2.60/32');
  frr.rejectLine = (line) => (line === 'network 192.0.2.62/32' ? '% Inconsistent address and mask' : undefined);
  const backend = new BgpBackend({ vtysh: frr });
  await backend.list();
  // .61 is already gone (someone removed it by hand): its `no network` is rejected and stops the first batch there.
  const failure = await batchFailure(backend.apply([remove('192.0.2.60'), remove('192.0.2.61'), add('192.0.2.62'), add('192.0.2.63')]));
  assert.deepEqual(reasons(failure), { 'add 192.0.2.62': 'FRR rejected it: % Inconsistent address and mask' });
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.63/32'], 'the ops after the rejected line were applied by their retries');
  assert.equal(frr.configured().length, 1 + 4, 'the batch, then one process per op');
});

test('bgpd dying during the retries: the remaining ops fail at once with the same reason', async () => {
  const frr = new FakeBgpd();
  frr.rejectLine = (line) => (line === 'network 192.0.2.1/32' ? '% Unknown command: network 192.0.2.1/32' : undefined);
  const backend = new BgpBackend({ vtysh: frr });
  await backend.list();
  let processes = 0;
  frr.beforeRun = () => {
    processes += 1;
    if (processes === 3) frr.running = false; // the batch, the first retry; bgpd is gone by the second retry
  };
  const failure = await batchFailure(backend.apply([add('192.0.2.1'), add('192.0.2.2'), add('192.0.2.3')]));
  assert.deepEqual(reasons(failure), {
    'add 192.0.2.1': 'FRR rejected it: % Unknown command: network 192.0.2.1/32',
    'add 192.0.2.2': 'bgpd is not running',
    'add 192.0.2.3': 'bgpd is not running',
  });
  assert.equal(frr.calls.length, 4, 'listing, batch, two retries; none for the last op');
});

test('an op of another kind is refused: the bgp backend only writes network statements', async () => {
  const backend = new BgpBackend({ vtysh: new FakeBgpd() });
  await assert.rejects(backend.apply([{ action: 'add', entry: { kind: 'address', address: '192.0.2.53', interface: 'lo' } }]), (error: unknown) =>
    isHealthcastError(error, ErrorCodes.USAGE),
  );
  assert.deepEqual(backend.kinds, ['bgp']);
});

// The belief: after the first listing, passes read what bgpd is believed to hold and the real listing runs after
// them, as a verification (no vtysh between a decision and its write).
function believing(frr: FakeBgpd, writer?: FakeBgpd) {
  const clock = new ManualClock();
  let drifts = 0;
  const backend = new BgpBackend({ vtysh: frr, clock, verifyDelayMs: 50, onDrift: () => (drifts += 1), ...(writer ? { writer } : {}) });
  return { clock, backend, drifts: () => drifts };
}

const listings = (frr: FakeBgpd) => frr.calls.filter((call) => call[0] === 'show bgp vrfs json').length;

test('belief: a write goes out with no listing before it, and the verification 50 ms later reads bgpd once', async () => {
  const frr = new FakeBgpd();
  const { clock, backend, drifts } = believing(frr);
  await backend.list();
  assert.equal(listings(frr), 1);
  await backend.list();
  await backend.apply([add('192.0.2.53')]);
  assert.deepEqual(
    (await backend.list()).map((e) => e.address),
    ['192.0.2.53'],
    'the write is believed at once',
  );
  assert.equal(listings(frr), 1, 'no listing on the path of the write');
  await clock.advance(49);
  assert.equal(listings(frr), 1);
  await clock.advance(1);
  await settle();
  assert.equal(listings(frr), 2, 'one verification for the list-write-list burst');
  assert.equal(drifts(), 0);
});

test('belief: a verification that finds bgpd elsewhere (statements lost with a restart) corrects it and asks for a pass', async () => {
  const frr = new FakeBgpd();
  const { backend, drifts } = believing(frr);
  await backend.apply([add('192.0.2.53')]);
  await backend.verified();
  frr.networks.ipv4.length = 0;
  assert.deepEqual(
    (await backend.list()).map((e) => e.address),
    ['192.0.2.53'],
  );
  await backend.verified();
  assert.equal(drifts(), 1);
  assert.deepEqual(await backend.list(), [], 'the next pass plans from what bgpd really holds');
});

test('belief: bgpd down at the verification drops the belief, so the next listing is real and reports it', async () => {
  const frr = new FakeBgpd();
  const { backend, drifts } = believing(frr);
  await backend.list();
  frr.running = false;
  await backend.list();
  await backend.verified();
  assert.equal(drifts(), 1);
  await assert.rejects(backend.list(), (error: unknown) => isHealthcastError(error, ErrorCodes.VTYSH_DAEMON_DOWN));
});

test('belief: a failed write drops it; the listing after the batch is bgpd’s word', async () => {
  const frr = new FakeBgpd();
  frr.rejectLine = (line) => (line === 'network 192.0.2.62/32' ? '% Inconsistent address and mask' : undefined);
  const { backend } = believing(frr);
  await backend.list();
  await batchFailure(backend.apply([add('192.0.2.62'), add('192.0.2.63')]));
  const before = listings(frr);
  assert.deepEqual(
    (await backend.list()).map((e) => e.address),
    ['192.0.2.63'],
  );
  assert.equal(listings(frr), before + 1, 'listed for real');
});

test('belief: a verification that overlapped a write is not trusted; another one follows', async () => {
  const frr = new FakeBgpd();
  let hold = false;
  let release: (() => void) | undefined;
  // Listings read bgpd when called and answer when released: this one read it before the write below.
  const vtysh = {
    run: async (commands: readonly string[]) => {
      const out = await frr.run(commands);
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return out;
    },
    show: <T>(command: string) => frr.show<T>(command),
    configure: (lines: readonly string[]) => frr.configure(lines),
  };
  const clock = new ManualClock();
  let drifts = 0;
  const backend = new BgpBackend({ vtysh, clock, onDrift: () => (drifts += 1) });
  await backend.list();
  await backend.list();
  hold = true;
  const verification = backend.verified();
  hold = false;
  await backend.apply([add('192.0.2.53')]);
  release?.();
  await verification;
  await backend.verified();
  assert.equal(drifts, 0, 'the write was not mistaken for drift');
  assert.deepEqual(
    (await backend.list()).map((e) => e.address),
    ['192.0.2.53'],
  );
  assert.equal(frr.calls.filter((call) => call[0] === 'show bgp vrfs json').length, 3, 'the first listing, the stale verification, the one after');
});

test('writes go to the writer (the vty socket) when given; listings stay with vtysh', async () => {
  const frr = new FakeBgpd();
  const writes: string[][] = [];
  const writer = { configure: async (lines: readonly string[]) => (writes.push([...lines]), frr.configure(lines)) };
  const backend = new BgpBackend({
    vtysh: { ...frr, run: (c) => frr.run(c), show: (c) => frr.show(c), configure: () => assert.fail('not through vtysh') },
    writer,
  });
  await backend.apply([add('192.0.2.53')]);
  assert.equal(writes.length, 1);
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.53/32']);
  backend.close();
});

test('with the hold lists a withdrawal is held back before its `no network`, and the next announcement releases it', async () => {
  const frr = new FakeBgpd().withHoldLists();
  frr.networks.ipv4.push('192.0.2.53/32');
  const backend = new BgpBackend({ vtysh: frr, asn: 65001 });
  await backend.list();
  await backend.apply([remove('192.0.2.53')]);
  await backend.apply([add('192.0.2.53')]);
  assert.deepEqual(frr.configured(), [
    [
      'ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.53/32',
      'router bgp 65001',
      'address-family ipv4 unicast',
      'no network 192.0.2.53/32',
      'exit-address-family',
    ],
    [
      'no ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.53/32',
      'router bgp 65001',
      'address-family ipv4 unicast',
      'network 192.0.2.53/32',
      'exit-address-family',
    ],
  ]);
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.53/32']);
  assert.deepEqual([...frr.prefixLists.keys()], ['ip HC-BGP-HOLD-V4 4294967295', 'ipv6 HC-BGP-HOLD-V6 4294967295'], 'nothing left held');
  backend.close();
});

test('a statement held back (a drain, or a crash between the deny entry and its `no network`) is listed held; an announcement releases it', async () => {
  const frr = new FakeBgpd().withHoldLists();
  frr.networks.ipv4.push('192.0.2.53/32', '192.0.2.54/32');
  await frr.configure(['ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.54/32']);
  const backend = new BgpBackend({ vtysh: frr });
  const shown = async () => (await backend.list()).map((e) => `${e.address} ${e.interface}`).sort();
  assert.deepEqual(await shown(), ['192.0.2.53 bgp', '192.0.2.54 bgp-held']);
  await backend.apply([{ action: 'remove', entry: { kind: 'bgp', address: '192.0.2.54', interface: HELD_INTERFACE } }, add('192.0.2.54')]);
  assert.deepEqual(frr.configured().at(-1)?.[0], 'no ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.54/32', 'the deny entry goes first');
  assert.deepEqual(await shown(), ['192.0.2.53 bgp', '192.0.2.54 bgp']);
  await backend.verified();
  assert.deepEqual(await shown(), ['192.0.2.53 bgp', '192.0.2.54 bgp'], "bgpd's own word agrees");
  backend.close();
});

test('a drain holds the statement (deny entry, statement kept), bgpd agrees, and the end of the drain drops it', async () => {
  const frr = new FakeBgpd().withHoldLists();
  frr.networks.ipv4.push('192.0.2.53/32');
  const backend = new BgpBackend({ vtysh: frr, asn: 65001 });
  const shown = async () => (await backend.list()).map((e) => `${e.address} ${e.interface}`);
  await backend.list();
  await backend.apply([remove('192.0.2.53'), { action: 'add', entry: { kind: 'bgp', address: '192.0.2.53', interface: HELD_INTERFACE } }]);
  assert.deepEqual(frr.networks.ipv4, ['192.0.2.53/32'], 'the statement stays');
  assert.deepEqual(await shown(), ['192.0.2.53 bgp-held']);
  await backend.verified();
  assert.deepEqual(await shown(), ['192.0.2.53 bgp-held'], "bgpd's own word agrees");
  await backend.apply([{ action: 'remove', entry: { kind: 'bgp', address: '192.0.2.53', interface: HELD_INTERFACE } }]);
  assert.deepEqual(frr.networks.ipv4, []);
  assert.deepEqual(await shown(), []);
  backend.close();
});
