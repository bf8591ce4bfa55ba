import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AdvertisementWatcher, serviceAdvertised } from '../../../src/control/advertisement.js';
import { ADVERTISEMENT_COMMANDS } from '../../../src/frr/advertised.js';
import { silentLogger } from '../../../src/log.js';
import { fixture } from '../../support/paths.js';

const json = (name: string): unknown => JSON.parse(fs.readFileSync(fixture('frr', name), 'utf8'));

test('a service is advertised when FRR originates every address; unknown when any answer is unknown', () => {
  const known = new Map([['192.0.2.53/32', 'yes'], ['2001:db8::53/128', 'yes'], ['192.0.2.54/32', 'no'], ['192.0.2.55/32', 'unknown']] as const);
  assert.equal(serviceAdvertised(['192.0.2.53', '2001:db8::53'], known), true);
  assert.equal(serviceAdvertised(['192.0.2.53', '192.0.2.54'], known), false);
  assert.equal(serviceAdvertised(['192.0.2.54', '192.0.2.55'], known), undefined);
  assert.equal(serviceAdvertised(['192.0.2.99'], known), undefined, 'never asked');
  assert.equal(serviceAdvertised([], known), undefined);
});

test('the watcher asks FRR for both families and answers per service; FRR gone makes it unknown', async () => {
  let fail = false;
  const asked: string[] = [];
  const vtysh = {
    show: async <T>(command: string): Promise<T> => {
      asked.push(command);
      if (fail) throw new Error('Exiting: failed to connect to any daemons.');
      if (command === ADVERTISEMENT_COMMANDS.ospf[4]) return json('ospf-external-self.json') as T;
      if (command === ADVERTISEMENT_COMMANDS.ospf[6]) return json('ospf6-as-external-self.json') as T;
      throw new Error(`unexpected ${command}`);
    },
  };
  const watcher = new AdvertisementWatcher({ vtysh, protocol: 'ospf', prefixes: () => ['192.0.2.53', '2001:db8:53::53', '2001:db8:53::80', '192.0.2.99'], intervalMs: 60_000, log: silentLogger() });
  await watcher.poll();
  assert.deepEqual(asked.sort(), [ADVERTISEMENT_COMMANDS.ospf[4], ADVERTISEMENT_COMMANDS.ospf[6]].sort());
  assert.equal(watcher.lookup(['192.0.2.53', '2001:db8:53::80']), true);
  assert.equal(watcher.lookup(['2001:db8:53::53']), false, 'an LSA at MaxAge is being flushed, not advertised');
  assert.equal(watcher.lookup(['192.0.2.99']), false);
  fail = true;
  await watcher.poll();
  assert.equal(watcher.lookup(['192.0.2.53']), undefined);
});

test('while FRR cannot be asked the watcher backs off; once it answers it polls on its interval again', async () => {
  let fail = true;
  let calls = 0;
  const vtysh = {
    show: async <T>(command: string): Promise<T> => {
      calls += 1;
      if (fail) throw new Error('Exiting: failed to connect to any daemons.');
      return json(command === ADVERTISEMENT_COMMANDS.ospf[4] ? 'ospf-external-self.json' : 'ospf6-as-external-self.json') as T;
    },
  };
  const watcher = new AdvertisementWatcher({ vtysh, protocol: 'ospf', prefixes: () => ['192.0.2.53'], intervalMs: 40, log: silentLogger() });
  watcher.start();
  await new Promise((resolve) => setTimeout(resolve, 700));
  const failing = calls;
  assert.ok(failing >= 3 && failing <= 6, `backed off: ${failing} calls in 700 ms at a 40 ms interval (40, 80, 160, 320 ms apart)`);
  watcher.pollSoon();
  fail = false;
  await watcher.poll();
  assert.equal(watcher.lookup(['192.0.2.53']), true);
  const before = calls;
  await new Promise((resolve) => setTimeout(resolve, 1300)); // the pending backed-off timer fires, then 40 ms again
  assert.ok(calls - before >= 5, `back to the interval: ${calls - before} calls`);
  await watcher.stop();
  const stopped = calls;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(calls, stopped, 'no polls after stop()');
});
