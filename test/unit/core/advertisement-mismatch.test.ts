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

test('a mismatch is logged once when it appears and once when it clears', () => {
  const lines: string[] = [];
  let repairs = 0;
  const reporter = new MismatchReporter({ warn: (_o, msg) => lines.push(`warn ${msg}`), info: (_o, msg) => lines.push(`info ${msg}`) }, () => (repairs += 1));
  reporter.check([view({ advertised: false })]);
  reporter.check([view({ advertised: false })]);
  reporter.check([view({ advertised: false })]);
  reporter.check([view({ advertised: true })]);
  reporter.check([view({ advertised: true })]);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /^warn advertisement mismatch/);
  assert.equal(lines[1], 'info advertisement matches again');
  assert.equal(repairs, 1, 'one repair pass per new mismatch');
});
