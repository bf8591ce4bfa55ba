// Who advertises what, from FRR 8.4.4 LSDB JSON captured in a router + 2 node lab (node a 0.0.0.2, node b 0.0.0.3; both
// announce 192.0.2.53 and 2001:db8:53::53, b had just withdrawn 192.0.2.54: still listed at MaxAge).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { isHealthcastError } from '../../../src/errors.js';
import {
  compareRouterIds,
  FLEET_COMMANDS,
  parseOspf6AsExternalFleet,
  parseOspf6RouterId,
  parseOspfExternalFleet,
  serviceAdvertisers,
} from '../../../src/fleet/lsdb.js';
import { readSnapshot } from '../../../src/fleet/watcher.js';
import { fixture } from '../../support/paths.js';

const load = (name: string): unknown => JSON.parse(fs.readFileSync(fixture('frr', name), 'utf8'));
const plain = (map: ReadonlyMap<string, ReadonlySet<string>>) => Object.fromEntries([...map].map(([prefix, ids]) => [prefix, [...ids].sort()]));

test('OSPFv2: every external LSA below MaxAge gives its originator; the top-level routerId is this router', () => {
  const { routerId, advertisers } = parseOspfExternalFleet(load('ospf-external-fleet.json'));
  assert.equal(routerId, '0.0.0.2');
  assert.deepEqual(plain(advertisers), { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }, '192.0.2.54 is at MaxAge (withdrawn): not counted');
});

test('OSPFv3: the prefix comes from payload (lsId is opaque), MaxAge LSAs are skipped', () => {
  assert.deepEqual(plain(parseOspf6AsExternalFleet(load('ospf6-as-external-fleet.json'))), { '2001:db8:53::53/128': ['0.0.0.2', '0.0.0.3'] });
  const json = { asScopedLinkStateDb: [{ lsa: [{ type: 'ASE', lsId: '0.0.0.1', advRouter: '0.0.0.2', age: 3600, payload: '2001:DB8:53::53/128' }] }] };
  assert.deepEqual(plain(parseOspf6AsExternalFleet(json)), {});
  assert.equal(parseOspf6RouterId(load('ospf6-instance.json')), '0.0.0.2');
});

test('output that is not the database is a coded error (the reading becomes unknown)', () => {
  for (const bad of [{}, { routerId: '0.0.0.2' }, { routerId: '0.0.0.2', asExternalLinkStates: [{ linkStateId: '192.0.2.53' }] }, null]) {
    assert.throws(
      () => parseOspfExternalFleet(bad),
      (error) => isHealthcastError(error) && error.code === 'HC_ERR_VTYSH_BAD_OUTPUT',
    );
  }
  assert.throws(() => parseOspf6AsExternalFleet({ asScopedLinkStateDb: [{ lsa: [{ type: 'ASE', age: 1 }] }] }), /without a prefix/);
});

test('router-ids compare as numbers, not strings', () => {
  assert.ok(compareRouterIds('10.0.0.10', '10.0.0.9') > 0);
  assert.ok(compareRouterIds('9.0.0.1', '10.0.0.1') < 0);
  assert.equal(compareRouterIds('0.0.0.2', '0.0.0.2'), 0);
});

test('a service is served by the routers advertising every one of its addresses', () => {
  const snapshot = {
    routerId: '0.0.0.2',
    advertisers: new Map([
      ['192.0.2.53/32', new Set(['0.0.0.2', '0.0.0.3', '0.0.0.10'])],
      ['2001:db8:53::53/128', new Set(['0.0.0.3', '0.0.0.10'])],
    ]),
  };
  assert.deepEqual(serviceAdvertisers(snapshot, ['192.0.2.53']), ['0.0.0.2', '0.0.0.3', '0.0.0.10']);
  assert.deepEqual(serviceAdvertisers(snapshot, ['192.0.2.53', '2001:DB8:53::53']), ['0.0.0.3', '0.0.0.10']);
  assert.deepEqual(serviceAdvertisers(snapshot, ['192.0.2.99']), []);
  assert.equal(serviceAdvertisers(undefined, ['192.0.2.53']), undefined, 'unknown stays unknown, not empty');
});

test('readSnapshot asks only the families in use; an IPv6-only fleet takes its router-id from ospf6d', async () => {
  const asked: string[] = [];
  const answers: Record<string, unknown> = {
    [FLEET_COMMANDS[4]]: load('ospf-external-fleet.json'),
    [FLEET_COMMANDS[6]]: load('ospf6-as-external-fleet.json'),
    [FLEET_COMMANDS.routerId6]: load('ospf6-instance.json'),
  };
  const vtysh = { show: <T>(command: string) => (asked.push(command), Promise.resolve(answers[command] as T)) };
  const both = await readSnapshot(vtysh, new Set([4, 6]));
  assert.deepEqual(asked.sort(), [FLEET_COMMANDS[4], FLEET_COMMANDS[6]].sort());
  assert.deepEqual(plain(both.advertisers), { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'], '2001:db8:53::53/128': ['0.0.0.2', '0.0.0.3'] });
  asked.length = 0;
  const v6 = await readSnapshot(vtysh, new Set([6]));
  assert.deepEqual(asked.sort(), [FLEET_COMMANDS[6], FLEET_COMMANDS.routerId6].sort());
  assert.equal(v6.routerId, '0.0.0.2');
});
