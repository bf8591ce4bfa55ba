// The reconciler with the real ip backend and the real file record, in throwaway namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requirePrerequisites } from '../../support/prereq.js';
import { silentLogger } from '../../../src/log.js';
import { IpBackend } from '../../../src/routing/ip-backend.js';
import { FileOwnershipStore } from '../../../src/routing/ownership.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { entryKey, type DesiredEntry, type RoutingEntry } from '../../../src/routing/types.js';
import { addressesIn, hostAddressesIn, ipIn, namespaceFor, routesIn } from './fixture.js';

const exec = promisify(execFile);
const PROTO = 201;
const address = (a: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address: a, interface: iface });
const route = (a: string, iface = 'lo'): RoutingEntry => ({ kind: 'route', address: a, interface: iface });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-rt-state-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

function reconcilerFor(ns: string, stateDir: string, desired: () => DesiredEntry[]) {
  const reconciler = new Reconciler({
    backend: new IpBackend({ routeProtocol: PROTO, namespace: ns }),
    ownership: new FileOwnershipStore(stateDir),
    desired,
    log: silentLogger(),
    driftIntervalMs: 60_000,
  });
  return reconciler;
}

test('announce, withdraw, and a foreign address on lo survives the full withdraw', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const stateDir = path.join(await tempDir(t), 'state');
  await ipIn(ns, 'address add 192.0.2.99/32 dev lo');
  await ipIn(ns, 'address add 192.0.2.53/32 dev lo label lo:admin');
  let desired = [want(address('192.0.2.53')), want(address('192.0.2.54')), want(address('2001:db8::54')), want(route('198.51.100.7'))];
  const reconciler = reconcilerFor(ns, stateDir, () => desired);
  t.after(() => reconciler.stop());

  const report = await reconciler.start();
  assert.equal(report.desired.get(entryKey(address('192.0.2.53')))?.state, 'conflict');
  for (const entry of desired.slice(1)) assert.equal(report.desired.get(entryKey(entry))?.state, 'present', entry.address);
  const onLo = await hostAddressesIn(ns);
  assert.ok(onLo.has('192.0.2.54') && onLo.has('2001:db8::54'));
  assert.ok((await routesIn(ns)).includes(`198.51.100.7 lo proto ${PROTO}`));
  const record = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
  assert.deepEqual(record.entries.map(entryKey).sort(), desired.slice(1).map(entryKey).sort());
  assert.equal((await fs.stat(stateDir)).mode & 0o777, 0o700);

  desired = [];
  const withdrawn = await reconciler.kick();
  assert.equal(withdrawn.removed.length, 3);
  const left = await addressesIn(ns);
  assert.ok(left.includes('192.0.2.99/32 lo'), `foreign address kept: ${left.join(', ')}`);
  assert.ok(left.includes('192.0.2.53/32 lo lo:admin'), 'the conflicting foreign address kept');
  assert.ok(!left.some((l) => l.startsWith('192.0.2.54') || l.startsWith('2001:db8::54')));
  assert.ok(!(await routesIn(ns)).some((l) => l.includes(`proto ${PROTO}`)));
});

test('restart recovery from a persisted owned.json: unwanted owned entries removed, wanted and foreign kept', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const stateDir = await tempDir(t);
  // What a crashed run left behind: its record and its entries, plus someone else's address.
  await fs.writeFile(
    path.join(stateDir, 'owned.json'),
    JSON.stringify({
      version: 1,
      updated: '2024-01-01T00:00:00.000Z',
      entries: [address('192.0.2.53'), address('2001:db8::53'), route('198.51.100.7'), address('192.0.2.77')],
    }),
  );
  await ipIn(ns, 'address add 192.0.2.53/32 dev lo label lo:healthcast');
  await ipIn(ns, 'address add 2001:db8::53/128 dev lo nodad');
  await ipIn(ns, `route add 198.51.100.7/32 dev lo proto ${PROTO}`);
  await ipIn(ns, 'address add 192.0.2.99/32 dev lo');
  const reconciler = reconcilerFor(ns, stateDir, () => [want(address('2001:db8::53'))]);
  t.after(() => reconciler.stop());

  const report = await reconciler.start();
  assert.equal(report.desired.get(entryKey(address('2001:db8::53')))?.state, 'present');
  assert.deepEqual(report.removed.map(entryKey).sort(), [address('192.0.2.53'), route('198.51.100.7')].map(entryKey).sort());
  const onLo = await hostAddressesIn(ns);
  assert.ok(!onLo.has('192.0.2.53'), 'owned and unwanted: removed');
  assert.ok(onLo.has('2001:db8::53'), 'owned and wanted: kept');
  assert.ok(onLo.has('192.0.2.99'), 'foreign: kept');
  assert.ok(!(await routesIn(ns)).some((l) => l.includes(`proto ${PROTO}`)));
  const record = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
  assert.deepEqual(record.entries, [address('2001:db8::53')], 'recorded-but-absent 192.0.2.77 forgotten');
});

test('a corrupt owned.json: moved aside, labelled leftovers reclaimed, a fresh record written', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const stateDir = await tempDir(t);
  await fs.writeFile(path.join(stateDir, 'owned.json'), '{"version":1,"entries":[{"kind":"addr');
  await ipIn(ns, 'address add 192.0.2.53/32 dev lo label lo:healthcast');
  await ipIn(ns, 'address add 192.0.2.99/32 dev lo label lo:admin');
  const reconciler = reconcilerFor(ns, stateDir, () => []);
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  assert.ok(
    report.errors.some((e) => e.includes(path.join(stateDir, 'owned.json')) && /corrupt|not a valid/.test(e)),
    report.errors.join('\n'),
  );
  const onLo = await hostAddressesIn(ns);
  assert.ok(!onLo.has('192.0.2.53') && onLo.has('192.0.2.99'));
  const files = (await fs.readdir(stateDir)).sort();
  assert.equal(files.length, 2, files.join(', '));
  assert.match(files[1] ?? '', /^owned\.json\.corrupt-/);
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')).entries, []);
});

test('drift: an address deleted with ip behind our back is re-added on the next pass', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const reconciler = reconcilerFor(ns, await tempDir(t), () => [want(address('192.0.2.53')), want(address('2001:db8::53'))]);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await ipIn(ns, 'address del 2001:db8::53/128 dev lo');
  assert.ok(!(await hostAddressesIn(ns)).has('2001:db8::53'));
  const report = await reconciler.kick();
  assert.equal(report.desired.get(entryKey(address('2001:db8::53')))?.state, 'present');
  assert.ok((await hostAddressesIn(ns)).has('2001:db8::53'));
});

test('state dir that cannot be created (parent is a regular file): nothing added, error status, the process goes on', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const base = await tempDir(t);
  await fs.writeFile(path.join(base, 'not-a-dir'), 'x');
  const desired = [want(address('192.0.2.53')), want(route('198.51.100.7'), 'syslog')];
  const reconciler = reconcilerFor(ns, path.join(base, 'not-a-dir', 'state'), () => desired);
  t.after(() => reconciler.stop());
  for (let pass = 0; pass < 2; pass += 1) {
    const report = await (pass === 0 ? reconciler.start() : reconciler.kick());
    for (const entry of desired) {
      const status = report.desired.get(entryKey(entry));
      assert.equal(status?.state, 'error');
      assert.match(status?.state === 'error' ? status.reason : '', /not added: cannot write ownership record .*not-a-dir\/state\/owned\.json: .*ENOTDIR/);
    }
  }
  assert.ok(!(await hostAddressesIn(ns)).has('192.0.2.53'), 'fail closed: not added');
  assert.ok(!(await routesIn(ns)).some((l) => l.includes(`proto ${PROTO}`)));
});

test(
  'a full disk (16 KiB tmpfs, filled up): new entries are not added, existing ones stay, and it recovers when space frees',
  { timeout: 30_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: ['ip', 'mount', 'umount'] })) return;
    const ns = await namespaceFor(t);
    const mountPoint = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-rt-tmpfs-'));
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'hc-rt-test', mountPoint]);
    t.after(async () => {
      await exec('umount', [mountPoint]); // one hook, in this order: unmount, then remove the empty mount point
      await fs.rmdir(mountPoint);
    });
    const stateDir = path.join(mountPoint, 'state');
    let desired = [want(address('192.0.2.53'))];
    const reconciler = reconcilerFor(ns, stateDir, () => desired);
    t.after(() => reconciler.stop());
    assert.equal((await reconciler.start()).desired.get(entryKey(address('192.0.2.53')))?.state, 'present');

    const filler = path.join(mountPoint, 'filler');
    await fs.writeFile(filler, Buffer.alloc(64 * 1024)).catch((error: NodeJS.ErrnoException) => assert.equal(error.code, 'ENOSPC'));
    desired = [want(address('192.0.2.53')), want(address('2001:db8::54'))];
    const full = await reconciler.kick();
    const status = full.desired.get(entryKey(address('2001:db8::54')));
    assert.equal(status?.state, 'error');
    assert.match(status?.state === 'error' ? status.reason : '', /ENOSPC/);
    assert.equal(full.desired.get(entryKey(address('192.0.2.53')))?.state, 'present');
    assert.ok(!(await hostAddressesIn(ns)).has('2001:db8::54'), 'fail closed');
    assert.deepEqual(await fs.readdir(stateDir), ['owned.json'], 'no temporary file left on the full disk');

    await fs.rm(filler);
    assert.equal((await reconciler.kick()).desired.get(entryKey(address('2001:db8::54')))?.state, 'present');
    assert.ok((await hostAddressesIn(ns)).has('2001:db8::54'));
  },
);

test("an entry on a missing interface gets the kernel's reason; the rest of the batch is applied", { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const stateDir = await tempDir(t);
  const desired = [want(address('192.0.2.53')), want(address('192.0.2.54', 'nosuch0')), want(address('2001:db8::54'))];
  const reconciler = reconcilerFor(ns, stateDir, () => desired);
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  const status = report.desired.get(entryKey(address('192.0.2.54', 'nosuch0')));
  assert.equal(status?.state, 'error');
  assert.match(status?.state === 'error' ? status.reason : '', /Cannot find device "nosuch0"/);
  assert.equal(report.desired.get(entryKey(address('192.0.2.53')))?.state, 'present');
  assert.equal(report.desired.get(entryKey(address('2001:db8::54')))?.state, 'present');
  const record = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
  assert.ok(!record.entries.some((e) => e.interface === 'nosuch0'), 'a failed add is not recorded as ours once the kernel is re-listed');
});
