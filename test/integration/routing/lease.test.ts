// The lease with real `ip` in a throwaway namespace: leased addresses stay while renewals run and the kernel removes
// them by itself about one lease after renewals stop (a dead agent), parked ones included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { requirePrerequisites } from '../../support/prereq.js';
import { silentLogger } from '../../../src/log.js';
import { IpBackend } from '../../../src/routing/ip-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import type { DesiredEntry } from '../../../src/routing/types.js';
import { ipIn, namespaceFor } from './fixture.js';

const LEASE_MS = 3000;
const desired: DesiredEntry[] = [
  { kind: 'address', address: '192.0.2.53', interface: 'lo', service: 'dns' },
  { kind: 'address', address: '2001:db8::53', interface: 'lo', service: 'dns' },
  { kind: 'address', address: '192.0.2.80', interface: 'hc-drain', service: 'web' },
  { kind: 'address', address: '2001:db8::80', interface: 'hc-drain', service: 'web' },
];

interface Listed {
  local: string;
  dynamic?: boolean;
  valid_life_time?: number;
}

// Our test addresses as the kernel shows them, with their remaining lifetime.
async function leasedIn(ns: string): Promise<Map<string, Listed>> {
  const links = JSON.parse(await ipIn(ns, '-j address show')) as { addr_info: Listed[] }[];
  return new Map(
    links
      .flatMap((link) => link.addr_info)
      .filter((a) => desired.some((d) => d.address === a.local))
      .map((a) => [a.local, a]),
  );
}

test('leased addresses stay while renewals run, and expire about one lease after they stop', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const reconciler = new Reconciler({
    backend: new IpBackend({ routeProtocol: 201, namespace: ns, dummyInterfaces: ['hc-drain'], leaseSeconds: LEASE_MS / 1000 }),
    ownership: new MemoryOwnershipStore(),
    desired: () => desired,
    log: silentLogger(),
    driftIntervalMs: 60_000,
    leaseMs: LEASE_MS,
  });
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  assert.equal(report.added.length, 4, JSON.stringify(report.errors));

  let lowest = Infinity;
  for (let elapsed = 0; elapsed < 2.5 * LEASE_MS; elapsed += 250) {
    const listed = await leasedIn(ns);
    assert.equal(listed.size, 4, `all four present after ${elapsed} ms of renewals`);
    for (const a of listed.values()) {
      assert.equal(a.dynamic, true, `${a.local} carries a lifetime`);
      lowest = Math.min(lowest, a.valid_life_time ?? 0);
    }
    await delay(250);
  }
  assert.ok(lowest >= 1, `renewed before running low (lowest valid_lft seen: ${lowest} s)`);
  assert.ok(reconciler.lease()?.renewedAt !== undefined);

  // A dead agent: renewals stop, nothing is removed.
  await reconciler.stop();
  const stopped = performance.now();
  assert.equal((await leasedIn(ns)).size, 4, 'stop() removes nothing');
  let goneAfter: number | undefined;
  while (performance.now() - stopped < LEASE_MS + 3000) {
    if ((await leasedIn(ns)).size === 0) {
      goneAfter = performance.now() - stopped;
      break;
    }
    await delay(100);
  }
  assert.ok(goneAfter !== undefined, `still present ${LEASE_MS + 3000} ms after the last renewal`);
  assert.ok(goneAfter <= LEASE_MS + 2000, `gone ${Math.round(goneAfter)} ms after renewals stopped`);
  t.diagnostic(`all four leased addresses gone ${Math.round(goneAfter)} ms after renewals stopped (lease ${LEASE_MS} ms)`);
});
