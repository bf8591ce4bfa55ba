import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advertisementMismatch, MismatchReporter, type AdvertisementView } from '../../../src/core/advertisement-mismatch.js';

const view = (overrides: Partial<AdvertisementView>): AdvertisementView => ({
  name: 'dns',
  announce: 'address',
  announced: true,
  wanted: true,
  draining: false,
  advertised: true,
  ...overrides,
});

test('mismatches and their likely causes', () => {
  assert.equal(advertisementMismatch(view({})), undefined, 'announced and advertised');
  assert.equal(advertisementMismatch(view({ advertised: undefined })), undefined, 'FRR not asked: no claim either way');
  assert.match(advertisementMismatch(view({ advertised: false })) ?? '', /redistribute connected route-map/);
  assert.match(advertisementMismatch(view({ advertised: false, announce: 'route' })) ?? '', /redistribute kernel/);
  assert.match(advertisementMismatch(view({ advertised: false, announce: 'bgp' })) ?? '', /bgpd/);
  assert.match(advertisementMismatch(view({ announced: false, wanted: false, advertised: true })) ?? '', /another source/);
  assert.equal(advertisementMismatch(view({ announced: false, wanted: false, draining: true, advertised: true })), undefined, 'FRR may lag a drain');
  assert.equal(advertisementMismatch(view({ announced: false, wanted: false, advertised: false })), undefined);
});

function newReporter() {
  const lines: string[] = [];
  let repairs = 0;
  let rechecks = 0;
  let now = 0;
  const reporter = new MismatchReporter({ warn: (_o, msg) => lines.push(`warn ${msg}`), info: (_o, msg) => lines.push(`info ${msg}`) }, () => (repairs += 1), {
    confirmMs: 500,
    recheck: () => (rechecks += 1),
    now: () => now,
  });
  return { reporter, lines, repairs: () => repairs, rechecks: () => rechecks, at: (ms: number) => (now = ms) };
}

test('a mismatch is logged once, when an answer 500 ms after it first appeared still shows it, and once when it clears', () => {
  const { reporter, lines, repairs, rechecks, at } = newReporter();
  reporter.check([view({ advertised: false })]);
  at(300);
  reporter.check([view({ advertised: false })]);
  assert.deepEqual(lines, [], 'not yet confirmed');
  assert.equal(rechecks(), 2, 'FRR is asked again while the mismatch is suspected');
  at(500);
  reporter.check([view({ advertised: false })]);
  at(900);
  reporter.check([view({ advertised: false })]);
  reporter.check([view({ advertised: true })]);
  reporter.check([view({ advertised: true })]);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /^warn advertisement mismatch/);
  assert.equal(lines[1], 'info advertisement matches again');
  assert.equal(repairs(), 1, 'one repair pass per new mismatch');
});

test('a mismatch that an answer read before FRR applied the change showed, and the next one did not, is never told', () => {
  const { reporter, lines, repairs, at } = newReporter();
  // bgpd still listed the withdrawn statement's path right after `no network`: "another source" would be false.
  reporter.check([view({ announce: 'bgp', announced: false, wanted: false, advertised: true })]);
  at(100);
  reporter.check([view({ announce: 'bgp', announced: false, wanted: false, advertised: false })]);
  at(5000);
  reporter.check([view({ announce: 'bgp', announced: false, wanted: false, advertised: true })]);
  assert.deepEqual(lines, [], 'a new sighting starts its own confirmation');
  assert.equal(repairs(), 0);
});
