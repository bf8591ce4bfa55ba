import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AdvertisementWatcher, agrees, expectedAdvertisement, serviceAdvertised } from '../../../src/control/advertisement.js';
import { ADVERTISEMENT_COMMANDS } from '../../../src/frr/advertised.js';
import { silentLogger } from '../../../src/log.js';
import { fixture } from '../../support/paths.js';
import { ManualClock } from '../../support/manual-clock.js';

const json = (name: string): unknown => JSON.parse(fs.readFileSync(fixture('frr', name), 'utf8'));

test('a service is advertised when FRR originates every address; unknown when any answer is unknown', () => {
  const known = new Map([
    ['192.0.2.53/32', 'yes'],
    ['2001:db8::53/128', 'yes'],
    ['192.0.2.54/32', 'no'],
    ['192.0.2.55/32', 'unknown'],
  ] as const);
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
  const watcher = new AdvertisementWatcher({
    vtysh,
    protocol: 'ospf',
    prefixes: () => ['192.0.2.53', '2001:db8:53::53', '2001:db8:53::80', '192.0.2.99'],
    intervalMs: 60_000,
    log: silentLogger(),
  });
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
  const clock = new ManualClock();
  let fail = true;
  const askedAt: number[] = [];
  const vtysh = {
    show: async <T>(command: string): Promise<T> => {
      askedAt.push(clock.monotonic());
      if (fail) throw new Error('Exiting: failed to connect to any daemons.');
      return json(command === ADVERTISEMENT_COMMANDS.ospf[4] ? 'ospf-external-self.json' : 'ospf6-as-external-self.json') as T;
    },
  };
  const watcher = new AdvertisementWatcher({ vtysh, protocol: 'ospf', prefixes: () => ['192.0.2.53'], intervalMs: 40, log: silentLogger(), clock });
  watcher.start();
  await clock.advance(700);
  assert.deepEqual(askedAt, [0, 80, 240, 560], 'backed off: 40 ms doubled after each failure (80, 160, 320 ms apart)');
  watcher.checkSoon();
  await clock.advance(100);
  assert.equal(askedAt.length, 4, 'no quick checks while FRR cannot be asked');
  fail = false;
  await watcher.poll();
  assert.equal(watcher.lookup(['192.0.2.53']), true);
  askedAt.length = 0;
  await clock.advance(1200); // to 2000 ms: the pending backed-off timer fires at 1200, then every 40 ms
  assert.deepEqual(
    askedAt,
    Array.from({ length: 21 }, (_, i) => 1200 + 40 * i),
    'back to the interval',
  );
  await watcher.stop();
  assert.equal(clock.pending, 0, 'no timer left after stop()');
  await clock.advance(200);
  assert.equal(askedAt.length, 21, 'no polls after stop()');
});

// FRR's self-originated external LSAs, with 192.0.2.53 or without it.
const ospf = (originated: boolean): unknown => ({
  'AS External Link States': originated ? { '192.0.2.53': { linkStateId: '192.0.2.53', networkMask: 32, lsaAge: 1 } } : {},
});

// A watcher over a fake FRR that starts originating 192.0.2.53 at `originatesAt` ms, with a 60 s slow interval.
function quickLab(options: { originatesAt: number; expected?: boolean }) {
  const clock = new ManualClock();
  const askedAt: number[] = [];
  const vtysh = {
    show: async <T>(): Promise<T> => {
      askedAt.push(clock.monotonic());
      return ospf(clock.monotonic() >= options.originatesAt) as T;
    },
  };
  const expected = options.expected === undefined ? undefined : () => expectedAdvertisement([{ addresses: ['192.0.2.53'], announced: options.expected! }]);
  const watcher = new AdvertisementWatcher({
    vtysh,
    protocol: 'ospf',
    prefixes: () => ['192.0.2.53'],
    intervalMs: 60_000,
    log: silentLogger(),
    clock,
    ...(expected ? { expected } : {}),
  });
  return { clock, askedAt, watcher };
}

test('after a change FRR is asked every 100 ms until it agrees with what is expected, then no more', async () => {
  const { clock, askedAt, watcher } = quickLab({ originatesAt: 1250, expected: true });
  watcher.start();
  await clock.advance(1000);
  assert.equal(watcher.lookup(['192.0.2.53']), false);
  watcher.checkSoon();
  await clock.advance(300);
  assert.equal(watcher.lookup(['192.0.2.53']), true, 'known within 100 ms of FRR originating it');
  assert.deepEqual(askedAt, [0, 1100, 1200, 1300]);
  await clock.advance(5000);
  assert.equal(askedAt.length, 4, 'no quick checks once FRR agrees');
  await watcher.stop();
});

test('quick checks end after the limit when FRR never agrees, and a change during them extends them', async () => {
  const { clock, askedAt, watcher } = quickLab({ originatesAt: Infinity, expected: true });
  watcher.start();
  await clock.advance(1000);
  watcher.checkSoon();
  await clock.advance(700);
  watcher.checkSoon(); // a second change at 1700: checks go on to 3200
  await clock.advance(5000);
  assert.deepEqual(askedAt, [0, ...Array.from({ length: 22 }, (_, i) => 1100 + 100 * i)], 'every 100 ms from 1100 to 3200');
  assert.equal(watcher.lookup(['192.0.2.53']), false);
  await watcher.stop();
});

test('without an expectation quick checks end at the first answer that changed', async () => {
  const { clock, askedAt, watcher } = quickLab({ originatesAt: 1150 });
  watcher.start();
  await clock.advance(1000);
  watcher.checkSoon();
  await clock.advance(2000);
  assert.deepEqual(askedAt, [0, 1100, 1200]);
  assert.equal(watcher.lookup(['192.0.2.53']), true);
  await watcher.stop();
});

test('expected advertisement: what the agent announces (parked addresses are not); agreement needs every expected prefix answered so', () => {
  const expected = expectedAdvertisement([
    { addresses: ['192.0.2.53', '2001:DB8::53'], announced: true },
    { addresses: ['192.0.2.54'], announced: false }, // draining: the agent's status says announced no
    { addresses: ['192.0.2.55'], announced: false },
  ]);
  assert.deepEqual(
    [...expected],
    [
      ['192.0.2.53/32', true],
      ['2001:db8::53/128', true],
      ['192.0.2.54/32', false],
      ['192.0.2.55/32', false],
    ],
  );
  const known = new Map([
    ['192.0.2.53/32', 'yes'],
    ['2001:db8::53/128', 'yes'],
    ['192.0.2.54/32', 'no'],
    ['192.0.2.55/32', 'no'],
  ] as const);
  assert.equal(agrees(expected, known), true);
  assert.equal(agrees(expected, new Map([...known, ['192.0.2.54/32', 'yes']])), false, 'a draining address still originated');
  assert.equal(agrees(expected, new Map([...known, ['192.0.2.53/32', 'unknown']])), false);
  assert.equal(agrees(expected, new Map()), false, 'not asked yet');
});
